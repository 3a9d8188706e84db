"""Agents over a real in-process MCP session to a small server backed by a real Deepwell store.

Every test here drives control flow with ``ScriptedLLM`` (a named fake that replays given outputs), so
none of them shows that a real model can use the tools: the real default GGUF model is exercised through
the RAG ``ask`` tool in ``tests/mcp_servers/test_tools.py`` and through the RLM in ``tests/rlm``. A
tool-calling agent on SmolLM2-135M is not tested because that model cannot drive a tool loop reliably.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from deepwell.agents import MCPToolBox, ToolAgent
from deepwell.core.settings import Settings
from deepwell.sdk import Deepwell


@dataclass
class _Completion:
    text: str


@dataclass
class ScriptedLLM:
    """Replays scripted outputs in order and records every prompt it was sent."""

    outputs: list[str]
    prompts: list[list[dict[str, Any]]] = field(default_factory=list)

    async def complete(self, messages: list[dict[str, Any]], **_: Any) -> _Completion:
        self.prompts.append(messages)
        return _Completion(self.outputs.pop(0) if self.outputs else "")


@pytest.fixture
def dw(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = Deepwell(Settings(data_dir=tmp_path / "data"))
    d.ingest_texts(
        [
            ("handbook", "# Security\n\nRotate API keys every 90 days from the admin console.", None),
            ("tea", "# Tea\n\nSteep green tea for two minutes at 75 degrees.", None),
        ],
        "kb",
    )
    yield d
    d.close()


def _server(dw: Deepwell) -> MCPServer:
    server = MCPServer("agent-test")

    @server.tool()
    def search(query: str, collection: str = "kb", k: int = 3) -> dict[str, Any]:
        """Hybrid search over a collection."""
        return {"hits": [h.to_dict() for h in dw.search(query, collection, k=k)]}

    return server


async def test_agent_calls_a_tool_then_answers(dw: Deepwell) -> None:
    llm = ScriptedLLM(
        [
            json.dumps({"action": "search", "arguments": {"query": "API key rotation"}}),
            json.dumps({"action": "final_answer", "answer": "Every 90 days [1]."}),
        ]
    )
    async with Client(_server(dw)) as client:
        result = await ToolAgent(llm, MCPToolBox(client)).run("How often are API keys rotated?")
    assert result.status == "answered" and result.answer == "Every 90 days [1]."
    assert result.steps[0].action == "search" and "90 days" in result.steps[0].observation
    assert result.citations[0]["uri"] == "handbook"


async def test_invalid_calls_are_reported_not_executed(dw: Deepwell) -> None:
    llm = ScriptedLLM(
        [
            "not json at all",
            json.dumps({"action": "delete_everything", "arguments": {}}),
            json.dumps({"action": "search", "arguments": {"query": 42}}),
            json.dumps({"action": "final_answer", "answer": "   "}),
            json.dumps({"action": "search", "arguments": {"query": "tea"}}),
            json.dumps({"action": "final_answer", "answer": "Two minutes."}),
        ]
    )
    async with Client(_server(dw)) as client:
        result = await ToolAgent(llm, MCPToolBox(client), max_steps=8, max_errors=5).run("Tea time?")
    errors = [s for s in result.steps if s.is_error]
    assert len(errors) == 4
    assert "no tool 'delete_everything'" in errors[1].observation
    assert "Invalid arguments for search" in errors[2].observation
    assert result.answer == "Two minutes."


async def test_out_of_steps_says_so(dw: Deepwell) -> None:
    llm = ScriptedLLM([json.dumps({"action": "search", "arguments": {"query": "zzz unknown"}})] * 2)
    async with Client(_server(dw)) as client:
        result = await ToolAgent(llm, MCPToolBox(client), max_steps=2).run("What is the capital of Mars?")
    assert result.status == "budget_exhausted:iterations"  # the RLM's word for running out of steps
    assert result.answer  # either a hedged answer from evidence or an explicit "could not find"


async def test_too_many_invalid_calls_stop_with_the_errors_budget(dw: Deepwell) -> None:
    llm = ScriptedLLM(["not json", json.dumps({"action": "search", "arguments": {}}), "{"])
    async with Client(_server(dw)) as client:
        result = await ToolAgent(llm, MCPToolBox(client), max_steps=6, max_errors=3).run("Tea time?")
    assert result.status == "budget_exhausted:errors" and len(result.steps) == 3
    assert result.answer == "I could not find an answer (too many invalid actions after 3 steps)."
    # no last-chance call: nothing was found to answer from
    assert llm.outputs == [] and len(llm.prompts) == 3


async def test_repeated_calls_are_refused_when_asked(dw: Deepwell) -> None:
    tea = json.dumps({"action": "search", "arguments": {"query": "tea"}})
    llm = ScriptedLLM([tea, tea, json.dumps({"action": "final_answer", "answer": "Two minutes [1]."})])
    async with Client(_server(dw)) as client:
        result = await ToolAgent(llm, MCPToolBox(client), reject_repeats=True).run("Tea time?")
    assert result.status == "answered" and [s.is_error for s in result.steps] == [False, True]
    assert "was done already" in result.steps[1].observation
