"""An offline retrieval evaluation built from the Python FAQ (Debian package ``python3.11-doc``).

No PyPI package ships a BEIR-style data set with relevance judgments, so the evaluation is built from a
public corpus with natural judgments: each of the 176 questions in Python's official FAQ (PSF licence) is a
query, and the body of its answer, with the question heading removed, is its one relevant document.
Sections of the rest of the Python documentation (library reference, tutorial, how-tos) are added as
distractors. Install the corpus with ``apt-get install python3.11-doc``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SOURCES", "Dataset", "load_python_faq"]

SOURCES = Path("/usr/share/doc/python3.11/html/_sources")
_UNDERLINE = re.compile(r"[-=~^*+#\"']{3,}")


@dataclass
class Dataset:
    corpus: list[tuple[str, str, dict[str, str]]]  # (doc_id, text, metadata)
    queries: list[tuple[str, str]]  # (query_id, text)
    qrels: dict[str, set[str]]  # query_id -> relevant doc_ids


def _sections(text: str) -> list[tuple[str, str]]:
    """(title, body) for each reST section (a line followed by an underline of the same length or more)."""
    lines = text.split("\n")
    heads = [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip()
        and _UNDERLINE.fullmatch(lines[i + 1].strip())
        and len(lines[i + 1].strip()) >= len(lines[i].strip())
    ]
    out = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        body = "\n".join(lines[i + 2 : end]).strip()
        out.append((lines[i].strip(), body))
    return out


def _clean(body: str) -> str:
    body = re.sub(r"^\.\. [^\n]*(\n   [^\n]*)*", "", body, flags=re.M)  # directives
    body = re.sub(r":\w+:`~?([^`<]+?)(?:\s*<[^>]+>)?`", r"\1", body)  # roles
    return re.sub(r"\n{3,}", "\n\n", body).strip()


def load_python_faq(root: Path = SOURCES, distractors: int = 2000, seed: int = 13) -> Dataset:
    faq_dir = root / "faq"
    if not faq_dir.is_dir():
        raise SystemExit(
            f"The evaluation corpus is missing ({faq_dir}). "
            "Install it with: sudo apt-get install python3.11-doc"
        )
    corpus: list[tuple[str, str, dict[str, str]]] = []
    queries: list[tuple[str, str]] = []
    qrels: dict[str, set[str]] = {}
    for f in sorted(faq_dir.glob("*.rst.txt")):
        for n, (title, body) in enumerate(_sections(f.read_text(encoding="utf-8"))):
            answer = _clean(body)
            if not title.endswith("?") or len(answer) < 40:
                continue
            doc_id = f"faq/{f.name.removesuffix('.rst.txt')}#{n}"
            qid = f"q{len(queries)}"
            corpus.append((doc_id, answer, {"kind": "faq"}))
            queries.append((qid, title))
            qrels[qid] = {doc_id}
    pool = []
    for f in sorted(root.rglob("*.rst.txt")):
        if f.is_relative_to(faq_dir) or "whatsnew" in f.parts or "c-api" in f.parts:
            continue
        rel = str(f.relative_to(root)).removesuffix(".rst.txt")
        for n, (title, body) in enumerate(_sections(f.read_text(encoding="utf-8", errors="replace"))):
            text = _clean(body)
            if 200 <= len(text) <= 6000:
                pool.append((f"{rel}#{n}", f"{title}\n\n{text}", {"kind": "docs"}))
    random.Random(seed).shuffle(pool)
    corpus.extend(pool[:distractors])
    return Dataset(corpus, queries, qrels)
