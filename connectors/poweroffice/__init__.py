"""PowerOffice Go v2: the API client ledgerlink uses, its auth and paging, and a simulator.

The simulator (`connectors.poweroffice.sim.server`) is not imported here, so the worker
does not load it.
"""

from connectors.poweroffice.client import PowerOfficeClient
from connectors.poweroffice.resources import MAPPED_FIELDS, Resource
from connectors.poweroffice.timestamps import format_timestamp, parse_timestamp

__all__ = [
    "MAPPED_FIELDS",
    "PowerOfficeClient",
    "Resource",
    "format_timestamp",
    "parse_timestamp",
]
