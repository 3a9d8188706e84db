"""``python -m mcp_servers``: the stdio server (what Claude Desktop launches)."""

from deepwell.mcp_servers._run import run_stdio

run_stdio()
