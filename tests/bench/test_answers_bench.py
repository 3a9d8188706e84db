"""The answers benchmark's ground truth and scoring: Python-docs versionadded questions and Debian
changelog CVE questions, both computed by code from files on this machine."""

from __future__ import annotations

import pytest

from bench.answers import debian
from bench.answers.__main__ import exact, token_f1, versions
from bench.answers.dataset import DOCS, load

needs_docs = pytest.mark.skipif(not DOCS.is_dir(), reason="apt-get install python3.11-doc")


@needs_docs
def test_ground_truth_is_the_versionadded_of_the_asked_entry() -> None:
    passages, questions = load()
    truth = {q.id: q.answer for q in questions}
    assert truth["math.gcd"] == "3.5"  # its block also says "versionchanged:: 3.9": a distractor
    assert truth["random.randbytes"] == "3.9"
    gcd = next(p for p in passages if p.uri.endswith("/math.gcd"))
    assert "New in version 3.5." in gcd.text and "Changed in version 3.9:" in gcd.text


@needs_docs
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


def test_debian_versions_are_read_whole_and_cve_ids_are_not_versions() -> None:
    answer = "The version that fixed CVE-2025-32728 is 1:9.2p1-2+deb12u6 [1]."
    assert versions(answer, "debian") == {"1:9.2p1-2+deb12u6"}
    assert exact(answer, "1:9.2p1-2+deb12u6", "debian") == 1.0
    assert exact("It is 1:9.2p1-2+deb12u5.", "1:9.2p1-2+deb12u6", "debian") == 0.0
    assert exact("2.9.14+dfsg-1.3, not 2.9.14+dfsg-1.3~deb12u5", "2.9.14+dfsg-1.3~deb12u5", "debian") == 0.0


@pytest.mark.skipif(not list(debian.DOC.glob("*/changelog.Debian.gz")), reason="no Debian changelogs")
def test_debian_ground_truth_is_the_one_entry_naming_the_cve() -> None:
    import re

    passages, questions = debian.load()
    assert len(questions) >= 20
    text = {p.uri: p.text for p in passages}
    for q in questions:
        cve = q.id.split(":", 1)[1]
        entry = text[q.uri]
        # the asked entry's header carries the answer, and names the CVE
        assert entry.splitlines()[0].split(" (", 1)[1].startswith(q.answer + ")") and cve in entry
        same_package = [u for u in text if u.startswith(q.uri.rsplit("/", 1)[0] + "/") and u != q.uri]
        assert not any(re.search(re.escape(cve) + r"\b", text[u]) for u in same_package), q.id
    dev = {q.id for q in questions if q.split == "dev"}
    assert dev and not dev & {q.id for q in questions if q.split == "heldout"}
