"""Dependencies flow one way: front doors -> orchestrators -> retrieval/reasoning -> storage -> core.

Read from the source with ``ast`` (nothing is imported), counting imports inside functions too, so a lazy
import cannot hide an upward edge or a cycle. ``if TYPE_CHECKING:`` blocks are annotations only and skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# repository folder -> the part it installs as (pyproject's package-dir)
FOLDERS = {
    "deepwell/core": "core",
    "storage": "storage",
    "retrieval": "retrieval",
    "reasoning": "reasoning",
    "agents": "agents",
    "rlm": "rlm",
    "deepwell/sdk": "sdk",
    "mcp_servers": "mcp_servers",
    "deepwell/cli": "cli",
}
MODULE_PREFIX = {
    "core": "deepwell.core",
    "storage": "deepwell.storage",
    "retrieval": "deepwell.retrieval",
    "reasoning": "deepwell.reasoning",
    "agents": "deepwell.agents",
    "rlm": "deepwell.rlm",
    "sdk": "deepwell.sdk",
    "mcp_servers": "deepwell.mcp_servers",
    "cli": "deepwell.cli",
}
_BELOW_ORCHESTRATORS = {"core", "storage", "retrieval", "reasoning"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "storage": {"core"},
    "retrieval": {"core", "storage"},
    "reasoning": {"core"},
    "agents": _BELOW_ORCHESTRATORS,
    "rlm": _BELOW_ORCHESTRATORS | {"agents"},
    "sdk": _BELOW_ORCHESTRATORS | {"agents", "rlm"},
    "mcp_servers": _BELOW_ORCHESTRATORS | {"agents", "rlm", "sdk"},
    "cli": _BELOW_ORCHESTRATORS | {"agents", "rlm", "sdk", "mcp_servers"},
}


def _files() -> Iterator[tuple[str, str, Path]]:
    """(module name, part, path) for every product module."""
    for folder, part in FOLDERS.items():
        base = ROOT / folder
        paths = [base] if base.suffix == ".py" else sorted(base.rglob("*.py"))
        for path in paths:
            if base.suffix == ".py":
                yield MODULE_PREFIX[part], part, path
                continue
            parts = [p for p in path.relative_to(base).with_suffix("").parts if p != "__init__"]
            yield ".".join([MODULE_PREFIX[part], *parts]), part, path


def _imports(path: Path, module: str) -> Iterator[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for each import outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names], node.lineno


def _part_of(module: str) -> str | None:
    best = None
    for part, prefix in MODULE_PREFIX.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(MODULE_PREFIX[best])
        ):
            best = part
    return best


def _edges() -> list[tuple[str, str, str, list[str], str]]:
    out = []
    for name, part, path in _files():
        for target, names, line in _imports(path, name):
            out.append((name, part, target, names, f"{path.relative_to(ROOT)}:{line}"))
    return out


def test_no_bare_part_imports() -> None:
    """Nothing imports a part by its old top-level name (``import rlm`` is the official RLM library)."""
    bad = [
        f"{where}: import {target}"
        for _, _, target, _, where in _edges()
        if target.split(".")[0] in {"storage", "retrieval", "reasoning", "agents", "rlm", "mcp_servers"}
    ]
    assert not bad, "import through the deepwell namespace:\n" + "\n".join(bad)


def test_dependencies_flow_one_way() -> None:
    bad = []
    for _, part, target, _, where in _edges():
        other = _part_of(target)
        if other is None or other == part:
            continue
        if other not in ALLOWED[part]:
            bad.append(f"{where}: {part} imports {target} ({other} is not below {part})")
    assert not bad, "\n".join(bad)


def test_parts_use_each_others_public_api() -> None:
    bad = []
    for _, part, target, names, where in _edges():
        other = _part_of(target)
        if other is None or other == part:
            continue
        private = [s for s in target[len(MODULE_PREFIX[other]) :].split(".") if s.startswith("_")]
        private += [n for n in names if n.startswith("_")]
        if private:
            bad.append(f"{where}: {part} reaches into {target} ({', '.join(private)})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles() -> None:
    modules = {name for name, _, _ in _files()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, _, target, names, _ in _edges():
        for cand in [target, *(f"{target}.{n}" for n in names)]:
            if cand in modules and cand != name:
                graph[name].add(cand)
    # a package imports its own submodules to re-export them; that is containment, not a cycle
    for m in modules:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("folder", ["storage", "retrieval", "reasoning", "agents", "rlm", "mcp_servers"])
def test_every_part_is_mapped_into_the_namespace(folder: str) -> None:
    import tomllib

    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["package-dir"][f"deepwell.{folder}"] == folder
    assert f"deepwell.{folder}" in conf["packages"]


@pytest.mark.parametrize("old", ["errors", "settings"])
def test_old_import_paths_still_work_and_say_where_to_go(old: str) -> None:
    import importlib
    import sys

    sys.modules.pop(f"deepwell.{old}", None)
    with pytest.warns(DeprecationWarning, match="deepwell.core"):
        mod = importlib.import_module(f"deepwell.{old}")
    core = importlib.import_module(f"deepwell.core.{old}")
    assert all(getattr(mod, n) is getattr(core, n) for n in core.__all__)
