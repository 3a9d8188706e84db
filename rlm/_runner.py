"""Running a Recursive Language Model: pick the mode, hold the budgets, record the trajectory, answer."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from deepwell.core.errors import BudgetExceeded, DeepwellError, InputError
from deepwell.core.settings import Settings
from deepwell.core.status import budget_exhausted
from deepwell.reasoning import LLM, load_llm
from deepwell.rlm._budget import Budget, RLMConfig
from deepwell.rlm._context import CollectionRef, ContextIndex, ContextSource, load_context
from deepwell.rlm._engine import Engine
from deepwell.rlm._modes import run_actions, run_code
from deepwell.rlm._plan import fill_plan, key_terms
from deepwell.rlm._store import RunStore, StoreOwner
from deepwell.rlm._strategies import Found, grounded
from deepwell.rlm._tools import ContextTools, build_context_server
from deepwell.rlm._trajectory import Trajectory

__all__ = ["RLM", "RLMResult", "answer", "answer_async"]

Mode = Literal["auto", "code", "actions", "plain"]
_PROBES: dict[str, bool] = {}


@dataclass
class RLMResult:
    answer: str
    status: str  # answered | not_found | uncertain | budget_exhausted:<which> | error (deepwell.core.status)
    run_id: str
    mode: str
    seconds: float
    steps: int
    usage: dict[str, int] = field(default_factory=dict)
    citations: list[dict[str, Any]] = field(default_factory=list)
    how: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RLM:
    """A persistent session: the context is loaded and indexed once; follow-up questions reuse it."""

    def __init__(
        self,
        context: ContextSource,
        *,
        settings: Settings | None = None,
        llm: LLM | None = None,
        dw: StoreOwner | None = None,
        config: RLMConfig | None = None,
        tools: dict[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._dw = dw
        self._llm = llm
        self.config = config or RLMConfig()
        if self.config.sandbox is None:
            self.config = dataclasses.replace(self.config, sandbox=self.settings.rlm_sandbox)
        if self.config.weak_sandbox is None:
            self.config = dataclasses.replace(self.config, weak_sandbox=self.settings.rlm_weak_sandbox)
        self.user_tools = tools or {}
        self._collection = context if isinstance(context, CollectionRef) else None
        if isinstance(context, str) and len(context) < 4096 and "\n" not in context and _is_path(context):
            context = Path(context)
        self.ctx: ContextIndex = load_context(context, self._store_owner(), self.settings.max_file_bytes)
        self.history: list[tuple[str, str]] = []

    def _store_owner(self) -> StoreOwner:
        if self._dw is None:
            self._dw = RunStore(self.settings)
        return self._dw

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = load_llm(self.settings)
        return self._llm

    async def nested(self, e: Engine, question: str, text: str) -> str:
        """``rlm_query``: a recursive RLM on a piece of the context, one level deeper."""
        sub = RLM(text, settings=self.settings, llm=e.llm, dw=self._dw, config=e.config)
        r = await sub.ask(question, mode="actions", depth=e.depth + 1)
        return r.answer

    async def ask(
        self,
        question: str,
        *,
        mode: Mode = "auto",
        progress: Callable[[dict[str, Any]], None] | None = None,
        depth: int = 0,
    ) -> RLMResult:
        if not question or not question.strip():
            raise InputError("The question is empty.")
        dw = self._store_owner()
        llm = self.llm
        asked = question
        question = self._resolve_follow_up(question)
        chosen = await self._choose_mode(mode, llm, question)
        traj = Trajectory(
            dw.store.runs,
            asked,
            {
                "mode": chosen,
                "context": self.ctx.describe(),
                "model": getattr(llm, "name", "?"),
                "depth": depth,
                **({"resolved_question": question} if question != asked else {}),
            },
            progress,
        )
        budget = Budget(self.config)
        server = build_context_server(self.ctx, self._collection, dw)
        status, text, how, evidence = "error", "", "", []
        async with ContextTools(server) as tools:
            engine = Engine(llm, self.ctx, tools, budget, traj, self.config, question, depth, session=self)
            try:
                found: Found | None
                if chosen == "plain":
                    found = await _plain(engine)
                    checked = found is not None and grounded(found.answer, self.ctx.text, question)
                    if mode == "auto" and not checked:
                        # a small model can invent or miss an answer even when it sees everything: check, act
                        why = "no answer" if found is None else "not found in the text"
                        traj.step("note", {"plain_answer": found and found.answer, "why": why})
                        chosen = "actions"
                        found = await asyncio.wait_for(run_actions(engine), self.config.max_seconds)
                elif chosen == "code":
                    found = await asyncio.wait_for(run_code(engine, self.user_tools), self.config.max_seconds)
                else:
                    found = await asyncio.wait_for(run_actions(engine), self.config.max_seconds)
                if found is None:
                    status, text = "not_found", "The context does not appear to contain the answer."
                else:
                    status, text, how, evidence = found.status, found.answer, found.how, found.evidence
            except BudgetExceeded as exc:
                status = budget_exhausted(exc.budget)
                text = f"Stopped: {exc}. No verified answer was found within the budget." + _so_far(engine)
            except TimeoutError:
                status = budget_exhausted("time")
                text = f"Stopped: the {self.config.max_seconds:.0f}s time budget ran out." + _so_far(engine)
            except DeepwellError as exc:
                status, text = "error", f"The run failed: {exc}"
        usage = {
            "sub_calls": budget.sub_calls,
            "iterations": budget.iterations,
            "tokens": budget.tokens,
            "errors": budget.errors,
        }
        traj.step("final", {"status": status, "answer": text, "how": how})
        traj.finish(status, text, {"usage": usage, "seconds": budget.seconds()})
        if status == "answered":
            self.history.append((question, text))
        return RLMResult(
            text, status, traj.run_id, chosen, budget.seconds(), traj.count, usage, evidence, how
        )

    def _resolve_follow_up(self, question: str) -> str:
        """A follow-up that names nothing of its own ("and who uploaded it?") borrows the key terms of the
        previous question in this session: the referent is spelled out, so the plan can find it."""
        if not self.history:
            return question
        tree = self.ctx.tree
        own = [t for t in key_terms(question, tree) if t[1] > 0]
        refers = re.search(r"\b(it|its|that|this|they|them|those|there|same)\b", question, re.I)
        if any(ident for _, _, ident in own) or (own and not refers):
            return question
        previous = self.history[-1][0]
        carried = [t for t, idf, ident in key_terms(previous, tree) if ident or idf > 0][:3]
        return f"{question.rstrip('?').rstrip()} ({' '.join(carried)})?" if carried else question

    async def _choose_mode(self, mode: Mode, llm: LLM, question: str) -> str:
        if mode != "auto":
            return mode
        window = getattr(llm, "n_ctx", 8192)
        plan, _ = fill_plan(question, self.ctx.tree, self.config.embedding_model)
        counted = plan.op in ("count", "argmax", "argmin", "locate", "enclosing", "list", "compare")
        if (
            not counted  # counting records or locating documents is exact in actions mode at any size
            and len(self.ctx.text) < 3 * window
            and llm.count_tokens(self.ctx.text) + 600 < window
        ):
            return "plain"  # the paper: on short inputs the base model beats the RLM
        name = getattr(llm, "name", "?")
        if name not in _PROBES:
            _PROBES[name] = await _can_code(
                llm, self.config.sandbox or "process", bool(self.config.weak_sandbox)
            )
        return "code" if _PROBES[name] else "actions"

    def close(self) -> None:
        if self._dw is not None:
            self._dw.close()


def _is_path(text: str) -> bool:
    """Whether a one-line string names an existing file (a long line of text is not a bad path)."""
    try:
        return Path(text).exists()
    except (OSError, ValueError):
        return False


def _so_far(e: Engine) -> str:
    return (" Found so far: " + "; ".join(e.leads) + ".") if e.leads else " Nothing relevant was found."


async def _plain(e: Engine) -> Found | None:
    text = await e.root(
        [
            {
                "role": "system",
                "content": "Answer the question from the text. If it does not say, reply NONE.",
            },
            {"role": "user", "content": f"Text:\n{e.ctx.text}\n\nQuestion: {e.question}"},
        ]
    )
    return (
        None
        if not text.strip() or "NONE" in text.upper()
        else Found(text.strip(), [], "plain model, whole text")
    )


async def _can_code(llm: LLM, sandbox: str, weak: bool = False) -> bool:
    """A quick capability probe: can the model write a code block that computes something?"""
    from deepwell.rlm.sandbox import SANDBOXES, SandboxLimits

    try:
        c = await llm.complete(
            [
                {
                    "role": "user",
                    "content": "Write a ```python block that prints the sum of the numbers 17 and 25.",
                }
            ],
            max_tokens=60,
        )
        m = re.search(r"```(?:python|py|repl)?\s*\n(.*?)```", c.text, re.S)
        if not m:
            return False
        async with SANDBOXES[sandbox](SandboxLimits(wall_seconds=5), allow_weak=weak) as box:
            r = await box.execute(m.group(1))
        return r.ok and "42" in r.stdout
    except Exception:
        return False


async def answer_async(
    question: str,
    context: ContextSource,
    *,
    settings: Settings | None = None,
    llm: LLM | None = None,
    mode: Mode = "auto",
    config: RLMConfig | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    dw: StoreOwner | None = None,
    max_seconds: float | None = None,
) -> RLMResult:
    cfg = config or RLMConfig()
    if max_seconds is not None:
        cfg.max_seconds = max_seconds
    # reading, parsing and indexing a large context takes seconds: never on the caller's event loop
    session = await asyncio.to_thread(RLM, context, settings=settings, llm=llm, dw=dw, config=cfg)
    t = time.perf_counter()
    try:
        return await session.ask(question, mode=mode, progress=progress)
    finally:
        if dw is None:
            session.close()
        del t


def answer(question: str, context: ContextSource, **kwargs: Any) -> RLMResult:
    """Blocking form of :func:`answer_async` for scripts and the SDK."""
    return asyncio.run(answer_async(question, context, **kwargs))
