"""Which way to answer: from a few retrieved passages (rag), or by reading the whole collection (rlm).

A question that *aggregates over the parts* of a collection — counts them, ranks them, lists all of them,
or asks which part holds something — cannot be answered from the top-k passages: the passages that would
show the count or the ranking are by construction not a handful. Everything else is a lookup, and
retrieval is the fast way to it. The rule reads the grammar of the question, not any corpus's phrasings:

* counting: "how many N", "the number of N", "count ...", unless a retrieved passage *states* that
  quantity ("how many days of leave" with a passage saying "2.5 days"): then it is a lookup;
* ranking: a superlative of quantity over a plural noun ("the most recipes", "the fewest items");
* listing all: "list all/every", "all the N that";
* structure: "which section / chapter / file / release ..." (the answer is a part, not a sentence).

``auto`` then falls back to the other way when the first finds no supported answer, so a misjudged
question costs time, not the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["STRATEGIES", "Route", "Strategy", "route"]

Strategy = Literal["auto", "rag", "rlm", "moa"]
STRATEGIES: tuple[str, ...] = ("auto", "rag", "rlm", "moa")

_NUMBER = (
    r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|hundred|thousand|dozen|several)"
)
_COUNT = re.compile(r"\bhow many\s+(\w+)|\b(?:total\s+)?number of\s+(\w+)|^\s*count\s+(?:the\s+)?(\w+)", re.I)
_RANK = re.compile(
    r"\b(?<!at )(?:most|fewest|least)\s+(\w+s)\b|\b(?:largest|greatest|highest|smallest|lowest)\s+number\b"
    r"|\bmore\s+\w+\s+than\s+any\b",
    re.I,
)
_ALL = re.compile(r"\b(?:list|name|enumerate)\s+(?:all|every|each)\b|\ball\s+(?:of\s+)?the\s+\w+s\b", re.I)
_PART = (
    r"(?:sections?|chapters?|parts?|headings?|files?|documents?|pages?|releases?|versions?|articles?|"
    r"clauses?|appendix|appendices|modules?|entries)"
)
_STRUCTURE = re.compile(rf"\bwhich\s+{_PART}\b|\bwhat\s+{_PART}\s+(?:does|do|did|is|are|has|have)\b", re.I)


@dataclass(frozen=True)
class Route:
    """The way chosen and why, in words a user can check."""

    strategy: str  # rag | rlm | moa
    why: str


def _stated(noun: str, passages: Sequence[str]) -> str | None:
    """A passage that states a quantity of ``noun`` ("2.5 days", "ten items"), if one does."""
    stem = re.escape(noun.lower()[:5])
    rx = re.compile(rf"\b{_NUMBER}\s+(?:[\w-]+\s+)?{stem}\w*", re.I)
    for text in passages:
        if m := rx.search(text):
            return m.group(0)
    return None


def route(question: str, passages: Sequence[Any] = ()) -> Route:
    """The way ``auto`` takes for ``question``; ``passages`` are the retrieved texts (or hits with
    ``.text``), used only to tell a stated quantity from one that must be counted."""
    texts = [p if isinstance(p, str) else str(getattr(p, "text", "")) for p in passages]
    if m := _COUNT.search(question):
        noun = next(g for g in m.groups() if g)
        if said := _stated(noun, texts):
            return Route("rag", f"a lookup: a retrieved passage states the quantity ({said!r})")
        return Route(
            "rlm", f"it counts {noun} across the collection ({m.group(0)!r}): no few passages can show that"
        )
    if m := _RANK.search(question):
        return Route("rlm", f"it ranks parts of the collection ({m.group(0)!r}): every part must be read")
    if m := _ALL.search(question):
        return Route("rlm", f"it asks for all of something ({m.group(0)!r}): every part must be read")
    if m := _STRUCTURE.search(question):
        return Route("rlm", f"it asks about the collection's structure ({m.group(0)!r})")
    return Route("rag", "a lookup: the answer should be in a few retrieved passages")
