"""The RLM structure model on real files of this machine: build time at ~1M tokens, and agreement with an
independent parser.

    python -m bench.structure [--tokens N] [--repeat R] [--quick] [--json]

Contexts (read offline, nothing downloaded): every Debian changelog under ``/usr/share/doc`` joined into one
text, the same changelogs as a list of documents (a directory context), CPython's standard library
(``/usr/lib/python3.11/*.py``) as a list of documents, and CPython's NEWS file. Each is cut to about
``--tokens`` tokens (4 characters a token, as the RLM's context description counts them).

Times are CPU seconds of this process (median of ``--repeat`` runs). Peers measured in the same run on
the same text: building the BM25 index every RLM context already builds (bm25s over 1,200-character
chunks, as ``rlm._context`` does), and for Python ``ast.parse`` of every module. Agreement: per Debian
changelog, the number of ``  * `` entries and the trailer's author in every version block against a regex
count that does not import ``rlm/``; per stdlib module, the def/class tree against ``ast``'s. Both checks
were looked at while the parser was written: they are development figures.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

from rich.progress import Progress

from bench.structure.checks import ast_definitions, debian_blocks, tree_definitions

DOC = Path("/usr/share/doc")
LIB = Path("/usr/lib/python3.11")


def _changelogs() -> list[tuple[str, str]]:
    out = []
    for p in sorted(DOC.glob("*/changelog.Debian.gz")):
        try:
            out.append((str(p.relative_to(DOC)), gzip.decompress(p.read_bytes()).decode("utf-8", "replace")))
        except (OSError, EOFError):
            continue
    return out


def _stdlib() -> list[tuple[str, str]]:
    return [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in sorted(LIB.glob("*.py"))]


def _cut(docs: list[tuple[str, str]], chars: int) -> list[tuple[str, str]]:
    """Whole documents, in order, until about ``chars`` characters."""
    out, total = [], 0
    for name, text in docs:
        if total >= chars:
            break
        out.append((name, text))
        total += len(text) + 2
    return out


def _timed(fn: Any, repeat: int) -> float:
    """Median CPU seconds of this process: on cores shared with other jobs, wall time measures the
    neighbours; every contender here is single-threaded work in this process."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return median(times)


def _bm25(text: str) -> None:
    from deepwell.retrieval.indexes import _bm25s, tokenize

    chunks = [text[a : a + 1400] for a in range(0, len(text), 1200)]
    _bm25s().BM25().index(tokenize(chunks), show_progress=False)


def _debian_agreement(docs: list[tuple[str, str]]) -> dict[str, Any]:
    from deepwell.rlm._structure import build_tree

    files = blocks = entries_ok = authors_ok = 0
    for _, text in docs:
        expect = debian_blocks(text)
        t = build_tree([("changelog.Debian", text)])
        got = [n for n in t.root.children if "version" in n.fields]
        files += 1
        blocks += len(expect)
        if len(got) != len(expect):
            continue
        for b, (entries, author) in zip(got, expect, strict=True):
            entries_ok += sum(1 for e in t.entries(b.id) if t.text.startswith("  * ", e.start)) == entries
            authors_ok += b.fields.get("author") == author
    return {"files": files, "blocks": blocks, "entry_counts_agree": entries_ok, "authors_agree": authors_ok}


def _python_agreement(docs: list[tuple[str, str]]) -> dict[str, Any]:
    from deepwell.rlm._structure import build_tree

    ok = defs = 0
    for name, text in docs:
        try:
            expect = ast_definitions(text)
        except SyntaxError:
            continue
        ok += tree_definitions(build_tree([(name, text)])) == expect
        defs += len(expect)
    return {"modules": len(docs), "trees_equal_to_ast": ok, "definitions": defs}


def run(tokens: int, repeat: int) -> dict[str, Any]:
    from deepwell.rlm._structure import build_tree

    chars = tokens * 4
    changelogs, stdlib = _changelogs(), _stdlib()
    news_path = DOC / "python3.11" / "NEWS.gz"
    contexts: dict[str, list[tuple[str, str]]] = {}
    if changelogs:
        contexts["debian changelogs, one text"] = [
            ("changelog", "\n\n".join(t for _, t in _cut(changelogs, chars)))
        ]
        contexts["debian changelogs, directory"] = _cut(changelogs, chars)
    if stdlib:
        contexts["cpython stdlib, directory"] = _cut(stdlib, chars)
    if news_path.exists():
        news = gzip.decompress(news_path.read_bytes()).decode("utf-8", "replace")
        contexts["cpython NEWS, one text"] = [("NEWS", news[:chars])]
    rows: dict[str, Any] = {}
    with Progress(transient=True, console=__import__("rich.console").console.Console(stderr=True)) as bar:
        task = bar.add_task("building trees", total=len(contexts) + 2)
        for label, docs in contexts.items():
            text = "\n\n".join(t for _, t in docs)
            tree_s = _timed(lambda docs=docs: build_tree(docs), repeat)
            bm25_s = _timed(lambda text=text: _bm25(text), repeat)
            tree = build_tree(docs)
            row = {
                "tokens": round(len(text) / 4),
                "tree_s": round(tree_s, 3),
                "bm25_index_s": round(bm25_s, 3),
                "tree_vs_bm25": round(tree_s / bm25_s, 2),
                "structure": tree.describe(),
            }
            if label.startswith("cpython stdlib"):
                ast_s = _timed(lambda docs=docs: [ast.parse(t) for _, t in docs], repeat)
                row["ast_parse_s"] = round(ast_s, 3)
                row["tree_vs_ast"] = round(tree_s / ast_s, 2)
            rows[label] = row
            bar.advance(task)
        agreement = {"debian": _debian_agreement(changelogs)} if changelogs else {}
        bar.advance(task)
        if stdlib:
            agreement["python"] = _python_agreement(stdlib)
        bar.advance(task)
    return {"contexts": rows, "agreement": agreement}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=1_000_000, help="context size in tokens (default 1M)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the median is shown")
    ap.add_argument("--quick", action="store_true", help="250K tokens, one run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not DOC.exists() and not LIB.exists():
        sys.exit("No /usr/share/doc changelogs and no /usr/lib/python3.11 here: nothing real to measure.")
    r = run(250_000 if args.quick else args.tokens, 1 if args.quick else args.repeat)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    nan = float("nan")
    head = f"{'context':<32} {'tokens':>9} {'tree s':>7} {'bm25 s':>7} {'tree/bm25':>9}"
    print(head + f" {'ast s':>6} {'tree/ast':>8}")
    for k, v in r["contexts"].items():
        print(
            f"{k:<32} {v['tokens']:>9,} {v['tree_s']:>7.2f} {v['bm25_index_s']:>7.2f} "
            f"{v['tree_vs_bm25']:>8.2f}x {v.get('ast_parse_s', nan):>6.2f} {v.get('tree_vs_ast', nan):>7.2f}x"
        )
    for k, v in r["contexts"].items():
        print(f"  {k}: {v['structure']}")
    d, p = r["agreement"].get("debian"), r["agreement"].get("python")
    if d:
        print(
            f"debian: {d['files']} changelogs, {d['blocks']} version blocks; entry counts agree in "
            f"{d['entry_counts_agree']}/{d['blocks']}, trailer authors in {d['authors_agree']}/{d['blocks']}"
        )
    if p:
        print(
            f"python: {p['trees_equal_to_ast']}/{p['modules']} stdlib modules give ast's def/class tree "
            f"({p['definitions']} definitions)"
        )


if __name__ == "__main__":
    main()
