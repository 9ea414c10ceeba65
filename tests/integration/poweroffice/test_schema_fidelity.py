"""Every simulator response body the connector uses validates against the official schema.

The schema is `poweroffice-go-v2.openapi.yaml` in the `shared/specs` folder beside the
checkout; the tests are skipped when it (or a validator package) is absent, except under
``CI=true``, where they fail, so CI never passes by checking nothing. Bodies are checked as
OpenAPI 3.0 (`nullable`, `readOnly`, `format`) with `$ref`s resolved inside the document.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

from connectors.poweroffice.resources import Resource

pytestmark = pytest.mark.integration

SPEC = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "specs"
    / "poweroffice-go-v2.openapi.yaml"
)
SPEC_URI = "urn:ledgerlink:poweroffice-go-v2"

#: Where the schema documents each operation: (collection path, one-record path, DTO).
PATHS = {
    Resource.CUSTOMERS: ("/Customers", "/Customers", "/Customers/{id}", "CustomerDto"),
    Resource.CONTACT_PERSONS: (
        "/ContactPersons",
        "/ContactPersons/{contactId}",
        "/ContactPersons/{contactId}/{id}",
        "ContactPersonDto",
    ),
    Resource.EMPLOYEES: ("/Employees", "/Employees", "/Employees/{employeeId}", "EmployeeDto"),
    Resource.DEPARTMENTS: ("/Departments", "/Departments", "/Departments/{id}", "DepartmentDto"),
}
NEW: dict[Resource, dict[str, Any]] = {
    Resource.CUSTOMERS: {"IsPerson": True, "FirstName": "Kari", "LastName": "Nordmann"},
    Resource.CONTACT_PERSONS: {"FirstName": "Kari", "LastName": "Nordmann"},
    Resource.EMPLOYEES: {"FirstName": "Ola", "LastName": "Hansen", "EmailAddress": "o@x.no"},
    Resource.DEPARTMENTS: {"Code": "SALG", "Name": "Salg"},
}


def _unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail under CI, where a skip would hide the gap."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI=true: failing rather than skipping)", pytrace=False)
    pytest.skip(reason)


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        _unavailable(f"{module} is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        _unavailable(f"the PowerOffice Go OpenAPI schema is not at {SPEC.resolve()}")
    yaml = _require("yaml")
    with SPEC.open("rb") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=yaml.CSafeLoader)
    return document


@pytest.fixture(scope="module")
def validate(spec: dict[str, Any]):
    openapi_schema_validator = _require("openapi_schema_validator")
    referencing = _require("referencing")
    from referencing.jsonschema import DRAFT4

    registry = referencing.Registry().with_resource(
        SPEC_URI, referencing.Resource.from_contents(spec, default_specification=DRAFT4)
    )

    def response_schema(path: str, method: str, status: str, fallback: str) -> dict[str, Any]:
        response = spec["paths"][path][method]["responses"][status]
        content = response.get("content", {}).get("application/json")
        if content is None:  # the schema documents no body here: use the resource's DTO
            return {"$ref": f"#/components/schemas/{fallback}"}
        schema: dict[str, Any] = content["schema"]
        return schema

    def check(body: Any, path: str, method: str, status: str, fallback: str) -> None:
        schema = response_schema(path, method, status, fallback)
        rooted = _rebase(schema)
        validator = openapi_schema_validator.OAS30Validator(
            rooted,
            registry=registry,
            format_checker=openapi_schema_validator.oas30_format_checker,
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{method.upper()} {path} {status}: {errors}"

    return check


def _rebase(schema: Any) -> Any:
    """Point the document-local `$ref`s of an inline schema at the registered spec."""
    if isinstance(schema, dict):
        return {
            key: (
                f"{SPEC_URI}{value}" if key == "$ref" and value.startswith("#") else _rebase(value)
            )
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


def _contact(sim, resource: Resource) -> int | None:
    if resource is Resource.CONTACT_PERSONS:
        return int(sim.store.add_customer(Name="Acme AS")["Id"])
    return None


@pytest.mark.parametrize("resource", list(Resource))
async def test_create_response_matches_the_schema(sim, client, validate, resource) -> None:
    _, create_path, _, dto = PATHS[resource]
    created = await client.create(resource, NEW[resource], contact_id=_contact(sim, resource))
    validate(created, create_path, "post", "201", dto)


@pytest.mark.parametrize("resource", list(Resource))
async def test_get_response_matches_the_schema(sim, client, validate, resource) -> None:
    _, _, one_path, dto = PATHS[resource]
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    record = await client.get(resource, created["Id"], contact_id=contact_id)
    validate(record, one_path, "get", "200", dto)


@pytest.mark.parametrize("resource", list(Resource))
async def test_patch_response_matches_the_schema(sim, client, validate, resource) -> None:
    _, _, one_path, dto = PATHS[resource]
    contact_id = _contact(sim, resource)
    created = await client.create(resource, NEW[resource], contact_id=contact_id)
    patched = await client.patch(
        resource,
        created["Id"],
        [
            {
                "op": "replace",
                "path": "/IsActive" if resource is Resource.DEPARTMENTS else "/EmailAddress",
                "value": False if resource is Resource.DEPARTMENTS else "x@y.no",
            }
        ],
        contact_id=contact_id,
    )
    validate(patched, one_path, "patch", "200", dto)


@pytest.mark.parametrize("resource", list(Resource))
async def test_list_response_matches_the_schema(sim, client, validate, resource) -> None:
    list_path, _, _, dto = PATHS[resource]
    contact_id = _contact(sim, resource)
    await client.create(resource, NEW[resource], contact_id=contact_id)
    records = await client.list_page(resource)
    assert records
    validate(records, list_path, "get", "200", dto)


async def test_validation_problem_details_match_the_schema(sim, validate) -> None:
    response = await sim.raw("POST", "/Employees", json={"FirstName": "Ola"})
    assert response.status_code == 400
    validate(response.json(), "/Employees", "post", "400", "ProblemDetails")


async def test_not_found_problem_details_match_the_schema(sim, validate) -> None:
    response = await sim.raw("GET", "/Customers/987654")
    assert response.status_code == 404
    validate(response.json(), "/Customers/{id}", "get", "404", "ProblemDetails")


async def test_conflict_problem_details_match_the_schema(sim, validate) -> None:
    customer = sim.store.add_customer(Name="Acme AS")
    sim.store.seed_contact_persons(customer["Id"], 1)
    response = await sim.raw("DELETE", f"/Customers/{customer['Id']}")
    assert response.status_code == 409
    validate(response.json(), "/Customers/{id}", "delete", "409", "ProblemDetails")


async def test_the_schema_check_itself_rejects_a_wrong_body(validate) -> None:
    with pytest.raises(AssertionError, match="Additional properties"):
        validate([{"Id": 1, "Salary": 10}], "/Employees", "get", "200", "EmployeeDto")


def test_a_missing_schema_fails_under_ci_instead_of_skipping(tmp_path: Path) -> None:
    """A checkout with no ``../shared/specs`` beside it must not pass CI by skipping."""
    root = Path(__file__).resolve().parents[3]
    checkout = tmp_path / "checkout"  # nothing at tmp_path / "shared" / "specs"
    shutil.copytree(
        root / "tests", checkout / "tests", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(root / "pyproject.toml", checkout)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(Path(__file__).relative_to(root)),
            "-k",
            "not missing_schema",
        ],
        cwd=checkout,
        env={**os.environ, "CI": "true", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in summary, result.stdout
    assert "schema is not at" in result.stdout
