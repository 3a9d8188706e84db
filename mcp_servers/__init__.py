"""MCP servers: Deepwell's tools for Claude Desktop, the MCP Inspector and any MCP client."""

from deepwell.mcp_servers._claude import CLIENTS as MCP_CLIENTS
from deepwell.mcp_servers._claude import client_config, client_config_path, config_entry
from deepwell.mcp_servers._claude import install as install_claude_config
from deepwell.mcp_servers._claude import install as install_client_config
from deepwell.mcp_servers._run import run_stdio, serve_http
from deepwell.mcp_servers._server import build_server

__all__ = [
    "MCP_CLIENTS",
    "build_server",
    "client_config",
    "client_config_path",
    "config_entry",
    "install_claude_config",
    "install_client_config",
    "run_stdio",
    "serve_http",
]
