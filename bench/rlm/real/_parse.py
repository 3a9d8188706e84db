"""Independent parsers for the real corpora: the ground truth of the real-document benchmark.

These are deliberately simple, line-based readers written for this benchmark alone. They must never
import ``deepwell.rlm`` (a test greps for it): the benchmark's answers have to come from a second,
independent reading of the raw files, or it would only measure the engine against itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

__all__ = [
    "DebianBlock",
    "NewsEntry",
    "NewsRelease",
    "NodeCommit",
    "NodeRelease",
    "PolicySection",
    "PyClass",
    "PyModule",
    "parse_debian_changelog",
    "parse_news",
    "parse_node_changelog",
    "parse_policy",
    "parse_python_module",
]

# Debian changelogs (deb-changelog(5)) ----------------------------------------------------------------
_DEB_HEAD = re.compile(r"^(\S+) \(([^()\s]+)\) ([^;]*);(.*)$")
_DEB_TRAILER = re.compile(r"^ -- (.*?) <([^>]*)>\s+(.+?)\s*$")
_DEB_ITEM = re.compile(r"^  \* ")


@dataclass
class DebianBlock:
    """One upload: its header, ``  * `` items, and the `` -- Name <email>  date`` trailer."""

    package: str
    version: str
    distribution: str
    urgency: str
    text: str
    entries: list[str] = field(default_factory=list)
    maintainer: str = ""
    email: str = ""
    date: str = ""

    @property
    def year(self) -> int | None:
        m = re.search(r"\b(19|20)\d\d\b", self.date)
        return int(m.group()) if m else None


def parse_debian_changelog(text: str) -> list[DebianBlock]:
    """Blocks in file order. Entries are the top-level ``  * `` items (sub-items ``    -`` are not counted);
    an item's text runs until the next item, blank line or trailer."""
    blocks: list[DebianBlock] = []
    cur: DebianBlock | None = None
    lines: list[str] = []
    in_item = False
    for line in text.splitlines():
        head = _DEB_HEAD.match(line)
        if head:
            if cur is not None:
                cur.text = "\n".join(lines)
            kv = dict(re.findall(r"(\w[\w-]*)=([\w.+-]+)", head.group(4)))
            cur = DebianBlock(head.group(1), head.group(2), head.group(3).strip(), kv.get("urgency", ""), "")
            blocks.append(cur)
            lines, in_item = [line], False
            continue
        if cur is None:
            continue
        lines.append(line)
        trailer = _DEB_TRAILER.match(line)
        if trailer:
            cur.maintainer, cur.email, cur.date = (g.strip() for g in trailer.groups())
            in_item = False
        elif _DEB_ITEM.match(line):
            cur.entries.append(line[4:].strip())
            in_item = True
        elif in_item and line.startswith("    ") and line.strip():
            cur.entries[-1] += " " + line.strip()
        elif not line.strip():
            in_item = False
    if cur is not None:
        cur.text = "\n".join(lines)
    return blocks


# Python source -----------------------------------------------------------------------------------
@dataclass
class PyClass:
    name: str
    bases: list[str]
    methods: list[str]


@dataclass
class PyModule:
    """Top level of one module: its functions (with parameter defaults) and classes (with methods)."""

    name: str
    functions: list[str]
    classes: list[PyClass]
    defaults: dict[tuple[str, str], str]  # (function, parameter) -> default, source text


