"""A tool-using agent: the model picks one tool call at a time until it can answer.

Actions are JSON constrained by a schema (llama.cpp grammars), so even a small local model emits
well-formed calls; arguments are still validated against the tool's own input schema, and an invalid call
is shown to the model as an error to correct, never executed. Observations are truncated before they go
back into the window. The asking, parsing, checking and error counting are ``reasoning.ActionLoop``, the
same loop the RLM's action mode runs.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import jsonschema

from deepwell.agents._toolbox import ToolBox, ToolInfo
from deepwell.core.errors import DeepwellError
from deepwell.core.status import ANSWERED, budget_exhausted
from deepwell.reasoning import LLM, Action, ActionLoop, InvalidAction, Message, nested_action

__all__ = ["AgentResult", "AgentStep", "ToolAgent"]

_SYSTEM = (
    "You answer questions using tools. Reply with one JSON object per turn.\n"
    'To call a tool: {{"action": "<tool name>", "arguments": {{...}}}}.\n'
    'To finish: {{"action": "final_answer", "answer": "<answer, citing sources as [n]>"}}.\n'
    "Only answer from tool results; if they do not contain the answer, say you could not find it.\n"
    "Tools:\n{tools}"
)

_LAST_CHANCE = "Answer briefly from the sources, citing [n]. If they do not say, reply: not found."


@dataclass
class AgentStep:
    action: str
    arguments: dict[str, Any]
    observation: str
    is_error: bool
    seconds: float


@dataclass
class AgentResult:
    answer: str
    status: str  # answered | budget_exhausted:iterations | budget_exhausted:errors (deepwell.core.status)
    steps: list[AgentStep] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read(obj: dict[str, Any]) -> Action:
    """A tool call carries its arguments nested; the final answer carries ``answer`` at the top level."""
    if obj.get("action") == "final_answer":
        return Action("final_answer", {"answer": str(obj.get("answer") or "")})
    return nested_action(obj)


def _problem(action: Action, tools: dict[str, ToolInfo]) -> str | None:
    """Why a parsed action cannot run: an empty answer, an unknown tool, arguments its schema refuses."""
    if action.name == "final_answer":
        return None if action.arguments["answer"].strip() else "The answer was empty; write the answer."
    tool = tools.get(action.name)
    if tool is None:
        return f"There is no tool {action.name!r}."
    try:
        jsonschema.validate(action.arguments, tool.input_schema)
    except jsonschema.ValidationError as exc:
        return f"Invalid arguments for {action.name}: {exc.message}. Fix them and call again."
    return None


def _describe(tools: list[ToolInfo]) -> str:
    lines = []
    for t in tools:
        props = t.input_schema.get("properties", {})
        req = set(t.input_schema.get("required", []))
        args = ", ".join(f"{k}{'' if k in req else '?'}: {v.get('type', 'any')}" for k, v in props.items())
        lines.append(f"- {t.name}({args}): {t.description.splitlines()[0] if t.description else ''}")
    return "\n".join(lines)


class ToolAgent:
    def __init__(
        self,
        llm: LLM,
        toolbox: ToolBox,
        *,
        max_steps: int = 6,
        max_errors: int = 3,
        observation_chars: int = 1500,
        max_tokens: int = 256,
        reject_repeats: bool = False,
    ) -> None:
        self.llm = llm
        self.toolbox = toolbox
        self.max_steps = max_steps
        self.max_errors = max_errors
        self.observation_chars = observation_chars
        self.max_tokens = max_tokens
        # off by default: an MCP tool need not return the same thing twice (a clock, a queue)
        self.reject_repeats = reject_repeats

    def _schema(self, tools: list[ToolInfo]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": [t.name for t in tools] + ["final_answer"]},
                "arguments": {"type": "object"},
                "answer": {"type": "string"},
            },
            "required": ["action"],
        }

    async def run(self, question: str) -> AgentResult:
        if not question.strip():
            raise DeepwellError("The question is empty; ask something.")
        t0 = time.perf_counter()
        tools = await self.toolbox.tools()
        by_name = {t.name: t for t in tools}
        messages: list[Message] = [
            {"role": "system", "content": _SYSTEM.format(tools=_describe(tools))},
            {"role": "user", "content": question},
        ]
        result = AgentResult(answer="", status="running")
        loop = ActionLoop(
            self._schema(tools),
            read=_read,
            check=lambda a: _problem(a, by_name),
            max_errors=self.max_errors,
            reject_repeats=self.reject_repeats,
            final=frozenset({"final_answer"}),
            observation_chars=self.observation_chars,
        )

        async def ask(schema: dict[str, Any]) -> str:
            c = await self.llm.complete(
                messages, max_tokens=self.max_tokens, temperature=0.0, json_schema=schema
            )
            messages.append({"role": "assistant", "content": c.text})
            return c.text

        for _ in range(self.max_steps):
            s0 = time.perf_counter()
            action = await loop.next_action(ask)
            if isinstance(action, InvalidAction):
                self._observe(result, messages, loop, action.name, action.arguments, action.message, True, s0)
                if loop.exhausted:
                    break
                continue
            if action.name == "final_answer":
                result.answer, result.status = action.arguments["answer"].strip(), ANSWERED
                break
            out = await self.toolbox.call(action.name, action.arguments)
            for c in out.citations:
                if c not in result.citations:
                    result.citations.append(c)
            self._observe(result, messages, loop, action.name, action.arguments, out.text, out.is_error, s0)
        if result.status != ANSWERED:
            # the RLM's words for the same stops: out of steps, or out of patience with invalid actions
            result.status = budget_exhausted("errors" if loop.exhausted else "iterations")
            result.answer = await self._last_chance(question, result)
        result.seconds = time.perf_counter() - t0
        return result

    def _observe(
        self,
        result: AgentResult,
        messages: list[Message],
        loop: ActionLoop,
        action: str,
        args: dict[str, Any],
        text: str,
        is_error: bool,
        started: float,
    ) -> None:
        shown = loop.clip(text)
        result.steps.append(AgentStep(action, args, shown, is_error, time.perf_counter() - started))
        messages.append({"role": "user", "content": ("ERROR: " if is_error else "Result: ") + shown})

    async def _last_chance(self, question: str, result: AgentResult) -> str:
        """Out of steps: answer from what the tools returned, or say plainly that nothing was found."""
        evidence = [c.get("text", "") for c in result.citations[:4] if c.get("text")]
        if not evidence:
            why = (
                "too many invalid actions" if result.status == budget_exhausted("errors") else "out of steps"
            )
            return f"I could not find an answer ({why} after {len(result.steps)} steps)."
        numbered = "\n".join(f"[{i}] {t[:500]}" for i, t in enumerate(evidence, 1))
        c = await self.llm.complete(
            [
                {
                    "role": "system",
                    "content": _LAST_CHANCE,
                },
                {"role": "user", "content": f"Sources:\n{numbered}\n\nQuestion: {question}"},
            ],
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        return c.text.strip() or "not found"
