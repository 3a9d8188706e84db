"""Tools for reading documents far larger than a model's window: size, outline, ranges and grep.

Each function works on a document's extracted text and returns bounded, JSON-ready results, so the MCP
server and the RLM can both hand them to a model without flooding its window.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any, Literal

import regex

from deepwell.core.errors import InputError
from deepwell.retrieval.headings import find_headings

__all__ = [
    "GREP_TIMEOUT",
    "MAX_RANGE_CHARS",
    "SafePattern",
    "chunk_map",
    "compile_pattern",
    "document_info",
    "grep",
    "outline",
    "read_range",
]

MAX_RANGE_CHARS = 20_000
MAX_PATTERN_CHARS = 500
GREP_TIMEOUT = 2.0

Counter = Callable[[str], int]


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def outline(text: str, max_items: int = 200) -> list[dict[str, Any]]:
    """Headings (the shared rule of ``deepwell.retrieval.headings``) with their nesting level, character
    offset and line number."""
    starts = _line_starts(text)
    return [
        {"level": h.depth, "title": h.title, "char": h.start, "line": bisect_right(starts, h.start)}
        for h in find_headings(text)[:max_items]
    ]


def document_info(text: str, count_tokens: Counter | None = None, preview_chars: int = 300) -> dict[str, Any]:
    heads = find_headings(text)
    return {
        "chars": len(text),
        "lines": text.count("\n") + 1 if text else 0,
        "tokens": count_tokens(text) if count_tokens else None,
        "headings": len(heads),
        "outline": outline(text, max_items=50),
        "preview": text[:preview_chars],
    }


def read_range(
    text: str,
    start: int,
    end: int | None = None,
    unit: Literal["chars", "lines", "tokens"] = "chars",
    token_offsets: Callable[[str], list[tuple[int, int]]] | None = None,
    max_chars: int = MAX_RANGE_CHARS,
) -> dict[str, Any]:
    """A slice of the document by chars, lines (1-based, inclusive) or tokens, capped at ``max_chars``."""
    if start < 0 or (end is not None and end < start):
        raise InputError(f"Invalid range {start}..{end}: start must be ≥ 0 and end ≥ start.")
    if unit == "chars":
        a, b = start, len(text) if end is None else end
    elif unit == "lines":
        starts = _line_starts(text)
        if start < 1 or start > len(starts):
            raise InputError(f"Line {start} is out of range: the document has {len(starts)} lines (1-based).")
        last = len(starts) if end is None else min(end, len(starts))
        a = starts[start - 1]
        b = starts[last] - 1 if last < len(starts) else len(text)
    elif unit == "tokens":
        if token_offsets is None:
            raise InputError("Token ranges need a tokenizer; use unit='chars' or 'lines'.")
        offs = token_offsets(text)
        if start >= len(offs):
            raise InputError(f"Token {start} is out of range: the document has {len(offs)} tokens.")
        last = len(offs) if end is None else min(end, len(offs))
        a, b = offs[start][0], offs[last - 1][1]
    else:
        raise InputError(f"Unknown unit {unit!r}; use chars, lines or tokens.")
    if a > len(text):
        raise InputError(f"Start {a} is past the end of the document ({len(text)} characters).")
    b = min(b, len(text))
    truncated = b - a > max_chars
    if truncated:
        b = a + max_chars
    return {
        "start_char": a,
        "end_char": b,
        "text": text[a:b],
        "truncated": truncated,
        "total_chars": len(text),
    }


class SafePattern:
    """A compiled pattern whose every search stops at a deadline, so no regex can hang a caller.

    Python's ``re`` cannot be interrupted from another thread, and a pattern such as ``(a|aa)+$`` can take
    exponential time; the ``regex`` engine takes a timeout per operation, measured over a whole iteration.
    """

    def __init__(self, rx: regex.Pattern[str], timeout: float) -> None:
        self._rx = rx
        self.timeout = timeout

    @property
    def pattern(self) -> str:
        return str(self._rx.pattern)

    def _too_slow(self) -> InputError:
        return InputError(
            f"The pattern {self.pattern!r} took longer than {self.timeout:g}s on this text (likely "
            "catastrophic backtracking). Make it more specific: anchor it, or avoid nested repeats "
            "like (a+)+."
        )

    def finditer(self, text: str) -> Iterator[regex.Match[str]]:
        try:
            yield from self._rx.finditer(text, timeout=self.timeout)
        except TimeoutError:
            raise self._too_slow() from None

    def findall(self, text: str) -> list[Any]:
        try:
            return self._rx.findall(text, timeout=self.timeout)
        except TimeoutError:
            raise self._too_slow() from None

    def search(self, text: str) -> regex.Match[str] | None:
        try:
            return self._rx.search(text, timeout=self.timeout)
        except TimeoutError:
            raise self._too_slow() from None


def compile_pattern(pattern: str, ignore_case: bool = True, timeout: float = GREP_TIMEOUT) -> SafePattern:
    """Validate and compile a user's regex (Python syntax); searches with it are time-limited."""
    if not pattern:
        raise InputError("The pattern is empty; pass a regular expression such as 'API key'.")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InputError(f"The pattern is {len(pattern)} characters; keep it under {MAX_PATTERN_CHARS}.")
    try:
        rx = regex.compile(pattern, (regex.IGNORECASE if ignore_case else 0) | regex.VERSION0)
    except regex.error as exc:
        raise InputError(
            f"Invalid regular expression {pattern!r}: {exc}. Escape special characters with \\, "
            "e.g. \\( or \\. for a literal ( or ."
        ) from exc
    return SafePattern(rx, timeout)


def grep(
    text: str,
    pattern: str,
    *,
    context_lines: int = 1,
    max_matches: int = 50,
    ignore_case: bool = True,
    timeout: float = GREP_TIMEOUT,
    max_output_chars: int = MAX_RANGE_CHARS * 2,
) -> dict[str, Any]:
    """Regex matches with line numbers and surrounding lines; bounded in count, output size and time."""
    rx = compile_pattern(pattern, ignore_case, timeout)
    context_lines = max(0, min(context_lines, 10))
    max_matches = max(1, min(max_matches, 500))
    lines = text.split("\n")
    starts = _line_starts(text)
    matches: list[dict[str, Any]] = []
    total = used = 0
    for m in rx.finditer(text):
        total += 1
        if len(matches) < max_matches and used < max_output_chars:
            ln = bisect_right(starts, m.start())
            lo, hi = max(1, ln - context_lines), min(len(lines), ln + context_lines)
            context = "\n".join(lines[lo - 1 : hi])[:2000]
            used += len(context)
            matches.append({"line": ln, "char": m.start(), "match": m.group(0)[:200], "context": context})
        if total >= max_matches * 20:
            break
    return {"pattern": pattern, "matches": matches, "total": total, "truncated": total > len(matches)}


def chunk_map(chunks: list[Any]) -> list[dict[str, Any]]:
    """Where each indexed chunk sits: ordinal, char span, tokens and heading path (for citations)."""
    return [
        {
            "chunk_id": c.id,
            "ordinal": c.ordinal,
            "char_start": c.char_start,
            "char_end": c.char_end,
            "tokens": c.token_count,
            "headings": c.headings,
        }
        for c in chunks
    ]
