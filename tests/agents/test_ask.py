"""``ask``, MoA and Self-MoA: control flow with a scripted model, then end to end on the real model.

``ScriptedLLM`` is a named fake that replays outputs (per call, in order); it checks the plumbing —
support check, dropped proposers, windows, stored runs. The ``model`` tests run SmolLM2-135M over the
sample corpus with real retrieval and fail on a wrong answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from deepwell.agents import (
    NOT_FOUND,
    MixtureOfAgents,
    MoAConfig,
    Proposer,
    ask,
    check_support,
    number_sources,
)
from deepwell.core.errors import InputError, LLMError
from deepwell.core.settings import Settings
from deepwell.reasoning import Completion, Usage
from deepwell.sdk import Deepwell

SAMPLES = Path(__file__).resolve().parents[2] / "deepwell" / "samples"


@dataclass
class ScriptedLLM:
    """Replays scripted replies in order; an ``Exception`` is raised, ``("loop", text)`` looped."""

    replies: list[Any]
    name: str = "scripted"
    n_ctx: int = 4096
    prompts: list[list[dict[str, Any]]] = field(default_factory=list)

    async def complete(self, messages: list[dict[str, Any]], **_: Any) -> Completion:
        self.prompts.append(messages)
        reply = self.replies.pop(0) if self.replies else ""
        if isinstance(reply, Exception):
            raise reply
        finish, text = reply if isinstance(reply, tuple) else ("stop", reply)
        return Completion(text, [], finish, Usage(10, 5))

    async def stream(self, messages: list[dict[str, Any]], **kw: Any) -> AsyncIterator[str]:
        c = await self.complete(messages, **kw)
        for word in c.text.split(" "):
            yield word + " "

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def aclose(self) -> None:
        return None


# A model instance of its own (no prompt-state cache, so a key no other test file shares): with a 135M
# model, greedy output can change with which prefix an earlier test left in the KV cache.
ISOLATED = {"llm_cache_mb": 0}


@pytest.fixture
def dw(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = Deepwell(Settings(data_dir=tmp_path / "data", **ISOLATED))
    d.ingest([SAMPLES], "samples")
    yield d
    d.close()


def _search(dw: Deepwell):  # type: ignore[no-untyped-def]
    return lambda q, k: dw.search(q, "samples", k=k)


def test_support_check_keeps_what_a_source_says_and_cuts_the_rest(dw: Deepwell) -> None:
    sources = number_sources(dw.search("How often must API keys be rotated?", "samples", k=3))
    q = "How often must API keys be rotated?"
    ok = check_support("Keys are rotated every 90 days, which is about 3 times a year.", q, sources)
    assert ok.status == "answered" and "90 days" in ok.answer and "3 times" not in ok.answer
    assert ok.answer.endswith(f"[{ok.cited[0]}].") and "handbook" in sources[ok.cited[0] - 1].uri
    assert check_support("Keys are rotated every 45 days.", q, sources).status == "not_found"
    assert check_support("The sources do not say.", q, sources).answer == NOT_FOUND


async def test_ask_cites_document_chunk_and_span_and_stores_the_run(dw: Deepwell) -> None:
    llm = ScriptedLLM(["Every API key must be rotated at least every 90 days."])
    r = await ask(
        "How often must API keys be rotated?",
        _search(dw),
        llm,  # type: ignore[arg-type]
        method="single",
        runs=dw.store.runs,
    )
    assert r.status == "answered" and "90 days [1]" in r.answer
    c = r.citations[0]
    doc = dw.get_document("samples", c.uri)
    assert "90 days" in doc.text[c.char_start : c.char_end]
    run = dw.store.runs.get(r.run_id or "")
    assert run.kind == "ask" and run.status == "answered"
    assert [s.kind for s in run.steps] == ["retrieve", "proposal", "verify"]


async def test_invented_answer_and_empty_question(dw: Deepwell) -> None:
    llm = ScriptedLLM(["Mercury boils at 357 degrees Celsius."])
    r = await ask("What is the boiling point of mercury?", _search(dw), llm, method="single")  # type: ignore[arg-type]
    assert (r.status, r.answer, r.citations) == ("not_found", NOT_FOUND, [])
    with pytest.raises(InputError):
        await ask("  ", _search(dw), llm)  # type: ignore[arg-type]


async def test_moa_drops_failing_looping_and_garbage_proposers(dw: Deepwell) -> None:
    good = ScriptedLLM(["API keys are rotated every 90 days.", "Every 90 days [1]."])
    broken = ScriptedLLM([RuntimeError("endpoint down")])
    looping = ScriptedLLM([("loop", "la femme")])
    garbage = ScriptedLLM(["}}}} ;;;; ----"])
    proposers = [
        Proposer(good, "good"),
        Proposer(broken, "broken"),
        Proposer(looping, "looping"),
        Proposer(garbage, "junk"),
    ]
    r = await ask(
        "How often must API keys be rotated?",
        _search(dw),
        good,  # type: ignore[arg-type]
        method="moa",
        proposers=proposers,
        runs=dw.store.runs,
    )
    assert r.status == "answered" and "90 days" in r.answer
    run = dw.store.runs.get(r.run_id or "")
    reasons = {s.data["name"]: s.data.get("error") for s in run.steps if s.kind == "proposal"}
    assert reasons["good"] is None
    assert "endpoint down" in reasons["broken"] and "looped" in reasons["looping"]
    assert "garbage" in reasons["junk"]


async def test_all_proposers_failing_is_an_error(dw: Deepwell) -> None:
    bad = [Proposer(ScriptedLLM([RuntimeError("no")]), f"p{i}") for i in range(2)]
    with pytest.raises(LLMError, match="All 2 proposers failed"):
        await ask("How often must API keys be rotated?", _search(dw), bad[0].llm, method="moa", proposers=bad)


async def test_self_moa_seq_aggregates_a_sliding_window(dw: Deepwell) -> None:
    from deepwell.agents._record import Recorder

    samples = [
        "Every 90 days.",
        "Rotate every 90 days.",
        "At least every 90 days.",
        "Every 90 days from the admin console.",
        "Rotate API keys at least every 90 days.",
    ]
    llm = ScriptedLLM([*samples, "Keys: every 90 days.", "At least every 90 days, from the console."])
    moa = MixtureOfAgents.self_moa(llm, 5, config=MoAConfig(window=3, aggregate="llm"))  # type: ignore[arg-type]
    sources = number_sources(dw.search("How often must API keys be rotated?", "samples", k=3))
    out = await moa.run("How often must API keys be rotated?", sources, Recorder(None, "ask", "q", {}))
    # 5 samples, window 3: (s1 s2 s3) then (synthesis s4 s5)
    assert out.aggregations == ["Keys: every 90 days.", "At least every 90 days, from the console."]
    last = llm.prompts[-1][-1]["content"]
    assert "Keys: every 90 days." in last and samples[4] in last and samples[0] not in last


# --- the real model -------------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.slow
def test_sdk_ask_answers_from_the_samples(dw: Deepwell) -> None:
    r = dw.ask("Up to how much are meals reimbursed per day when travelling?", "samples")
    assert (r.strategy, r.status) == ("rag", "answered"), r.draft  # answered from the passages, not an RLM
    assert "60" in r.answer and "handbook" in r.citations[0].uri, r.answer
    assert r.run_id and dw.store.runs.get(r.run_id).status == "answered"


@pytest.mark.model
@pytest.mark.slow
def test_sdk_ask_says_not_found_when_the_sources_do_not_say(dw: Deepwell) -> None:
    r = dw.ask("What is the boiling point of mercury?", "samples", strategy="rag")
    assert (r.status, r.answer) == ("not_found", NOT_FOUND), r.draft


@pytest.mark.model
@pytest.mark.slow
async def test_self_moa_answers_from_the_samples(dw: Deepwell) -> None:
    r = await dw.ask_async(
        "How often must API keys be rotated?",
        "samples",
        method="self-moa",
        samples=3,
    )
    assert (r.strategy, r.status) == ("rag", "answered"), r.draft
    assert "90" in r.answer and "handbook" in r.citations[0].uri, r.answer
    assert "45" not in r.answer and "30 days" not in r.answer, r.answer  # no other handbook number
    run = dw.store.runs.get(r.run_id or "")
    assert sum(s.kind == "proposal" for s in run.steps) == 3 and any(s.kind == "aggregate" for s in run.steps)


@pytest.mark.model
@pytest.mark.slow
def test_cli_ask_streams_then_cites_and_runs_show_renders(dw: Deepwell, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from deepwell.cli import app

    monkeypatch.setenv("DEEPWELL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DEEPWELL_LLM_CACHE_MB", "0")
    r = CliRunner().invoke(
        app, ["ask", "How many days of paid leave do employees accrue per month?", "-c", "samples"]
    )
    assert r.exit_code == 0, r.output
    assert "2.5" in r.stdout and "handbook.md" in r.stdout and "chars " in r.stdout
    listed = CliRunner().invoke(app, ["runs", "--json"])
    run_id = listed.stdout.split('"id": "')[1].split('"')[0]
    shown = CliRunner().invoke(app, ["runs", "show", run_id])
    assert shown.exit_code == 0 and "verify" in shown.stdout
    missing = CliRunner().invoke(app, ["ask", "What is the boiling point of mercury?", "-c", "samples"])
    assert missing.exit_code == 3 and NOT_FOUND in missing.stdout
