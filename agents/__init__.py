"""Agents: a tool-using agent and Mixture-of-Agents, both working through Deepwell's MCP tools."""

from deepwell.agents._agent import AgentResult, AgentStep, ToolAgent
from deepwell.agents._moa import MixtureOfAgents, MoAResult
from deepwell.agents._toolbox import MCPToolBox, ToolBox, ToolInfo, ToolResult

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