def parse_python_module(name: str, source: str) -> PyModule | None:
    """``None`` when the file does not parse. Methods are the defs directly in a class body."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    functions: list[str] = []
    classes: list[PyClass] = []
    defaults: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node.name)
            args = node.args
            positional = args.posonlyargs + args.args
            with_default = positional[len(positional) - len(args.defaults) :]
            for arg, default in zip(with_default, args.defaults, strict=True):
                defaults[(node.name, arg.arg)] = ast.unparse(default)
            for arg, kwdefault in zip(args.kwonlyargs, args.kw_defaults, strict=False):
                if kwdefault is not None:
                    defaults[(node.name, arg.arg)] = ast.unparse(kwdefault)
        elif isinstance(node, ast.ClassDef):
            methods = [n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            classes.append(PyClass(node.name, [ast.unparse(b) for b in node.bases], methods))
    return PyModule(name, functions, classes, defaults)


# Numbered manuals (Debian Policy as Sphinx renders it to text) ------------------------------------
_NUMBERED = re.compile(r"^((?:\d+|[A-Z])(?:\.\d+)*)\. (\S.*)$")
_RULE = re.compile(r"^([*=\-~^\"'+#])\1+$")


@dataclass
class PolicySection:
    number: str  # "3.2.1"
    title: str
    start: int  # line index of the heading
    body: str = ""

    @property
    def parent(self) -> str:
        return self.number.rpartition(".")[0]

    @property
    def depth(self) -> int:
        return self.number.count(".") + 1


def parse_policy(text: str) -> list[PolicySection]:
    """Numbered headings: ``N.N. Title`` directly underlined by a rule of the same length.

    The table of contents (``* 1.1. Scope``) and numbered list items (no underline) are not headings."""
    lines = text.splitlines()
    sections: list[PolicySection] = []
    for i, line in enumerate(lines[:-1]):
        m = _NUMBERED.match(line)
        if m and _RULE.match(lines[i + 1]) and len(lines[i + 1]) == len(line):
            sections.append(PolicySection(m.group(1), m.group(2).strip(), i))
    for a, b in zip(sections, [*sections[1:], None], strict=False):
        end = b.start if b is not None else len(lines)
        a.body = "\n".join(lines[a.start + 2 : end])
    return sections


# Python's NEWS / HISTORY (release -> section -> entry) ---------------------------------------------
_RELEASE = re.compile(r"^What's New in (?:Python )?(.+?)\??\s*$")
_ENTRY_ID = re.compile(r"^(gh-issue-\d+|bpo-\d+|Issue #\d+):")
_CREDIT = re.compile(r"\b(?:Patch|Contributed|Original patch|Initial patch) by ([^.;()]+?)\.?\s*$")


@dataclass
class NewsEntry:
    text: str  # the entry's text, wrapped lines joined

    @property
    def ident(self) -> str | None:
        m = _ENTRY_ID.match(self.text)
        return m.group(1) if m else None

    @property
    def credit(self) -> str | None:
        """The name(s) after a final ``Patch by`` / ``Contributed by``; ``None`` when absent."""
        m = _CREDIT.search(self.text)
        return " ".join(m.group(1).split()) if m else None


@dataclass
class NewsRelease:
    title: str  # "3.11.0 beta 1" (the heading without "What's New in Python" and "?")
    heading: str  # the heading line as written
    date: str
    sections: dict[str, list[NewsEntry]] = field(default_factory=dict)


def parse_news(text: str) -> list[NewsRelease]:
    """Releases are ``What's New in Python X?`` lines underlined with ``=``; sections are lines underlined
    with ``-``; entries are paragraphs starting with ``- `` at column 0 inside a section."""
    lines = text.splitlines()
    releases: list[NewsRelease] = []
    section: list[NewsEntry] | None = None
    entry: NewsEntry | None = None
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        m = _RELEASE.match(line)
        if m and nxt.startswith("===") and len(nxt.strip()) == len(line.strip()):
            releases.append(NewsRelease(m.group(1).strip(), line.strip(), ""))
            section, entry = None, None
            continue
        if not releases:
            continue
        rel = releases[-1]
        if line.strip() and nxt.startswith("---") and set(nxt.strip()) == {"-"} and len(nxt) == len(line):
            section = rel.sections.setdefault(line.strip(), [])
            entry = None
            continue
        d = re.match(r"^\*?Release date: (\d{4}-\d\d-\d\d)", line)
        if d and not rel.date:
            rel.date = d.group(1)
        if section is None:
            continue
        if line.startswith("- "):
            entry = NewsEntry(line[2:].strip())
            section.append(entry)
        elif entry is not None and line.startswith("  ") and line.strip():
            entry.text += " " + line.strip()
        elif not line.strip():
            entry = None
    return releases


# Node.js changelogs (markdown: release -> section -> commit entry) ---------------------------------
_NODE_RELEASE = re.compile(
    r"^## (\d{4}-\d\d-\d\d), (?:io\.js )?Version (\d+\.\d+\.\d+)(?: '([^']+)')?(?: \(([^)]*)\))?,? @?(\S+)?"
)
_NODE_COMMIT = re.compile(
    r"^\* \\\[\[`([0-9a-f]{7,12})`\]\([^)]*\)\] - (?:\*\*\(SEMVER-\w+\)\*\* )?(?:\*\*([^*]+?)\*\*: )?(.*)$"
)
_NODE_AUTHOR = re.compile(r"\(([^()]+(?:\([^()]*\))?[^()]*)\)\s*(?:\[#\d+\]\([^)]*\)|<[^>]*>)?\s*$")


@dataclass
class NodeCommit:
    sha: str
    subsystem: str | None  # the bold label, markdown escapes removed ("test_runner")
    message: str
    author: str | None
    prs: tuple[str, ...]


@dataclass
class NodeRelease:
    version: str  # "18.15.0"
    date: str  # "2023-03-07"
    codename: str | None
    releaser: str | None  # "@BethGriggs"
    sections: dict[str, list[NodeCommit]] = field(default_factory=dict)


def _unescape_md(s: str) -> str:
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", r"\1", s)


def parse_node_changelog(text: str) -> list[NodeRelease]:
    """Releases are ``## YYYY-MM-DD, Version X.Y.Z ...`` headings; sections are ``###`` headings (a
    ``####`` heading starts a sub-part that is not counted in its section); entries are ``* \\[[`sha`]...``
    commit lines directly under a ``###`` section."""
    releases: list[NodeRelease] = []
    section: list[NodeCommit] | None = None
    for line in text.splitlines():
        m = _NODE_RELEASE.match(line)
        if m:
            releases.append(NodeRelease(m.group(2), m.group(1), m.group(3), m.group(5)))
            section = None
            continue
        if line.startswith("# ") or (line.startswith("## ") and not m):
            section = None
            continue
        if not releases:
            continue
        if line.startswith("### "):
            section = releases[-1].sections.setdefault(_unescape_md(line[4:].strip()), [])
            continue
        if line.startswith("#### "):
            section = None
            continue
        c = _NODE_COMMIT.match(line)
        if c and section is not None:
            rest = c.group(3)
            a = _NODE_AUTHOR.search(rest)
            prs = tuple(re.findall(r"\[#(\d+)\]", rest))
            sub = _unescape_md(c.group(2)).strip() if c.group(2) else None
            author = _unescape_md(a.group(1)).strip() if a else None
            section.append(NodeCommit(c.group(1), sub, _unescape_md(rest), author, prs))
    return releases
