"""The five flows of design §1 as declarative TOML files, and the loader that validates
them and compiles each into pure functions (record → mapped values → the other side's write).
"""

from mappings.flow import FieldPair, Flow, InvalidRecordError, Side, Values, hash_values
from mappings.loader import MappingError, load_flow, load_flows

__all__ = [
    "FieldPair",
    "Flow",
    "InvalidRecordError",
    "MappingError",
    "Side",
    "Values",
    "hash_values",
    "load_flow",
    "load_flows",
]
