"""Deepwell: local-first agentic RAG, MCP tool servers and Recursive Language Models.

The SDK is imported lazily so that low layers (storage, retrieval) can import ``deepwell.errors`` and
``deepwell.settings`` without pulling in everything above them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deepwell.errors import DeepwellError
from deepwell.settings import Settings

if TYPE_CHECKING:
    from deepwell.sdk import Deepwell

__all__ = ["Deepwell", "DeepwellError", "Settings", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "Deepwell":
        from deepwell.sdk import Deepwell

        return Deepwell
    raise AttributeError(f"module 'deepwell' has no attribute {name!r}")
