"""The shared JSON action loop: control flow with ``ScriptedFakeLLM`` (a named fake replaying given replies),
and one run on the real packaged model to show a grammar-held reply comes back as a runnable action."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from deepwell.core.errors import BudgetExceeded, OutputError
from deepwell.reasoning import (
    Action,
    ActionLoop,
    InvalidAction,
    clip_observation,
    flat_action,
    nested_action,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["search", "answer"]},
        "arguments": {"type": "object"},
    },
    "required": ["action"],
}
SEARCH_ARGS = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}


@dataclass
class ScriptedFakeLLM:
    """Not a model: replays ``replies`` in order (an exception in the list is raised, as a backend raises
    on output it gave up on) and records the schema it was asked to hold each reply to."""

    replies: list[str | Exception]
    schemas: list[dict[str, Any]] = field(default_factory=list)

    async def ask(self, schema: dict[str, Any]) -> str:
        self.schemas.append(schema)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


def _check(action: Action) -> str | None:
    if action.name != "search":
        return None
    try:
        jsonschema.validate(action.arguments, SEARCH_ARGS)
    except jsonschema.ValidationError as exc:
        return f"Invalid arguments for search: {exc.message}."
    return None


def _loop(**kw: Any) -> ActionLoop:
    return ActionLoop(SCHEMA, read=nested_action, check=_check, final=frozenset({"answer"}), **kw)


async def test_a_valid_reply_is_an_action_and_no_error() -> None:
    fake = ScriptedFakeLLM([json.dumps({"action": "search", "arguments": {"query": "tea"}})])
    loop = _loop()
    action = await loop.next_action(fake.ask)
    assert action == Action("search", {"query": "tea"})
    assert loop.errors == 0 and fake.schemas == [SCHEMA]  # the loop's schema is what the model is held to


async def test_garbled_json_and_a_backend_that_gave_up_are_invalid_actions() -> None:
    fake = ScriptedFakeLLM(
        ["{not json", "[1, 2]", json.dumps({"argument": "no action"}), OutputError("invalid JSON 3 times")]
    )
    loop = _loop()
    got = [await loop.next_action(fake.ask) for _ in range(4)]
    assert all(isinstance(a, InvalidAction) and a.name == "invalid" for a in got)
    assert "not the JSON object" in got[0].message and "not a valid action" in got[3].message
    assert loop.errors == 4 and not loop.exhausted  # no max_errors: counted, never exhausted


async def test_arguments_the_check_refuses_are_shown_to_the_model() -> None:
    fake = ScriptedFakeLLM(
        [
            json.dumps({"action": "search", "arguments": {"query": 42}}),
            json.dumps({"action": "search", "arguments": [1]}),  # not an object at all
        ]
    )
    loop = _loop()
    bad = await loop.next_action(fake.ask)
    assert isinstance(bad, InvalidAction) and bad.name == "search" and bad.arguments == {"query": 42}
    assert bad.message.startswith("Invalid arguments for search") and "not of type 'string'" in bad.message
    assert isinstance(await loop.next_action(fake.ask), InvalidAction) and loop.errors == 2


async def test_a_repeated_action_is_refused_but_an_answer_may_be_offered_again() -> None:
    search = json.dumps({"action": "search", "arguments": {"query": "Tea"}})
    same_other_case = json.dumps({"action": "search", "arguments": {"query": "tea"}})
    answer = json.dumps({"action": "answer", "arguments": {"text": "two minutes"}})
    fake = ScriptedFakeLLM([search, same_other_case, answer, answer])
    loop = _loop()
    first, again, a1, a2 = [await loop.next_action(fake.ask) for _ in range(4)]
    assert isinstance(first, Action)
    assert isinstance(again, InvalidAction) and again.message == (
        "search 'tea' was done already; try something else or answer."
    )
    assert isinstance(a1, Action) and isinstance(a2, Action) and loop.errors == 1


async def test_repeats_can_be_allowed() -> None:
    search = json.dumps({"action": "search", "arguments": {"query": "tea"}})
    loop = _loop(reject_repeats=False)
    fake = ScriptedFakeLLM([search, search])
    assert [await loop.next_action(fake.ask) for _ in range(2)] == [Action("search", {"query": "tea"})] * 2


async def test_the_error_budget_is_exhausted_or_raised_by_the_owner() -> None:
    loop = _loop(max_errors=2)
    fake = ScriptedFakeLLM(["x", json.dumps({"action": "search", "arguments": {"query": "q"}}), "y"])
    await loop.next_action(fake.ask)
    assert not loop.exhausted
    await loop.next_action(fake.ask)  # a valid action costs nothing
    assert not loop.exhausted
    await loop.next_action(fake.ask)
    assert loop.exhausted and loop.errors == 2

    seen: list[str] = []

    def budget(message: str) -> None:
        seen.append(message)
        if len(seen) == 2:
            raise BudgetExceeded("errors", f"{len(seen)} errors")

    loop = ActionLoop(SCHEMA, on_error=budget)
    fake = ScriptedFakeLLM(["x", "y", "z"])
    await loop.next_action(fake.ask)
    with pytest.raises(BudgetExceeded):
        await loop.next_action(fake.ask)
    loop.error("the tool failed")  # an error found after running an action counts the same way
    assert len(seen) == 3 and seen[-1] == "the tool failed"


def test_readers_and_clipping() -> None:
    assert flat_action({"action": "grep", "argument": "x"}) == Action("grep", {"argument": "x"})
    assert nested_action({"action": "search"}) == Action("search", {})
    with pytest.raises(TypeError):
        flat_action({"action": 3})
    assert clip_observation("abcdef", 10) == "abcdef"
    assert clip_observation("abcdef", 4) == "abcd …[2 more characters]"
    assert ActionLoop(SCHEMA, observation_chars=3).clip("abcdef") == "abc …[3 more characters]"


@pytest.mark.model
async def test_the_real_model_held_to_the_schema_gives_a_runnable_action(llm) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["search", "answer"]},
            "argument": {"type": "string", "maxLength": 40},
        },
        "required": ["action", "argument"],
    }
    messages = [
        {"role": "system", "content": "Choose ONE action as JSON. search: argument = words to look for."},
        {"role": "user", "content": "Question: How often are API keys rotated? Nothing was read yet."},
    ]

    async def ask(s: dict[str, Any]) -> str:
        return (await llm.complete(messages, max_tokens=48, temperature=0.0, json_schema=s)).text

    action = await ActionLoop(schema).next_action(ask)
    assert isinstance(action, Action), action
    assert action.name in {"search", "answer"} and isinstance(action.arguments["argument"], str)
