"""The structure tools over the real in-process MCP transport, and in both RLM modes (ScriptedLLM only
drives control flow: which tool to call; what the tools return is the real tree)."""

from __future__ import annotations

import json

import pytest

from deepwell.core.errors import DeepwellError
from deepwell.rlm import RLMConfig, answer_async
from deepwell.rlm._budget import Budget
from deepwell.rlm._context import load_context
from deepwell.rlm._engine import Engine
from deepwell.rlm._modes import _explore
from deepwell.rlm._tools import ContextTools, build_context_server
from deepwell.rlm._trajectory import Trajectory
from tests.rlm.conftest import ScriptedLLM
from tests.rlm.test_structure import DEBIAN, NEWS


async def test_context_server_serves_outline_locate_children_entries_fields() -> None:
    ctx = load_context(NEWS)
    async with ContextTools(build_context_server(ctx)) as tools:
        out = await tools.call("outline", depth=2)
        assert [(n["id"], n["title"], n["entries"]) for n in out["nodes"]] == [
            ("0.0", "Python News", 5),
            ("0.0.0", "What's New in Python 3.11.4?", 4),
            ("0.0.1", "What's New in Python 3.11.3?", 1),
        ]
        assert "5 entries" in out["structure"]
        loc = await tools.call("locate", pattern="gh-104049")
        assert loc["count"] == 1 and loc["matches"][0]["path"] == [
            "Python News",
            "What's New in Python 3.11.4?",
            "Library",
        ]
        kids = await tools.call("children", node="0.0.0")
        assert [(c["title"], c["entries"]) for c in kids["children"]] == [("Security", 1), ("Library", 3)]
        ents = await tools.call("entries", node="0.0.0.1", filter="contributed")
        assert ents["count"] == 1 and ents["entries"][0]["text"].startswith("- bpo-44530")
        f = await tools.call("fields", node=ents["entries"][0]["id"])
        assert f["fields"]["credited"] == "John Doe" and f["path"][-1] == "Library"
        with pytest.raises(DeepwellError, match="No node"):
            await tools.call("children", node="0.9")


async def test_action_mode_reads_the_tree(dw) -> None:  # type: ignore[no-untyped-def]
    """The model's own actions (what action mode falls back to when no plan fits) reach the tree."""
    root = [
        json.dumps({"action": "locate", "argument": "CVE-2024-1234"}),
        json.dumps({"action": "fields", "argument": "0.0"}),
        json.dumps({"action": "entries", "argument": "0.0 crash"}),
        json.dumps({"action": "answer", "argument": "2.10-3"}),
    ]
    llm = ScriptedLLM(root=root)
    question = "Which upload fixed CVE-2024-1234?"
    ctx = load_context(DEBIAN)
    config = RLMConfig()
    traj = Trajectory(dw.store.runs, question, {}, None)
    async with ContextTools(build_context_server(ctx)) as tools:
        e = Engine(llm, ctx, tools, Budget(config), traj, config, question)
        found = await _explore(e)
    assert found is not None and found.answer == "2.10-3"
    steps = dw.store.runs.get(traj.run_id).steps
    results = {s.data["tool"]: s.data["result"] for s in steps if s.kind == "tool"}
    assert results["locate"]["matches"][0]["path"][-1] == "[ John Doe ]"
    assert results["fields"]["fields"]["version"] == "2.10-3"
    assert results["entries"]["count"] == 1
    # the root model saw the path, the fields and the entry it answered from
    assert any("[ John Doe ]" in c for c in llm.calls) and any("'version': '2.10-3'" in c for c in llm.calls)
    assert any("Fix a crash when the greeting is empty" in c for c in llm.calls)


async def test_code_mode_has_the_structure_functions(dw) -> None:  # type: ignore[no-untyped-def]
    root = [
        "```repl\nm = locate('gh-104049')['matches'][0]\nprint(m['path'])\n"
        "kids = children('0.0.0')['children']\nprint([(k['title'], k['entries']) for k in kids])\n```",
        "```repl\nanswer = {'content': m['path'][-2] + ' / ' + m['path'][-1], 'ready': True}\n```",
    ]
    r = await answer_async(
        "Under which release and section is gh-104049?", NEWS, llm=ScriptedLLM(root=root), dw=dw, mode="code"
    )
    assert (r.status, r.answer) == ("answered", "What's New in Python 3.11.4? / Library")
    out = next(s.data for s in dw.store.runs.get(r.run_id).steps if s.kind == "result")
    assert "[('Security', 1), ('Library', 3)]" in out["stdout"]
