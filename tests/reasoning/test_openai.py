"""The HTTP backend: retry/validation logic on httpx.MockTransport, then the real llama_cpp.server."""

from __future__ import annotations

import json

import httpx
import pytest

from deepwell.errors import LLMConnectionError, OutputError
from reasoning import ToolSpec
from reasoning._openai import OpenAICompatLLM

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


@pytest.mark.model
async def test_real_llama_cpp_server(llama_server: str) -> None:
    llm = OpenAICompatLLM(llama_server, model="smollm2", concurrency=2)
    c = await llm.complete(
        [{"role": "user", "content": "What is the capital of France? One word."}], max_tokens=8
    )
    assert "paris" in c.text.lower() and c.usage.prompt_tokens > 0
    pieces = [p async for p in llm.stream([{"role": "user", "content": "Say hello."}], max_tokens=8)]
    assert pieces
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    j = await llm.complete(
        [{"role": "user", "content": "A city as JSON."}], max_tokens=32, json_schema=schema
    )
    assert "city" in json.loads(j.text)
    await llm.aclose()
