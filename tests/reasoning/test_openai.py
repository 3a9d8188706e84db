"""The HTTP backend: retry/validation logic on httpx.MockTransport, then the real llama_cpp.server."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from deepwell.core.errors import ContextWindowError, LLMConnectionError, OutputError
from deepwell.reasoning import ToolCall, ToolSpec
from deepwell.reasoning._openai import OpenAICompatLLM

MSG = [{"role": "user", "content": "hi"}]


def _reply(text: str) -> dict:
    return {
        "choices": [{"message": {"content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3},
    }


def _llm(handler, **kw) -> OpenAICompatLLM:  # type: ignore[no-untyped-def]
    return OpenAICompatLLM("http://test/v1", transport=httpx.MockTransport(handler), backoff=0.001, **kw)


async def test_retries_429_and_5xx_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, text="slow down")
        if len(calls) == 2:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json=_reply("hello"))

    c = await _llm(handler).complete(MSG)
    assert c.text == "hello" and len(calls) == 3


async def test_gives_up_with_a_clear_message() -> None:
    llm = _llm(lambda r: httpx.Response(500, text="boom"), max_retries=2)
    with pytest.raises(LLMConnectionError, match="failed 3 times"):
        await llm.complete(MSG)


async def test_malformed_json_is_reported() -> None:
    llm = _llm(lambda r: httpx.Response(200, text="<html>not json</html>"))
    with pytest.raises(LLMConnectionError, match="not an OpenAI completion"):
        await llm.complete(MSG)


async def test_client_errors_are_not_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, text="bad model")

    with pytest.raises(LLMConnectionError, match="HTTP 400"):
        await _llm(handler).complete(MSG)
    assert len(calls) == 1


async def test_server_down() -> None:
    llm = OpenAICompatLLM("http://127.0.0.1:9/v1", max_retries=1, backoff=0.001, timeout=2)
    with pytest.raises(LLMConnectionError, match="Start it"):
        await llm.complete(MSG)


async def test_invalid_tool_calls_are_retried_not_returned() -> None:
    replies = iter(
        [
            json.dumps({"tool": "rm_rf", "arguments": {}}),
            json.dumps({"tool": "search", "arguments": {"query": 5}}),
            json.dumps({"tool": "search", "arguments": {"query": "tea"}}),
        ]
    )
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=_reply(next(replies)))

    tool = ToolSpec(
        "search",
        "Search.",
        {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    )
    c = await _llm(handler).complete(MSG, tools=[tool])
    assert c.tool_calls[0].arguments == {"query": "tea"}
    assert "unknown tool 'rm_rf'" in seen[1]["messages"][-1]["content"]


async def test_invalid_json_output_exhausts_retries() -> None:
    llm = _llm(lambda r: httpx.Response(200, json=_reply("{not json")), max_retries=1)
    with pytest.raises(OutputError, match="no valid output"):
        await llm.complete(MSG, json_schema={"type": "object"})


async def test_schema_form_falls_back_to_what_the_server_takes() -> None:
    """Standard ``json_schema`` first; a server that refuses it gets ``json_object`` + ``schema`` after."""
    forms = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = json.loads(request.content)["response_format"]
        forms.append(form["type"])
        if form["type"] == "json_schema":
            return httpx.Response(422, json={"detail": [{"loc": ["body", "response_format", "type"]}]})
        return httpx.Response(200, json=_reply('{"city": "Paris"}'))

    llm = _llm(handler)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    for _ in range(2):
        assert json.loads((await llm.complete(MSG, json_schema=schema)).text) == {"city": "Paris"}
    assert forms == ["json_schema", "json_object", "json_object"]


async def test_context_overflow_is_a_context_window_error() -> None:
    body = {"error": {"message": "This model's maximum context length is 2048 tokens.", "code": "x"}}
    llm = _llm(lambda r: httpx.Response(400, json=body))
    with pytest.raises(ContextWindowError, match="does not fit"):
        await llm.complete(MSG)


def test_retry_after_is_honoured_within_bounds() -> None:
    llm = _llm(lambda r: httpx.Response(200, json=_reply("x")))
    assert llm._delay(1, "3") >= 3 and llm._delay(1, "600") == 30 and llm._delay(1, None) < 0.01


async def test_concurrency_limit_bounds_requests_in_flight() -> None:
    in_flight, peak = 0, 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return httpx.Response(200, json=_reply("ok"))

    llm = _llm(handler, concurrency=3)
    results = await asyncio.gather(*(llm.complete(MSG) for _ in range(10)))
    assert all(r.text == "ok" for r in results) and peak == 3


async def test_cancellation_stops_without_retrying() -> None:
    calls = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        await asyncio.sleep(10)
        return httpx.Response(200, json=_reply("late"))

    task = asyncio.create_task(_llm(handler).complete(MSG))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) == 1


def _sse(*chunks: str) -> bytes:
    lines = [f"data: {json.dumps({'choices': [{'delta': {'content': c}}]})}" for c in chunks]
    return ("\n\n".join([*lines, "data: [DONE]"]) + "\n\n").encode()


async def test_stream_is_retried_before_its_first_byte() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(503, text="warming up")
        return httpx.Response(200, content=_sse("Hel", "lo"), headers={"content-type": "text/event-stream"})

    pieces = [p async for p in _llm(handler).stream(MSG)]
    assert "".join(pieces) == "Hello" and len(calls) == 2


async def test_malformed_stream_chunk_is_reported() -> None:
    llm = _llm(lambda r: httpx.Response(200, content=b"data: {not json}\n\n"))
    with pytest.raises(LLMConnectionError, match="Malformed stream chunk"):
        [p async for p in llm.stream(MSG)]


@pytest.mark.model
async def test_real_llama_cpp_server(llama_server: str) -> None:
    llm = OpenAICompatLLM(llama_server, model="smollm2", concurrency=2)
    ask = [{"role": "user", "content": "What is the capital of France? One word."}]
    both = await asyncio.gather(llm.complete(ask, max_tokens=8), llm.complete(ask, max_tokens=8))
    assert all("paris" in c.text.lower() and c.usage.prompt_tokens > 0 for c in both)
    pieces = [p async for p in llm.stream([{"role": "user", "content": "Say hello."}], max_tokens=8)]
    assert pieces
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    j = await llm.complete(
        [{"role": "user", "content": "A city as JSON."}], max_tokens=32, json_schema=schema
    )
    assert "city" in json.loads(j.text)
    with pytest.raises(ContextWindowError, match="does not fit"):
        await llm.complete([{"role": "user", "content": "word " * 3000}], max_tokens=8)
    await llm.aclose()


@pytest.mark.model
async def test_real_server_tool_calls_are_valid(llama_server: str) -> None:
    llm = OpenAICompatLLM(llama_server, model="smollm2")
    weather = ToolSpec(
        "get_weather",
        "Get the current weather for a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    c = await llm.complete(
        [{"role": "user", "content": "Call get_weather for Paris."}], max_tokens=48, tools=[weather]
    )
    assert c.tool_calls == [ToolCall("get_weather", {"city": "Paris"})] or (c.text and not c.tool_calls)
    await llm.aclose()


async def test_pool_spreads_load_and_fails_over() -> None:
    """Two replicas: concurrent requests go to the less busy one; a replica that refuses connections
    costs a retry on the other, never an error."""
    seen: list[str] = []
    down: set[str] = set()

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in down:
            raise httpx.ConnectError("refused", request=request)
        seen.append(host)
        await asyncio.sleep(0.02)
        return httpx.Response(200, json=_reply(host))

    llm = OpenAICompatLLM(
        "http://a/v1, http://b/v1", transport=httpx.MockTransport(handler), backoff=0.001, concurrency=4
    )
    assert llm.base_urls == ["http://a/v1", "http://b/v1"]
    replies = await asyncio.gather(*(llm.complete(MSG) for _ in range(8)))
    assert sorted(r.text for r in replies) == ["a"] * 4 + ["b"] * 4
    down.add("a")
    seen.clear()
    replies = await asyncio.gather(*(llm.complete(MSG) for _ in range(4)))
    assert [r.text for r in replies] == ["b"] * 4 and seen == ["b"] * 4
    assert llm._inflight == [0, 0]
    down.add("b")
    with pytest.raises(LLMConnectionError, match="cannot connect"):
        await llm.complete(MSG)
    await llm.aclose()


def test_an_invalid_url_is_one_clear_error() -> None:
    with pytest.raises(LLMConnectionError, match="not a valid model server URL"):
        OpenAICompatLLM("http://127.0.0.1:${PORT/v1")
