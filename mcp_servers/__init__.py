"""MCP servers: Deepwell's tools for Claude Desktop, the MCP Inspector and any MCP client."""

from deepwell.mcp_servers._claude import config_entry
from deepwell.mcp_servers._claude import install as install_claude_config
from deepwell.mcp_servers._run import run_stdio, serve_http
from deepwell.mcp_servers._server import build_server

__all__ = ["build_server", "config_entry", "install_claude_config", "run_stdio", "serve_http"]
