"""The demo's sample data: the promised shape, Norwegian letters, Chargebee's limits,
determinism, a shared Id, and entities that match some companies and departments."""

from __future__ import annotations

from connectors.chargebee.sim.store import ChargebeeStore
from connectors.poweroffice.resources import Resource
from connectors.poweroffice.sim.store import PowerOfficeStore
from streams.dev.sample_data import (
    ascii_fold,
    build_sample_data,
    entity_id_for,
    seed_stores,
)
from streams.sync.names import normalise_name

DATA = build_sample_data()


def _people():
    return [*DATA.person_customers, *DATA.employees, *DATA.contact_persons]


def _all_text() -> str:
    names = [f"{p.first_name} {p.last_name}" for p in _people()]
    names += [c.name for c in DATA.companies] + [d.name for d in DATA.departments]
    return " ".join(names)


def test_has_the_promised_number_of_each_record():
    assert len(DATA.person_customers) == 25
    assert len(DATA.companies) == 12
    assert len(DATA.departments) == 6
    assert len(DATA.employees) == 30
    assert len(DATA.contact_persons) == 40


def test_expects_one_chargebee_customer_per_person_and_one_entity_link_per_company_or_department():
    assert DATA.customer_count == 25 + 30 + 40
    assert DATA.entity_count == 12 + 6


def test_names_contain_ae_o_slash_and_a_ring():
    text = _all_text().lower()
    assert {"æ", "ø", "å"} <= set(text)


def test_includes_the_names_the_readme_shows():
    names = {f"{p.first_name} {p.last_name}" for p in _people()}
    assert {"Åse Bjørnstad", "Øystein Ødegård", "Kjærsti Haugen"} <= names
    assert {"Fjordkraft AS", "Bølgen & Co AS", "Nordlys Regnskap AS"} <= {
        c.name for c in DATA.companies
    }
    assert {"Økonomi", "Salg Sør", "Drift Ålesund"} <= {d.name for d in DATA.departments}


def test_email_local_parts_are_plain_ascii():
    for person in _people():
        local, _, domain = person.email.partition("@")
        assert local.isascii()
        assert domain.isascii()
        assert local == local.lower()


def test_email_of_a_contact_person_is_at_the_company_domain():
    contact = DATA.contact_persons[0]
    assert (contact.first_name, contact.last_name) == ("Åse", "Bjørnstad")
    assert contact.email == "ase.bjornstad@fjordkraft.no"


def test_emails_are_unique():
    emails = [person.email for person in _people()]
    assert len(emails) == len(set(emails))


def test_values_fit_chargebee_limits():
    for person in _people():
        assert len(person.email) <= 70
        assert len(person.first_name) <= 150
        assert len(person.last_name) <= 150
    for entity in DATA.business_entities:
        assert len(entity.id) <= 50


def test_is_deterministic():
    assert build_sample_data() == DATA


def test_another_seed_draws_other_people():
    assert build_sample_data(seed=1).employees != DATA.employees


def test_one_person_customer_and_one_employee_share_an_id():
    shared = {c.id for c in DATA.person_customers} & {e.id for e in DATA.employees}
    assert len(shared) == 1


def test_ids_are_otherwise_unique_per_resource():
    for records in (DATA.companies + DATA.person_customers, DATA.employees, DATA.departments):
        ids = [record.id for record in records]
        assert len(ids) == len(set(ids))


def test_some_entities_match_only_after_normalisation():
    names = {c.name for c in DATA.companies} | {d.name for d in DATA.departments}
    spelled_differently = [e for e in DATA.business_entities if e.name not in names]
    assert len(spelled_differently) >= 2
    for entity in spelled_differently:
        assert normalise_name(entity.name) in {normalise_name(name) for name in names}


def test_some_companies_and_departments_have_no_entity():
    missing = DATA.unmatched_entity_names()
    assert "Nordlys Regnskap AS" in missing
    assert any(name in missing for name in (d.name for d in DATA.departments))
    assert 0 < len(missing) < DATA.entity_count // 2


def test_normalise_name_folds_case_and_spacing():
    assert normalise_name("  BØLGEN &  Co AS ") == normalise_name("Bølgen & Co AS")
    assert normalise_name("Salg Sør") != normalise_name("Salg Nord")


def test_ascii_fold_spells_norwegian_letters_as_in_addresses():
    assert ascii_fold("Kjærsti Ødegård Åse") == "Kjaersti Odegard Ase"


def test_entity_id_is_a_slug():
    assert entity_id_for("Bølgen & Co AS") == "bolgen-co-as"


def test_seeding_fills_both_stores():
    po, cb = PowerOfficeStore(), ChargebeeStore()
    seed_stores(DATA, po, cb)
    assert po.count(Resource.CUSTOMERS) == 12 + 25
    assert po.count(Resource.EMPLOYEES) == 30
    assert po.count(Resource.DEPARTMENTS) == 6
    assert po.count(Resource.CONTACT_PERSONS) == 40
    assert cb.customer_count() == 0
    for entity in DATA.business_entities:
        assert cb.get_business_entity(entity.id) is not None


def test_seeded_shared_id_is_both_a_customer_and_an_employee():
    po, cb = PowerOfficeStore(), ChargebeeStore()
    seed_stores(DATA, po, cb)
    shared = DATA.employees[0].id
    assert po.get(Resource.CUSTOMERS, shared)["IsPerson"] is True
    assert po.get(Resource.EMPLOYEES, shared)["FirstName"] == DATA.employees[0].first_name
