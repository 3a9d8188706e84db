"""One rule for what a heading is, shared by chunking, document outlines and the RLM's structure model.

Real documents mark sections in many ways: markdown ``#`` lines and setext underlines, reStructuredText
over/underlines of any punctuation character, numbered headings and clauses (``5.2 Scope``,
``Section 5.``, ``ARTICLE V``), release headings of NEWS files and changelogs (``v1.2.3``,
``Version 2.1 (2024-01-02)``, ``What's New in Python 3.11.4?``), Debian changelog blocks
(``pkg (1.2-3) unstable; urgency=medium``), GNU ChangeLog headers (``2022-12-12  Name  <email>``),
``git log`` commits, and a rendered manual page's capitalised sections and indented subsections.
Each heading gets a *style*; nesting follows docutils: a style seen again closes everything opened
below it, a new style opens a level under the current one. Styles that carry their own rank (``#``
count, number depth) nest by rank. The scan is one pass over the lines, so it is linear in the text;
``#`` lines inside fenced code are not headings.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

__all__ = ["Heading", "find_headings", "heading_paths"]


@dataclass(frozen=True)
class Heading:
    """A heading: its span (overline to underline), title, style and nesting depth (1 = top)."""

    start: int
    end: int  # just after the heading's last line (its newline included)
    title: str
    style: str  # "atx", "setext", "rst", "numbered", "keyword", "release", "debian", "dated", "commit", "man"
    key: str  # what identifies the style for nesting ("atx3", "rst=^", "num2", "kw:chapter", ...)
    depth: int = 1
    # a Debian block's package, version, distribution, urgency; a release heading's version; the date,
    # author and email of a ChangeLog header; the commit, author, email, date and subject of a git commit
    fields: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def release(self) -> bool:
        """A heading that names a release (a NEWS / changelog version), whatever its markup."""
        return "version" in self.fields


_ATX = re.compile(r"(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*")
_FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*")  # one punctuation character repeated
_NUMBERED = re.compile(r"(?P<num>\d{1,3}(?:\.\d{1,3})+)\.?[ \t]+(?P<title>\S.*)")
_SINGLE = re.compile(r"(?P<num>\d{1,3})\.?[ \t]+(?P<title>[A-Z][^\n]*)")
_KEYWORD = re.compile(
    r"(?P<kw>part|chapter|section|article|appendix|book|annex|schedule|clause)[ \t]+"
    r"(?P<num>[0-9]+(?:\.[0-9]+)*|(?-i:[IVXLCDM]+|[A-Z]))\b[.:]?(?:[ \t]*[-—–:.]?[ \t]*(?P<title>.*))?",
    re.I,
)
# a pre-release is part of the version: "3.5.3 release candidate 1" is not the release "3.5.3"
_PRE = (
    r"(?:[-.]?(?:a|b|rc|alpha|beta|dev|post|final)\.?\d*"
    r"|[ ](?:alpha|beta|release[ ]candidate|rc)[ ]\d+|[ ]final\b)"
)
_VERSION = rf"v?\d+(?:\.\d+)+{_PRE}?"
_KW_VERSION = rf"v?\d+(?:\.\d+)*{_PRE}?"
_RELEASE_KW = re.compile(
    rf"(?:[^\n]{{0,40}}?\b)?(?:what'?s[ \t]+new[ \t]+in|changes[ \t]+(?:in|for|with|since)|release|version)\b"
    rf"[^\n]{{0,40}}?(?<![\w.\-/#]){_KW_VERSION}\b(?![-/]\d)[^\n]{{0,40}}",
    re.I,
)
_RELEASE_BARE = re.compile(
    rf"\[?{_VERSION}\]?(?:[ \t]*[-–—:]?[ \t]*\(?\d{{4}}-\d\d-\d\d\)?)?(?:[ \t]+\([^()\n]{{1,40}}\))?[ \t]*:?"
)
DEBIAN_BLOCK = re.compile(
    r"(?P<package>[a-z0-9][a-z0-9.+-]*)[ \t]+\((?P<version>[^()\s]+)\)[ \t]+(?P<distribution>[^;\n]*?)"
    r"[ \t]*;[ \t]*(?P<options>\w+=.*)"
)
_DATED = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d (?:\w+ )?\d{4})[ \t]+"
    r"(?P<author>[^<>\n]*?)[ \t]+<(?P<email>[^<>\s]+)>[ \t]*"
)
_COMMIT = re.compile(r"commit ([0-9a-f]{7,40})(?: \(.*\))?[ \t]*")
_GIT_HEADER = re.compile(r"([A-Z][A-Za-z]*):[ \t]+(.*)")
_CAPS = re.compile(r"[A-Z][A-Z0-9 &/,()'-]*[A-Z0-9)]")
_SYMBOL_BULLET = re.compile(r"[ \t]*[*+\-•][ \t]")
_BULLET = re.compile(r"[ \t]*(?:[*+\-•]|\d{1,3}[.)])[ \t]")


def _title_like(title: str, max_words: int = 14) -> bool:
    t = title.strip()
    return bool(t) and len(t) <= 120 and len(t.split()) <= max_words and not t.endswith((",", ";"))


def find_headings(text: str) -> list[Heading]:
    """Every heading of ``text`` in order, with its nesting depth (see the module docstring)."""
    lines = text.split("\n")
    offsets = [0] * (len(lines) + 1)
    pos = 0
    for i, line in enumerate(lines):
        offsets[i] = pos
        pos += len(line) + 1
    offsets[len(lines)] = pos
    n = len(lines)
    md = False  # any '#' heading outside code: '=' / '-' underlines are then markdown's h1 / h2
    fence: str | None = None
    code = bytearray(n)
    for i, line in enumerate(lines):
        f = _FENCE.match(line)
        if fence is not None:
            code[i] = 1
            if (
                f
                and f.group(1)[0] == fence[0]
                and len(f.group(1)) >= len(fence)
                and not line[f.end() :].strip()
            ):
                fence = None
            continue
        if f and not _underline(lines, i):
            fence = f.group(1)
            code[i] = 1
            continue
        if not md and line.startswith("#") and (m := _ATX.fullmatch(line)) and m.group(2):
            md = True

    # (line, top number) of every "5.2 ..." line: "5. Title" is a heading when the next of them is a 5.x
    multi = [
        (i, m.group("num").split(".")[0])
        for i, line in enumerate(lines)
        if not code[i] and line[:1].isdigit() and (m := _NUMBERED.fullmatch(line))
    ]
    multi_lines = [i for i, _ in multi]
    found: list[tuple[int, int, str, str, str]] = []  # (first line, last line, title, style, key)
    fielded: dict[int, dict[str, str]] = {}  # fields of Debian, GNU ChangeLog, git headings
    last_top = -1
    i = 0
    while i < n:
        line = lines[i]
        if code[i] or not line.strip():
            i += 1
            continue
        if line[0].isspace():  # only a manual's subsection title is indented
            if line[0] == " " and _man_subsection(lines, i, found):
                found.append((i, i, line.strip(), "man", "man-sub"))
            i += 1
            continue
        prev_blank = i == 0 or not lines[i - 1].strip()
        nxt = lines[i + 1] if i + 1 < n else ""
        # reStructuredText over- and underline: rule, title, same rule
        if (
            _RULE.fullmatch(line)
            and i + 2 < n
            and lines[i + 1].strip()
            and (r2 := lines[i + 2].rstrip()) == line.rstrip()
            and len(line.rstrip()) >= len(lines[i + 1].strip())
            and not _RULE.fullmatch(lines[i + 1])
        ):
            found.append((i, i + 2, lines[i + 1].strip(), "rst", f"rst{r2[0]}{r2[0]}"))
            i += 3
            continue
        if line.startswith("#"):
            m = _ATX.fullmatch(line)
            if m and m.group(2):
                found.append((i, i, m.group(2).strip(), "atx", f"atx{len(m.group(1))}"))
                i += 1
                continue
        # underline: a title line after a blank line (or the start), then a rule at least as long
        if (
            prev_blank
            and (rm := _RULE.fullmatch(nxt))
            and not _RULE.fullmatch(line)
            and not _SYMBOL_BULLET.match(line)
        ):
            rule = nxt.rstrip()
            ch = rule[0]
            if md and ch in "=-" and len(rule) >= 3:
                found.append((i, i + 1, line.strip(), "setext", "atx1" if ch == "=" else "atx2"))
                i += 2
                continue
            if len(rule) >= len(line.rstrip()) and len(rule) >= 3 and rm:
                found.append((i, i + 1, line.strip(), "rst", f"rst{ch}"))
                i += 2
                continue
        stripped = line.strip()
        if _release_version(stripped):
            found.append((i, i, stripped, "release", "release"))
            i += 1
            continue
        if line[0].isdigit() and prev_blank:
            m = _NUMBERED.fullmatch(line)
            if m and len(line) <= 300:
                found.append((i, i, stripped[:200], "numbered", f"num{m.group('num').count('.') + 1}"))
                i += 1
                continue
            m = _SINGLE.fullmatch(line)
            # "5. Title" is a heading when a 5.x heading follows, or when it continues such a sequence
            if (
                m
                and (
                    _next_top(multi, multi_lines, i) == m.group("num") or int(m.group("num")) - 1 == last_top
                )
                and _title_like(m.group("title"))
            ):
                last_top = int(m.group("num"))
                found.append((i, i, line.strip(), "numbered", "num1"))
                i += 1
                continue
        m = _KEYWORD.match(line)
        if (
            m
            and len(line) <= 100
            and (m.group("kw").isupper() or len((m.group("title") or "").split()) <= 10)
            and (not (m.group("title") or "").rstrip().endswith(".") or len(line.split()) <= 6)
        ):
            found.append((i, i, line.strip(), "keyword", f"kw:{m.group('kw').lower()}"))
            i += 1
            continue
        if line[0].isdigit() or line[:3].isalpha():
            m = _DATED.fullmatch(line)
            if m:  # a GNU ChangeLog entry header: date, author, <email>
                fielded[len(found)] = {k: v.strip() for k, v in m.groupdict().items()}
                found.append((i, i, " ".join(line.split()), "dated", "dated"))
                i += 1
                continue
        if line.startswith("commit ") and (m := _COMMIT.fullmatch(line)):
            fields, j = {"commit": m.group(1)}, i + 1
            while j < n and (h := _GIT_HEADER.fullmatch(lines[j])):
                fields[h.group(1).lower()] = h.group(2).strip()
                j += 1
            if "author" in fields:  # git log output: commit, Author:, Date:, then the indented message
                if a := re.fullmatch(r"(.*?)\s*<([^<>\s]*)>", fields["author"]):
                    fields["author"], fields["email"] = a.group(1), a.group(2)
                k = j
                while k < n and not lines[k].strip():
                    k += 1
                subject = lines[k].strip() if k < n and lines[k][:1].isspace() else ""
                if subject:
                    fields["subject"] = subject
                fielded[len(found)] = fields
                found.append((i, j - 1, subject or f"commit {m.group(1)[:12]}", "commit", "commit"))
                i = j
                continue
        m = DEBIAN_BLOCK.fullmatch(line)
        if m:
            opts = dict(kv.split("=", 1) for kv in re.findall(r"[\w-]+=[^,;\s]+", m.group("options")))
            fielded[len(found)] = {
                "package": m.group("package"),
                "version": m.group("version"),
                "distribution": m.group("distribution").strip(),
                **{k.lower(): v for k, v in opts.items()},
            }
            found.append((i, i, line.strip(), "debian", "debian"))
            i += 1
            continue
        if (
            prev_blank
            and _CAPS.fullmatch(line.rstrip())
            and len(line.split()) <= 6
            and _indented_next(lines, i)
        ):
            found.append((i, i, line.strip(), "man", "man"))  # a manual page's NAME, SYNOPSIS, OPTIONS ...
        i += 1
    if sum(1 for f in found if f[4] == "man") < 2:  # one capitalised line is not a manual's structure
        found = [f for f in found if f[3] != "man"]
    # a release is a release whatever adornment names it: an underlined "Version 2.0" and a bare
    # "CHANGES WITH 252:" line in one file are siblings
    found = [
        (a, b, title, style, "release" if style == "rst" and _release_version(title) else key)
        for a, b, title, style, key in found
    ]
    keys = [key for *_, key in found]
    if "release" in keys[1:] and keys[0] != "release" and keys[0] in keys[keys.index("release") :]:
        # a changelog's title ("Python History" over dashes) whose adornment the releases' own sections
        # reuse: the title holds the releases, each release its sections, as docutils cannot tell
        first_release = keys.index("release")
        if keys[0] not in keys[1:first_release]:
            keys[0] = "title"
    depths = _nest(keys)
    out = []
    for j, ((lo, hi, title, style, key), d) in enumerate(zip(found, depths, strict=True)):
        known = fielded.get(j)
        if known is None:
            version = _release_version(title)
            known = {"version": version} if version else {}
        out.append(Heading(offsets[lo], min(offsets[hi + 1], len(text)), title, style, key, d, known))
    return out


_FIELD_LINE = re.compile(r"\W*(?:release|version)[ \t]+(?:date|number|name)\b[^:\n]{0,20}:", re.I)


def _release_version(title: str) -> str | None:
    """The version a release heading names (``v1.2.3``, ``What's New in Python 3.11.4?``), else None."""
    if len(title) > 80 or title.endswith(".") or not any(c.isdigit() for c in title) or _BULLET.match(title):
        return None  # a list item that mentions a version is an entry, not a release heading
    if _FIELD_LINE.match(title):
        return None  # "*Release date: 31-Dec-2002*" is a field of the release above, not a release
    if _RELEASE_BARE.fullmatch(title) or (_RELEASE_KW.fullmatch(title) and _title_like(title, 10)):
        m = re.search(_VERSION, title) or re.search(rf"(?<![\w.\-/#]){_KW_VERSION}\b(?![-/]\d)", title)
        return m.group(0).lstrip("vV") if m else None
    return None


def _indented_next(lines: list[str], i: int) -> bool:
    nxt = next((ln for ln in lines[i + 1 : i + 3] if ln.strip()), "")
    return nxt[:1].isspace()


def _man_subsection(lines: list[str], i: int, found: list[tuple[int, int, str, str, str]]) -> bool:
    """A manual's subsection: a short title indented less than the body under it, after a blank line or
    a section heading (grep(1)'s "   Matching Control" over "       -e PATTERNS ...")."""
    line = lines[i]
    indent = len(line) - len(line.lstrip())
    body = line.strip()
    if not 1 <= indent <= 3 or not body[:1].isupper() or body[-1:] in ".,;:" or len(body.split()) > 8:
        return False
    if _BULLET.match(line) or not (i == 0 or not lines[i - 1].strip() or (found and found[-1][1] == i - 1)):
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    return bool(nxt.strip()) and len(nxt) - len(nxt.lstrip()) >= indent + 3


def _next_top(multi: list[tuple[int, str]], multi_lines: list[int], i: int) -> str | None:
    j = bisect_right(multi_lines, i)
    return multi[j][1] if j < len(multi) else None


def _underline(lines: list[str], i: int) -> bool:
    """A run of ``~`` or backticks under a title line (RST), rather than a code fence opening."""
    rule = lines[i].strip()
    prev = lines[i - 1].strip() if i else ""
    after = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(prev) and not after and len(set(rule)) == 1 and len(rule) >= len(prev)


def _ranked(key: str) -> tuple[str, int] | None:
    for family in ("atx", "num"):
        if key.startswith(family):
            return family, int(key[len(family) :])
    return None


def _nest(keys: list[str]) -> list[int]:
    """Depth of each heading: docutils' rule for plain styles, rank order within ranked families."""
    stack: list[str] = []
    out: list[int] = []
    for key in keys:
        r = _ranked(key)
        if r is not None:
            family, rank = r
            ranked = [(j, _ranked(k)) for j, k in enumerate(stack)]
            same = [(j, rr[1]) for j, rr in ranked if rr is not None and rr[0] == family]
            lower = [j for j, rk in same if rk < rank]
            if lower:
                del stack[lower[-1] + 1 :]
            elif same:
                del stack[same[0][0] :]
        elif key in stack:
            del stack[stack.index(key) :]
        stack.append(key)
        out.append(len(stack))
    return out


def heading_paths(text: str) -> list[tuple[int, int, list[str]]]:
    """``(start, end, heading_path)`` for each heading-delimited section of ``text`` (a preamble first)."""
    heads = find_headings(text)
    if not heads:
        return [(0, len(text), [])]
    out: list[tuple[int, int, list[str]]] = []
    if heads[0].start > 0 and text[: heads[0].start].strip():
        out.append((0, heads[0].start, []))
    path: list[str] = []
    for n, h in enumerate(heads):
        del path[h.depth - 1 :]
        path.append(h.title)
        end = heads[n + 1].start if n + 1 < len(heads) else len(text)
        out.append((h.start, end, list(path)))
    return out
