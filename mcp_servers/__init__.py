"""MCP servers: Deepwell's tools for Claude Desktop, the MCP Inspector and any MCP client."""

from deepwell.mcp_servers._server import build_server

__all__ = ["build_server"]
