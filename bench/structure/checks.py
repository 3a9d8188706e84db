"""Independent parsers the structure model is checked against (they do not import ``rlm/``): ``ast`` for
Python, and line regexes for Debian changelogs. Shared by ``python -m bench.structure`` and the tests."""

from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["ast_definitions", "debian_blocks", "tree_definitions"]

_DEBIAN_HEADER = re.compile(r"^\S.*\(.*\).*;\s*urgency=", re.M)
_TRAILER = re.compile(r"^ -- (.+?) <", re.M)

Definition = tuple[tuple[str, ...], str, str]


def ast_definitions(text: str) -> list[Definition]:
    """(enclosing names, "class" | "def", name) of every definition, in source order, from ``ast``."""
    out: list[Definition] = []

    def visit(body: list[ast.stmt], path: tuple[str, ...]) -> None:
        for st in body:
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.append((path, "class" if isinstance(st, ast.ClassDef) else "def", st.name))
                visit(st.body, (*path, st.name))
                continue
            for name in ("body", "orelse", "finalbody"):
                visit([s for s in getattr(st, name, []) if isinstance(s, ast.stmt)], path)
            for h in getattr(st, "handlers", []):
                visit(h.body, path)
            for c in getattr(st, "cases", []):
                visit(c.body, path)

    visit(ast.parse(text).body, ())
    return out


def tree_definitions(tree: Any) -> list[Definition]:
    """The same triples read from a structure tree's class and def nodes."""
    out: list[Definition] = []
    for n in tree.walk():
        if n.kind in ("class", "def"):
            names, p = [], n.parent
            while p is not None and p.kind in ("class", "def"):
                names.append(p.fields.get("name", p.title))
                p = p.parent
            out.append((tuple(reversed(names)), n.kind, n.fields.get("name", n.title)))
    return out


def debian_blocks(text: str) -> list[tuple[int, str | None]]:
    """(number of ``  * `` entries, trailer author) of each version block of a Debian changelog."""
    heads = [m.start() for m in _DEBIAN_HEADER.finditer(text)]
    out = []
    for a, b in zip(heads, [*heads[1:], len(text)], strict=True):
        entries = sum(1 for line in text[a:b].split("\n") if line.startswith("  * "))
        m = _TRAILER.search(text, a, b)
        out.append((entries, m.group(1) if m else None))
    return out
