"""What a demo run must end with, and what its links fall short of it.

The worker's own ``converged`` only says that it has nothing left to do; a worker that
lost its link table, or whose broker went away, can say so with half the records
unlinked. The demo therefore checks the links the worker reports
(``/ledgerlink/links``) against the sample data: every person must be a Chargebee
customer, and every company and department that has a business entity must be linked to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streams.dev.progress import CUSTOMER_FLOWS, ENTITY_FLOWS, count_linked
from streams.dev.sample_data import SampleData

__all__ = ["ExpectedLinks", "shortfall"]


@dataclass(frozen=True, slots=True)
class ExpectedLinks:
    """The links a complete sync of the sample data has, by kind of Chargebee partner."""

    customers: int
    entities: int

    @classmethod
    def of(cls, data: SampleData) -> ExpectedLinks:
        return cls(customers=data.customer_count, entities=data.matched_entity_count)


def shortfall(expected: ExpectedLinks, links: Iterable[Mapping[str, Any]]) -> str | None:
    """What is missing from ``links``, in words, or None when every expected link exists.

    e.g. `25 of 95 Chargebee customers and 15 of 15 business entities are not linked`.
    """
    rows = list(links)
    missing = []
    for what, wanted, have in (
        ("Chargebee customers", expected.customers, count_linked(rows, CUSTOMER_FLOWS)),
        ("business entities", expected.entities, count_linked(rows, ENTITY_FLOWS)),
    ):
        if have < wanted:
            missing.append(f"{wanted - have} of {wanted} {what}")
    if not missing:
        return None
    verb = "is" if len(missing) == 1 and missing[0].startswith("1 of") else "are"
    return f"{' and '.join(missing)} {verb} not linked"
