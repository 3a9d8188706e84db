"""Tool calling for models without native tool calls: a schema-constrained JSON reply, validated."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from deepwell.reasoning._types import ToolCall, ToolSpec

__all__ = ["parse_tool_reply", "tool_choice_schema", "tool_prompt"]

_ANSWER = ToolSpec(
    "answer",
    "Reply to the user directly, without calling a tool.",
    {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


def tool_prompt(tools: list[ToolSpec]) -> str:
    lines = [
        f"- {t.name}: {t.description} Arguments (JSON Schema): {json.dumps(t.parameters)}"
        for t in [*tools, _ANSWER]
    ]
    return (
        "You can call tools. Reply with exactly one JSON object "
        '{"tool": "<name>", "arguments": {...}} and nothing else. Tools:\n' + "\n".join(lines)
    )


def tool_choice_schema(tools: list[ToolSpec]) -> dict[str, Any]:
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"tool": {"const": t.name}, "arguments": t.parameters},
                "required": ["tool", "arguments"],
            }
            for t in [*tools, _ANSWER]
        ]
    }


def parse_tool_reply(text: str, tools: list[ToolSpec]) -> tuple[ToolCall | None, str | None]:
    """``(call, None)`` for a valid call, ``(None, problem)`` otherwise."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"the reply is not JSON ({exc.msg})"
    if not isinstance(value, dict):
        return None, "the reply must be a JSON object"
    name = value.get("tool", value.get("name"))
    args = value.get("arguments", value.get("parameters", {}))
    by_name = {t.name: t for t in [*tools, _ANSWER]}
    if name not in by_name:
        return None, f"unknown tool {name!r}; use one of {', '.join(by_name)}"
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return None, "arguments must be a JSON object"
    try:
        jsonschema.validate(args, by_name[name].parameters)
    except jsonschema.ValidationError as exc:
        return None, f"invalid arguments for {name}: {exc.message}"
    if not isinstance(args, dict):
        return None, "arguments must be a JSON object"
    return ToolCall(name, args), None
