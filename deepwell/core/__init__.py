"""The base every part stands on: settings, the exception hierarchy and shared types.

It imports no other part of Deepwell, so storage, retrieval, reasoning and the orchestrators can all
depend on it without a cycle.
"""

from deepwell.core.errors import (
    AuthError,
    BudgetExceeded,
    ConfigError,
    ContextWindowError,
    DeepwellError,
    InputError,
    LLMConnectionError,
    LLMError,
    ModelError,
    NotFoundError,
    OutputError,
    RemoteError,
    SandboxError,
    SchemaError,
    StorageError,
)
from deepwell.core.settings import Settings

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
    "Settings",
    "StorageError",
]
