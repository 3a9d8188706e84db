"""Agents: a tool-using agent and Mixture-of-Agents, both working through Deepwell's MCP tools."""

from agents._agent import AgentResult, AgentStep, ToolAgent
from agents._moa import MixtureOfAgents, MoAResult
from agents._toolbox import MCPToolBox, ToolBox, ToolInfo, ToolResult

__all__ = [
    "AgentResult",
    "AgentStep",
    "MCPToolBox",
    "MixtureOfAgents",
    "MoAResult",
    "ToolAgent",
    "ToolBox",
    "ToolInfo",
    "ToolResult",
]
