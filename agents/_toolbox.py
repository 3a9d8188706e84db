"""Tools as orchestrators see them: names, schemas, and a call that never raises for a tool's own failure.

The real implementation talks to Deepwell's MCP server through the SDK's ``mcp.Client`` (in-process,
stdio or streamable HTTP), so agents use exactly the tools an MCP client such as Claude Desktop sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from mcp import Client

__all__ = ["MCPToolBox", "ToolBox", "ToolInfo", "ToolResult"]


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass
class ToolResult:
    text: str
    data: Any = None
    is_error: bool = False
    citations: list[dict[str, Any]] = field(default_factory=list)


class ToolBox(Protocol):
    async def tools(self) -> list[ToolInfo]: ...

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult: ...


def _citations(data: Any) -> list[dict[str, Any]]:
    hits = data.get("hits") if isinstance(data, dict) else None
    if not isinstance(hits, list):
        return []
    keep = ("uri", "title", "chunk_id", "ordinal", "char_start", "char_end", "text")
    return [{k: h.get(k) for k in keep if k in h} for h in hits if isinstance(h, dict)]


class MCPToolBox:
    """A ``ToolBox`` over an entered ``mcp.Client``; ``allow`` limits which tools a model may call."""

    def __init__(self, client: Client, allow: set[str] | None = None) -> None:
        self._client = client
        self._allow = allow
        self._tools: list[ToolInfo] | None = None

    async def tools(self) -> list[ToolInfo]:
        if self._tools is None:
            listed = await self._client.list_tools()
            self._tools = [
                ToolInfo(t.name, t.description or "", dict(t.input_schema))
                for t in listed.tools
                if self._allow is None or t.name in self._allow
            ]
        return self._tools

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        names = {t.name for t in await self.tools()}
        if name not in names:
            return ToolResult(f"Unknown tool {name!r}; available: {', '.join(sorted(names))}.", is_error=True)
        result = await self._client.call_tool(name, arguments)
        text = "\n".join(
            getattr(block, "text", "") for block in result.content if getattr(block, "text", None)
        )
        data = result.structured_content
        if not text and data is not None:
            text = json.dumps(data, ensure_ascii=False, default=str)
        return ToolResult(text=text, data=data, is_error=bool(result.is_error), citations=_citations(data))
