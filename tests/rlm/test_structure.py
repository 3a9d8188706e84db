"""The structure model: sections at every level, entries as leaves, fields, paths; one tree per context.

Fixtures are small texts written the way real files are (a Debian changelog, a CPython NEWS file, a
keep-a-changelog markdown file, a numbered contract, Python source, an mbox); the last test checks the
parse of a real Debian changelog on this machine against an independent count.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bench.structure.checks import ast_definitions, debian_blocks, tree_definitions
from deepwell.core.errors import InputError
from deepwell.rlm._context import load_context
from deepwell.rlm._structure import Tree, build_tree, entry_fields

DEBIAN = """\
hello (2.10-3) unstable; urgency=medium

  [ Jane Roe ]
  * Fix a crash when the greeting is empty (Closes: #1012345).
    The fix adds a test as well.
    - debian/tests: new autopkgtest.
  * Refresh patches.

  [ John Doe ]
  * Patch by Alice Smith: fix CVE-2024-1234 in the parser.

 -- Jane Roe <jane@example.org>  Mon, 01 Jan 2024 10:00:00 +0000

hello (2.10-2) experimental; urgency=low

  * Build with hardening.
  * Upload to experimental.
  * Mention bar in the description.

 -- John Doe <john@example.org>  Sun, 31 Dec 2023 09:00:00 +0100
"""

NEWS = """\
+++++++++++
Python News
+++++++++++

What's New in Python 3.11.4?
============================

*Release date: 2023-06-06*

Security
--------

- gh-103142: The version of OpenSSL used in our binary builds has been
  upgraded to 1.1.1u. Patch by Jane Roe.

Library
-------

- gh-104049: Do not expose the local on-disk location in directory indexes
  produced by :class:`http.client.SimpleHTTPRequestHandler`.

- bpo-44530: Add the ``co_qualname`` field. Contributed by John Doe.

- gh-99999: Make ``foo`` faster.

What's New in Python 3.11.3?
============================

Library
-------

- gh-102000: Fix something. Thanks to Carol King.
"""

KEEPACHANGELOG = """\
# Changelog

All notable changes to this project are documented here.

## [1.2.0] - 2024-05-01

### Added
- Offline mode: the client works without a network
  and syncs later.
- A `--json` flag.

### Fixed
1. Crash on empty input (#123456).
2. Typo in help.

```sh
# not a heading: a shell comment inside a fence
- not an item either
```

## [1.1.0] - 2024-01-02

### Added
+ First release of the CLI.
"""

CONTRACT = """\
1. Definitions

1.1 "Licensee" means the party receiving the software.

1.2 "Term" means the period stated in Section 5.

2. Grant

2.1 The Licensor grants the Licensee a non-exclusive license.

2.1.1 The license covers installation on one machine.

ARTICLE V

Section 5. Termination

Either party may end this agreement with notice.
"""

RST = """\
##########
User Guide
##########

Install
=======

Run the installer.

From source
-----------

Use pip.

Tuning
^^^^^^

Knobs.

Configure
=========

Settings live in a file.

Chapter 3

Appendix text.
"""

PY = '''\
"""A module."""

import os


class Store:
    """Keeps things."""

    def get(self, key, default=None):
        return os.environ.get(key, default)

    async def put(self, key, value, *, ttl=0):
        class Inner:
            def deep(self):
                return "needle_in_method"
        return Inner


def helper(a, b=2, *rest, **opts):
    return a
'''

MBOX = """\
From alice@example.org Mon Jan  1 10:00:00 2024
From: Alice Smith <alice@example.org>
To: dev@example.org
Subject: Release plan for 2.0
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <1@example.org>

We ship 2.0 next week.

- freeze on Monday
- tag on Friday

From bob@example.org Tue Jan  2 11:00:00 2024
From: Bob Jones <bob@example.org>
Subject: Re: Release plan for 2.0
Date: Tue, 2 Jan 2024 11:00:00 +0000

Sounds good; the needle is here.
"""


def one(text: str, name: str = "context") -> Tree:
    return build_tree([(name, text)])


def titles(tree: Tree, depth: int = 9) -> list[tuple[int, str]]:
    return [(n.level, n.title) for n in tree.outline(depth)]


def test_debian_changelog_blocks_trailers_groups_and_entries() -> None:
    t = one(DEBIAN, "changelog.Debian")
    blocks = t.root.children
    assert [b.fields["version"] for b in blocks] == ["2.10-3", "2.10-2"]
    first = blocks[0].fields
    assert (first["author"], first["email"], first["distribution"], first["urgency"]) == (
        "Jane Roe",
        "jane@example.org",
        "unstable",
        "medium",
    )
    assert first["date"] == "Mon, 01 Jan 2024 10:00:00 +0000"
    assert blocks[1].fields["author"] == "John Doe"
    # groups hold the entries after them; continuation lines and nested '-' bullets stay in their entry
    assert [(c.title, n) for c, n in t.children(blocks[0].id)] == [("[ Jane Roe ]", 2), ("[ John Doe ]", 1)]
    assert [n for _, n in t.children("0")] == [3, 3]
    crash = t.entries(blocks[0].id, "crash")
    assert len(crash) == 1 and "autopkgtest" in t.text[crash[0].start : crash[0].end]
    assert crash[0].fields["closes"] == "#1012345" and crash[0].fields["contributor"] == "Jane Roe"
    m = t.locate("CVE-2024-1234")
    assert len(m) == 1 and m[0].path == ["hello (2.10-3) unstable; urgency=medium", "[ John Doe ]"]
    assert m[0].node.kind == "entry" and m[0].node.fields["credited"] == "Alice Smith"
    assert m[0].node.fields["contributor"] == "John Doe"
    # the trailer line belongs to its block, not to the next one
    trailer = t.locate("john@example.org")[0]
    assert trailer.path == ["hello (2.10-2) experimental; urgency=low"]


def test_news_release_and_section_paths_with_credits_and_issue_ids() -> None:
    t = one(NEWS, "NEWS")
    assert titles(t, 3) == [
        (1, "Python News"),
        (2, "What's New in Python 3.11.4?"),
        (3, "Security"),
        (3, "Library"),
        (2, "What's New in Python 3.11.3?"),
        (3, "Library"),
    ]
    m = t.locate("gh-104049")
    assert [x.path for x in m] == [["Python News", "What's New in Python 3.11.4?", "Library"]]
    assert m[0].node.kind == "entry"
    rel = t.node("0.0.0")
    assert rel.fields["version"] == "3.11.4" and t.leaf_count(rel) == 4
    assert [(c.title, n) for c, n in t.children(rel.id)] == [("Security", 1), ("Library", 3)]
    sec = t.entries("0.0.0.0")[0]
    assert sec.fields["credited"] == "Jane Roe" and sec.fields["issues"] == "gh-103142"
    lib = t.entries("0.0.0.1")
    assert lib[1].fields["credit"] == "Contributed by John Doe" and lib[1].fields["issues"] == "bpo-44530"
    assert t.entries("0.0.1", "thanks")[0].fields["credited"] == "Carol King"


def test_markdown_changelog_items_continuations_and_fences() -> None:
    t = one(KEEPACHANGELOG, "CHANGELOG.md")
    assert titles(t) == [
        (1, "Changelog"),
        (2, "[1.2.0] - 2024-05-01"),
        (3, "Added"),
        (3, "Fixed"),
        (2, "[1.1.0] - 2024-01-02"),
        (3, "Added"),
    ]
    assert t.node("0.0.0").fields["version"] == "1.2.0"
    added = t.entries("0.0.0.0")
    assert [e.title for e in added] == [
        "Offline mode: the client works without a network",
        "A `--json` flag.",
    ]
    assert "syncs later" in t.text[added[0].start : added[0].end]
    fixed = t.entries("0.0.0.1")
    assert [e.title for e in fixed] == ["Crash on empty input (#123456).", "Typo in help."]
    assert fixed[0].fields["issues"] == "#123456"
    assert not t.locate("not a heading")[0].node.kind.startswith("entry")
    assert t.locate("not a heading")[0].path == ["Changelog", "[1.2.0] - 2024-05-01", "Fixed"]
    assert [n for _, n in t.children("0.0")] == [4, 1]
    hit = t.locate("offline mode")
    assert hit[0].path == ["Changelog", "[1.2.0] - 2024-05-01", "Added"] and hit[0].node is added[0]


def test_numbered_clauses_and_keyword_headings() -> None:
    t = one(CONTRACT)
    assert titles(t)[:5] == [
        (1, "1. Definitions"),
        (2, '1.1 "Licensee" means the party receiving the software.'),
        (2, '1.2 "Term" means the period stated in Section 5.'),
        (1, "2. Grant"),
        (2, "2.1 The Licensor grants the Licensee a non-exclusive license."),
    ]
    assert t.locate("one machine")[0].path == [
        "2. Grant",
        "2.1 The Licensor grants the Licensee a non-exclusive license.",
        "2.1.1 The license covers installation on one machine.",
    ]
    assert t.locate("with notice")[0].path[-2:] == ["ARTICLE V", "Section 5. Termination"]


def test_rst_adornments_nest_by_first_appearance() -> None:
    t = one(RST, "guide.rst")
    assert titles(t) == [
        (1, "User Guide"),
        (2, "Install"),
        (3, "From source"),
        (4, "Tuning"),
        (2, "Configure"),
        (3, "Chapter 3"),
    ]
    assert t.locate("Knobs")[0].path == ["User Guide", "Install", "From source", "Tuning"]
    assert t.locate("Settings live")[0].path == ["User Guide", "Configure"]


def test_python_source_module_class_def() -> None:
    t = one(PY, "store.py")
    assert [(n.kind, n.title) for n in t.outline(4)] == [
        ("class", "Store"),
        ("def", "get(self, key, default)"),
        ("def", "put(self, key, value, ttl)"),
        ("class", "Inner"),
        ("def", "deep(self)"),
        ("def", "helper(a, b, *rest, **opts)"),
    ]
    m = t.locate("needle_in_method")[0]
    assert m.path == ["Store", "put(self, key, value, ttl)", "Inner", "deep(self)"]
    put = t.node("0.0.1")
    assert put.fields["async"] == "yes" and put.fields["params"] == "self, key, value, ttl"
    assert t.node("0.0").fields["doc"] == "Keeps things."
    # the same text without a .py name is still recognised as Python
    assert [n.title for n in one(PY, "snippet").outline(1)] == ["Store", "helper(a, b, *rest, **opts)"]


def test_mbox_messages_with_headers_as_fields() -> None:
    t = one(MBOX, "list.mbox")
    msgs = t.root.children
    assert [(m.kind, m.title) for m in msgs] == [
        ("message", "Release plan for 2.0"),
        ("message", "Re: Release plan for 2.0"),
    ]
    assert msgs[0].fields["author"] == "Alice Smith" and msgs[1].fields["email"] == "bob@example.org"
    assert msgs[0].fields["message-id"] == "<1@example.org>"
    assert t.leaf_count(msgs[0]) == 2 and t.leaf_count(msgs[1]) == 0
    assert t.locate("the needle")[0].path == ["Re: Release plan for 2.0"]


def test_records_and_tables_are_leaves_with_fields() -> None:
    text = (
        "# Tickets\n\n"
        '{"id": "T-1", "label": "refund", "user": "ann"}\n'
        '{"id": "T-2", "label": "billing", "user": "bo"}\n\n'
        "# Prices\n\n"
        "| item | price |\n|------|-------|\n| tea  | 3     |\n| cake | 5     |\n"
    )
    t = one(text)
    recs = t.entries("0.0")
    assert [(r.kind, r.fields["label"]) for r in recs] == [("record", "refund"), ("record", "billing")]
    rows = t.entries("0.1")
    assert [(r.kind, r.fields) for r in rows] == [
        ("record", {"item": "tea", "price": "3"}),
        ("record", {"item": "cake", "price": "5"}),
    ]
    assert t.locate("cake")[0].path == ["Prices"]


def test_entry_fields() -> None:
    f = entry_fields(
        "* Fix overflow (gh-1234, bpo-99, CVE-2024-0001; Closes: #987654, #987655).\n"
        "  Original patch by Ann Lee; reviewed by Bo Chan.\n"
        "  Reviewed-by: Carol King\n"
    )
    assert f["issues"] == "gh-1234, bpo-99, CVE-2024-0001, #987654, #987655"
    assert f["closes"] == "#987654, #987655" and f["cve"] == "CVE-2024-0001"
    assert f["credited"] == "Ann Lee; Bo Chan"
    assert f["reviewed-by"] == "Carol King"
    assert entry_fields("Plain text with no credit, and a C#12 mention.") == {}


def test_directory_keeps_files_on_top(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Setup\n\n- install it\n- run it\n")
    (tmp_path / "CHANGELOG.md").write_text(KEEPACHANGELOG)
    (tmp_path / "store.py").write_text(PY)
    ctx = load_context(tmp_path)
    t = ctx.tree
    assert t.text == ctx.text
    assert sorted((n.kind, n.title) for n in t.root.children) == [
        ("file", "CHANGELOG.md"),
        ("file", "docs/guide.md"),
        ("file", "store.py"),
    ]
    m = t.locate("run it")
    assert m[0].path == ["docs/guide.md", "Guide", "Setup"] and m[0].node.kind == "item"
    assert t.locate("needle_in_method")[0].path[:2] == ["store.py", "Store"]
    assert {n.title: c for n, c in t.children("0")}["docs/guide.md"] == 2
    assert "3 files" in ctx.describe()["structure"]


def test_list_of_documents_and_node_errors() -> None:
    t = build_tree([("a.md", "# A\n\n- one\n"), ("b.md", "# B\n\n- two\n- three\n")])
    assert [(n.kind, n.title, c) for n, c in t.children("0")] == [("file", "a.md", 1), ("file", "b.md", 2)]
    assert t.locate("three")[0].path == ["b.md", "B"]
    assert t.text[t.node("0.1").start : t.node("0.1").end] == "# B\n\n- two\n- three\n"
    with pytest.raises(InputError, match=r"No node '7\.7'"):
        t.node("7.7")
    with pytest.raises(InputError, match="empty"):
        t.locate("")
    with pytest.raises(InputError):
        build_tree([])


def test_plain_text_has_no_sections_but_still_locates() -> None:
    t = one("just some words\nmore words here\n")
    assert t.outline() == [] and t.describe().startswith("no structure")
    m = t.locate("more")
    assert m[0].path == [] and m[0].node is t.root and m[0].line == "more words here"


def test_locate_regex_case_and_limit() -> None:
    t = one(NEWS)
    assert len(t.locate(r"gh-\d+", regex=True)) == 4
    assert len(t.locate(r"gh-\d+", regex=True, limit=2)) == 2
    assert t.locate("LIBRARY", case=True) == [] and len(t.locate("LIBRARY")) == 2


def test_real_debian_changelog_matches_an_independent_count() -> None:
    candidates = sorted(
        Path("/usr/share/doc").glob("*/changelog.Debian.gz"), key=lambda p: p.stat().st_size, reverse=True
    )
    if not candidates:
        pytest.skip("no /usr/share/doc/*/changelog.Debian.gz on this machine")
    for path in candidates[:3] + candidates[len(candidates) // 2 : len(candidates) // 2 + 3]:
        text = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
        expected = debian_blocks(text)
        t = one(text, "changelog.Debian")
        blocks = [n for n in t.root.children if "version" in n.fields]
        assert len(blocks) == len(expected), path
        got = [sum(1 for e in t.entries(b.id) if t.text.startswith("  * ", e.start)) for b in blocks]
        assert got == [n for n, _ in expected], path
        assert [b.fields.get("author") for b in blocks] == [a for _, a in expected], path


GNU_CHANGELOG = """\
2022-12-12  Dmitry V. Levin  <ldv@example.org>

\tPrepare for 6.1 release.
\t* NEWS: Update for 6.1 release.

2022-12-11  Eugene Syromyatnikov  <evgsyr@example.org>

\tstatx: decode new fields.
\t* src/statx.h (struct_statx): Add stx_mnt_id,
\tand stx_dio_offset_align fields.
\t* src/statx.c: Print the new fields.
"""

GIT_LOG = """\
commit afcae83a064843d71d47624bc162e121cc56c08b
Author: Khaled Hosny <khaled@example.org>
Date:   Fri Dec 16 23:14:57 2022 +0200

    6.0.0

 NEWS | 62 ++++++++++

commit 27ff90d7b8c65017334f15f45b5552d4f6fdb128
Author: Ann Lee <ann@example.org>
Date:   Fri Dec 16 22:08:33 2022 +0200

    [meson] Update freetype2 wrap

    Use the one from WrapDB.
"""

GROUPED_NEWS = """\
Noteworthy changes in release 6.1 (2022-12-12)
==============================================

* Improvements
  * Enhanced decoding of terminal ioctl commands.
  * Updated lists of ABS_*, BPF_*, and TLS_* constants
    from Linux 6.1.

* Bug fixes
  * Fixed injection tests on ia64.

CHANGES WITH 252:

        * Something changed.
"""


def test_gnu_changelog_and_git_log_headers_are_sections_with_fields() -> None:
    t = one(GNU_CHANGELOG, "ChangeLog")
    heads = t.root.children
    assert [(h.fields["date"], h.fields["author"], h.fields["email"]) for h in heads] == [
        ("2022-12-12", "Dmitry V. Levin", "ldv@example.org"),
        ("2022-12-11", "Eugene Syromyatnikov", "evgsyr@example.org"),
    ]
    assert [n for _, n in t.children("0")] == [1, 2]
    assert t.locate("stx_dio_offset_align")[0].node.title == "src/statx.h (struct_statx): Add stx_mnt_id,"
    g = one(GIT_LOG, "changelog")
    assert [(c.title, c.fields["author"], c.fields["email"]) for c in g.root.children] == [
        ("6.0.0", "Khaled Hosny", "khaled@example.org"),
        ("[meson] Update freetype2 wrap", "Ann Lee", "ann@example.org"),
    ]
    assert g.root.children[1].fields["commit"].startswith("27ff90d7")
    assert g.locate("WrapDB")[0].path == ["[meson] Update freetype2 wrap"]


def test_a_short_label_over_a_nested_list_groups_it() -> None:
    t = one(GROUPED_NEWS, "NEWS")
    rel = t.root.children[0]
    assert rel.fields["version"] == "6.1"
    assert [(c.title, n) for c, n in t.children(rel.id)] == [("Improvements", 2), ("Bug fixes", 1)]
    assert t.locate("from Linux 6.1")[0].path[-1] == "Improvements"
    assert t.locate("from Linux 6.1")[0].node.kind == "entry"
    assert t.root.children[1].fields["version"] == "252" and t.leaf_count(t.root.children[1]) == 1


def test_python_outline_matches_ast_on_real_stdlib_modules() -> None:
    lib = Path("/usr/lib/python3.11")
    names = ["plistlib.py", "pydoc.py", "turtle.py", "socket.py", "_pydecimal.py", "typing.py"]
    paths = [lib / n for n in names if (lib / n).exists()]
    if not paths:
        pytest.skip("no CPython standard library under /usr/lib/python3.11")
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert tree_definitions(one(text, path.name)) == ast_definitions(text), path


def test_definitions_inside_strings_are_not_definitions() -> None:
    src = (
        'TEMPLATE = """\\\ndef fake():\n    pass\n"""\n\n\ndef real(x):\n    s = "class Nope:"  # def nope\n'
    )
    t = one(src, "m.py")
    assert [(n.kind, n.title) for n in t.outline(3)] == [("def", "real(x)")]


def test_one_rfc822_message_and_headers_that_are_not_mail() -> None:
    t = one("From: Ann Lee <ann@example.org>\nTo: dev@example.org\nSubject: Offline mode\n\n- works now\n")
    (msg,) = t.root.children
    assert (msg.kind, msg.title, msg.fields["author"], t.leaf_count(msg)) == (
        "message",
        "Offline mode",
        "Ann Lee",
        1,
    )
    front = one("Title: Guide\nAuthor: Bo\n\n# Intro\n\n- a\n")
    assert [(n.kind, n.title) for n in front.root.children] == [("section", "Intro")]


def test_a_gzipped_file_is_read_as_its_text(tmp_path: Path) -> None:
    path = tmp_path / "changelog.Debian.gz"
    path.write_bytes(gzip.compress(DEBIAN.encode()))
    ctx = load_context(path)
    assert ctx.text == DEBIAN and ctx.tree.root.children[0].fields["version"] == "2.10-3"
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(InputError, match="not a readable gzip file"):
        load_context(tmp_path / "broken.gz")
