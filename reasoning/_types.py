"""The one LLM interface every orchestrator uses, and the values that cross it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NotRequired, Protocol, TypedDict, TypeVar, runtime_checkable

__all__ = ["LLM", "Completion", "Message", "SyncLLM", "ToolCall", "ToolSpec", "Usage"]

T = TypeVar("T")


class Message(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: NotRequired[str]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its arguments are validated against ``parameters`` (JSON Schema)."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class LLM(Protocol):
    """Chat completion, async first. Implementations: ``LlamaCppLLM`` (in-process), ``OpenAICompatLLM``.

    ``temperature=None`` means the model's default (``reasoning.Sampling``); every backend applies the
    same repetition guard, and a generation it stopped has ``finish_reason == "loop"``.
    """

    name: str
    n_ctx: int

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
    ) -> Completion: ...

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 256,
        temperature: float | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> AsyncIterator[str]: ...

    def count_tokens(self, text: str) -> int: ...

    async def aclose(self) -> None: ...


class SyncLLM:
    """Blocking wrapper for callers without an event loop (scripts, the REPL, tests).

    It owns one background event loop so an async backend's connection pool survives between calls.
    """

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="deepwell-syncllm")
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def complete(self, messages: list[Message], **kwargs: Any) -> Completion:
        return self._run(self.llm.complete(messages, **kwargs))

    def stream(self, messages: list[Message], **kwargs: Any) -> Iterator[str]:
        pieces = self.llm.stream(messages, **kwargs)
        try:
            while True:
                try:
                    yield self._run(_next(pieces))
                except StopAsyncIteration:
                    return
        finally:
            self._run(pieces.aclose())  # type: ignore[attr-defined]

    def count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)

    def close(self) -> None:
        self._run(self.llm.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _next(pieces: AsyncIterator[str]) -> str:
    """``anext`` as a coroutine, which ``run_coroutine_threadsafe`` needs (``anext`` returns an awaitable)."""
    return await anext(pieces)
