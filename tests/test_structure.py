"""The code's shape (issue 15): no import cycles among formcheck's modules and no module over
~500 lines, so each stage stays small enough to read and change on its own.

Imports are read from the source (every ``import`` and ``from ... import``, top level or inside
a function, counts: a lazy import is still a dependency; imports under ``if TYPE_CHECKING:``
are annotations only and do not count); strongly connected components of that graph are found
with scipy's csgraph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

SRC = Path(__file__).resolve().parents[1] / "src"
#: Longest module allowed (lines), data files (TOML, JSON, templates) aside.
MAX_MODULE_LINES = 520


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted((SRC / "formcheck").rglob("*.py")):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def import_edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the formcheck modules it imports (``from pkg import sub`` is an edge to
    ``pkg.sub`` when ``sub`` is a submodule, else to ``pkg``)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rpartition(".")[0]
        tree = ast.parse(p.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and ast.unparse(node.test).endswith("TYPE_CHECKING")
                       for stmt in node.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                edges[m] |= {a.name for a in node.names if a.name in mods}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    t = sub if sub in mods else base if base in mods else None
                    if t is not None and t != m:
                        edges[m].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    names = sorted(edges)
    ix = {n: i for i, n in enumerate(names)}
    rows = [ix[a] for a in names for _ in edges[a]]
    cols = [ix[b] for a in names for b in edges[a]]
    g = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, label = connected_components(g, directed=True, connection="strong")
    groups: dict[int, list[str]] = {}
    for n, lab in zip(names, label, strict=True):
        groups.setdefault(int(lab), []).append(n)
    return [g for g in groups.values() if len(g) > 1]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    mods = _modules()
    assert len(mods) > 30
    found = cycles(import_edges(mods))
    assert not found, f"import cycles: {found}"


def test_no_module_over_the_limit() -> None:
    long = {m: n for m, p in _modules().items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
