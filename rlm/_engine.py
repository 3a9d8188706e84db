"""What code mode and action mode share: tool calls, sub-calls, the root model, budgets, the trajectory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from deepwell.core.errors import ContextWindowError, DeepwellError, LLMError
from deepwell.reasoning import LLM, Message
from deepwell.rlm._budget import Budget, RLMConfig
from deepwell.rlm._context import ContextIndex
from deepwell.rlm._tools import ContextTools
from deepwell.rlm._trajectory import Trajectory

__all__ = ["Engine", "Nested"]


class Nested(Protocol):
    """The session an engine runs in, as ``rlm_query`` needs it (``RLM`` above; typed here, not imported)."""

    async def nested(self, e: Engine, question: str, text: str) -> str: ...


@dataclass
class Engine:
    llm: LLM
    ctx: ContextIndex
    tools: ContextTools
    budget: Budget
    trajectory: Trajectory
    config: RLMConfig
    question: str
    depth: int = 0
    leads: list[str] = field(default_factory=list)  # what the tools turned up, for a run cut short
    session: Nested | None = None  # the RLM session, for nested runs
    _sem: asyncio.Semaphore | None = None

    def __post_init__(self) -> None:
        self._sem = asyncio.Semaphore(self.config.sub_call_concurrency)

    async def tool(self, name: str, parent: int | None = None, **args: Any) -> dict[str, Any]:
        self.budget.check_time()
        t = time.perf_counter()
        try:
            out = await self.tools.call(name, **args)
        except DeepwellError as exc:
            self.trajectory.step("tool", {"tool": name, "args": args, "error": str(exc)}, parent=parent)
            raise
        self.trajectory.step(
            "tool",
            {"tool": name, "args": args, "result": out},
            parent=parent,
            seconds=time.perf_counter() - t,
        )
        lead = _lead(name, args, out)
        if lead and lead not in self.leads:
            self.leads = [*self.leads[-2:], lead]
        return out

    async def llm_query(self, prompt: str, parent: int | None = None, max_tokens: int | None = None) -> str:
        """One sub-call: a fresh model call on a piece of the context, budgeted and recorded."""
        self.budget.sub_call()
        assert self._sem is not None
        async with self._sem:
            t = time.perf_counter()
            try:
                c = await self.llm.complete(
                    [{"role": "user", "content": prompt}],
                    max_tokens=max_tokens or self.config.sub_call_max_tokens,
                    temperature=0.0,
                )
            except ContextWindowError as exc:
                self.trajectory.step("sub_call", {"prompt": prompt[:400], "error": str(exc)}, parent=parent)
                return f"ERROR: the prompt is too long for one sub-call ({exc}). Pass a smaller piece."
            except LLMError as exc:
                self.trajectory.step("sub_call", {"prompt": prompt[:400], "error": str(exc)}, parent=parent)
                return f"ERROR: the sub-call failed: {exc}"
        self.budget.spend(c.usage.prompt_tokens + c.usage.completion_tokens)
        self.trajectory.step(
            "sub_call",
            {"prompt": prompt, "answer": c.text, "tokens": c.usage.prompt_tokens + c.usage.completion_tokens},
            parent=parent,
            seconds=time.perf_counter() - t,
        )
        return c.text.strip()

    async def llm_query_batched(
        self, prompts: list[str], parent: int | None = None, max_tokens: int | None = None
    ) -> list[str]:
        prompts = [str(p) for p in prompts][: max(0, self.config.max_sub_calls - self.budget.sub_calls)]
        return list(await asyncio.gather(*(self.llm_query(p, parent, max_tokens) for p in prompts)))

    async def root(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        parent: int | None = None,
        max_tokens: int | None = None,
    ) -> str:
        self.budget.iteration()
        t = time.perf_counter()
        c = await self.llm.complete(
            messages,
            max_tokens=max_tokens or self.config.root_max_tokens,
            temperature=0.0,
            json_schema=json_schema,
        )
        self.budget.spend(c.usage.prompt_tokens + c.usage.completion_tokens)
        self.trajectory.step(
            "root",
            {
                "output": c.text,
                "prompt_tokens": c.usage.prompt_tokens,
                "completion_tokens": c.usage.completion_tokens,
            },
            parent=parent,
            seconds=time.perf_counter() - t,
        )
        return c.text


def _lead(name: str, args: dict[str, Any], out: dict[str, Any]) -> str | None:
    """One line on what a tool call found, so a run stopped by a budget can say what it had."""
    if name == "grep" and out.get("total"):
        m = out["matches"][0]
        snippet = " ".join(str(m.get("context", "")).split())[:160]
        return f'grep {args.get("pattern")!r}: {out["total"]} matches, first in {m["doc"]}: "{snippet}"'
    if name == "documents_matching" and out.get("documents"):
        names = list(out["documents"])
        more = f" (+{len(names) - 5} more)" if len(names) > 5 else ""
        return f"{args.get('pattern')!r} occurs in {', '.join(names[:5])}{more}"
    if name == "search" and out.get("passages"):
        p = out["passages"][0]
        snippet = " ".join(str(p.get("text", "")).split())[:160]
        return f'best passage for {args.get("query")!r} ({p.get("doc")}): "{snippet}"'
    return None
