"""When the plan's answer is not supported it is refused: ``uncertain`` with what was found, never a
confident answer of the wrong kind. Small hand-written texts; ScriptedLLM for control flow (its replies
are never asked for here: every refusal is decided from the tree), and one test on the real model."""

from __future__ import annotations

import pytest

from deepwell.core.settings import Settings
from deepwell.rlm import answer_async
from deepwell.rlm._plan import fill_plan, learned_levels
from deepwell.rlm._structure import build_tree
from tests.rlm.conftest import ScriptedLLM

MANUAL = """# Chapter 1 Getting started

Some words about the garden.

## 1.1 Tools

- A spade for the beds.
- A rake for the gravel paths.

## 1.2 Soil

- Loam holds water well.
- Sand drains fast.

# Chapter 2 Planting

## 2.1 Bulbs

- Tulips go in before the frost.

## 2.2 Shrubs

- Lavender wants full sun.

## 2.3 Hedges

- Yew grows slowly.

# Chapter 3 Pests

## 3.1 Slugs

- Copper tape around the pots keeps slugs away.
"""

CHANGELOG = """tidepool (2.1-3) unstable; urgency=medium

  * Fix crash when the cache directory is missing (gh-4821). Patch by Ann Lee.
  * Tighten permissions on the socket (gh-4822).

 -- Jane Roe <jane@example.org>  Mon, 06 Mar 2023 10:00:00 +0100

tidepool (2.1-2) unstable; urgency=low

  * Rebuild against the new libfoo.

 -- Bo Park <bo@example.org>  Fri, 13 Jan 2023 09:30:00 +0100
"""

TWINS = """# Kitchen

## Oven

- The oven timer beeps twice when the bread is done.

# Bakery

## Counter

- The counter timer beeps twice when the bread is done.
"""


NEWS = """What's New in Python 3.12.0 beta 1?
===================================

*Release date: 2023-05-22*

Core and Builtins
-----------------

- gh-104482: Fix three error handling bugs in the compiler.
- gh-104479: Update the grammar of the parser.

Library
-------

- gh-104540: Fix a crash in the event loop.

What's New in Python 3.12.0 alpha 7?
====================================

*Release date: 2023-04-04*

Library
-------

- gh-103000: Speed up the dataclasses module. Patch by Bo Park.
- gh-102978: Fix a leak in tempfile.
- gh-102900: Add an option to argparse.
"""


async def _ask(dw, question: str, context: str, llm=None):  # type: ignore[no-untyped-def]
    return await answer_async(question, context, llm=llm or ScriptedLLM(), dw=dw, mode="actions")


def test_the_tree_teaches_what_its_headings_call_themselves() -> None:
    tree = build_tree([("manual.md", MANUAL)])
    assert "chapter" in learned_levels(tree)
    plan, _ = fill_plan("Which chapter mentions copper tape?", tree, "unused")
    assert plan.op == "enclosing" and plan.levels == ["title:chapter"]


async def test_which_chapter_names_the_chapter_not_the_innermost_section(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which chapter mentions copper tape?", MANUAL)
    assert (r.status, r.answer) == ("answered", "Chapter 3 Pests")


async def test_a_kind_of_part_the_text_lacks_is_refused(dw) -> None:  # type: ignore[no-untyped-def]
    for q in ("Which release mentions copper tape?", "Which class mentions copper tape?"):
        r = await _ask(dw, q, MANUAL)
        assert r.status == "uncertain", (q, r.answer)


async def test_counting_a_kind_the_text_lacks_is_refused(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "How many methods does version 2.1-3 define?", CHANGELOG)
    assert r.status == "uncertain", r.answer


async def test_subsections_are_counted_inside_the_named_section(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "How many subsections does Chapter 2 have?", MANUAL)
    assert (r.status, r.answer) == ("answered", "3")


async def test_words_that_fit_two_places_equally_are_refused(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which section says the timer beeps twice when the bread is done?", TWINS)
    assert r.status == "uncertain", r.answer


async def test_a_field_the_located_entry_lacks_is_not_read_from_prose(dw) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(sub=lambda prompt: "Jane Roe")
    r = await _ask(dw, "Who is credited for gh-4822?", CHANGELOG, llm=llm)
    assert r.status == "uncertain", r.answer
    ok = await _ask(dw, "Who is credited for gh-4821?", CHANGELOG)
    assert (ok.status, ok.answer) == ("answered", "Ann Lee")


@pytest.mark.model
@pytest.mark.slow
async def test_real_model_does_not_answer_a_question_about_a_level_the_text_lacks(dw) -> None:  # type: ignore[no-untyped-def]
    """The real model fills nothing here that could rescue the plan: if a release were named for a text
    that has chapters and sections only, the answer would be labelled ``answered`` and wrong."""
    from deepwell.reasoning import load_llm

    llm = load_llm(Settings(llm_n_ctx=4096))
    r = await _ask(dw, "Which release mentions copper tape?", MANUAL, llm=llm)
    assert r.status != "answered", r.answer
    ok = await _ask(dw, "Which chapter mentions copper tape?", MANUAL, llm=llm)
    assert (ok.status, ok.answer) == ("answered", "Chapter 3 Pests")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # the pre-release is part of the version: "3.12.0 alpha 7" names one of the two 3.12.0 releases
        ("Which release lists gh-102978?", "3.12.0 alpha 7"),
        # the section named inside the release named, not every Library section nor the whole release
        ("How many entries does the Library section of 3.12.0 alpha 7 list?", "3"),
        ("Which section of 3.12.0 beta 1 lists the most entries?", "Core and Builtins"),
        # a "Release date:" line under a heading is that part's field
        ("When was 3.12.0 alpha 7 released?", "2023-04-04"),
    ],
)
async def test_nested_parts_are_named_together(dw, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, question, NEWS)
    assert (r.status, r.answer) == ("answered", expected)


async def test_a_value_is_not_read_outside_the_part_named(dw) -> None:  # type: ignore[no-untyped-def]
    """Nothing inside 3.12.0 beta 1 holds a codename: a sentence elsewhere must not be read as one."""
    text = NEWS + "\nThe codename of 3.11.0 was Blue Heron.\n"
    llm = ScriptedLLM(sub=lambda prompt: "Blue Heron")
    r = await _ask(dw, "What was the codename of 3.12.0 beta 1?", text, llm=llm)
    assert r.status != "answered", r.answer
