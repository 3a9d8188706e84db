"""The repetition guard: notice a generation that has started to loop, stop it, and cut the repeats.

A small model decoding greedily falls into cycles ("la femme, la femme, la femme, …") and spends the whole
token budget there. A repetition penalty makes that rarer; this guard makes it harmless. It looks at the
tail of the text as words (case and punctuation folded) and asks whether the last words are one unit
repeated back to back: a short unit must repeat more often than a long one before it counts, because
"very, very" is prose while the same 12-word line twice is a loop. The answer is cut after the first copy
of the unit, so the reader gets everything said once and nothing said twice.

Streaming shows text at once, except a tail that repeats what came just before it (it might be the start
of a loop): that part waits until it either stops repeating or is confirmed as a loop and cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LoopGuard", "find_loop", "trim_loop"]

_WORD = re.compile(r"\w+", re.UNICODE)

# a unit of p words is a loop once it repeats ``_reps(p)`` times in a row
_MAX_PERIOD = 30


def _reps(period: int) -> int:
    if period == 1:
        return 6
    if period <= 3:
        return 4
    if period <= 7:
        return 3
    return 2


def find_loop(text: str) -> int | None:
    """Where the repeated tail of ``text`` starts (after the first copy of the unit), or ``None``."""
    words = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    n = len(words)
    for period in range(1, min(_MAX_PERIOD, n // 2) + 1):
        need = _reps(period)
        if period * need > n:
            continue
        unit = [w for w, _, _ in words[n - period :]]
        reps = 1
        while (
            reps < need
            and n - period * (reps + 1) >= 0
            and [w for w, _, _ in words[n - period * (reps + 1) : n - period * reps]] == unit
        ):
            reps += 1
        if reps >= need:
            # walk back over earlier copies too, so the cut keeps exactly one
            start = n - period * reps
            while start - period >= 0 and [w for w, _, _ in words[start - period : start]] == unit:
                start -= period
            return words[start + period - 1][2]
    return None


def _repeat_start(text: str) -> int:
    """Where the longest tail that copies the words right before it begins (``len(text)`` if none)."""
    words = [(m.group(0).lower(), m.start()) for m in _WORD.finditer(text)]
    n = len(words)
    longest = 0
    for period in range(1, min(_MAX_PERIOD, n - 1) + 1):
        m = 0
        while n - m - 1 - period >= 0 and words[n - m - 1][0] == words[n - m - 1 - period][0]:
            m += 1
        longest = max(longest, m)
    if not longest:
        # the last word may still be growing ("Par" → "Paris"): wait for the next piece
        return words[-1][1] if words and text[-1:].isalnum() else len(text)
    return words[n - longest][1]


def trim_loop(text: str) -> tuple[str, bool]:
    """``text`` without its looping tail, and whether one was found."""
    cut = find_loop(text)
    return (text, False) if cut is None else (text[:cut].rstrip(" ,;:-"), True)


@dataclass
class LoopGuard:
    """Feeds a stream through :func:`find_loop`, releasing text only once it can no longer be cut."""

    text: str = ""
    emitted: int = 0
    looped: bool = False

    def feed(self, piece: str) -> str:
        """Add a piece; return what may be shown now. After a loop is found, ``looped`` is set."""
        if self.looped:
            return ""
        self.text += piece
        cut = find_loop(self.text)
        if cut is not None:
            self.looped = True
            self.text = self.text[:cut].rstrip(" ,;:-")
            out = self.text[self.emitted :] if len(self.text) > self.emitted else ""
            self.emitted = max(self.emitted, len(self.text))
            return out
        safe = _repeat_start(self.text)
        out = self.text[self.emitted : safe] if safe > self.emitted else ""
        self.emitted = max(self.emitted, safe)
        return out

    def flush(self) -> str:
        """The rest of the text, at the end of the stream."""
        out = self.text[self.emitted :]
        self.emitted = len(self.text)
        return out
