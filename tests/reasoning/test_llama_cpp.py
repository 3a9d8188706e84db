"""The in-process backend on the real packaged model (short prompts, few tokens)."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from deepwell.core.errors import ContextWindowError, ModelError, OutputError
from deepwell.reasoning import SyncLLM, ToolSpec, fit_messages

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


async def test_context_window_guard_refuses_instead_of_truncating(model_path) -> None:  # type: ignore[no-untyped-def]
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    small = LlamaCppLLM(model_path, n_ctx=512, cache_mb=0)
    huge = [{"role": "user", "content": "word " * 1000}]
    with pytest.raises(ContextWindowError, match="window is 512"):
        await small.complete(huge, max_tokens=16)
    with pytest.raises(ContextWindowError):
        [p async for p in small.stream(huge, max_tokens=16)]
    fitted = fit_messages(small, [{"role": "system", "content": "Be brief."}, *huge, *ASK], max_tokens=16)
    assert "omitted to fit the window" in fitted[1]["content"] and fitted[2] == ASK[0]
    c = await small.complete(fitted, max_tokens=8)
    assert c.usage.prompt_tokens + 8 <= small.n_ctx


async def test_concurrent_callers_share_one_model(llm) -> None:  # type: ignore[no-untyped-def]
    results = await asyncio.gather(*(llm.complete(ASK, max_tokens=4, seed=i) for i in range(12)))
    assert all(r.text for r in results)


def test_sync_wrapper(llm) -> None:  # type: ignore[no-untyped-def]
    sync = SyncLLM(llm)
    assert "paris" in sync.complete(ASK, max_tokens=8).text.lower()
    assert "paris" in "".join(sync.stream(ASK, max_tokens=8)).lower()
    sync.close()


# "not" is valid JSON Schema that llama.cpp grammars cannot express, so the constrained output always
# parses yet always fails validation: the retry-then-OutputError path runs on the real model.
_NEVER_A_STRING = {"type": "string", "not": {"type": "string"}}


async def test_invalid_tool_calls_are_retried_then_refused(llm) -> None:  # type: ignore[no-untyped-def]
    weather = ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {"type": "object", "properties": {"city": _NEVER_A_STRING}, "required": ["city"]},
    )
    seen: list[str] = []
    generate = llm._generate

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = generate(*args, **kwargs)
        seen.append(llm._llama.detokenize(args[0]).decode())
        return out

    llm._generate = spy
    try:
        with pytest.raises(OutputError, match=r"no valid tool call in 3 tries .*invalid arguments"):
            await llm.complete(
                [{"role": "user", "content": "Call get_weather for Paris."}], max_tokens=48, tools=[weather]
            )
    finally:
        del llm._generate
    assert len(seen) == 3 and "Error: invalid arguments for get_weather" in seen[-1]


async def test_invalid_json_is_retried_then_refused(llm) -> None:  # type: ignore[no-untyped-def]
    schema = {"type": "object", "properties": {"city": _NEVER_A_STRING}, "required": ["city"]}
    with pytest.raises(OutputError, match="invalid JSON 3 times"):
        await llm.complete(
            [{"role": "user", "content": "A city as JSON."}], max_tokens=32, json_schema=schema
        )


async def test_prefix_cache_restores_an_evicted_prompt(llm) -> None:  # type: ignore[no-untyped-def]
    """After another prompt replaced the live KV cache, the RAM cache brings the old prefix back.

    Checked by what llama.cpp is asked to evaluate (only the last prompt token is replayed), not by
    equal text: llama.cpp's kernels round differently for different batch shapes, so greedy output
    after a restore may legitimately differ from a cold run in the last bits.
    """
    system = {"role": "system", "content": "You answer from this note. " + "Keys rotate every 90 days. " * 20}
    ask = [system, {"role": "user", "content": "How often do keys rotate?"}]
    await llm.complete(ask, max_tokens=12)
    await llm.complete([{"role": "user", "content": "Say hi." + " filler" * 50}], max_tokens=2)
    evaluated: list[int] = []
    real_eval = llm._llama.eval
    llm._llama.eval = lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1]
    try:
        warm = await llm.complete(ask, max_tokens=12)
    finally:
        del llm._llama.eval
    assert warm.usage.prompt_tokens > 150 and evaluated[0] == 1 and warm.text


async def test_cancelling_a_call_stops_the_generation(llm) -> None:  # type: ignore[no-untyped-def]
    ask = [{"role": "user", "content": "Count from 1 to 1000, separated by commas."}]
    prompt_tokens = len(llm._render(ask)[0])
    defaults = llm.sampling
    # greedy with no penalty and no guard counts on for as long as it may: a generation to cancel
    llm.sampling = dataclasses.replace(defaults, repeat_penalty=1.0, loop_guard=False)
    try:
        task = asyncio.create_task(llm.complete(ask, max_tokens=1500, temperature=0.0))
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        llm.sampling = defaults
    await asyncio.to_thread(llm._shared.lock.acquire)  # the worker thread has let go of the model
    llm._shared.lock.release()
    assert llm._llama.n_tokens < prompt_tokens + 1000
    assert "paris" in (await llm.complete(ASK, max_tokens=8)).text.lower()


async def test_abandoned_stream_frees_the_model(llm) -> None:  # type: ignore[no-untyped-def]
    stream = llm.stream([{"role": "user", "content": "Write a long story about the sea."}], max_tokens=500)
    pieces = [await anext(stream) for _ in range(3)]
    await stream.aclose()
    assert all(isinstance(p, str) for p in pieces)
    assert "paris" in (await llm.complete(ASK, max_tokens=8)).text.lower()


def test_unreadable_model_is_a_model_error(model_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A whole GGUF for an architecture llama.cpp does not know: the header is fine, loading fails."""
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    data = model_path.read_bytes()
    key = b"general.architecture"
    at = data.index(key) + len(key) + 4 + 8  # the value: type (u32), length (u64), then "llama"
    alien = tmp_path / "alien.gguf"
    alien.write_bytes(data[:at] + b"zzzzz" + data[at + 5 :])
    with pytest.raises(ModelError, match="could not load"):
        LlamaCppLLM(alien, n_ctx=512)


