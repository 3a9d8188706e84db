"""Scoring for the real-document tasks: exact match after normalisation.

Versions compare exactly, names and titles case-insensitively, counts as exact integers, dates as
calendar days. An answer may be a sentence ("Version 2.3-1 fixed it"): it scores when it names a gold
answer as a whole token and names no *other* candidate of the same type from the context (every version,
uploader, section number ... the context holds), so listing several guesses never scores.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime

__all__ = ["answer_matches", "dates_in", "integers_in", "normalise"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_PREFIX = {
    "version": r"^(?:version|v)\s*",
    "number": r"^(?:section|chapter|§)\s*",
}


def normalise(text: str, answer_type: str) -> str:
    """The comparable form of one short answer of ``answer_type``."""
    t = " ".join(str(text).split()).strip()
    t = t.strip("`*\"' ").rstrip(".:;,!?").strip("`*\"' ")
    if answer_type == "version":
        return re.sub(_PREFIX["version"], "", t, flags=re.I)
    if answer_type == "number":
        return re.sub(_PREFIX["number"], "", t, flags=re.I).rstrip(".")
    if answer_type == "code":
        return t.replace('"', "'").strip("'").casefold()
    t = t.casefold()
    return t[4:] if t.startswith("the ") else t


def _bounded(token: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w.+~:\-])" + re.escape(token) + r"(?![\w+~:\-]|\.\w)")


def integers_in(text: str, exclude: Iterable[int] = ()) -> list[int]:
    """Standalone integers (not parts of versions, ids or decimals) and number words up to twenty."""
    found = [int(m.replace(",", "")) for m in re.findall(r"(?<![\w.#-])\d[\d,]*(?![\w-]|\.\d)", text)]
    found += [_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS]
    skip = set(exclude)
    return [n for n in found if n not in skip]


def dates_in(text: str) -> set[date]:
    """Calendar days written as 2022-09-20, 20 Sep 2022, Sep 20, 2022 or September 20 2022."""
    out: set[date] = set()
    for y, m, d in re.findall(r"\b(\d{4})-(\d\d)-(\d\d)\b", text):
        out |= _day(int(y), int(m), int(d))
    for d, mon, y in re.findall(r"\b(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]{3,9})\.?,? (\d{4})\b", text):
        out |= _day(int(y), _MONTHS.get(mon[:3].lower(), 0), int(d))
    for mon, d, y in re.findall(r"\b([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b", text):
        out |= _day(int(y), _MONTHS.get(mon[:3].lower(), 0), int(d))
    return out


def _day(y: int, m: int, d: int) -> set[date]:
    try:
        return {datetime(y, m, d).date()}
    except ValueError:
        return set()


def answer_matches(
    prediction: str | None,
    golds: Sequence[str],
    answer_type: str,
    candidates: Sequence[str] = (),
    question: str = "",
) -> bool:
    """True when ``prediction`` gives a gold answer (see the module docstring for the rule)."""
    if prediction is None or not str(prediction).strip():
        return False
    pred = str(prediction)
    if answer_type == "count":
        gold = int(golds[0])
        asked = [int(n) for n in re.findall(r"\d+", question) if int(n) != gold]
        return set(integers_in(pred, exclude=asked)) == {gold}
    if answer_type == "date":
        gold_days = set().union(*(dates_in(g) for g in golds))
        return bool(gold_days) and dates_in(pred) == gold_days
    norm_golds = {normalise(g, answer_type) for g in golds}
    p = normalise(pred, answer_type)
    if p in norm_golds:
        return True
    folded = p if answer_type == "version" else p.casefold()
    for gold in sorted(norm_golds, key=len, reverse=True):
        rest, hits = _bounded(gold).subn(" ", folded)
        if hits:
            others = {normalise(c, answer_type) for c in candidates} - norm_golds
            return not any(_bounded(o).search(rest) for o in others if o)
    return False
