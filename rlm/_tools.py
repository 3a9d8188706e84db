"""The RLM's tools, served over MCP: the orchestrator reaches the context only through an MCP session.

For a collection context, ``search`` is Deepwell's own hybrid search; for text and files it is BM25 over
the context's chunks. Everything else (grep, ranges, outline, records) reads the in-memory context.
"""

from __future__ import annotations

import json
from typing import Any

from deepwell.rlm._context import CollectionRef, ContextIndex
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from deepwell.core.errors import DeepwellError

__all__ = ["ContextTools", "build_context_server"]


def build_context_server(
    ctx: ContextIndex, collection: CollectionRef | None = None, dw: Any = None
) -> MCPServer:
    server: MCPServer = MCPServer("deepwell-rlm-context")

    def guard(fn):  # type: ignore[no-untyped-def]
        def inner(*a: Any, **k: Any) -> Any:
            try:
                return fn(*a, **k)
            except DeepwellError as exc:
                raise ToolError(str(exc)) from exc

        inner.__name__, inner.__doc__ = fn.__name__, fn.__doc__
        inner.__signature__ = __import__("inspect").signature(fn)  # type: ignore[attr-defined]
        return inner

    @server.tool()
    @guard
    def search(query: str, k: int = 5) -> dict[str, Any]:
        """Passages of the context most relevant to the query."""
        if collection is not None and dw is not None:
            hits = dw.search(query, collection.name, k=k)
            return {
                "passages": [
                    {"doc": h.uri, "start": -1, "end": -1, "score": h.score, "text": h.text} for h in hits
                ]
            }
        return {"passages": [p.to_dict() for p in ctx.search(query, k)]}

    @server.tool()
    @guard
    def grep(pattern: str, max_matches: int = 30) -> dict[str, Any]:
        """Regex matches across the whole context, with the document each is in."""
        return ctx.grep(pattern, max_matches=max_matches)

    @server.tool()
    @guard
    def documents_matching(pattern: str, ignore_case: bool = True) -> dict[str, Any]:
        """Which documents contain the pattern, and how often."""
        return {"documents": dict(ctx.docs_matching(pattern, ignore_case).most_common())}

    @server.tool()
    @guard
    def read_range(start: int, end: int) -> dict[str, Any]:
        """Characters start..end of the context (at most 4000)."""
        return {"start": start, "text": ctx.read(start, end)}

    @server.tool()
    @guard
    def outline() -> dict[str, Any]:
        """The documents of the context with their offsets and sizes."""
        return {"documents": ctx.outline()}

    @server.tool()
    @guard
    def records() -> dict[str, Any]:
        """Structured 'key: value | key: value' lines, parsed (the largest family sharing the same keys)."""
        keys, rows = ctx.records()
        return {"fields": keys, "count": len(rows), "records": rows}

    return server


class ContextTools:
    """An entered MCP client session to the context server, with JSON results."""

    def __init__(self, server: MCPServer) -> None:
        self._client = Client(server)

    async def __aenter__(self) -> ContextTools:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    async def call(self, name: str, **args: Any) -> dict[str, Any]:
        r = await self._client.call_tool(name, args)
        if r.is_error:
            text = " ".join(getattr(b, "text", "") for b in r.content)
            raise DeepwellError(text or f"tool {name} failed")
        if r.structured_content is not None:
            data = r.structured_content
            return data.get("result", data) if isinstance(data, dict) and set(data) == {"result"} else data
        return json.loads(getattr(r.content[0], "text", "{}"))
