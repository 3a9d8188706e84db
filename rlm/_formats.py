"""Recognisers for the structure inside a plain-text context: document headers and records.

The strategies count records and group matches by document without a model, so they depend on seeing the
structure. Real contexts come in many shapes (log lines, JSON lines, CSV exports, XML-tagged prompt
documents, markdown files), so each recogniser accepts several common formats and the one that explains
most of the text wins; nothing here is tuned to one generator's output.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator

from deepwell.retrieval import Heading, find_headings

__all__ = ["find_headers", "find_titles", "parse_records", "record_fields", "table_rows"]

# header lines never span lines ([ \t], not \s); a name starts with a word character or a path sign and
# holds no markup (backticks, brackets) and does not end in ',:;', which keeps prose ("section :ref:`x`",
# "document: the one that ... ::") and table rules out
_SP = r"[ \t]*"
_NAME = r"(?P<name>[\w./~@](?:[^\n`()\[\]<>=]*?[^\s,:;`()\[\]<>=])?)"
_SECTION_TAIL = rf"{_SP}(?:\((?:section|part|chapter)\b[^\n]*\))?"
_KIND = r"(?:document|doc|file|source|article|section)\b"
HEADER_FORMATS: tuple[re.Pattern[str], ...] = (
    # === Document: NAME (section: T) ===
    re.compile(rf"^=+{_SP}{_KIND}{_SP}:?{_SP}{_NAME}{_SECTION_TAIL}{_SP}=*{_SP}$", re.M | re.I),
    # Document: NAME
    re.compile(rf"^(?:{_KIND}|title):{_SP}{_NAME}{_SECTION_TAIL}{_SP}$", re.M | re.I),
    # <document name="NAME" ...>  (also doc/file/source with id/title/path/src)
    re.compile(
        rf"^{_SP}<{_KIND}[^>\n]*?\b(?:name|title|id|path|src|source){_SP}={_SP}"
        rf"[\"'](?P<name>[^\"'\n]+)[\"'][^>\n]*>",
        re.M | re.I,
    ),
    # # File: NAME   /  ## Document NAME
    re.compile(rf"^#{{1,4}}{_SP}{_KIND}{_SP}:?{_SP}{_NAME}{_SECTION_TAIL}{_SP}$", re.M | re.I),
    # --- File: NAME ---   /  ----- NAME -----
    re.compile(
        rf"^-{{3,}}{_SP}(?:{_KIND}{_SP}:?{_SP})?{_NAME}{_SECTION_TAIL}{_SP}-{{3,}}{_SP}$", re.M | re.I
    ),
    # [Document: NAME]
    re.compile(rf"^\[{_SP}{_KIND}{_SP}:?{_SP}{_NAME}{_SECTION_TAIL}{_SP}\]{_SP}$", re.M | re.I),
)


def find_headers(text: str) -> list[tuple[int, str]]:
    """(offset, document name) of the most frequent kind of header line, if one kind repeats."""
    best: list[re.Match[str]] = []
    for rx in HEADER_FORMATS:
        found = list(rx.finditer(text))
        if len(found) >= 2 and len(found) > len(best):
            best = found
    return [(m.start(), m.group("name").strip().strip("\"'")) for m in best]


def find_titles(text: str) -> list[tuple[int, str]]:
    """(offset, title) of one file's top-level sections: markdown ``#`` headings, else RST titles.

    The fallback when no document header repeats, so a question about "which section" still has an answer
    over one long markdown or reStructuredText file. Headings come from the shared rule
    (``deepwell.retrieval.find_headings``: none inside code fences); to cut a file into documents a
    markdown title must also stand between blank lines and not lead into a block with ':', and an RST
    title must be followed by a blank line.
    """
    # titles must cut the text into sections of readable size; a handful of heading-like lines in megabytes
    # of text are stray comments, not the file's structure
    enough = max(2, len(text) // 50_000)

    def spaced(h: Heading) -> bool:
        nl = text.find("\n", h.end)
        after = text[h.end : nl if nl >= 0 else len(text)]
        before = text[max(0, h.start - 2) : h.start] in ("", "\n", "\n\n")  # the start, or a blank line
        return before and not after.strip() and not h.title.endswith((":", ",", ";"))

    heads = find_headings(text)
    md = [h for h in heads if h.style == "atx" and spaced(h)]
    for key in ("atx1", "atx2"):
        found = [(h.start, h.title) for h in md if h.key == key]
        if len(found) >= enough:
            return found
    rst = [h for h in heads if h.style == "rst" and spaced(h)]
    if rst:
        top = rst[0].key  # reStructuredText: the first adornment seen is the top level
        found = [(h.start, h.title) for h in rst if h.key == top]
        if len(found) >= enough:
            return found
    return []


_KV_COLON = re.compile(r"(?P<key>[A-Za-z_][\w ]{0,20}?)\s*:\s*(?P<value>[^|;\t]+?)\s*(?=\||;|\t|$)")
_KV_EQUALS = re.compile(
    r"(?<![\w.])(?P<key>[A-Za-z_][\w.-]{0,30})=(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^\s,;|]+)"
)
_XML_TAG = re.compile(
    r"^\s*<(?P<tag>[A-Za-z_][\w-]*)\b(?P<attrs>[^<>]*?)/?>(?P<body>[^<]*)(?:</(?P=tag)>)?\s*$"
)
_XML_ATTR = re.compile(r"(?P<key>[A-Za-z_][\w-]*)\s*=\s*(?P<q>[\"'])(?P<value>.*?)(?P=q)")


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
    return v.strip()


def _json_line(line: str) -> dict[str, str] | None:
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return {str(k).lower(): str(v) for k, v in obj.items() if isinstance(v, (str, int, float, bool))}


def _xml_line(line: str) -> dict[str, str] | None:
    m = _XML_TAG.match(line)
    if not m:
        return None
    return {a.group("key").lower(): a.group("value").strip() for a in _XML_ATTR.finditer(m.group("attrs"))}


def _kv_line(line: str) -> dict[str, str] | None:
    if line.count("=") >= 2:
        pairs = {m.group("key").lower(): _unquote(m.group("value")) for m in _KV_EQUALS.finditer(line)}
        if len(pairs) >= 2:
            return pairs
    if line.count(":") >= 2:
        return {m.group("key").strip().lower(): _unquote(m.group("value")) for m in _KV_COLON.finditer(line)}
    return None


def record_fields(line: str) -> dict[str, str] | None:
    """The fields of one record line (a JSON object, XML element, ``key: value | ...``, logfmt) or None."""
    line = line.strip()
    if not line:
        return None
    fields = _json_line(line) or _xml_line(line) or _kv_line(line)
    return fields if fields and len(fields) >= 2 else None


def _line_records(lines: list[str]) -> Iterator[dict[str, str]]:
    for raw in lines:
        fields = record_fields(raw)
        if fields:
            yield fields


def _table_head(head: str) -> tuple[str, list[str]] | None:
    delim = next((d for d in ("\t", "|", ",", ";") if head.count(d) >= (3 if d == "|" else 1)), None)
    if delim is None:
        return None
    names = _cells(head, delim)
    if (
        len(names) >= 2
        and len(set(names)) == len(names)
        and all(re.fullmatch(r"[A-Za-z_][\w .-]{0,30}", n) for n in names)
    ):
        return delim, names
    return None


def table_rows(lines: list[str]) -> list[dict[str, str] | None] | None:
    """The rows of a table whose header is ``lines[0]``, aligned with ``lines[1:]`` (None for rule or
    malformed rows); None when the lines are not a table of at least two rows."""
    head = _table_head(lines[0].strip()) if lines else None
    if head is None:
        return None
    delim, names = head
    keys = [n.lower() for n in names]
    out: list[dict[str, str] | None] = []
    for line in lines[1:]:
        cells = _cells(line.strip(), delim)
        if delim == "|" and all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            out.append(None)
        elif len(cells) == len(names):
            out.append(dict(zip(keys, cells, strict=True)))
        else:
            out.append(None)
    return out if sum(r is not None for r in out) >= 2 else None


def _table_records(lines: list[str]) -> Iterator[dict[str, str]]:
    """Rows of delimited tables (CSV, TSV, markdown) under a header line; blank lines end a table."""
    i = 0
    while i < len(lines):
        found = _table_head(lines[i].strip())
        if found is None:
            i += 1
            continue
        delim, names = found
        j = i + 1
        rows: list[dict[str, str]] = []
        while j < len(lines) and lines[j].strip():
            cells = _cells(lines[j].strip(), delim)
            j += 1
            if delim == "|" and all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if len(cells) == len(names):
                rows.append(dict(zip(names, cells, strict=True)))
            elif not rows:
                break  # the line under a would-be header is not a row of it: not a table
            # a malformed row in a table is skipped; the rows after it still count
        if len(rows) >= 2:
            yield from rows
            i = j
        else:
            i += 1


def _cells(line: str, delim: str) -> list[str]:
    if delim == "|":
        return [c.strip() for c in line.strip().strip("|").split("|")]
    return [c.strip() for c in next(csv.reader([line], delimiter=delim, skipinitialspace=True))]


def parse_records(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Structured records in the text: (field names, records) of the largest family sharing its fields.

    A record is a line of ``key: value | key: value``, ``key=value key=value`` (logfmt), a JSON object,
    an XML element with attributes, or a row of a CSV/TSV/markdown table under its header line.
    """
    lines = text.split("\n")
    families: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for source in (_line_records(lines), _table_records(lines)):
        for fields in source:
            fields = {k.strip().lower(): v for k, v in fields.items()}
            families.setdefault(tuple(sorted(fields)), []).append(fields)
    if not families:
        return [], []
    keys = max(families.items(), key=lambda kv: len(kv[1]))[0]
    # free text in a record (a note quoting "a:b") can add stray keys; those lines are records too
    rows = [r for ks, rs in families.items() if set(ks) >= set(keys) for r in rs]
    return list(keys), rows