async def test_prompt_lookup_decoding_gives_the_greedy_answer(model_path) -> None:  # type: ignore[no-untyped-def]
    """Off by default (bench/llm measured it slower on this model), but it must work when configured."""
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    spec = LlamaCppLLM(model_path, n_ctx=512, cache_mb=16, prompt_lookup=4)
    passage = "The meal limit is 60 euros per day. Receipts are uploaded within 30 days."
    ask = [{"role": "user", "content": f"{passage}\nCopy the sentence about receipts."}]
    first = await spec.complete(ask, max_tokens=24)
    assert "receipts" in first.text.lower()
    assert (await spec.complete(ask, max_tokens=24)).text  # a prefix-cache hit with a draft model


# A Hermes-style template (the <tool_call> convention of Qwen2.5 and others), written for this test: it turns
# on the native tool-call path, where the model writes calls in its own format without a grammar.
_HERMES = (
    "{%- if tools %}<|im_start|>system\nYou can call functions. Signatures:\n<tools>\n"
    "{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools>\n"
    'Reply with <tool_call>{"name": <name>, "arguments": <object>}</tool_call> to call one.<|im_end|>\n'
    "{%- endif %}"
    "{%- for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{%- endfor %}"
    "<|im_start|>assistant\n"
)


async def test_native_tool_template_renders_tools_and_parses_calls(model_path) -> None:  # type: ignore[no-untyped-def]
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    native = LlamaCppLLM(model_path, n_ctx=2048, chat_template=_HERMES)
    assert native.native_tools
    weather = ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    prompt = native._llama.detokenize(native._render(ask, [weather])[0]).decode()
    assert '"name": "get_weather"' in prompt and "<tool_call>" in prompt
    c = await native.complete(ask, max_tokens=48, tools=[weather])
    if c.tool_calls:
        assert c.tool_calls[0].name == "get_weather" and isinstance(c.tool_calls[0].arguments["city"], str)
    else:
        assert c.text and "<tool_call>" not in c.text
