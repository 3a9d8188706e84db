"""OpenAI-compatible HTTP backend (llama.cpp server, vLLM, Ollama, hosted APIs) over httpx.

Connection pooling, per-request timeouts, bounded retries with exponential backoff on 429/5xx and
connection failures, and a semaphore so sub-calls fan out to a server pool without overrunning it.
Every failure ends as an ``LLMConnectionError`` that says what the server did.

Several base URLs (a list, or comma-separated) make a pool of replicas: each request goes to the replica
with the fewest requests in flight (ties taken in turn), and a retry after a connection failure or a 5xx
goes to another replica first, so one replica going down costs a retry, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema

from deepwell.core.errors import ContextWindowError, LLMConnectionError, LLMError, OutputError
from deepwell.reasoning._guard import LoopGuard, trim_loop
from deepwell.reasoning._sampling import Sampling, resolve_sampling
from deepwell.reasoning._tools import parse_tool_reply, tool_choice_schema, tool_prompt
from deepwell.reasoning._types import Completion, Message, ToolSpec, Usage

__all__ = ["OpenAICompatLLM"]

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# llama.cpp server, vLLM and OpenAI word it differently; each says one of these.
_CONTEXT_HINTS = re.compile(r"context[ _](length|window|size)|maximum context|too many tokens", re.I)
_TRANSIENT = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.TimeoutException)


class _FormatRejected(LLMConnectionError):
    """The server does not take this ``response_format`` form."""


class OpenAICompatLLM:
    def __init__(
        self,
        base_url: str | list[str],
        *,
        model: str = "default",
        api_key: str | None = None,
        n_ctx: int = 8192,
        timeout: float = 120.0,
        concurrency: int = 4,
        max_retries: int = 3,
        backoff: float = 0.5,
        tokenizer: Any = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sampling: Sampling | None = None,
    ) -> None:
        """``sampling``: the defaults a call gets; only temperature and top_p are sent (every server
        takes them), and the loop guard trims what comes back."""
        self.sampling = sampling or resolve_sampling()
        urls = [
            u.strip().rstrip("/") for u in (base_url.split(",") if isinstance(base_url, str) else base_url)
        ]
        urls = [u for u in urls if u]
        if not urls:
            raise LLMConnectionError("No model server URL given; set DEEPWELL_LLM_BASE_URL.")
        self.base_urls = urls
        self.base_url = urls[0] if len(urls) == 1 else ",".join(urls)
        self.name = model
        self.n_ctx = n_ctx
        self.max_retries = max_retries
        self.backoff = backoff
        self._tokenizer = tokenizer
        self._schema_style = "json_schema"  # the OpenAI/vLLM/llama-server form; see _response_format
        self._sem = asyncio.Semaphore(max(1, concurrency))
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        for url in urls:
            try:
                httpx.URL(url)
            except httpx.InvalidURL as exc:
                raise LLMConnectionError(
                    f"{url!r} is not a valid model server URL ({exc}); set DEEPWELL_LLM_BASE_URL to e.g. "
                    "http://127.0.0.1:8080/v1, several separated by commas."
                ) from None
        self._clients = [
            httpx.AsyncClient(
                base_url=url,
                headers=headers,
                timeout=httpx.Timeout(timeout, connect=10.0),
                limits=httpx.Limits(
                    max_connections=max(1, concurrency) * 2, max_keepalive_connections=max(1, concurrency)
                ),
                transport=transport,
            )
            for url in urls
        ]
        self._inflight = [0] * len(urls)
        self._turn = 0
        self.served = [0] * len(urls)  # requests sent to each replica, for load reports

    def _pick(self, avoid: int | None) -> int:
        """The least-busy replica, ties in turn; ``avoid`` (the one that just failed) only if it is alone."""
        n = len(self._clients)
        order = [(self._turn + i) % n for i in range(n)]
        candidates = [i for i in order if i != avoid] or order
        best = min(candidates, key=lambda i: self._inflight[i])
        self._turn = (best + 1) % n
        return best

    def count_tokens(self, text: str) -> int:
        """Exact when a local tokenizer (the same GGUF) is configured; otherwise ~3.5 chars per token."""
        if self._tokenizer is not None:
            return self._tokenizer(text)
        return max(1, round(len(text) / 3.5))

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        delay = self.backoff * 2 ** (attempt - 1) * (0.5 + random.random())
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        return delay

    async def _open(self, path: str, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        """POST with bounded retries on 429/5xx, timeouts and connection failures.

        The response comes back read, or for ``stream=True`` still open (the caller closes it with
        :meth:`_release`); a stream is retried only before its first byte, so no partial output is ever
        repeated. Each attempt goes to the least-busy replica, avoiding the one that just failed.
        """
        last, retry_after, failed = "", None, None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(self._delay(attempt, retry_after))
            i = self._pick(failed)
            client = self._clients[i]
            self._inflight[i] += 1
            self.served[i] += 1
            keep = False
            try:
                request = client.build_request("POST", path, json=payload)
                try:
                    resp = await client.send(request, stream=stream)
                except httpx.TimeoutException:
                    last, failed = f"{self.base_urls[i]} timed out", i
                    continue
                except _TRANSIENT as exc:
                    last, failed = f"cannot connect to {self.base_urls[i]} ({exc.__class__.__name__})", i
                    continue
                if resp.status_code < 400:
                    keep = stream
                    resp.extensions["deepwell_replica"] = i
                    return resp
                body = (await resp.aread()).decode(errors="replace")
                await resp.aclose()
                if "response_format" in payload and "response_format" in body:  # llama-cpp-python says 500
                    raise _FormatRejected(
                        f"{self.base_urls[i]} refused the JSON-schema output request: {body[:300]}. Use a "
                        "server with structured output (llama.cpp, vLLM, OpenAI) or call without "
                        "json_schema/tools."
                    )
                if resp.status_code not in _RETRY_STATUS:
                    raise self._refused(path, resp.status_code, body)
                last, retry_after = f"HTTP {resp.status_code}: {body[:200]}", resp.headers.get("retry-after")
                failed = i
            finally:
                if not keep:
                    self._inflight[i] -= 1
        raise LLMConnectionError(
            f"The model server at {self.base_url} failed {self.max_retries + 1} times (last: {last}). "
            "Start it (e.g. python -m llama_cpp.server --model M.gguf) or fix DEEPWELL_LLM_BASE_URL."
        )

    def _release(self, resp: httpx.Response) -> None:
        i = resp.extensions.get("deepwell_replica")
        if isinstance(i, int):
            self._inflight[i] -= 1

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        async with self._sem:
            resp = await self._open(path, payload, stream=False)
        try:
            data = resp.json()
            data["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMConnectionError(
                f"{self.base_url}{path} answered with something that is not an OpenAI completion: "
                f"{resp.text[:200]!r}. Is DEEPWELL_LLM_BASE_URL an OpenAI-compatible /v1 endpoint?"
            ) from None
        return data

    def _refused(self, path: str, status: int, body: str) -> LLMError:
        if status in (400, 413) and _CONTEXT_HINTS.search(body):
            return ContextWindowError(
                f"The server at {self.base_url} says the request does not fit {self.name}'s window: "
                f"{body[:300]}. Shorten the input, lower max_tokens, use fit_messages() to compress "
                "explicitly, or let the RLM (deepwell rlm) read the long context for you."
            )
        return LLMConnectionError(
            f"{self.base_url}{path} refused the request: HTTP {status} {body[:300]}. "
            "Check the model name, API key and request size."
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        """OpenAI, vLLM and llama.cpp's own server take ``json_schema``; llama-cpp-python's server only
        ``json_object`` with a ``schema`` beside it. The first is tried, the second remembered if refused."""
        if self._schema_style == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
        return {"type": "json_object", "schema": schema}

    def _payload(
        self,
        messages: list[Message],
        max_tokens: int,
        temperature: float | None,
        seed: int | None,
        stop: list[str] | None,
    ) -> dict[str, Any]:
        p: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": self.sampling.temperature if temperature is None else temperature,
            "top_p": self.sampling.top_p,
        }
        if seed is not None:
            p["seed"] = seed
        if stop:
            p["stop"] = stop
        return p

    async def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 256,
        temperature: float | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[ToolSpec] | None = None,
    ) -> Completion:
        t0 = time.perf_counter()
        convo = list(messages)
        schema = json_schema
        if tools:
            convo = [{"role": "system", "content": tool_prompt(tools)}, *convo]
            schema = tool_choice_schema(tools)
        prompt_used = completion_used = 0
        problem: str | None = ""
        for attempt in range(self.max_retries + 1):
            payload = self._payload(
                convo, max_tokens, temperature if attempt == 0 else max(0.3, temperature or 0.0), seed, stop
            )
            if schema is not None:
                payload["response_format"] = self._response_format(schema)
            try:
                data = await self._post("/chat/completions", payload)
            except _FormatRejected:
                if self._schema_style != "json_schema":
                    raise
                self._schema_style = "json_object"
                assert schema is not None  # only a schema request can be refused for its format
                payload["response_format"] = self._response_format(schema)
                data = await self._post("/chat/completions", payload)
            choice = data["choices"][0]
            text = (choice.get("message") or {}).get("content") or ""
            usage = data.get("usage") or {}
            prompt_used += int(usage.get("prompt_tokens", 0))
            completion_used += int(usage.get("completion_tokens", 0))
            used = Usage(prompt_used, completion_used)
            finish = choice.get("finish_reason") or "stop"
            if tools:
                call, problem = parse_tool_reply(text, tools)
                if call is not None:
                    if call.name == "answer":
                        return Completion(
                            str(call.arguments.get("text", "")), [], finish, used, time.perf_counter() - t0
                        )
                    return Completion("", [call], "tool_calls", used, time.perf_counter() - t0)
                convo = [
                    *convo,
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": f"Error: {problem}"},
                ]
                continue
            if schema is not None:
                problem = _json_problem(text, schema, finish)
                if problem is not None:
                    continue
            if self.sampling.loop_guard:
                text, looped = trim_loop(text)
                finish = "loop" if looped else finish
            return Completion(text, [], finish, used, time.perf_counter() - t0)
        raise OutputError(f"{self.name} gave no valid output in {self.max_retries + 1} tries ({problem}).")

    async def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 256,
        temperature: float | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> AsyncIterator[str]:
        payload = {**self._payload(messages, max_tokens, temperature, seed, stop), "stream": True}
        guard = LoopGuard() if self.sampling.loop_guard else None
        async with self._sem:
            resp = await self._open("/chat/completions", payload, stream=True)
            try:
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    try:
                        delta = json.loads(data)["choices"][0].get("delta", {}).get("content")
                    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                        raise LLMConnectionError(
                            f"Malformed stream chunk from {self.base_url}: {data[:120]!r}. "
                            "Is DEEPWELL_LLM_BASE_URL an OpenAI-compatible /v1 endpoint?"
                        ) from exc
                    if delta and guard:
                        delta = guard.feed(delta)
                        if guard.looped:
                            if delta:
                                yield delta
                            break
                    if delta:
                        yield delta
                if guard and not guard.looped:
                    rest = guard.flush()
                    if rest:
                        yield rest
            except httpx.HTTPError as exc:
                raise LLMConnectionError(
                    f"The stream from {self.base_url} broke after it started ({exc.__class__.__name__}); "
                    "the partial reply was shown. Ask again."
                ) from exc
            finally:
                self._release(resp)
                await resp.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            # connections opened on an event loop that has since closed cannot be closed politely
            with contextlib.suppress(RuntimeError):
                await client.aclose()


def _json_problem(text: str, schema: dict[str, Any], finish: str) -> str | None:
    cut = " (the output was cut off: raise max_tokens)" if finish == "length" else ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg}{cut}"
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        return f"does not match the schema: {exc.message}"
    return None
