"""The question set: "In which Python version was M.X added?", ground truth read from the Python docs.

Source: the reStructuredText sources of the Python 3.11 documentation as Debian ships them
(``apt-get install python3.11-doc`` → /usr/share/doc/python3.11/html/_sources/library). Every top-level
``.. function::``, ``.. class::``, ``.. method::``, ``.. data::`` or ``.. attribute::`` block of a few
modules becomes one passage (its signature line and body); a block whose body has exactly one
``.. versionadded:: X.Y`` gives the question and its answer ``X.Y``. The other blocks of the same
modules are in the corpus too, many with ``versionchanged`` numbers, so a model that grabs any version
number is wrong. Questions are picked by a fixed seed and split in two halves: ``dev`` (tuned on) and
``heldout`` (reported, never tuned on). The directives are rendered as Sphinx renders them ("New in
version 3.5.", "Changed in version 3.9: …"), as a user who ingests the HTML docs would have them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCS", "MODULES", "Passage", "Question", "halves", "load"]

DOCS = Path("/usr/share/doc/python3.11/html/_sources/library")
MODULES = ("statistics", "math", "shutil", "functools", "itertools", "time", "random", "string")
_DIRECTIVE = re.compile(r"^\.\. (function|class|method|data|attribute|decorator):: (.+)$")
_ADDED = re.compile(r"^\s+\.\. versionadded:: (\d+\.\d+)\s*$", re.M)
# what Sphinx renders for the version directives: the passages read like the HTML docs a user ingests
_RENDERED = [
    (re.compile(r"\.\. versionadded:: (\S+)"), r"New in version \1."),
    (re.compile(r"\.\. versionchanged:: (\S+)"), r"Changed in version \1:"),
    (re.compile(r"\.\. deprecated:: (\S+)"), r"Deprecated since version \1:"),
]


def _rendered(body: str) -> str:
    for pattern, text in _RENDERED:
        body = pattern.sub(text, body)
    return body


@dataclass(frozen=True)
class Passage:
    uri: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    split: str
    uri: str


def _blocks(module: str) -> list[tuple[str, str, str]]:
    """(name, signature, body) for each top-level directive block of a module's page."""
    path = DOCS / f"{module}.rst.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(lines):
        m = _DIRECTIVE.match(lines[i])
        if not m:
            i += 1
            continue
        signature = m.group(2).strip()
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
            j += 1
        name = re.split(r"[(\s]", signature, maxsplit=1)[0]
        out.append((name, signature, "\n".join(lines[i + 1 : j])))
        i = j
    return out


def load(per_split: int | None = None, seed: int = 12) -> tuple[list[Passage], list[Question]]:
    """The corpus and the questions (``per_split`` per half, or all)."""
    if not DOCS.is_dir():
        raise SystemExit(f"{DOCS} is missing: apt-get install python3.11-doc")
    passages: list[Passage] = []
    candidates: list[Question] = []
    for module in MODULES:
        for name, signature, body in _blocks(module):
            qualified = name if name.startswith(module + ".") else f"{module}.{name}"
            uri = f"python-docs:{module}/{qualified}"
            text = f"{qualified}: {signature}\n{_rendered(body)}"
            passages.append(Passage(uri, text))
            added = _ADDED.findall(body)
            if len(added) == 1:
                q = f"In which Python version was {qualified} added?"
                candidates.append(Question(qualified, q, added[0], "", uri))
    return passages, halves(candidates, seed, per_split)


def halves(candidates: list[Question], seed: int, per_split: int | None) -> list[Question]:
    """Shuffle by ``seed`` and split in two: ``dev`` (tuned on) then ``heldout`` (only reported)."""
    picked = list(candidates)
    random.Random(seed).shuffle(picked)
    half = len(picked) // 2
    dev = [Question(q.id, q.question, q.answer, "dev", q.uri) for q in picked[:half]]
    held = [Question(q.id, q.question, q.answer, "heldout", q.uri) for q in picked[half:]]
    if per_split is not None:
        dev, held = dev[:per_split], held[:per_split]
    return dev + held
