"""End to end on the real default model (SmolLM2-135M GGUF), real sandbox, real MCP tool session."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from deepwell.core.settings import Settings
from deepwell.mcp_servers import build_server
from deepwell.rlm import RLMConfig, answer_async
from tests.rlm.conftest import haystack

pytestmark = [pytest.mark.model, pytest.mark.slow]

NEEDLE = "The special magic number for quiet-lantern is: 5550172."


@pytest.fixture(scope="module")
def llm():  # type: ignore[no-untyped-def]
    from deepwell.reasoning import load_llm

    return load_llm(Settings(llm_n_ctx=4096))


async def test_actions_mode_finds_a_needle_in_20k_tokens(llm, dw) -> None:  # type: ignore[no-untyped-def]
    ctx = haystack(n=330, inserts={200: NEEDLE})  # ~80K characters
    r = await answer_async(
        "What is the special magic number for quiet-lantern mentioned in the text?",
        ctx,
        llm=llm,
        dw=dw,
        mode="actions",
    )
    assert r.status == "answered" and "5550172" in r.answer
    assert dw.store.runs.get(r.run_id).steps[-1].kind == "final"


async def test_a_key_with_digits_is_read_by_the_model_not_cut_from_the_key(llm, dw) -> None:  # type: ignore[no-untyped-def]
    """The answer comes from the model's reply (nothing else can supply it) and must be the value, not the
    key's digits ("-50") nor the look-alike key's value."""
    ctx = haystack(
        n=330,
        inserts={
            60: "The special magic number for Saffron-5 is: 1234567.",
            200: "The special magic number for Saffron-50 is: 4817293.",
        },
    )
    q = "What is the special magic number for Saffron-50 mentioned in the provided text?"
    r = await answer_async(q, ctx, llm=llm, dw=dw, mode="actions")
    assert (r.status, r.answer) == ("answered", "4817293")
    assert any(s.kind == "sub_call" for s in dw.store.runs.get(r.run_id).steps)


async def test_the_model_extracts_a_value_inside_a_located_section(llm, dw) -> None:  # type: ignore[no-untyped-def]
    text = (
        "# Release notes\n\n## 2.3\n\n- Faster start-up.\n- The codename of release 2.3 was Red Kite.\n\n"
        "## 2.4\n\n- New sync client.\n- The codename of release 2.4 was Blue Heron.\n\n"
        "## 2.5\n\n- Dropped Python 3.8.\n"
    )
    r = await answer_async("What was the codename of release 2.4?", text, llm=llm, dw=dw, mode="actions")
    assert r.status == "answered" and "Blue Heron" in r.answer and "Red Kite" not in r.answer


async def test_actions_mode_aggregates_records(llm, dw) -> None:  # type: ignore[no-untyped-def]
    """Counting is computed by the plan, not read by the model: this checks the plan chosen for a real
    question, and that the model is not asked (its answer could only be worse)."""
    recs = {
        i * 4: f"Record #{i:05d} | user: u{i} | label: {'refund' if i % 5 == 0 else 'billing'} | note: ok"
        for i in range(50)
    }
    r = await answer_async(
        "How many records have the label 'refund'?",
        haystack(n=220, inserts=recs),
        llm=llm,
        dw=dw,
        mode="actions",
    )
    assert r.answer == "10"


async def test_code_mode_on_the_real_model_ends_with_a_recorded_outcome(llm, dw) -> None:  # type: ignore[no-untyped-def]
    r = await answer_async(
        "What is the special magic number for quiet-lantern?",
        haystack(n=200, inserts={50: NEEDLE}),
        llm=llm,
        dw=dw,
        mode="code",
        config=RLMConfig(max_iterations=3, max_seconds=120),
    )
    assert r.status in {"answered", "not_found"} or r.status.startswith("budget_exhausted")
    steps = dw.store.runs.get(r.run_id).steps
    assert steps[-1].kind == "final" and steps[-1].data["status"] == r.status
    # on a loaded machine the time budget can end the run before the first root step returns
    assert any(s.kind == "root" for s in steps) or r.status == "budget_exhausted:time"
    assert any(s.kind == "sandbox" and "rlimits" in s.data["layers"] for s in steps)


async def test_rlm_answer_tool_over_mcp(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "docs" / "big.txt"
    doc.parent.mkdir()
    doc.write_text(haystack(n=120, inserts={60: NEEDLE}))
    settings = Settings(data_dir=tmp_path / "data", allowed_roots=[doc.parent], llm_n_ctx=4096)
    progress: list[str | None] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async with Client(build_server(settings)) as client:
        r = await client.call_tool(
            "rlm_answer",
            {
                "question": "What is the special magic number for quiet-lantern?",
                "path": str(doc),
                "mode": "actions",
            },
            progress_callback=on_progress,
        )
        assert not r.is_error, r.content
        assert "5550172" in r.structured_content["answer"] and r.structured_content["run_id"]
        assert progress
        bad = await client.call_tool("rlm_answer", {"question": "q", "path": "/etc/passwd"})
        assert bad.is_error and "allowed roots" in bad.content[0].text


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    """A small directory of ordinary files: markdown, hard-wrapped plain text and HTML."""
    d = tmp_path / "notes"
    d.mkdir()
    (d / "handbook.md").write_text(
        "# Handbook\n\n## Security\n\nEvery API key must be rotated at least every 90 days. Rotate a key\n"
        "from the admin console.\n\n## Travel\n\nBook trains through the travel desk.\n"
    )
    (d / "bikes.txt").write_text(
        "Check pressure before every ride. Road tyres run between 5 and 7 bar; gravel tyres\n"
        "between 2 and 3.5 bar depending on rider weight. Low pressure causes pinch flats.\n"
    )
    (d / "tea.html").write_text(
        "<html><body><h1>Tea</h1><p>Green tea turns bitter above 80 °C; steep it for two minutes.</p>"
        "<p>Oolong wants several short infusions.</p></body></html>"
    )
    (d / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # not text: skipped
    return d


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How often must API keys be rotated?", "90 days"),
        pytest.param(
            "What pressure should road tyres have?",
            "5 and 7 bar",
            marks=pytest.mark.xfail(
                strict=True,
                reason="SmolLM2-135M reads the right sentence but does not reply with the range; this passed "
                "before only because a fallback took the first quantity after the anchor (removed, issue 10)",
            ),
        ),
        ("Which document mentions the word 'Oolong'?", "tea.html"),
    ],
)
async def test_actions_mode_over_a_directory_of_files(llm, dw, notes_dir, question, expected) -> None:  # type: ignore[no-untyped-def]
    r = await answer_async(question, notes_dir, llm=llm, dw=dw, mode="actions")
    assert r.status == "answered" and expected in r.answer
