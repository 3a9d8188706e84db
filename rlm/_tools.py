"""The RLM's tools, served over MCP: the orchestrator reaches the context only through an MCP session.

For a collection context, ``search`` is Deepwell's own hybrid search; for text and files it is BM25 over
the context's chunks. Everything else (grep, ranges, outline, records) reads the in-memory context.
"""

from __future__ import annotations

import json
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from deepwell.core.errors import DeepwellError
from deepwell.rlm._context import CollectionRef, ContextIndex
from deepwell.rlm._store import StoreOwner
from deepwell.rlm._structure import node_dict

__all__ = ["ContextTools", "build_context_server"]


def build_context_server(
    ctx: ContextIndex, collection: CollectionRef | None = None, dw: StoreOwner | None = None
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
    def outline(depth: int = 2, max_items: int = 200) -> dict[str, Any]:
        """The context's structure down to `depth` levels: files, sections, classes, messages, each with
        its id (for children/entries/fields), title, entry count and path; plus the documents."""
        tree = ctx.tree
        nodes = tree.outline(max(1, int(depth)))
        return {
            "structure": tree.describe(),
            "total": len(nodes),
            "nodes": [node_dict(tree, n, path=False) for n in nodes[:max_items]],
            "truncated": len(nodes) > max_items,
            "documents": ctx.outline(),
        }

    @server.tool()
    @guard
    def locate(pattern: str, regex: bool = False, case: bool = False, limit: int = 50) -> dict[str, Any]:
        """Every match of the pattern with its path of enclosing headings (file first in a directory) and
        the innermost node (an entry or item when the match is inside one)."""
        tree = ctx.tree
        found = tree.locate(pattern, regex=regex, case=case, limit=max(1, min(int(limit), 1000)) + 1)
        shown = found[: max(1, min(int(limit), 1000))]
        return {
            "pattern": pattern,
            "count": len(shown),
            "truncated": len(found) > len(shown),
            "matches": [
                {
                    "node": m.node.id,
                    "kind": m.node.kind,
                    "title": m.node.title[:200],
                    "path": m.path,
                    "offset": m.offset,
                    "line": m.line,
                    "fields": m.node.fields,
                }
                for m in shown
            ],
        }

    @server.tool()
    @guard
    def children(node: str = "0", max_items: int = 300) -> dict[str, Any]:
        """The children of a node (default: the top level), each with how many entries/items it holds."""
        tree = ctx.tree
        kids = tree.children(node)
        return {
            "node": node_dict(tree, tree.node(node)),
            "count": len(kids),
            "children": [node_dict(tree, c, path=False) for c, _ in kids[:max_items]],
            "truncated": len(kids) > max_items,
        }

    @server.tool()
    @guard
    def entries(node: str = "0", filter: str | None = None, max_items: int = 100) -> dict[str, Any]:
        """The entries, list items and records under a node, optionally only those containing `filter`."""
        tree = ctx.tree
        leaves = tree.entries(node, filter)
        return {
            "node": node_dict(tree, tree.node(node)),
            "filter": filter,
            "count": len(leaves),
            "entries": [
                {**node_dict(tree, n, path=False), "text": tree.text[n.start : n.end].strip()[:400]}
                for n in leaves[:max_items]
            ],
            "truncated": len(leaves) > max_items,
        }

    @server.tool()
    @guard
    def fields(node: str) -> dict[str, Any]:
        """The fields of a node: version, author, email, date of a release block; credits, issue ids and
        key: value lines of an entry; headers of a message; params of a def."""
        tree = ctx.tree
        return node_dict(tree, tree.node(node))

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
