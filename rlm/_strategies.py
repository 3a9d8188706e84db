"""What plan execution and the modes share: results with their status, checking an answer against the
text it came from, and counting over parsed records.

An answer the model gives is only accepted if it can be found in the text it was given (no invention);
nothing here supplies an answer the model did not give or the code did not compute.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from deepwell.rlm._engine import Engine

__all__ = ["FUNCTION_WORDS", "Found", "count_records", "grounded"]


def _words(text: str) -> list[str]:
    return text.split()


# closed-class English words (determiners, pronouns, auxiliaries, prepositions, conjunctions, interrogatives,
# quantifiers): the grammar of any question, never what it is about
FUNCTION_WORDS = frozenset(
    _words(
        "a an the this that these those some any each every all both either neither no not other "
        "another i me my we us our you your he him his she her it its they them their what which "
        "who whom whose when where why how whether is are was were be been being am do does did "
        "done have has had having can could will would shall should may might must of for to in on "
        "at by with from into onto upon about above below over under between among through during "
        "before after since until than as and or but nor so if then else also too very just only "
        "many much more most less least few fewer fewest there here again ever one ones same such "
        "own up down out off"
    )
)
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass
class Found:
    """A result and what supports it; ``status`` is answered | not_found | uncertain."""

    answer: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    how: str = ""
    status: str = "answered"


def _asking(q: str) -> str:
    """The sentence that asks: the last one ending in '?', else the last sentence.

    Questions often start with a description of the text's format ("records look like 'key: value'"); the
    terms to look for are in the asking sentence, not in that preamble.
    """
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", q.strip()) if p.strip()]
    asks = [p for p in parts if p.endswith("?")]
    return asks[-1] if asks else (parts[-1] if parts else q)


def _quoted(q: str) -> list[str]:
    return [a or b for a, b in re.findall(r"'([^']{2,60})'|\"([^\"]{2,60})\"", q)]


def _anchors(q: str) -> list[str]:
    """Distinctive terms of the question: quoted phrases, hyphenated words, then other content words."""
    out = _quoted(q)
    out += re.findall(r"\b[\w]+(?:-[\w]+)+\b", q)
    out += [w for w in re.findall(r"\b[A-Za-z][\w]*\b", q) if w.lower() not in FUNCTION_WORDS and len(w) > 3]
    first: dict[str, str] = {}
    for a in out:
        first.setdefault(a.lower(), a)
    return list(first.values())


def _stem(word: str) -> str:
    w = word.lower()
    return re.sub(r"(?:ing|ed|es|s)$", "", w) if len(w) > 5 and " " not in w and "-" not in w else w


def grounded(answer: str, text: str, question: str) -> bool:
    """Whether an answer could have come from the text: its numbers and one of its own content words occur
    there, in a sentence with a word of the question (a real number from the wrong sentence is not an
    answer)."""
    qwords = {w.lower() for w in re.findall(r"[\w-]+", question)}
    words = [
        w
        for w in re.findall(r"[A-Za-z][\w-]{3,}", answer)
        if w.lower() not in qwords and w.lower() not in FUNCTION_WORDS and w.lower() not in _FILLER
    ]
    nums = _NUM.findall(answer)
    if any(n not in text for n in nums):
        return False
    keys = nums[:1] or words[:3]
    if not keys:
        return True  # nothing of its own to check (e.g. "yes")
    stems = [_stem(a) for a in _anchors(_asking(question))]
    low = text.lower()
    for key in keys:
        for m in list(re.finditer(re.escape(key.lower()), low))[:50]:
            start = max(low.rfind(". ", 0, m.start()), low.rfind("\n", 0, m.start())) + 1
            stops = [i for i in (low.find(". ", m.end()), low.find("\n", m.end())) if i >= 0]
            near = low[start : min(stops, default=len(low))]  # the sentence that holds it
            if not stems or any(re.search(rf"\b{re.escape(st)}", near) for st in stems):
                return True
    return False


_FILLER = {"answer", "text", "question", "mentioned", "says", "according", "based"}
_LEAD_IN = re.compile(r"^(?:(?:a|answer)\s*:|the answer(?: to (?:this|the) question)? is\b\s*:?)\s*", re.I)


def _value_in(reply: str, sentence: str, question: str, wants_number: bool) -> str | None:
    """The answer in a sub-call's reply, accepted only if it occurs in the sentence the model read.

    Small models rarely reply with the bare answer: they restate the question ("The codename of release
    2.4 was Blue Heron.") or add their own words. The answer is then the longest run of the reply's words
    that the question lacks and the sentence holds, returned as the sentence spells it.
    """
    lines = [_LEAD_IN.sub("", x.strip()).strip().strip(".").strip() for x in reply.strip().split("\n")]
    lines = [x for x in lines if x]
    if not lines or any("NONE" in x.upper() for x in lines[:1]):
        return None
    if wants_number:
        # a reply that rephrases the sentence still counts if its number is one the sentence holds
        held = {n.replace(",", "") for n in _NUM.findall(sentence)}
        qnums = {n.replace(",", "") for n in _NUM.findall(question)}
        nums = [n for x in lines for n in _NUM.findall(x) if n.replace(",", "") in held - qnums]
        return nums[0] if nums else None
    qwords = {w.lower() for w in re.findall(r"[\w-]+", question)}
    swords = {w.lower() for w in re.findall(r"[\w-]+", sentence)}
    for line in lines[:3]:
        words = re.findall(r"[\w-]+", line)
        novel = [w.lower() not in qwords and w.lower() not in FUNCTION_WORDS for w in words]
        if line.lower() in sentence.lower() and any(novel):
            return line.lstrip("-*+ ")  # the model copied what it judged the answer, however long
        runs: list[list[str]] = [[]]
        for w, new in zip(words, novel, strict=True):
            if new and w.lower() in swords:
                runs[-1].append(w)
            elif runs[-1]:
                runs.append([])
        best = max(runs, key=len)
        if best:
            span = re.search(r"\W+".join(re.escape(w) for w in best), sentence, re.I)
            if span:
                return span.group(0)
    return None


# a handful of ``key: value`` lines in prose are not a table the question is about unless it names them
_MIN_RECORDS = 5


def _names_value(value: str, question: str) -> bool:
    """The question writes ``value`` as a word of its own: not a piece of "3.6.0" or of another word, and
    a value with something to read (a lone "." or "2)" is a fragment of prose, not a category)."""
    if len(re.sub(r"\W", "", value)) < 2:
        return False
    return bool(re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\w)", question))


async def count_records(e: Engine, question: str, op: str) -> Found | None:
    """Counting and maxima over parsed records (``key: value`` lines, tables, JSON lines), computed, not
    read: ``op`` comes from the plan; the field and value from the question's words that name them."""
    step = e.trajectory.step("strategy", {"name": "count_records", "op": op})
    rec = await e.tool("records", parent=step)
    fields, rows = rec["fields"], rec["records"]
    if len(rows) < 2 or op not in ("count", "argmax", "argmin"):
        return None
    asking = _asking(question)
    ql = asking.lower()
    mentioned = [f for f in fields if _names_value(f, ql)]
    values = {f: Counter(r.get(f, "").lower() for r in rows) for f in fields}
    target = None
    for q in _quoted(asking):
        for f in fields:
            if q.lower() in values[f]:
                target = (f, q.lower())
    if target is None and len(rows) >= _MIN_RECORDS:
        for f in mentioned or fields:
            hits = [v for v in values[f] if _names_value(v, ql)]
            if len(hits) == 1:
                target = (f, hits[0])
                break
    if not mentioned and target is None:
        return None  # the question names no field or value of these records: they are not its subject
    field_ = (mentioned or ([target[0]] if target else []) or [None])[0]
    if op == "count":
        if target is None:
            ans, how = str(len(rows)), f"counted all {len(rows)} records"
        else:
            n = values[target[0]][target[1]]
            ans, how = str(n), f"counted records with {target[0]} = {target[1]}"
        e.trajectory.step("reduce", {"operation": "count", "target": target, "result": ans}, parent=step)
        return Found(ans, [{"counts": dict(values[target[0]]) if target else {"records": len(rows)}}], how)
    if field_ is None:
        return None
    counts = values[field_]
    ordered = counts.most_common()
    pick = ordered[0] if op == "argmax" else ordered[-1]
    ties = [v for v, c in ordered if c == pick[1]]
    e.trajectory.step(
        "reduce", {"operation": op, "field": field_, "counts": dict(counts), "result": ties}, parent=step
    )
    status = "answered" if len(ties) == 1 else "uncertain"
    return Found(
        " / ".join(ties), [{"counts": dict(counts)}], f"{op} of {field_} over {len(rows)} records", status
    )
