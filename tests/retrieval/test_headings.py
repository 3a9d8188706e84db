"""One heading rule for chunking, outlines and the RLM: markdown, setext, RST of any character, numbered
and release headings, Debian blocks; never inside code fences."""

from __future__ import annotations

from deepwell.retrieval import find_headings, heading_paths
from deepwell.retrieval.documents import outline


def shape(text: str) -> list[tuple[int, str, str]]:
    return [(h.depth, h.style, h.title) for h in find_headings(text)]


def test_markdown_atx_and_setext_ignore_fences() -> None:
    text = (
        "Guide\n=====\n\nintro\n\nInstall\n-------\n\n### Linux\n\n```\n# comment, not a heading\n```\n\n"
        "~~~\n## also code\n~~~\n\n## Use\n\nRun it.\n"
    )
    assert shape(text) == [
        (1, "setext", "Guide"),
        (2, "setext", "Install"),
        (3, "atx", "Linux"),
        (2, "atx", "Use"),
    ]


def test_rst_levels_follow_first_appearance_of_any_character() -> None:
    text = "*****\nTitle\n*****\n\nOne\n~~~\n\nA\n'''\n\ntext\n\nTwo\n~~~\n\nB\n'''\n\nC\n\"\"\"\n\nend\n"
    assert shape(text) == [
        (1, "rst", "Title"),
        (2, "rst", "One"),
        (3, "rst", "A"),
        (2, "rst", "Two"),
        (3, "rst", "B"),
        (4, "rst", "C"),
    ]
    # an underline shorter than its title, or a paragraph's last line, is not a title
    assert find_headings("A long title here\n===\n\ntext\nmore text\n-----------------\n") == []


def test_numbered_keyword_and_release_headings() -> None:
    text = (
        "1. Scope\n\n1.1 Purpose\n\ntext\n\n1.2 Terms\n\n2. Use\n\nARTICLE IV\n\nSection 4.2: Notices\n\n"
        "v1.2.3\n\nVersion 2.0 (2024-01-02)\n\nWhat's New in Python 3.11.4?\n"
    )
    heads = find_headings(text)
    assert [(h.depth, h.style, h.title) for h in heads][:4] == [
        (1, "numbered", "1. Scope"),
        (2, "numbered", "1.1 Purpose"),
        (2, "numbered", "1.2 Terms"),
        (1, "numbered", "2. Use"),
    ]
    assert [h.style for h in heads[4:]] == ["keyword", "keyword", "release", "release", "release"]
    assert [h.fields.get("version") for h in heads[6:]] == ["1.2.3", "2.0", "3.11.4"]
    # a numbered list is not a set of headings, and prose that starts with a number is not one either
    assert (
        find_headings("Steps:\n\n1. Open the box.\n2. Take it out.\n\nWe sold\n3.5 million copies.\n") == []
    )


def test_debian_block_fields() -> None:
    (h,) = find_headings("hello (2.10-3) unstable; urgency=medium\n\n  * Fix.\n")
    assert (h.style, h.fields["package"], h.fields["version"], h.fields["urgency"]) == (
        "debian",
        "hello",
        "2.10-3",
        "medium",
    )


def test_paths_and_outline_use_the_same_rule() -> None:
    text = "Manual\n======\n\nIntro.\n\nSetup\n-----\n\nSteps.\n\n# Not a fence heading\n"
    assert [p for _, _, p in heading_paths(text)] == [
        ["Manual"],
        ["Manual", "Setup"],
        ["Not a fence heading"],
    ]
    assert [(o["level"], o["title"], o["line"]) for o in outline(text)] == [
        (1, "Manual", 1),
        (2, "Setup", 6),
        (1, "Not a fence heading", 11),
    ]


def test_a_manual_with_numbered_rst_titles_and_a_numbered_list_inside() -> None:
    text = (
        "Policy Manual\n*************\n\n* 1. About\n\n  * 1.1. Scope\n\n"
        "1. About\n********\n\n1.1. Scope\n==========\n\nText.\n\n"
        "2. Archive\n**********\n\n2.1. Guidelines\n===============\n\n"
        "1. Free Redistribution\n\n   The license must not restrict anyone.\n\n"
        "2. Source Code\n\n   Must include source.\n"
    )
    assert shape(text) == [
        (1, "rst", "Policy Manual"),
        (1, "rst", "1. About"),
        (2, "rst", "1.1. Scope"),
        (1, "rst", "2. Archive"),
        (2, "rst", "2.1. Guidelines"),
    ]


def test_a_rendered_manual_page() -> None:
    text = (
        "GREP(1)                 User Commands                GREP(1)\n\n"
        "NAME\n       grep - print lines that match\n\n"
        "OPTIONS\n   Generic Program Information\n       --help Output a usage message.\n\n"
        "   Matching Control\n       -e PATTERNS, --regexp=PATTERNS\n              Use PATTERNS.\n\n"
        "EXIT STATUS\n       Normally 0.\n"
    )
    assert shape(text) == [
        (1, "man", "NAME"),
        (1, "man", "OPTIONS"),
        (2, "man", "Generic Program Information"),
        (2, "man", "Matching Control"),
        (1, "man", "EXIT STATUS"),
    ]
    # one capitalised line over an indented block is not a manual
    assert find_headings("NOTE\n    this is indented text\n") == []


def test_list_items_that_mention_versions_are_not_release_headings() -> None:
    text = (
        "## Release v2.3.6\n\n* Auto-resolve prefixes to the latest version (#2487)\n"
        "- [Support abbreviating `--release` as `-r`][cargo/10133]\n\n## Release v2.3.5\n\n* Fix\n"
    )
    assert [(h.title, h.fields.get("version")) for h in find_headings(text)] == [
        ("Release v2.3.6", "2.3.6"),
        ("Release v2.3.5", "2.3.5"),
    ]
