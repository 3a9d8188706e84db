"""The answers benchmark's ground truth and scoring (the question set is read from the Python docs)."""

from __future__ import annotations

import pytest

from bench.answers.__main__ import exact, token_f1
from bench.answers.dataset import DOCS, load

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="apt-get install python3.11-doc")


def test_ground_truth_is_the_versionadded_of_the_asked_entry() -> None:
    passages, questions = load()
    truth = {q.id: q.answer for q in questions}
    assert truth["math.gcd"] == "3.5"  # its block also says "versionchanged:: 3.9": a distractor
    assert truth["random.randbytes"] == "3.9"
    gcd = next(p for p in passages if p.uri.endswith("/math.gcd"))
    assert "New in version 3.5." in gcd.text and "Changed in version 3.9:" in gcd.text


def test_the_halves_are_disjoint_and_fixed() -> None:
    _, first = load(per_split=3)
    _, again = load(per_split=3)
    assert first == again
    dev = {q.id for q in first if q.split == "dev"}
    held = {q.id for q in first if q.split == "heldout"}
    assert len(dev) == len(held) == 3 and not dev & held


def test_exact_match_wants_the_one_right_version() -> None:
    assert exact("It was added in Python 3.5 [1].", "3.5") == 1.0
    assert exact("3.5 or 3.9", "3.5") == 0.0
    assert exact("Not found in the sources.", "3.5") == 0.0
    assert token_f1("3.5", "3.5") == 1.0 and 0 < token_f1("Python 3.5", "3.5") < 1
