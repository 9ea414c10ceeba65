"""Loading and validating the flow files under `mappings/`.

A flow file is TOML:

    [flow]
    name = "employee"
    left = "poweroffice.Employee"       # the side records are created from
    right = "chargebee.customer"
    link = "create"                     # or "match_by_name" (business entities)

    [where]                             # optional: which left records belong here
    IsPerson = true

    [fields]                            # left field = right field
    EmailAddress = "email"

Every mistake — an unknown entity or field, a field mapped twice, a value of the wrong
type — is a `MappingError` naming the file and the line, so that adding a field stays an
edit of a file and a clear message, never a code change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from connectors.exceptions import LedgerlinkError
from mappings.flow import FieldPair, Flow, LinkMode
from mappings.schema import entity_fields

__all__ = ["DEFAULT_DIR", "MappingError", "load_flow", "load_flows"]

DEFAULT_DIR = Path(__file__).resolve().parent

_FLOW_KEYS = {"name", "left", "right", "link"}
_LINK_MODES: tuple[LinkMode, ...] = ("create", "match_by_name")


class MappingError(LedgerlinkError):
    """A flow file is wrong; the message says which file, which line and what to change."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


def _line_of(text: str, section: str, key: str | None = None) -> int | None:
    """The 1-based line of ``key`` inside ``[section]`` (or of the header itself)."""
    current = None
    key_re = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""") if key else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            if key is None and current == section:
                return number
            continue
        if key_re is not None and current == section and key_re.match(line):
            return number
    return None


class _FileCheck:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def fail(self, problem: str, section: str, key: str | None = None) -> MappingError:
        return MappingError(self.path, _line_of(self.text, section, key), problem)

    def entity(self, flow: dict[str, Any], side: str) -> tuple[str, str]:
        value = flow.get(side)
        if not isinstance(value, str) or value.count(".") != 1:
            raise self.fail(
                f"{side} must be 'system.Entity', e.g. 'poweroffice.Employee'", "flow", side
            )
        system, entity = value.split(".")
        if entity_fields(system, entity) is None:
            raise self.fail(f"unknown entity {value!r}", "flow", side)
        return system, entity


def load_flow(path: Path) -> Flow:
    """Load and validate one flow file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(path, None, f"cannot read: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise MappingError(path, line, f"not valid TOML: {exc}") from exc
    check = _FileCheck(path, text)
    unknown_sections = set(doc) - {"flow", "where", "fields"}
    if unknown_sections:
        section = sorted(unknown_sections)[0]
        raise check.fail(f"unknown section [{section}]", section)
    flow = doc.get("flow")
    if not isinstance(flow, dict):
        raise MappingError(path, 1, "missing [flow] section")
    for key in flow:
        if key not in _FLOW_KEYS:
            raise check.fail(f"unknown key {key!r} in [flow]", "flow", key)
    name = flow.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise check.fail("name must be lower_snake_case text", "flow", "name")
    left_system, left_entity = check.entity(flow, "left")
    right_system, right_entity = check.entity(flow, "right")
    if left_system == right_system:
        raise check.fail("left and right must be different systems", "flow", "right")
    link = flow.get("link", "create")
    if link not in _LINK_MODES:
        raise check.fail(f"link must be one of {', '.join(_LINK_MODES)}", "flow", "link")

    left_fields = entity_fields(left_system, left_entity) or {}
    right_fields = entity_fields(right_system, right_entity) or {}

    where = doc.get("where", {})
    if not isinstance(where, dict):
        raise check.fail("[where] must be a table of field = value", "where")
    for key, value in where.items():
        spec = left_fields.get(key)
        if spec is None:
            raise check.fail(f"unknown field {left_entity}.{key}", "where", key)
        if type(value) is not spec.type:
            raise check.fail(
                f"{left_entity}.{key} is {spec.type.__name__}, not {type(value).__name__}",
                "where",
                key,
            )

    fields = doc.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise MappingError(path, _line_of(text, "fields"), "[fields] must map at least one field")
    pairs: list[FieldPair] = []
    targets: dict[str, str] = {}
    for left_name, right_name in fields.items():
        left_spec = left_fields.get(left_name)
        if left_spec is None:
            raise check.fail(f"unknown field {left_entity}.{left_name}", "fields", left_name)
        if not isinstance(right_name, str):
            raise check.fail("a mapped field must name a field as text", "fields", left_name)
        right_spec = right_fields.get(right_name)
        if right_spec is None:
            raise check.fail(f"unknown field {right_entity}.{right_name}", "fields", left_name)
        if right_name in targets:
            raise check.fail(
                f"{right_entity}.{right_name} is mapped twice (also from {targets[right_name]})",
                "fields",
                left_name,
            )
        if left_spec.type is not right_spec.type:
            raise check.fail(
                f"{left_entity}.{left_name} is {left_spec.type.__name__} but "
                f"{right_entity}.{right_name} is {right_spec.type.__name__}",
                "fields",
                left_name,
            )
        if not (left_spec.writable and right_spec.writable):
            raise check.fail(
                f"{left_name} → {right_name}: ids cannot be mapped", "fields", left_name
            )
        targets[right_name] = left_name
        pairs.append(
            FieldPair(
                left=left_name,
                right=right_name,
                max_length=right_spec.max_length,
                email=left_spec.email or right_spec.email,
            )
        )
    return Flow(
        name=name,
        source=str(path),
        left_system=left_system,
        left_entity=left_entity,
        right_system=right_system,
        right_entity=right_entity,
        link=link,
        where=dict(where),
        fields=tuple(pairs),
    )


def load_flows(directory: Path = DEFAULT_DIR, paths: Iterable[Path] | None = None) -> list[Flow]:
    """Every `*.toml` flow in ``directory`` (sorted by file name), validated together."""
    files = sorted(paths) if paths is not None else sorted(directory.glob("*.toml"))
    if not files:
        raise MappingError(directory, None, "no flow files (*.toml) found")
    flows: list[Flow] = []
    names: dict[str, Path] = {}
    for path in files:
        flow = load_flow(path)
        if flow.name in names:
            raise MappingError(
                path,
                _line_of(path.read_text(encoding="utf-8"), "flow", "name"),
                f"flow name {flow.name!r} is already used by {names[flow.name]}",
            )
        names[flow.name] = path
        flows.append(flow)
    return flows
