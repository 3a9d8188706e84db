"""The repetition guard and the sampling defaults; the last test is the issue's repro on the real model."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from typer.testing import CliRunner

from deepwell.reasoning import LoopGuard, Sampling, find_loop, resolve_sampling, trim_loop


def repeated_ngram_run(text: str, n: int = 3, times: int = 3) -> str | None:
    """A word n-gram that occurs ``times`` or more: what a looping answer always has (independent of the
    guard's own detector, so the real-model test does not grade the guard with itself)."""
    words = re.findall(r"\w+", text.lower())
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    worst = grams.most_common(1)
    return " ".join(worst[0][0]) if worst and worst[0][1] >= times else None


def test_loops_are_cut_after_the_first_copy() -> None:
    assert trim_loop("La femme, la femme, la femme, la femme, la femme") == ("La femme", True)
    line = "TruncatedFileHandler rotates the log files by size and by time every day. "
    assert trim_loop("It is RotatingFileHandler. " + line * 3) == (
        "It is RotatingFileHandler. " + line.strip().rstrip("."),
        True,
    )


def test_prose_is_not_a_loop() -> None:
    for text in ["Paris is the capital of France.", "very very good", "a b c a b c a b c", "1 2 3 4 5"]:
        assert find_loop(text) is None


def test_streaming_holds_back_only_what_could_still_be_cut() -> None:
    guard = LoopGuard()
    shown = "".join(guard.feed(w) for w in ["Paris ", *["is ", "nice, "] * 8]) + guard.flush()
    assert guard.looped and shown.rstrip(", ") == "Paris is nice"
    guard = LoopGuard()
    words = [f"w{i} " for i in range(60)]
    early = "".join(guard.feed(w) for w in words)
    assert early.split() == [w.strip() for w in words] and not guard.looped  # nothing new is held
    assert early + guard.flush() == "".join(words)


def test_published_settings_win_and_user_settings_win_over_them() -> None:
    assert resolve_sampling({}) == Sampling()
    published = resolve_sampling({"general.sampling.temp": 0.6, "general.sampling.penalty_repeat": 1.05})
    assert (published.temperature, published.repeat_penalty) == (0.6, 1.05)
    assert "published" in published.source
    user = resolve_sampling({"general.sampling.temp": 0.6}, temperature=0.1, top_p=None)
    assert user.temperature == 0.1 and user.top_p == Sampling().top_p


@pytest.mark.model
@pytest.mark.slow
def test_chat_answers_paris_without_looping(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`deepwell chat "What is the capital of France?"` looped ("La femme, la femme, …") before."""
    from deepwell.cli import app

    monkeypatch.setenv("DEEPWELL_DATA_DIR", str(tmp_path))
    r = CliRunner().invoke(app, ["chat", "What is the capital of France?", "--max-tokens", "128"])
    assert r.exit_code == 0, r.output
    assert "paris" in r.stdout.lower()
    assert repeated_ngram_run(r.stdout) is None, r.stdout


@pytest.mark.model
async def test_defaults_reach_the_model_and_a_loop_is_reported(llm) -> None:  # type: ignore[no-untyped-def]
    assert llm.sampling.repeat_penalty == 1.1 and llm.sampling.loop_guard
    c = await llm.complete([{"role": "user", "content": "What is the capital of France?"}], max_tokens=96)
    assert "paris" in c.text.lower() and c.finish_reason != "loop"
    assert repeated_ngram_run(c.text) is None


@pytest.mark.model
@pytest.mark.slow
async def test_the_loop_check_catches_a_real_loop_and_the_guard_ends_it(llm) -> None:  # type: ignore[no-untyped-def]
    """The control for the two tests above: llama.cpp's own defaults (no repetition penalty, no guard)
    make the real model loop on the issue's question, and ``repeated_ngram_run`` sees it — so those tests
    would fail on a loop. With the penalty off but the guard on, the same loop is stopped (finish
    ``loop``) and the text ends cleanly after one copy."""
    from dataclasses import replace

    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    base = llm.sampling
    try:
        llm.sampling = replace(base, repeat_penalty=1.0, loop_guard=False)
        raw = await llm.complete(msgs, max_tokens=96, temperature=0.0)
        assert repeated_ngram_run(raw.text) is not None, raw.text  # llama.cpp's defaults loop
        llm.sampling = replace(base, repeat_penalty=1.0, loop_guard=True)
        guarded = await llm.complete(msgs, max_tokens=96, temperature=0.0)
    finally:
        llm.sampling = base
    assert guarded.finish_reason == "loop", guarded.text
    assert repeated_ngram_run(guarded.text) is None and raw.text.startswith(guarded.text[:8]), guarded.text
