"""The layout is part of the design (style.md, "Where things live"): these tests keep it.

- `connectors/` is the lowest layer: it imports nothing from `streams/`.
- The production worker never imports developer tooling (`streams/dev/`) or the
  operator's command line (`streams/cli/`).
- No two modules import each other, directly or through others — not even through an
  import inside a function, which would only hide the circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connectors", "streams", "mappings")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def top_level_imports(path: Path) -> Iterator[str]:
    """Modules imported at module level (not inside functions, not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    yield candidate


def own_imports(name: str) -> set[str]:
    """Project modules ``name`` imports, at module level or inside a function."""
    found = set(top_level_imports(MODULES[name])) | set(all_imports(MODULES[name]))
    return {m for m in found if m in MODULES and m != name}


def all_imports(path: Path) -> Iterator[str]:
    """Every module named in an import anywhere in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith("connectors")))
def test_connectors_import_nothing_from_streams(name):
    upward = sorted(m for m in all_imports(MODULES[name]) if m.split(".")[0] == "streams")
    assert upward == [], f"{name} imports {upward}"


def in_package(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


TOOLING = ("streams.dev", "streams.cli")
WORKER_MODULES = sorted(
    m
    for m in MODULES
    if in_package(m, "streams") and not in_package(m, *TOOLING) and m != "streams"
)


@pytest.mark.parametrize("name", WORKER_MODULES)
def test_the_worker_imports_no_developer_tooling_and_no_cli(name):
    wrong = sorted(m for m in all_imports(MODULES[name]) if in_package(m, *TOOLING))
    assert wrong == [], f"{name} (used by the worker) imports {wrong}"


def test_no_module_imports_itself_through_others():
    graph = {name: own_imports(name) for name in MODULES}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # A package's __init__ re-exporting its own submodules is not a circle of meaning.
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert real == [], "import circles: " + "; ".join(" -> ".join(c) for c in real)
