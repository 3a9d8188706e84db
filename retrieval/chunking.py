"""Structure-aware chunking sized in the embedding model's own tokens.

Text is cut into sections at headings (the shared rule of ``deepwell.retrieval.headings``: markdown,
reStructuredText, numbered and release headings); inside a section, chunks are packed from whole
paragraphs and sentences up to ``max_tokens``, with about ``overlap`` tokens repeated between neighbours.
Each chunk keeps its heading path and exact character span in the document, so citations can point at it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from deepwell.retrieval.headings import heading_paths

__all__ = ["ChunkSpan", "Chunker", "TokenOffsets"]

TokenOffsets = Callable[[str], Sequence[tuple[int, int]]]
"""Returns the ``(start, end)`` character offsets of each token of a text."""

_BOUNDARY = re.compile(r"\n[ \t]*\n|(?<=[.!?;:])[ \t]+|\n")


@dataclass(frozen=True)
class ChunkSpan:
    text: str
    char_start: int
    char_end: int
    token_count: int
    headings: list[str] = field(default_factory=list)


class Chunker:
    def __init__(self, token_offsets: TokenOffsets, max_tokens: int = 200, overlap: int = 32) -> None:
        if max_tokens < 16:
            raise ValueError("max_tokens must be at least 16")
        self._offsets = token_offsets
        self.max_tokens = max_tokens
        self.overlap = max(0, min(overlap, max_tokens // 2))

    def chunk(self, text: str) -> list[ChunkSpan]:
        out: list[ChunkSpan] = []
        for start, end, headings in heading_paths(text):
            out.extend(self._chunk_section(text, start, end, headings))
        return out

    def _chunk_section(self, text: str, start: int, end: int, headings: list[str]) -> list[ChunkSpan]:
        section = text[start:end]
        offs = self._offsets(section)
        if not offs:
            return []
        tok_starts = [a for a, _ in offs]
        tok_ends = [b for _, b in offs]

        def ntok(a: int, b: int) -> int:
            return max(0, bisect_right(tok_ends, b) - bisect_left(tok_starts, a))

        cuts = sorted({0, len(section), *(m.end() for m in _BOUNDARY.finditer(section))})
        segs = [(a, b) for a, b in pairwise(cuts) if section[a:b].strip()]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(segs):
            a = segs[i][0]
            j = i
            while j + 1 < len(segs) and ntok(a, segs[j + 1][1]) <= self.max_tokens:
                j += 1
            b = segs[j][1]
            if ntok(a, b) > self.max_tokens:  # one over-long sentence: cut at token boundaries
                first = bisect_left(tok_starts, a)
                last = bisect_right(tok_ends, b)
                for t in range(first, last, self.max_tokens - self.overlap):
                    t_end = min(t + self.max_tokens, last) - 1
                    spans.append((tok_starts[t], tok_ends[t_end]))
                    if t_end >= last - 1:
                        break
                i = j + 1
                continue
            spans.append((a, b))
            if j + 1 >= len(segs):
                break
            k = j + 1
            while k - 1 > i and ntok(segs[k - 1][0], b) <= self.overlap:
                k -= 1
            i = k
        result = []
        for a, b in spans:
            raw = section[a:b]
            lead = len(raw) - len(raw.lstrip())
            body = raw.strip()
            if not body:
                continue
            cs = start + a + lead
            result.append(
                ChunkSpan(body, cs, cs + len(body), ntok(a + lead, a + lead + len(body)), list(headings))
            )
        return result
