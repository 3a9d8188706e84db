"""The in-process backend on the real packaged model (short prompts, few tokens)."""

from __future__ import annotations

import asyncio
import json

import pytest

from deepwell.errors import ContextWindowError
from reasoning import SyncLLM, ToolSpec, fit_messages

pytestmark = pytest.mark.model

ASK = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


async def test_complete_answers_and_counts(llm) -> None:  # type: ignore[no-untyped-def]
    c = await llm.complete(ASK, max_tokens=8)
    assert "paris" in c.text.lower()
    assert c.usage.prompt_tokens > 5 and 0 < c.usage.completion_tokens <= 8
    assert llm.count_tokens("hello world") == 2


async def test_stream_yields_the_same_text(llm) -> None:  # type: ignore[no-untyped-def]
    pieces = [p async for p in llm.stream(ASK, max_tokens=8)]
    full = await llm.complete(ASK, max_tokens=8)
    assert len(pieces) > 1 and "".join(pieces) == full.text


async def test_json_schema_is_enforced(llm) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    }
    c = await llm.complete(
        [{"role": "user", "content": "Name a city and its country as JSON."}],
        max_tokens=48,
        json_schema=schema,
    )
    value = json.loads(c.text)
    assert set(value) == {"city", "country"}


async def test_tool_call_is_valid_or_a_plain_answer(llm) -> None:  # type: ignore[no-untyped-def]
    weather = ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    c = await llm.complete(
        [{"role": "user", "content": "What is the weather in Paris right now?"}],
        max_tokens=48,
        tools=[weather],
    )
    if c.tool_calls:
        assert c.tool_calls[0].name == "get_weather" and isinstance(c.tool_calls[0].arguments["city"], str)
    else:
        assert c.text


async def test_context_window_guard_refuses_instead_of_truncating(llm) -> None:  # type: ignore[no-untyped-def]
    huge = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(ContextWindowError, match="window is 2048"):
        await llm.complete(huge, max_tokens=16)
    fitted = fit_messages(llm, [{"role": "system", "content": "Be brief."}, *huge, *ASK], max_tokens=16)
    assert "omitted to fit the window" in fitted[1]["content"]
    c = await llm.complete(fitted, max_tokens=8)
    assert c.usage.prompt_tokens + 8 <= llm.n_ctx


async def test_concurrent_callers_share_one_model(llm) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*(llm.complete(ASK, max_tokens=4, seed=i) for i in range(3)))
    assert all(r.text for r in results)


def test_sync_wrapper(llm) -> None:  # type: ignore[no-untyped-def]
    sync = SyncLLM(llm)
    assert "paris" in sync.complete(ASK, max_tokens=8).text.lower()
    sync.close()
