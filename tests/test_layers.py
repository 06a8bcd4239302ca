"""The layers of ``hmb`` as the folder list shows them: each package imports only from the
packages below it, and no module imports itself back through others.

Every import counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: a
local import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A package may import from its own layer and every layer before it. ``queries``
# (the SQL files and their runner) belongs with measure.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("rulebook",),
    ("ingest",),
    ("measure", "queries"),
    ("judge",),
    ("state",),
    ("access",),
    ("report",),
    ("tools",),
    ("cli",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports, however it imports them."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from hmb.ingest import validation`` imports the module hmb.ingest.validation.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def import_graph(roots: tuple[str, ...] = ("hmb", "queries")) -> dict[str, set[str]]:
    files = {_module_name(p): p for root in roots for p in (ROOT / root).rglob("*.py")}
    return {name: _imports(path, set(files)) - {name} for name, path in files.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "queries":
        return "queries"
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_inside_hmb() -> None:
    assert cycles(import_graph()) == []


def test_every_hmb_module_lives_in_a_layer() -> None:
    loose = [m for m in import_graph() if m not in ("hmb", "queries") and _layer(m) is None]
    assert loose == [], "put these modules in one of the layers of hmb/__init__.py"


def test_each_layer_imports_only_from_the_layers_below_it() -> None:
    upward = sorted(
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if (a := _layer(module)) is not None
        and (b := _layer(target)) is not None
        and RANK[b] > RANK[a]
    )
    assert upward == []


def test_the_layer_list_is_the_folder_list() -> None:
    packages = {p.name for p in (ROOT / "hmb").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANK) - {"queries"}
    docstring = ast.get_docstring(ast.parse((ROOT / "hmb" / "__init__.py").read_text()))
    assert docstring is not None
    assert all(f"``{package}``" in docstring for package in packages)


# The checks themselves must be able to fail.


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from hmb.judge import rules\n", {"hmb.judge", "hmb.judge.rules"}),
        ("def f():\n    from hmb.judge.rules import X\n", {"hmb.judge.rules"}),
        ("if TYPE_CHECKING:\n    import hmb.state.audit\n", {"hmb.state.audit"}),
    ],
)
def test_every_kind_of_import_is_seen(tmp_path: Path, source: str, expected: set[str]) -> None:
    path = tmp_path / "m.py"
    path.write_text(source)
    known = {"hmb.judge", "hmb.judge.rules", "hmb.state.audit"}
    assert _imports(path, known) == expected
