"""The base every part stands on: settings, the exception hierarchy, the status vocabulary and
shared types.

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
from deepwell.core.status import (
    ANSWERED,
    ERROR,
    NOT_FOUND_STATUS,
    UNCERTAIN,
    budget_exhausted,
    canonical_status,
)

__all__ = [
    "ANSWERED",
    "ERROR",
    "NOT_FOUND_STATUS",
    "UNCERTAIN",
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
    "budget_exhausted",
    "canonical_status",
]
