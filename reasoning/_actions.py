"""One JSON action at a time: the loop the tool agent and the RLM's action mode share.

A small local model picks actions best when each reply is one JSON object held to a schema (a llama.cpp
grammar). Even so a reply can be garbled, name no known action, carry arguments the action refuses, or
repeat an action already done. Each of those is the model's mistake, not the run's: it comes back as an
``InvalidAction`` whose message the caller shows the model so it can correct itself, and it counts against
an error budget so a model that cannot recover stops instead of looping. What an action *does* stays with
the caller; this module only decides whether a reply is an action worth running.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from deepwell.core.errors import OutputError

__all__ = [
    "Action",
    "ActionLoop",
    "InvalidAction",
    "clip_observation",
    "flat_action",
    "nested_action",
]


@dataclass(frozen=True)
class Action:
    """A reply that parsed, passed the caller's check and was not a repeat: run it."""

    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class InvalidAction:
    """A reply not to run; ``message`` says what was wrong, in words meant for the model."""

    message: str
    name: str = "invalid"  # the action's name when the reply parsed that far
    arguments: dict[str, Any] = field(default_factory=dict)


Reader = Callable[[dict[str, Any]], Action]
Check = Callable[[Action], str | None]
Ask = Callable[[dict[str, Any]], Awaitable[str]]


def flat_action(obj: dict[str, Any]) -> Action:
    """``{"action": name, <arguments at the top level>}``."""
    name = obj["action"]
    if not isinstance(name, str):
        raise TypeError("the action must be a string")
    return Action(name, {k: v for k, v in obj.items() if k != "action"})


def nested_action(obj: dict[str, Any]) -> Action:
    """``{"action": name, "arguments": {...}}``."""
    name, args = obj["action"], obj.get("arguments") or {}
    if not isinstance(name, str) or not isinstance(args, dict):
        raise TypeError("the action must be a string and its arguments an object")
    return Action(name, args)


def clip_observation(text: str, limit: int) -> str:
    """What a tool returned, cut to what the window can spare, saying how much was left out."""
    return text if len(text) <= limit else text[:limit] + f" …[{len(text) - limit} more characters]"


class ActionLoop:
    """Asks for one action per turn and keeps the error count.

    ``check`` returns a problem to show the model, or ``None`` for a runnable action (the agent checks
    arguments against each tool's input schema here). ``final`` names the actions that end a run: they are
    never repeats (an answer may be offered again once something new was read). ``on_error`` runs on each
    error, after it is counted, so an orchestrator can record it and stop by raising its own budget error.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        *,
        read: Reader = flat_action,
        check: Check | None = None,
        max_errors: int | None = None,
        on_error: Callable[[str], None] | None = None,
        reject_repeats: bool = True,
        final: frozenset[str] = frozenset(),
        observation_chars: int = 1500,
    ) -> None:
        self.schema = schema
        self.read = read
        self.check = check
        self.max_errors = max_errors
        self.on_error = on_error
        self.reject_repeats = reject_repeats
        self.final = final
        self.observation_chars = observation_chars
        self.errors = 0
        self._done: set[tuple[str, str]] = set()

    @property
    def exhausted(self) -> bool:
        """Whether the errors reached ``max_errors`` (never, without one)."""
        return self.max_errors is not None and self.errors >= self.max_errors

    def error(self, message: str) -> None:
        """Count one error of the model's: an invalid action, or one that failed when it ran."""
        self.errors += 1
        if self.on_error is not None:
            self.on_error(message)

    def clip(self, text: str) -> str:
        return clip_observation(text, self.observation_chars)

    async def next_action(self, ask: Ask) -> Action | InvalidAction:
        """The model's next action, or why it is not one (already counted as an error).

        ``ask`` sends the prompt with this loop's schema as the grammar and returns the raw reply; a
        backend that gives up on garbled output (``OutputError``) is one invalid action, not a failed run.
        """
        try:
            raw = await ask(self.schema)
        except OutputError:
            return self._invalid(
                InvalidAction("That was not a valid action; reply with one short JSON object.")
            )
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise TypeError("not an object")
            action = self.read(obj)
        except (ValueError, KeyError, TypeError):
            return self._invalid(InvalidAction("That was not the JSON object asked for."))
        problem = self.check(action) if self.check is not None else None
        if problem:
            return self._invalid(InvalidAction(problem, action.name, action.arguments))
        if self.reject_repeats and action.name not in self.final:
            key = (action.name, json.dumps(action.arguments, sort_keys=True, ensure_ascii=False).lower())
            if key in self._done:
                what = _show(action)
                return self._invalid(
                    InvalidAction(
                        f"{what} was done already; try something else or answer.",
                        action.name,
                        action.arguments,
                    )
                )
            self._done.add(key)
        return action

    def _invalid(self, invalid: InvalidAction) -> InvalidAction:
        self.error(invalid.message)
        return invalid


def _show(action: Action) -> str:
    """``grep 'x'`` for a one-argument action, else the name with its arguments as JSON."""
    values = list(action.arguments.values())
    if len(values) == 1 and isinstance(values[0], str):
        return f"{action.name} '{values[0]}'"
    return f"{action.name} {json.dumps(action.arguments, ensure_ascii=False)}"
