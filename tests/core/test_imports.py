"""The import rules that keep the house's shape: the core and the session import no I/O module, clustering
imports nothing of ours, and no two packages of facilitation/ import each other (directly or round a loop).

Imports are read from the source (module level and inside functions alike: a lazy import is a dependency
too); those under ``if TYPE_CHECKING:`` are left out, since they exist only for the type checker."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IO_MODULES = frozenset({
    "asyncio", "socket", "ssl", "select", "selectors", "sqlite3", "subprocess", "threading", "multiprocessing",
    "concurrent", "urllib", "http", "starlette", "uvicorn", "redis", "websockets", "httpx", "prometheus_client",
})
"""Modules that do I/O or run concurrently: the pure layers take what they need as values instead."""


def imports(path: Path) -> Iterator[str]:
    """The modules a source file imports, at run time (absolute names; ``from x import y`` gives ``x``)."""

    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.module
            yield from walk(child)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")))


def modules(package: str) -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in (ROOT / package).rglob("*.py")}


def layer(module: str) -> str:
    """facilitation.live.room -> live; facilitation.metrics -> metrics."""
    return module.split(".")[1] if module.count(".") else module


def foreign(module: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted({name for name in imports(modules("facilitation")[module])
                   if name.split(".")[0] in IO_MODULES or (name.startswith("facilitation") and
                                                          not name.startswith(allowed))})


def test_the_core_imports_no_io_module_and_nothing_above_it() -> None:
    bad = {m: foreign(m, ("facilitation.core",)) for m in modules("facilitation") if m.startswith("facilitation.core")}
    assert {m: names for m, names in bad.items() if names} == {}


def test_the_session_imports_only_the_core() -> None:
    assert foreign("facilitation.live.session", ("facilitation.core",)) == []


def test_clustering_imports_nothing_of_facilitation() -> None:
    found = {m: [n for n in imports(p) if n.startswith("facilitation")] for m, p in modules("clustering").items()}
    assert {m: names for m, names in found.items() if names} == {}


def test_no_two_packages_depend_on_each_other() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in modules("facilitation").items():
        source = layer(module)
        for name in imports(path):
            if name.startswith("facilitation.") and layer(name) != source:
                graph.setdefault(source, set()).add(layer(name))
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, nxt]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert cycles == [], f"package cycles: {cycles}"


def test_the_rules_see_real_imports() -> None:
    """The reader is not blind: it finds the session's own imports and the web layer's I/O."""
    session = set(imports(modules("facilitation")["facilitation.live.session"]))
    assert "facilitation.core.protocol" in session
    assert "starlette.websockets" in set(imports(modules("facilitation")["facilitation.web.ws"]))
