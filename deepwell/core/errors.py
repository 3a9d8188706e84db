"""Deepwell's one exception hierarchy.

Every error a user can meet is a :class:`DeepwellError` whose message says what went wrong *and what to
do about it*. Front doors (CLI, MCP tools, SDK) catch ``DeepwellError`` and show the message; anything
else is a bug and keeps its traceback.

    DeepwellError
    ├── ConfigError            bad or missing settings
    ├── StorageError           the database cannot be reached or used
    │   └── SchemaError        the store was written by another Deepwell version
    ├── NotFoundError          unknown collection, document, chunk or run
    ├── InputError             bad user input: empty query, bad path, unreadable file
    ├── ModelError             a model is missing, corrupt or cannot be loaded
    ├── LLMError               the reasoning core failed
    │   ├── ContextWindowError the prompt does not fit the model's window
    │   ├── LLMConnectionError an HTTP backend is down, slow or answered garbage
    │   └── OutputError        the model's output is invalid (bad JSON, unknown tool) after retries
    ├── SandboxError           model-written code could not run in the sandbox
    ├── RemoteError            a `deepwell serve` endpoint cannot be reached, or a call on it failed
    │   └── AuthError          the endpoint refused the bearer token
    └── BudgetExceeded         an orchestrator ran out of a budget (iterations, tokens, time...)
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BudgetExceeded",
    "ConfigError",
    "ContextWindowError",
    "DeepwellError",
    "InputError",
    "LLMConnectionError",
    "LLMError",
    "ModelError",
    "NotFoundError",
    "OutputError",
    "RemoteError",
    "SandboxError",
    "SchemaError",
    "StorageError",
]


class DeepwellError(Exception):
    """Base class: the message is meant for the user and says how to fix the problem."""


class ConfigError(DeepwellError):
    pass


class StorageError(DeepwellError):
    pass


class SchemaError(StorageError):
    pass


class NotFoundError(DeepwellError):
    pass


class InputError(DeepwellError):
    pass


class ModelError(DeepwellError):
    pass


class LLMError(DeepwellError):
    pass


class ContextWindowError(LLMError):
    pass


class LLMConnectionError(LLMError):
    pass


class OutputError(LLMError):
    pass


class SandboxError(DeepwellError):
    pass


class RemoteError(DeepwellError):
    pass


class AuthError(RemoteError):
    pass


class BudgetExceeded(DeepwellError):
    """Raised inside orchestrators; they turn it into a final answer that names the budget."""

    def __init__(self, budget: str, message: str) -> None:
        super().__init__(message)
        self.budget = budget
