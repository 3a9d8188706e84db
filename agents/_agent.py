"""A tool-using agent: the model picks one tool call at a time until it can answer.

Actions are JSON constrained by a schema (llama.cpp grammars), so even a small local model emits
well-formed calls; arguments are still validated against the tool's own input schema, and an invalid call
is shown to the model as an error to correct, never executed. Observations are truncated before they go
back into the window.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import jsonschema

from deepwell.agents._toolbox import ToolBox, ToolInfo
from deepwell.core.errors import DeepwellError
from deepwell.reasoning import LLM, Message

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
    status: str
    steps: list[AgentStep] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    ) -> None:
        self.llm = llm
        self.toolbox = toolbox
        self.max_steps = max_steps
        self.max_errors = max_errors
        self.observation_chars = observation_chars
        self.max_tokens = max_tokens

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
        errors = 0
        for _ in range(self.max_steps):
            s0 = time.perf_counter()
            completion = await self.llm.complete(
                messages, max_tokens=self.max_tokens, temperature=0.0, json_schema=self._schema(tools)
            )
            messages.append({"role": "assistant", "content": completion.text})
            try:
                action = json.loads(completion.text)
                name = action["action"]
            except (json.JSONDecodeError, KeyError, TypeError):
                errors += 1
                self._observe(
                    result, messages, "invalid", {}, "Your reply was not the JSON object asked for.", True, s0
                )
                if errors >= self.max_errors:
                    break
                continue
            if name == "final_answer":
                answer = str(action.get("answer") or "").strip()
                if answer:
                    result.answer, result.status = answer, "answered"
                    break
                errors += 1
                self._observe(result, messages, name, {}, "The answer was empty; write the answer.", True, s0)
                continue
            args = action.get("arguments") or {}
            tool = by_name.get(name)
            problem = None
            if tool is None:
                problem = f"There is no tool {name!r}."
            else:
                try:
                    jsonschema.validate(args, tool.input_schema)
                except jsonschema.ValidationError as exc:
                    problem = f"Invalid arguments for {name}: {exc.message}. Fix them and call again."
            if problem:
                errors += 1
                self._observe(result, messages, name, args, problem, True, s0)
                if errors >= self.max_errors:
                    break
                continue
            out = await self.toolbox.call(name, args)
            for c in out.citations:
                if c not in result.citations:
                    result.citations.append(c)
            self._observe(result, messages, name, args, out.text, out.is_error, s0)
        if result.status != "answered":
            result.status = "no_answer" if errors < self.max_errors else "too_many_errors"
            result.answer = await self._last_chance(question, result)
        result.seconds = time.perf_counter() - t0
        return result

    def _observe(
        self,
        result: AgentResult,
        messages: list[Message],
        action: str,
        args: dict[str, Any],
        text: str,
        is_error: bool,
        started: float,
    ) -> None:
        shown = (
            text if len(text) <= self.observation_chars else text[: self.observation_chars] + " …[truncated]"
        )
        result.steps.append(AgentStep(action, args, shown, is_error, time.perf_counter() - started))
        messages.append({"role": "user", "content": ("ERROR: " if is_error else "Result: ") + shown})

    async def _last_chance(self, question: str, result: AgentResult) -> str:
        """Out of steps: answer from what the tools returned, or say plainly that nothing was found."""
        evidence = [c.get("text", "") for c in result.citations[:4] if c.get("text")]
        if not evidence:
            why = result.status.replace("_", " ")
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
