"""Rendering recorded runs: a real store (SQLite in tmp_path), steps nested by parent, three outputs."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from deepwell.rlm._render import (
    _status_style,
    render_html,
    render_tree,
    run_summary,
    run_to_dict,
    step_label,
)
from deepwell.storage import RunRecord, Store


@pytest.fixture
def recorded(tmp_path: Path) -> RunRecord:
    """A run shaped like a real one: a strategy with tool and sub-call children, code, an error, a final."""
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    runs = store.runs
    rid = runs.start("rlm", "How many records have label billing?", {"mode": "actions"})
    s1 = runs.add_step(rid, "strategy", {"name": "extract_then_count"})
    runs.add_step(
        rid,
        "tool",
        {"tool": "grep", "args": {"pattern": "label: billing"}, "result": {"total": 7}},
        parent_seq=s1,
    )
    runs.add_step(
        rid,
        "sub_call",
        {"prompt": "Is this record about billing? <script>alert(1)</script>", "answer": "yes", "tokens": 41},
        parent_seq=s1,
        seconds=0.8,
    )
    s4 = runs.add_step(rid, "code", {"code": "print(len(context))\n"})
    runs.add_step(rid, "result", {"stdout": "40690", "error": "ValueError: boom"}, parent_seq=s4)
    runs.add_step(rid, "final", {"status": "answered", "answer": "7", "how": "counted records"})
    runs.finish(rid, "answered", "7", {"usage": {"sub_calls": 1, "tokens": 41}})
    run = runs.get(rid[:6])
    store.close()
    return run


def _text(renderable: object) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_tree_nests_steps_under_their_parents(recorded: RunRecord) -> None:
    out = _text(render_tree(recorded))
    lines = out.splitlines()
    assert recorded.id in lines[0] and "answered" in lines[0]
    indent = {key: next(i for i, line in enumerate(lines) if key in line) for key in ("#1", "#2", "#3", "#5")}
    col = {k: lines[i].index(k) for k, i in indent.items()}
    assert col["#2"] > col["#1"] and col["#3"] == col["#2"]  # tool and sub-call under the strategy
    assert col["#5"] > lines[next(i for i, x in enumerate(lines) if "#4" in x)].index("#4")
    assert "extract_then_count" in out and "0.80s, 41 tok" in out
    assert "ValueError: boom" in out and "print(len(context))" in out
    assert "answer (answered): 7" in out
    brief = _text(render_tree(recorded, details=False))
    assert "#3 sub_call" in brief and "prompt:" not in brief


def test_step_label_picks_the_telling_field() -> None:
    assert step_label({"kind": "tool", "data": {"tool": "grep", "args": {"pattern": "x"}}}) == (
        'tool · grep · {"pattern": "x"}'
    )
    assert step_label({"kind": "final", "data": {"answer": "  42 "}}) == "final · 42"
    long = step_label({"kind": "root", "data": {"output": "word " * 100}}, limit=20)
    assert len(long) < 40 and long.endswith("…")


def test_json_export_round_trips(recorded: RunRecord) -> None:
    data = run_to_dict(recorded)
    again = json.loads(json.dumps(data))
    assert again == data
    assert [s["seq"] for s in again["steps"]] == [1, 2, 3, 4, 5, 6]
    assert again["steps"][1]["parent_seq"] == 1 and again["answer"] == "7"
    assert isinstance(again["created_at"], str)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.scripts: list[str] = []
        self.external: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag not in ("meta", "input", "br", "link"):
            self.open.append(tag)
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(str(a[key]))
        self._in_json = tag == "script" and a.get("type") == "application/json"

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open[-3:], tag)
        self.open.pop()
        self._in_json = False

    def handle_data(self, data: str) -> None:
        if self._in_json:
            self.scripts.append(data)


def test_html_is_self_contained_and_escapes(recorded: RunRecord, tmp_path: Path) -> None:
    page = render_html(recorded)
    parser = _Collect()
    parser.feed(page)
    assert not parser.open  # every element closed, properly nested
    assert not parser.external  # no network: inline CSS and JS only
    assert parser.tags.count("details") == 6 + 1  # one per step, plus run info
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    embedded = json.loads("".join(parser.scripts).replace("<\\/", "</"))
    assert embedded == run_to_dict(recorded)
    assert "How many records have label billing?" in page and "counted records" in page


def test_a_run_without_steps_or_finish_still_renders(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    rid = store.runs.start("rlm", "q?", {})
    run = store.runs.get(rid)
    store.close()
    assert "running" in _text(render_tree(run))
    assert "(no answer)" in render_html(run)


def test_summary_counts_kinds_tokens_and_errors(recorded: RunRecord) -> None:
    summary = run_summary(recorded)
    assert summary["steps"] == 6
    assert summary["by_kind"] == {"strategy": 1, "tool": 1, "sub_call": 1, "code": 1, "result": 1, "final": 1}
    assert summary["tokens"] == 41 and summary["errors"] == 1 and summary["model_seconds"] == 0.8
    assert summary["wall_seconds"] is not None and summary["wall_seconds"] >= 0
    assert "6 steps (strategy 1, tool 1" in _text(render_tree(recorded))


def test_summary_counts_budget_errors_that_left_no_error_step(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    rid = store.runs.start("rlm", "q?", {})
    store.runs.add_step(rid, "final", {"status": "budget_exhausted:errors", "answer": "Stopped"})
    store.runs.finish(rid, "budget_exhausted:errors", "Stopped", {"usage": {"errors": 4}})
    run = store.runs.get(rid)
    store.close()
    assert run_summary(run)["errors"] == 4
    assert "4 errors" in _text(render_tree(run))


@pytest.mark.parametrize("old", ["no_answer", "too_many_errors"])
def test_runs_stored_with_the_agents_old_statuses_still_render(tmp_path: Path, old: str) -> None:
    """Agent runs stored before the agent used the shared vocabulary keep their word and take its colour."""
    store = Store(f"sqlite:///{tmp_path / 'runs.db'}")
    rid = store.runs.start("agent", "q?", {})
    store.runs.finish(rid, old, "I could not find an answer.", {})
    run = store.runs.get(rid)
    store.close()
    assert old in _text(render_tree(run))
    assert f'class="status s-budget">{old}<' in render_html(run)
    assert _status_style(old) == _status_style("budget_exhausted:errors") == "magenta"
