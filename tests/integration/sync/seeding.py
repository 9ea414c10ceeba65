"""Seed data for the sync acceptance tests: what PowerOffice Go and Chargebee hold before
the worker starts, kept so that the tests can compare the result against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.sim.store import PowerOfficeStore

from .conftest import person

__all__ = ["COMPANY_NAMES", "DEPARTMENT_NAMES", "Seeded", "name_variant", "seed_world"]

_WORDS = (
    "Fjordkraft", "Nordlys", "Bjørkås", "Ålesund", "Trøndelag",
    "Solberg", "Havblikk", "Lysaker", "Vestvind", "Østmark",
)  # fmt: skip
_TRADES = ("Regnskap", "Bygg", "Fisk", "Data", "Transport")

#: 50 distinct company names.
COMPANY_NAMES = tuple(f"{word} {trade} AS" for trade in _TRADES for word in _WORDS)

#: 20 distinct department names.
DEPARTMENT_NAMES = tuple(
    f"Avdeling {city}"
    for city in (
        "Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Bodø", "Ålesund",
        "Kristiansand", "Drammen", "Fredrikstad", "Sandnes", "Sarpsborg", "Skien",
        "Haugesund", "Tønsberg", "Moss", "Porsgrunn", "Hamar", "Lillehammer", "Molde",
    )
)  # fmt: skip


def name_variant(name: str, i: int) -> str:
    """The same name as a person might type it in Chargebee: other case, other spacing."""
    match i % 5:
        case 0:
            return name.upper()
        case 1:
            return f"  {name} "
        case 2:
            return name.replace(" ", "  ", 1)
        case 3:
            return name.lower()
        case _:
            return name


@dataclass
class Seeded:
    """The PowerOffice Go records seeded, as the store rendered them, and the Chargebee
    business entities pre-created (PowerOffice Go id → entity id)."""

    contact_persons: list[dict[str, Any]] = field(default_factory=list)
    employees: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)
    departments: list[dict[str, Any]] = field(default_factory=list)
    company_entities: dict[int, str] = field(default_factory=dict)
    department_entities: dict[int, str] = field(default_factory=dict)

    def people(self) -> list[tuple[str, dict[str, Any]]]:
        """Every record that must become a Chargebee customer, with its entity name."""
        return (
            [("ContactPerson", r) for r in self.contact_persons]
            + [("Employee", r) for r in self.employees]
            + [("Customer", r) for r in self.persons]
        )


def seed_world(
    po: PowerOfficeStore,
    cb: ChargebeeStore,
    *,
    companies: int,
    departments: int,
    persons: int,
    employees: int,
    contacts_per_company: int,
    contacts_per_person: int = 0,
    matched_companies: int = 0,
    matched_departments: int = 0,
) -> Seeded:
    """Seed PowerOffice Go; pre-create Chargebee entities named like the first
    ``matched_companies`` companies and ``matched_departments`` departments (with their
    case and spacing varied)."""
    seeded = Seeded()
    n = 0
    for i in range(companies):
        seeded.companies.append(po.add_customer(IsPerson=False, Name=COMPANY_NAMES[i]))
    for _ in range(persons):
        n += 1
        seeded.persons.append(po.add_customer(IsPerson=True, **person(n, "kunde.no")))
    for i in range(departments):
        seeded.departments.append(po.add_department(Code=f"D{i + 1:02d}", Name=DEPARTMENT_NAMES[i]))
    for _ in range(employees):
        n += 1
        seeded.employees.append(po.add_employee(**person(n, "firma.no")))
    owners = [(c, contacts_per_company) for c in seeded.companies] + [
        (p, contacts_per_person) for p in seeded.persons
    ]
    for owner, count in owners:
        for _ in range(count):
            n += 1
            seeded.contact_persons.append(
                po.add_contact_person(owner["Id"], **person(n, "kontakt.no"))
            )
    for i, company in enumerate(seeded.companies[:matched_companies]):
        entity_id = f"be_company_{i:02d}"
        cb.add_business_entity(entity_id, name_variant(company["Name"], i))
        seeded.company_entities[company["Id"]] = entity_id
    for i, department in enumerate(seeded.departments[:matched_departments]):
        entity_id = f"be_department_{i:02d}"
        cb.add_business_entity(entity_id, name_variant(department["Name"], i))
        seeded.department_entities[department["Id"]] = entity_id
    return seeded
