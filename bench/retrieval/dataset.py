"""An offline retrieval evaluation built from the official Python FAQ (Debian package ``python3.11-doc``).

Why this set: no PyPI package ships a BEIR-style data set with relevance judgments (``beir`` and
``ir_datasets`` download at run time, which this machine cannot), so the evaluation is built from a public
corpus whose judgments come with it. The Python FAQ (``faq/*.rst``, PSF licence) is a list of real user
questions, each a section heading followed by the answer:

- query: the question, exactly as the heading reads (e.g. "How do I copy an object in Python?");
- relevant document: the answer body *without* its heading, so the question's words are not in it;
  qrels are binary, one relevant document per query;
- distractors: sections of the rest of the Python documentation (library reference, tutorial, how-tos,
  language reference; not the FAQ, "What's new" or the C API), title plus body, sampled with a fixed seed.
  The FAQ answers are also distractors for each other, and they are the hard ones (same register, same
  topics).

Judgments are incomplete in the way MS MARCO's are: a library section that also answers a question (the
``copy`` module page for "How do I copy an object?") counts as a miss, which lowers every mode alike.

The corpus installs with ``apt-get install python3.11-doc`` (``.ci/run`` does it); nothing is committed.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from deepwell.core.errors import ConfigError

__all__ = ["SOURCES", "Dataset", "load_python_faq", "rst_sections"]

SOURCES = Path("/usr/share/doc/python3.11/html/_sources")

_UNDERLINE = re.compile(r"([-=~^*+#\"'`])\1{2,}")
_DIRECTIVE = re.compile(r"^\.\. [^\n]*(\n   [^\n]*)*", re.M)  # the line and its options, not its content
_ROLE = re.compile(r":[\w:.-]+:`~?!?([^`<]+?)(?:\s*<[^>]+>)?`")
_MIN_ANSWER_CHARS = 40
_DISTRACTOR_CHARS = (200, 6000)


@dataclass
class Dataset:
    name: str
    corpus: list[tuple[str, str, dict[str, str]]]  # (doc_id, text, metadata), as Deepwell.ingest_texts takes
    queries: dict[str, str]  # query_id -> question
    qrels: dict[str, dict[str, int]]  # query_id -> {doc_id: relevance}

    def sample(self, n_queries: int, seed: int = 13) -> Dataset:
        """A seeded sample of the queries over the same corpus (for ``--quick``)."""
        if n_queries >= len(self.queries):
            return self
        keep = sorted(random.Random(seed).sample(sorted(self.queries), n_queries))
        return Dataset(
            self.name, self.corpus, {q: self.queries[q] for q in keep}, {q: self.qrels[q] for q in keep}
        )


def rst_sections(text: str) -> list[tuple[str, str]]:
    """(title, body) for each reST section: a line underlined by a run of one punctuation character at
    least as long as the title. Overlined titles count too (the overline is dropped with the body above)."""
    lines = text.split("\n")
    heads = [
        i
        for i in range(len(lines) - 1)
        if lines[i].strip()
        and not _UNDERLINE.fullmatch(lines[i].strip())
        and _UNDERLINE.fullmatch(lines[i + 1].strip())
        and len(lines[i + 1].strip()) >= len(lines[i].strip())
    ]
    out = []
    for n, i in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        body = lines[i + 2 : end]
        if n + 1 < len(heads) and body and _UNDERLINE.fullmatch(body[-1].strip()):
            body = body[:-1]  # the next title's overline
        out.append((lines[i].strip(), "\n".join(body).strip()))
    return out


def _clean(body: str) -> str:
    """Plain prose from reST: directive lines (index entries, labels) dropped, roles unwrapped."""
    body = _DIRECTIVE.sub("", body)
    body = _ROLE.sub(r"\1", body)
    return re.sub(r"\n{3,}", "\n\n", body).strip()


def load_python_faq(root: Path = SOURCES, distractors: int | None = None, seed: int = 13) -> Dataset:
    """FAQ questions as queries over FAQ answers plus ``distractors`` documentation sections (None: all)."""
    faq_dir = root / "faq"
    if not faq_dir.is_dir():
        raise ConfigError(
            f"The retrieval benchmark's corpus is missing: {faq_dir} does not exist. Install it with "
            "`apt-get install python3.11-doc` (Debian/Ubuntu), or pass --sources DIR pointing at the "
            "_sources directory of the Python 3.11 HTML documentation."
        )
    corpus: list[tuple[str, str, dict[str, str]]] = []
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for f in sorted(faq_dir.glob("*.rst.txt")):
        for n, (title, body) in enumerate(rst_sections(f.read_text(encoding="utf-8"))):
            answer = _clean(body)
            if not title.endswith("?") or len(answer) < _MIN_ANSWER_CHARS:
                continue
            doc_id = f"faq/{f.name.removesuffix('.rst.txt')}#{n}"
            qid = f"q{len(queries):03d}"
            corpus.append((doc_id, answer, {"kind": "faq"}))
            queries[qid] = title
            qrels[qid] = {doc_id: 1}
    if not queries:
        raise ConfigError(
            f"No FAQ questions were found under {faq_dir}; is it the Python 3.11 _sources tree?"
        )
    pool = []
    lo, hi = _DISTRACTOR_CHARS
    for f in sorted(root.rglob("*.rst.txt")):
        if f.is_relative_to(faq_dir) or {"whatsnew", "c-api"} & set(f.relative_to(root).parts):
            continue
        rel = str(f.relative_to(root)).removesuffix(".rst.txt")
        for n, (title, body) in enumerate(rst_sections(f.read_text(encoding="utf-8", errors="replace"))):
            text = _clean(body)
            if lo <= len(text) <= hi:
                pool.append((f"{rel}#{n}", f"{title}\n\n{text}", {"kind": "docs"}))
    random.Random(seed).shuffle(pool)
    corpus.extend(pool if distractors is None else pool[:distractors])
    return Dataset("Python 3.11 FAQ (python3.11-doc)", corpus, queries, qrels)
