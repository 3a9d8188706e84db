"""Agents: ``ask`` (cited answers checked against their sources), Mixture-of-Agents and Self-MoA, and a
tool-using agent working through Deepwell's MCP tools."""

from deepwell.agents._agent import AgentResult, AgentStep, ToolAgent
from deepwell.agents._ask import METHODS, AskResult, Method, ask
from deepwell.agents._moa import MixtureOfAgents, MoAConfig, MoAResult, Proposal, Proposer, answer_messages
from deepwell.agents._sources import NOT_FOUND, Citation, Support, check_support, number_sources
from deepwell.agents._toolbox import MCPToolBox, ToolBox, ToolInfo, ToolResult

__all__ = [
    "METHODS",
    "NOT_FOUND",
    "AgentResult",
    "AgentStep",
    "AskResult",
    "Citation",
    "MCPToolBox",
    "Method",
    "MixtureOfAgents",
    "MoAConfig",
    "MoAResult",
    "Proposal",
    "Proposer",
    "Support",
    "ToolAgent",
    "ToolBox",
    "ToolInfo",
    "ToolResult",
    "answer_messages",
    "ask",
    "check_support",
    "number_sources",
]
