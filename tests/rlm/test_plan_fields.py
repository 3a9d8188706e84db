"""Plans that read a value the structure states (a heading, a field, a definition) rather than guess
one, and that refuse when the part the question names is not there. Small hand-written texts;
ScriptedLLM for control flow: its replies never decide these answers."""

from __future__ import annotations

import pytest

from deepwell.retrieval.headings import find_headings
from deepwell.rlm import answer_async
from tests.rlm.conftest import ScriptedLLM

MANUAL = """Garden manual
*************

1. Beds
=======

1.1. Digging
------------

Turn the soil in autumn.

1.2. Edging
-----------

Cut a clean edge with a half-moon.

1.2.1. Stone edges
~~~~~~~~~~~~~~~~~~

Granite setts last for decades.

1.2.2. Timber edges
~~~~~~~~~~~~~~~~~~~

Oak boards rot within ten years.

2. Ponds
========

2.1. Liners
-----------

The five freedoms of a pond:

1. Free of leaks
   A liner must be whole.

2. Free of algae
   Shade a third of the surface.

3. Free of herons
   A net keeps them off.

2.2. Pumps
----------

A pump turns the water over twice a day.

2.2.1. Solar pumps
~~~~~~~~~~~~~~~~~~

They stop at dusk.
"""

HISTORY = """Kettle History
--------------

What's New in Kettle 2.4 beta 1?
================================

*Release date: 2021-03-14*

Core
----

- kt-101: Boil detection uses the new sensor.
- kt-102: Faster warm-up.

Docs
----

- kt-103: A page on descaling.

What's New in Kettle 2.4 alpha 2?
=================================

*Release date: 2021-01-09*

Core
----

- kt-090: Lid switch debounced.

Docs
----

- kt-091: Typos.
- kt-092: A page on filters.
- kt-093: A page on spouts.
- kt-094: A page on handles.

Settings
--------

a: 1
b: 2)
"""

MD_LOG = """# Toaster changelog

## 2022-05-02, Version 3.1.0, @ann

### Commits

* [abc1234] - **heater**: hotter coils (Ann Lee)
* [abc1235] - **timer**: shorter beep (Bo Park)

## 2022-04-01, Version 3.0.0, @bo

### Commits

* [abc1200] - **heater**: new element (Bo Park)
"""

CODE = {
    "kettle.py": '''"""Kettles."""


class Kettle:
    def boil(self):
        return "boiling"

    def family(self):
        return "steel"


def split(path):
    return path.partition("/")
''',
    "spout.py": '''"""Spouts; split is called here but not defined."""


class Spout:
    def pour(self, cup):
        return cup.split()


def angle():
    return 30
''',
}


async def _ask(dw, question: str, context: object):  # type: ignore[no-untyped-def]
    return await answer_async(question, context, llm=ScriptedLLM(), dw=dw, mode="actions")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the title of section 1.2.1?", "Stone edges"),
        ("What's section 2.2 called?", "Pumps"),
        ("Give me the name of section 2.1.", "Liners"),
    ],
)
async def test_the_title_of_a_numbered_section_is_its_heading(dw, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, question, MANUAL)
    assert (r.status, r.answer) == ("answered", expected)


async def test_a_numbered_list_inside_a_section_is_not_its_subsections(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which section of chapter 1 has the most subsections?", MANUAL)
    assert (r.status, r.answer) == ("answered", "1.2. Edging")
    r = await _ask(dw, "How many subsections does section 2.1 have?", MANUAL)
    assert r.status == "uncertain" and "holds no" in r.answer  # none to count, and never "1" (itself)


async def test_where_answers_the_innermost_heading(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Where are granite setts mentioned?", MANUAL)
    assert (r.status, r.answer) == ("answered", "1.2.1. Stone edges")


def test_a_changelog_title_holds_its_releases_and_each_release_its_sections() -> None:
    heads = find_headings(HISTORY)
    depth = {h.title: h.depth for h in heads}
    assert depth["Kettle History"] < depth["What's New in Kettle 2.4 beta 1?"] < depth["Core"]
    assert "*Release date: 2021-03-14*" not in depth  # a field line, not a release heading
    versions = [h.fields.get("version") for h in heads if h.fields.get("version")]
    assert versions == ["2.4 beta 1", "2.4 alpha 2"]  # the pre-release is part of the version


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Give the release date listed for 2.4 alpha 2.", "2021-01-09"),
        ("How many Docs entries are there in Kettle 2.4 alpha 2?", "4"),
        ("Which release lists kt-102?", "2.4 beta 1"),
        ("2.4 alpha 2: which section is the longest, counted in entries?", "Docs"),
    ],
)
async def test_releases_sections_and_their_fields(dw, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, question, HISTORY)
    assert (r.status, r.answer) == ("answered", expected)


async def test_a_few_key_value_lines_in_prose_do_not_become_the_counted_table(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "How many entries does the Core section of 2.4 beta 1 list?", HISTORY)
    assert (r.status, r.answer) == ("answered", "2")


async def test_a_maximum_inside_a_release_the_text_lacks_is_refused(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "Which section of Kettle 9.9 beta 3 lists the most entries?", HISTORY)
    assert r.status != "answered", r.answer


async def test_a_date_written_in_a_release_heading_is_its_date(dw) -> None:  # type: ignore[no-untyped-def]
    r = await _ask(dw, "When was version 3.0.0 released?", MD_LOG)
    assert (r.status, r.answer) == ("answered", "2022-04-01")


async def test_a_definition_locates_its_class_and_module(dw, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name, text in CODE.items():
        (tmp_path / name).write_text(text)
    r = await _ask(dw, "Which class has the method family?", tmp_path)
    assert (r.status, r.answer) == ("answered", "Kettle")
    r = await _ask(dw, "Where is split defined — which module?", tmp_path)
    assert (r.status, r.answer) == ("answered", "kettle.py")


NEEDLE = """Setup
=====

- The default profile
  number: 12
  mode: fast

Usage
=====

Run the tool once a day. The special magic number for amber-fox is: 4321987. Keep the logs.
"""


async def test_a_word_shared_with_a_key_value_line_elsewhere_does_not_block_reading(dw) -> None:  # type: ignore[no-untyped-def]
    """ "number" is a field of another part here; the needle is read where its key is, and the scripted
    reply is accepted only because the sentence read holds the value."""
    llm = ScriptedLLM(sub=lambda prompt: "The special magic number for amber-fox is 4321987.")
    r = await answer_async(
        "What is the special magic number for amber-fox mentioned in the text?",
        NEEDLE,
        llm=llm,
        dw=dw,
        mode="actions",
    )
    assert (r.status, r.answer) == ("answered", "4321987")
