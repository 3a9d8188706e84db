"""The record and header recognisers on several hand-written shapes (pipe, JSON, logfmt, XML, tables;
five header styles). This checks those shapes only: it does not show the recognisers generalise to real
documents, which is what ``python -m bench.rlm``'s real-document task sets measure."""

from __future__ import annotations

import json

import pytest

from deepwell.rlm._formats import find_headers, find_titles, parse_records

LABELS = ["billing", "refund", "billing", "shipping", "billing", "refund"]


def _pipe(i: int, lab: str) -> str:
    return f"Record #{i:05d} | user: u{100 + i} | date: 2023-01-0{i % 9 + 1} | label: {lab} | note: see a:b"


def _json(i: int, lab: str) -> str:
    return json.dumps({"id": i, "user": f"u{100 + i}", "category": lab, "note": "free text, with commas"})


def _logfmt(i: int, lab: str) -> str:
    return f'ts=2023-01-0{i % 9 + 1}T10:00:00 id={i} user=u{100 + i} topic={lab} msg="a note = free text"'


def _xml(i: int, lab: str) -> str:
    return f'<ticket id="{i}" user="u{100 + i}" label="{lab}">note text</ticket>'


@pytest.mark.parametrize(
    ("make", "field"), [(_pipe, "label"), (_json, "category"), (_logfmt, "topic"), (_xml, "label")]
)
def test_line_records_scattered_in_prose(make, field) -> None:  # type: ignore[no-untyped-def]
    parts = []
    for i, lab in enumerate(LABELS):
        parts += ["Some prose: it mentions things, and a colon: here.", make(i, lab)]
    fields, rows = parse_records("\n\n".join(parts))
    assert field in fields
    assert [r[field] for r in rows] == LABELS


@pytest.mark.parametrize("delim", [",", "\t", "|"])
def test_table_records(delim: str) -> None:
    head = delim.join(["id", "user", "label", "note"])
    body = [delim.join([str(i), f"u{i}", lab, "plain note"]) for i, lab in enumerate(LABELS)]
    if delim == "|":
        head, body = f"| {head} |", [f"| {b} |" for b in body]
        body.insert(0, "|---|---|---|---|")
    text = "An export follows.\n\n" + "\n".join([head, *body]) + "\n\nThat was all."
    fields, rows = parse_records(text)
    assert sorted(fields) == ["id", "label", "note", "user"]
    assert [r["label"] for r in rows] == LABELS


def test_a_malformed_row_does_not_end_the_table() -> None:
    rows = ["id,label,note", '1,billing,"a, quoted note"', "2,refund", "3,billing,ok"]
    _, parsed = parse_records("\n".join(rows))
    assert [r["label"] for r in parsed] == ["billing", "billing"]


def test_prose_has_no_records() -> None:
    text = "Python is a language.\nIt has classes, functions, and modules.\nUse it well, and often."
    assert parse_records(text) == ([], [])


@pytest.mark.parametrize(
    "header",
    [
        "=== Document: {n} (section: Intro) ===",
        "Document: {n}",
        '<document name="{n}" index="3">',
        "# File: {n}",
        "--- {n} ---",
        "[Source: {n}]",
    ],
)
def test_headers(header: str) -> None:
    names = ["library/os.path", "howto/logging", "tutorial/classes"]
    text = "\n\n".join(f"{header.format(n=n)}\nBody of {n}.\n" for n in names)
    heads = find_headers(text)
    assert [n for _, n in heads] == names
    assert all(
        text[pos:].startswith(header.format(n=n)[:3]) for (pos, _), n in zip(heads, names, strict=True)
    )


def test_a_single_header_is_not_structure() -> None:
    assert find_headers("# File: only-one\ntext") == []


def test_prose_and_table_rules_are_not_headers() -> None:
    text = "\n".join(
        [
            "As shown in section :ref:`sdist-cmd`.",
            "see section :ref:`inst-config-files`.)",
            "document: the one that holds all others.  Here is an example program::",
            "article: Georg Brandl, Steve Brown, Nick Coghlan,",
            "------------------------ ---------------------",
            "------------------------ ---------------------",
            "--------------",
            "",
            ":mod:`dbm` is a generic interface",
            "file::",
        ]
        * 3
    )
    assert find_headers(text) == []


def test_markdown_titles_skip_code_fences() -> None:
    text = (
        "# Install\n\nRun it.\n\n```bash\n# not a title\n\npip install x\n```\n\n## Details\n\nmore\n\n"
        "# Create the table:\n\ncur.execute(sql)\n\n# Configure\n\nSet things.\n"
    )
    assert [t for _, t in find_titles(text)] == ["Install", "Configure"]
    assert find_titles("## Only\n\ntext\n\n## Level two\n\ntext")[1][1] == "Level two"
    assert find_titles("# a comment\ncode()\n\n# another\nmore()\n") == []  # code, not headings
    stray = "# Stray heading-like line\n\n" + "prose. " * 20_000
    assert find_titles(stray * 2) == []  # two in 280K characters are not the text's structure


def test_rst_titles_take_the_first_adornment_as_the_top_level() -> None:
    text = (
        ":mod:`abc` --- Abstract Base Classes\n====================================\n\nIntro.\n\n"
        "Usage\n-----\n\nText.\n\n"
        ":mod:`zipimport` --- Zip imports\n================================\n\nMore.\n"
        "Too long a title\n===\n"
    )
    heads = find_titles(text)
    titles = [":mod:`abc` --- Abstract Base Classes", ":mod:`zipimport` --- Zip imports"]
    assert [t for _, t in heads] == titles
    assert text[heads[1][0] :].startswith(":mod:`zipimport`")


def test_one_title_is_not_structure() -> None:
    assert find_titles("# Readme\nJust one section.\n") == []
    assert find_titles("Plain prose.\nMore prose.\n") == []
    table = "A sentence that leads into a table:\n\n=====  =====\nkey    value\n=====  =====\n\n"
    assert find_titles(table * 3) == []
