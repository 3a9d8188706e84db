"""Numbered sources and the support check that decides whether an answer may be shown.

A 135M model will happily write a fluent sentence the sources never said, and often forgets the [n]
markers. So the model's text is a *draft*: each sentence is kept only if the words it adds to the
question (numbers exactly, other words by their first five letters) are found in one source; that source
becomes the sentence's [n] unless the model cited one that also supports it. Nothing left means
"not found in the sources" — Deepwell never shows an answer it cannot point to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from deepwell.retrieval import SearchHit

__all__ = ["NOT_FOUND", "Citation", "Support", "check_support", "focus", "new_words", "number_sources"]

NOT_FOUND = "Not found in the sources."

_WORD = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*", re.UNICODE)
_MARK = re.compile(r"\[(\d{1,2})\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_REFUSAL = re.compile(
    r"\b(not found|(?:do|does|did)(?: not|n't) (?:say|mention|contain|provide|specify|state)|"
    r"no (?:information|mention)|cannot (?:find|answer|determine)|not (?:mentioned|stated|specified))\b",
    re.I,
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "has",
        "have",
        "had",
        "having",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "than",
        "then",
        "so",
        "such",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "may",
        "might",
        "must",
        "shall",
        "should",
        "will",
        "would",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "me",
        "him",
        "her",
        "us",
        "them",
        "my",
        "your",
        "his",
        "our",
        "their",
        "answer",
        "answers",
        "question",
        "source",
        "sources",
        "according",
        "based",
        "also",
        "just",
        "only",
        "very",
        "more",
        "most",
        "some",
        "any",
        "each",
        "every",
        "one",
        "all",
        "per",
        "says",
        "said",
        "say",
        "text",
        "passage",
        "passages",
        "given",
        "following",
        "reply",
    ]
)


@dataclass(frozen=True)
class Citation:
    """A numbered source: which document, which chunk, which characters of the document's text."""

    n: int
    uri: str
    title: str
    document_id: int
    chunk_id: int
    chunk: int
    char_start: int
    char_end: int
    text: str
    score: float = 0.0

    @property
    def ref(self) -> str:
        return f"{self.uri}#chunk={self.chunk}&chars={self.char_start}-{self.char_end}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "citation": self.ref}


def number_sources(hits: Sequence[SearchHit]) -> list[Citation]:
    """Search hits → sources numbered from 1."""
    return [
        Citation(
            n=i,
            uri=h.uri,
            title=h.title,
            document_id=h.document_id,
            chunk_id=h.chunk_id,
            chunk=h.ordinal,
            char_start=h.char_start,
            char_end=h.char_end,
            text=h.text,
            score=float(getattr(h, "score", 0.0)),
        )
        for i, h in enumerate(hits, 1)
    ]


def _terms(text: str) -> list[str]:
    return [w.lower().strip(".,'") for w in _WORD.findall(text)]


def _key(word: str) -> str:
    """Numbers and dotted names must match exactly; other words by their first five letters."""
    return word if any(c.isdigit() or c in ".," for c in word) else word[:5]


def _content(text: str) -> set[str]:
    return {_key(w) for w in _terms(text) if w not in _STOP and (len(w) > 2 or w.isdigit())}


def focus(question: str, sources: Sequence[Citation], n: int = 3) -> list[tuple[int, str]]:
    """The ``n`` sentences of the sources that share most content words with the question.

    Measured on the sample handbook with SmolLM2-135M: given whole chunks it answered 1 of 5 questions,
    given the three best sentences 4 of 5 (and twice as fast: the prompt is a fifth as long).
    """
    asked = _content(question)
    scored: list[Any] = []
    for c in sources:
        for sentence in _SENTENCE.split(c.text):
            flat = " ".join(sentence.split())
            if len(flat) > 3:
                scored.append((-len(_content(flat) & asked), c.n, len(scored), flat))
    scored.sort()
    return [(num, flat) for _, num, _, flat in scored[:n]]


def new_words(answer: str, question: str) -> set[str]:
    """The content words ``answer`` adds to ``question`` (the part that can be right or wrong)."""
    return _content(_MARK.sub("", answer)) - _content(question)


@dataclass(frozen=True)
class Support:
    """The checked answer: the sentences kept, each ending with its [n], and the sources they cite."""

    answer: str
    status: str  # "answered" | "not_found"
    cited: list[int]
    dropped: list[str]
    draft: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_CLAUSE = re.compile(r",\s|;\s|\s\(|\s-\s|:\s")


def _supported(
    sentence: str, asked: set[str], vocab: dict[int, set[str]], marks: list[int], min_share: float
) -> tuple[int, str]:
    """(source number, the longest leading clauses that source supports) — (0, "") if none does.

    Supports means: the source shares a content word with the question, and holds ``min_share`` of
    the words the clause adds to the question.

    Small models run on past the answer ("60 euros per day, which is about $70"): the supported head is
    kept and the invented tail cut.
    """
    cuts = [m.start() for m in _CLAUSE.finditer(sentence)] + [len(sentence)]
    for end in sorted(cuts, reverse=True):
        head = sentence[:end].strip()
        new = _content(head) - asked
        if not new:
            continue
        for n in [*marks, *(n for n in vocab if n not in marks)]:
            # the source must be about the question too: "75 degrees" from a tea passage does not
            # answer "the boiling point of mercury"
            if asked and not asked & vocab[n]:
                continue
            if len(new & vocab[n]) / len(new) >= min_share:
                return n, head
    return 0, ""


def check_support(draft: str, question: str, sources: Sequence[Citation], min_share: float = 0.75) -> Support:
    """Keep the sentences of ``draft`` whose new words appear in one source (``min_share`` of them)."""
    text = draft.strip()
    if not sources or not text or (_REFUSAL.search(text) and not _MARK.search(text)):
        return Support(NOT_FOUND, "not_found", [], [text] if text else [], draft)
    asked = _content(question)
    vocab = {c.n: _content(c.text) for c in sources}
    kept: list[str] = []
    cited: list[int] = []
    dropped: list[str] = []
    for raw in _SENTENCE.split(text):
        sentence = raw.strip()
        if not sentence:
            continue
        marks = [int(m) for m in _MARK.findall(sentence) if int(m) in vocab]
        plain = _MARK.sub("", sentence).strip()
        if _REFUSAL.search(plain):
            dropped.append(sentence)
            continue
        best, plain = _supported(plain, asked, vocab, marks, min_share)
        if not best:
            dropped.append(sentence)
            continue
        plain = plain.rstrip()
        end = plain[-1] if plain[-1] in ".!?" else "."
        kept.append(f"{plain.rstrip('.!?').rstrip()} [{best}]{end}")
        if best not in cited:
            cited.append(best)
    if not kept:
        return Support(NOT_FOUND, "not_found", [], dropped, draft)
    return Support(" ".join(kept), "answered", cited, dropped, draft)
