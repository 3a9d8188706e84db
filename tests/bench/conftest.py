"""A small Python-docs-shaped reST tree (FAQ + library pages) for the retrieval benchmark's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

GENERAL_FAQ = """\
:tocdepth: 2

==================
General Python FAQ
==================

.. only:: html

   .. contents::

General Information
===================

What is Python?
---------------

Python is an interpreted, interactive, object-oriented programming language. It
incorporates :mod:`modules <module>`, exceptions and dynamic typing.

Why is it called Python?
------------------------

Short.

Is Python good?
---------------

.. index:: pair: good; language
   single: quality

It is rather good, as the :func:`~os.path.join` function shows on every platform.
"""

JSON_DOC = """\
:mod:`json` --- JSON encoder and decoder
========================================

{intro}

Basic Usage
-----------

{usage}
"""


@pytest.fixture
def faq_sources(tmp_path: Path) -> Path:
    root = tmp_path / "_sources"
    (root / "faq").mkdir(parents=True)
    (root / "faq" / "general.rst.txt").write_text(GENERAL_FAQ)
    for sub in ("library", "c-api", "whatsnew"):
        (root / sub).mkdir()
    intro = "JSON (JavaScript Object Notation) is a lightweight data interchange format. " * 4
    usage = "Serialize obj as a JSON formatted stream to fp using this conversion table. " * 4
    (root / "library" / "json.rst.txt").write_text(JSON_DOC.format(intro=intro, usage=usage))
    (root / "library" / "tiny.rst.txt").write_text("Tiny\n====\n\ntoo short to be a distractor\n")
    (root / "c-api" / "list.rst.txt").write_text(JSON_DOC.format(intro=intro, usage=usage))
    (root / "whatsnew" / "3.11.rst.txt").write_text(JSON_DOC.format(intro=intro, usage=usage))
    return root
