from __future__ import annotations

from itertools import pairwise

from deepwell.retrieval.chunking import Chunker


def test_chunks_respect_token_budget_offsets_and_headings(embedder) -> None:  # type: ignore[no-untyped-def]
    text = "# Guide\n\nIntro line.\n\n## Install\n\n" + " ".join(
        f"Step {i} runs the installer." for i in range(60)
    )
    text += "\n\n## Use\n\nRun it."
    chunks = Chunker(embedder.token_offsets, max_tokens=48, overlap=8).chunk(text)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text
        assert c.token_count <= 48
        assert c.token_count == len(embedder.token_offsets(c.text))
    assert chunks[0].headings == ["Guide"]
    assert chunks[-1].headings == ["Guide", "Use"]
    install = [c for c in chunks if c.headings == ["Guide", "Install"]]
    assert any(a.char_end > b.char_start for a, b in pairwise(install)), "neighbours overlap"


def test_one_giant_sentence_is_split(embedder) -> None:  # type: ignore[no-untyped-def]
    text = "word " * 500
    chunks = Chunker(embedder.token_offsets, max_tokens=64, overlap=0).chunk(text.strip())
    assert len(chunks) >= 7 and all(c.token_count <= 64 for c in chunks)
