"""Deepwell: local-first agentic RAG, MCP tool servers and Recursive Language Models.

Everything installs under this one namespace: ``deepwell.core`` (settings, errors), ``deepwell.storage``,
``deepwell.retrieval``, ``deepwell.reasoning``, ``deepwell.agents``, ``deepwell.rlm``, and on top the front
doors ``deepwell.sdk``, ``deepwell.mcp_servers`` and ``deepwell.cli``.

``Deepwell`` and ``AsyncDeepwell`` are resolved on first access (PEP 562) so that ``import
deepwell.storage`` or a keyword-only CLI command does not pay for loading every part; it is not hiding a
cycle, as ``deepwell.core`` imports nothing above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deepwell.core import DeepwellError, Settings

if TYPE_CHECKING:
    from deepwell.sdk import AsyncDeepwell, Deepwell

__all__ = ["AsyncDeepwell", "Deepwell", "DeepwellError", "Settings", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("Deepwell", "AsyncDeepwell"):
        from deepwell import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'deepwell' has no attribute {name!r}")
