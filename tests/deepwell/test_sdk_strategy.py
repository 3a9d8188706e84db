"""`ask --strategy`: the routing rule, and the control flow of auto / rag / rlm / moa over a scripted
fake backend (no model), through AsyncDeepwell and the blocking Deepwell that wraps it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deepwell.agents import AskResult
from deepwell.core.errors import InputError
from deepwell.retrieval import IngestReport, SearchHit
from deepwell.rlm import RLMResult
from deepwell.sdk import AsyncDeepwell, Deepwell, Route, RunInfo, route

# --- the rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "passages", "way"),
    [
        ("How many releases are listed in the release notes?", ["## 3.2.0\n- Added offline mode."], "rlm"),
        ("What is the number of chapters in the cookbook?", [], "rlm"),
        ("Count the messages sent in March.", [], "rlm"),
        ("How many days of paid leave do employees accrue per month?", ["accrue 2.5 days of leave"], "rag"),
        ("How many times was the launch postponed?", ["The launch was postponed three times."], "rag"),
        ("Which chapter has the most recipes?", [], "rlm"),
        ("Which team scored the fewest points?", [], "rlm"),
        ("List all the rules about parking.", [], "rlm"),
        ("Which release added offline mode?", [], "rlm"),
        ("How often must API keys be rotated?", ["Rotate every 90 days."], "rag"),
        ("What can I bring at most on the plane?", [], "rag"),  # "at most" is not a ranking
        ("Who signed the lease?", [], "rag"),
    ],
)
def test_route_reads_the_question_and_what_the_passages_state(
    question: str, passages: list[str], way: str
) -> None:
    r = route(question, passages)
    assert r.strategy == way, r.why
    assert r.why


def test_a_stated_quantity_is_quoted_in_the_reason() -> None:
    r = route("How many days of leave carry over?", ["Unused leave carries over up to ten days."])
    assert r.strategy == "rag" and "ten days" in r.why


# --- control flow over a scripted fake backend ---------------------------------------------------------


def _hit(text: str) -> SearchHit:
    return SearchHit(1, 1, "/docs/a.md", "A", text, 0, 0, len(text), [], 1.0)


@dataclass
class FakeBackend:
    """Scripted backend for control-flow tests: canned passages, canned rag and RLM outcomes, and a log
    of what was called with which arguments."""

    passages: list[str] = field(default_factory=list)
    rag_status: str = "answered"
    rlm_status: str = "answered"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def ingest(self, paths: Sequence[str | Path], collection: str, **kw: Any) -> IngestReport:
        self.calls.append(("ingest", {"paths": list(paths), "collection": collection}))
        return IngestReport(added=len(paths))

    async def search(self, query: str, collection: str, **kw: Any) -> list[SearchHit]:
        self.calls.append(("search", {"query": query, **kw}))
        return [_hit(t) for t in self.passages]

    async def rag(
        self, question: str, collection: str, *, method: str, on_text: Callable[[str], None] | None, **kw: Any
    ) -> AskResult:
        self.calls.append(("rag", {"method": method}))
        if on_text:
            on_text("draft")
        answer = "from the passages [1]" if self.rag_status == "answered" else "Not found in the sources."
        return AskResult(question, answer, self.rag_status, method=method, run_id="rag1")

    async def rlm(self, question: str, collection: str, *, progress: Any, **kw: Any) -> RLMResult:
        self.calls.append(("rlm", kw))
        if progress:
            progress({"seq": 1, "kind": "plan"})
        answer = (
            "3" if self.rlm_status == "answered" else "The context does not appear to contain the answer."
        )
        return RLMResult(
            answer, self.rlm_status, "rlm1", "actions", 0.1, 2, citations=[{"path": ["notes.md"]}]
        )

    async def runs(self, limit: int, kind: str | None) -> list[RunInfo]:
        return [RunInfo("rag1", "ask", "answered", "q", None)][:limit]

    async def run(self, run_id: str) -> Any:
        raise InputError(f"no run {run_id}")

    async def aclose(self) -> None:
        self.calls.append(("close", {}))


def _kinds(b: FakeBackend) -> list[str]:
    return [c for c, _ in b.calls if c != "search"]


async def test_fake_backend_auto_lookup_is_answered_from_the_passages() -> None:
    b = FakeBackend(passages=["Rotate every 90 days."])
    r = await AsyncDeepwell(backend=b).ask("How often are keys rotated?", "docs")
    assert (r.strategy, r.status, r.answer) == ("rag", "answered", "from the passages [1]")
    assert _kinds(b) == ["rag"] and "lookup" in r.why


async def test_fake_backend_auto_counting_runs_the_rlm_and_keeps_its_evidence() -> None:
    b = FakeBackend(passages=["## 3.2.0"])
    seen: list[Route] = []
    steps: list[dict[str, Any]] = []
    r = await AsyncDeepwell(backend=b).ask(
        "How many releases are there?", "docs", on_route=seen.append, progress=steps.append
    )
    assert (r.strategy, r.status, r.answer, r.run_id) == ("rlm", "answered", "3", "rlm1")
    assert r.method == "rlm:actions" and r.evidence == [{"path": ["notes.md"]}]
    assert _kinds(b) == ["rlm"] and [w.strategy for w in seen] == ["rlm"] and steps
    assert "counts releases" in r.why and r.to_dict()["strategy"] == "rlm"


async def test_fake_backend_auto_falls_back_to_rlm_when_rag_finds_nothing() -> None:
    b = FakeBackend(rag_status="not_found")
    r = await AsyncDeepwell(backend=b).ask("Who approved budget line 42?", "docs")
    assert _kinds(b) == ["rag", "rlm"]
    assert (r.strategy, r.status) == ("rlm", "answered") and "none of the top 4 held" in r.why


async def test_fake_backend_auto_falls_back_to_rag_when_the_rlm_finds_nothing() -> None:
    b = FakeBackend(rlm_status="not_found")
    r = await AsyncDeepwell(backend=b).ask("Which section covers parking?", "docs")
    assert _kinds(b) == ["rlm", "rag"] and (r.strategy, r.status) == ("rag", "answered")


async def test_fake_backend_when_neither_way_answers_the_first_result_says_both_were_tried() -> None:
    b = FakeBackend(rag_status="not_found", rlm_status="not_found")
    r = await AsyncDeepwell(backend=b).ask("Who approved budget line 42?", "docs")
    assert _kinds(b) == ["rag", "rlm"]
    assert (r.strategy, r.status) == ("rag", "not_found") and "then rlm: not_found too" in r.why


@pytest.mark.parametrize(
    ("strategy", "method", "expected"),
    [
        ("rag", "single", [("rag", "single")]),
        ("rlm", "self-moa", [("rlm", None)]),
        ("moa", "single", [("rag", "moa")]),
    ],
)
async def test_fake_backend_forced_strategies_take_one_way_without_searching_first(
    strategy: str, method: str, expected: list[tuple[str, str | None]]
) -> None:
    b = FakeBackend(rag_status="not_found", rlm_status="not_found")
    r = await AsyncDeepwell(backend=b).ask("How many releases?", "docs", strategy=strategy, method=method)  # type: ignore[arg-type]
    assert [(c, a.get("method")) for c, a in b.calls] == expected
    assert r.strategy == strategy and r.why == f"forced with strategy={strategy}"


async def test_fake_backend_moa_keeps_a_mixture_method_and_rejects_others() -> None:
    b = FakeBackend()
    dw = AsyncDeepwell(backend=b)
    assert (await dw.moa("q?", "docs", method="self-moa")).method == "self-moa"
    with pytest.raises(InputError, match="moa takes method"):
        await dw.moa("q?", "docs", method="single")
    with pytest.raises(InputError, match="Unknown strategy"):
        await dw.ask("q?", "docs", strategy="guess")  # type: ignore[arg-type]


def test_fake_backend_blocking_client_runs_the_same_coroutines() -> None:
    """``Deepwell.connect`` is the blocking wrapper over AsyncDeepwell; here over the fake backend."""
    from deepwell.sdk._sync import _RemoteDeepwell

    b = FakeBackend(passages=["Rotate every 90 days."])
    with _RemoteDeepwell(AsyncDeepwell(backend=b)) as dw:
        assert dw.ingest(["a.md", "b.md"], "docs").added == 2
        assert dw.search("keys", "docs", k=1)[0].text == "Rotate every 90 days."
        assert dw.ask("How often are keys rotated?", "docs").strategy == "rag"
        assert dw.rlm("How many releases?", "docs").answer == "3"
        assert [r.id for r in dw.runs(limit=5)] == ["rag1"]
        with pytest.raises(InputError, match="no run"):
            dw.run("zzz")
        with pytest.raises(AttributeError, match="belongs to a local Deepwell"):
            _ = dw.store
    assert b.calls[-1][0] == "close"


# --- the CLI over a scripted ask (fake: no model, no store) --------------------------------------------


@pytest.fixture
def scripted_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """``deepwell ask`` with Deepwell.ask replaced by a script that records its arguments."""
    from types import SimpleNamespace

    monkeypatch.setenv("DEEPWELL_DATA_DIR", str(tmp_path / "data"))
    seen: list[dict[str, Any]] = []

    def fake_ask(self: Any, question: str, collection: str, **kw: Any) -> AskResult:
        seen.append({"question": question, "collection": collection, **kw})
        kw["on_route"](Route("rlm", "it counts releases"))
        kw["progress"]({"seq": 1, "kind": "plan", "summary": "count releases"})
        status = "not_found" if "mercury" in question else "answered"
        return AskResult(
            question, "3", status, method="rlm:actions", run_id="r1", strategy="rlm", why="it counts releases"
        )

    monkeypatch.setattr(Deepwell, "ask", fake_ask)
    monkeypatch.setattr(Deepwell, "llm", None)
    monkeypatch.setattr(Deepwell, "collections", lambda self: [SimpleNamespace(name="docs")])
    return seen


def test_fake_ask_cli_reports_the_strategy_and_exits_by_status(scripted_cli: list[dict[str, Any]]) -> None:
    import json

    from typer.testing import CliRunner

    from deepwell.cli import app

    r = CliRunner().invoke(app, ["ask", "How many releases?", "-c", "docs", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["strategy"], data["why"], data["answer"]) == ("rlm", "it counts releases", "3")
    assert scripted_cli[-1]["strategy"] == "auto" and scripted_cli[-1]["method"] == "self-moa"
    assert "rlm" in r.stderr and "#1" in r.stderr  # the way taken and the RLM's steps, on stderr

    r = CliRunner().invoke(app, ["ask", "Boiling point of mercury?", "-c", "docs", "--strategy", "rag"])
    assert r.exit_code == 3 and scripted_cli[-1]["strategy"] == "rag"
    assert "why rlm: it counts releases" in r.stderr

    r = CliRunner().invoke(app, ["ask", "q?", "-c", "docs", "--strategy", "guess"])
    assert r.exit_code == 1 and "Unknown --strategy 'guess'" in r.stderr

    r = CliRunner().invoke(app, ["ask", "--help"], terminal_width=200)
    assert "auto" in r.stdout and "Exit codes: 0 answered; 1 error" in " ".join(r.stdout.split())
