from __future__ import annotations

import time

import pytest

from deepwell.core.errors import InputError
from deepwell.retrieval.documents import compile_pattern, document_info, grep, outline, read_range

DOC = "# Title\n\nintro line\n\n## Part A\n\nalpha beta\ngamma delta\n\n## Part B\n\nomega"


def test_outline_and_info() -> None:
    heads = outline(DOC)
    assert [(h["level"], h["title"], h["line"]) for h in heads] == [
        (1, "Title", 1),
        (2, "Part A", 5),
        (2, "Part B", 10),
    ]
    info = document_info(DOC, count_tokens=lambda t: len(t.split()))
    assert (info["chars"], info["lines"], info["headings"]) == (len(DOC), 12, 3)
    assert info["tokens"] == len(DOC.split())


def test_read_range_units_and_bounds() -> None:
    assert read_range(DOC, 0, 7)["text"] == "# Title"
    assert read_range(DOC, 7, 8, unit="lines")["text"] == "alpha beta\ngamma delta"
    offs = [(m, m + 1) for m in range(len(DOC))]
    assert read_range(DOC, 2, 7, unit="tokens", token_offsets=lambda t: offs)["text"] == "Title"
    r = read_range("x" * 100, 0, 100, max_chars=10)
    assert r["truncated"] and len(r["text"]) == 10
    with pytest.raises(InputError, match="out of range"):
        read_range(DOC, 99, unit="lines")
    with pytest.raises(InputError, match="past the end"):
        read_range(DOC, 10_000)
    with pytest.raises(InputError, match="Invalid range"):
        read_range(DOC, 5, 2)


def test_grep_context_limits_and_bad_patterns() -> None:
    r = grep(DOC, r"gamma", context_lines=1)
    assert r["matches"][0]["line"] == 8 and "alpha beta" in r["matches"][0]["context"]
    many = grep("hit\n" * 100, "hit", max_matches=5)
    assert len(many["matches"]) == 5 and many["total"] == 100 and many["truncated"]
    with pytest.raises(InputError, match="Invalid regular expression"):
        grep(DOC, "(unclosed")
    with pytest.raises(InputError, match="empty"):
        grep(DOC, "")
    with pytest.raises(InputError, match="under 500"):
        grep(DOC, "a" * 501)


def test_grep_stops_catastrophic_backtracking_within_its_timeout() -> None:
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="catastrophic backtracking"):
        grep("a" * 5000 + "!", r"(a|aa)+$", timeout=0.2)
    assert time.perf_counter() - t0 < 5
    # nested repeats are fine when they do not blow up: no blanket ban on a shape
    assert grep("one two three\n", r"(\w+\s)+three")["total"] == 1


def test_grep_output_is_bounded_in_size() -> None:
    text = ("x" * 1500 + "\n") * 100
    r = grep(text, "x+", context_lines=0, max_matches=100, max_output_chars=6000)
    assert r["total"] == 100 and len(r["matches"]) == 4 and r["truncated"]


def test_compiled_patterns_keep_the_re_api_with_a_deadline() -> None:
    rx = compile_pattern(r"b(\w)")
    assert rx.findall("ab1 Bc") == ["1", "c"] and rx.search("xbz").group(0) == "bz"
    assert [m.start() for m in rx.finditer("bb bb")] == [0, 3]
