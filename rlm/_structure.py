"""A structure model of any long text: files, sections at every level, and the entries under them.

Questions about a long text are mostly about where something sits ("under which release and section is
gh-1234 listed?"), how much a part holds ("how many entries does 2.1-3 list?") or who is credited. A grep
finds the line; only the tree says that the line is an entry inside a section inside a release. The tree
is built once per context in one pass over its lines:

- sections from ``deepwell.retrieval.find_headings`` (the heading rule chunking uses too): markdown,
  setext and reStructuredText adornments, numbered headings and clauses, release headings (with their
  ``version`` field), Debian changelog blocks (their `` -- Name <email>  date`` trailer becomes the
  block's fields), GNU ChangeLog and ``git log`` headers, a rendered manual page's sections;
- Python source (a ``.py`` name, or text with defs/classes) as class → def: statements found by
  indentation with strings and comments masked, each header parsed by ``ast`` (equal to ``ast``'s tree on
  the standard library, at a sixth of the cost of parsing whole modules);
- email and mbox messages with their headers as fields;
- leaves: list items and entries (continuation lines belong to their item, nested bullets too; a short
  label over a nested list, such as "* Bug fixes", becomes a section of its own), Debian ``[ Name ]``
  groups, and records (JSON / XML / ``key: value`` lines, table rows) as ``_formats`` reads them.

Several documents (a directory) keep one ``file`` node per document at the top.

Beyond RLM_API.md: ``Tree.path`` includes the node's own title when the node is not a leaf (a section's
path ends with itself; an entry's path is its enclosing sections); ``Tree.leaf_count``, ``Tree.summary``,
``Tree.describe``, ``Tree.walk``, ``Tree.innermost``, ``entry_fields`` and ``node_dict`` for the tools;
``entries`` filters case-insensitively on the leaf's text and field values. Entries under a release or
Debian block have kind ``entry``, other list items ``item``.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from deepwell.core.errors import InputError
from deepwell.retrieval import find_headings
from deepwell.retrieval.documents import compile_pattern
from deepwell.rlm._formats import record_fields, table_rows

__all__ = ["LEAF_KINDS", "Match", "Node", "Tree", "build_tree", "entry_fields", "node_dict"]

_PLURAL = {"entry": "entries", "class": "classes", "def": "defs"}
LEAF_KINDS = frozenset({"entry", "item", "record"})


@dataclass(eq=False)
class Node:
    id: str
    kind: str
    title: str
    level: int
    start: int
    end: int
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Node({self.id!r}, {self.kind!r}, {self.title[:40]!r}, {self.start}..{self.end})"

    def add(self, child: Node) -> Node:
        child.parent = self
        self.children.append(child)
        return child


@dataclass
class Match:
    node: Node
    path: list[str]
    offset: int
    line: str


def node_dict(tree: Tree, node: Node, *, path: bool = True) -> dict[str, Any]:
    """A node as JSON for a tool result: id, kind, title, span, fields, leaf count and path."""
    d: dict[str, Any] = {"id": node.id, "kind": node.kind, "title": node.title[:200]}
    if node.kind not in LEAF_KINDS:
        d["entries"] = tree.leaf_count(node)
    d["start"], d["end"] = node.start, node.end
    if node.fields:
        d["fields"] = node.fields
    if path:
        d["path"] = tree.path(node)
    return d


class Tree:
    """The parsed structure of a context; every method reads the prebuilt nodes, none re-parses."""

    def __init__(self, root: Node, text: str) -> None:
        self.root = root
        self.text = text
        self._by_id: dict[str, Node] = {}
        self._leaves: dict[int, int] = {}
        self._starts: dict[int, list[int]] = {}
        self._number(root, "0", 0)

    def _number(self, root: Node, rid: str, level: int) -> None:
        stack = [(root, rid, level)]
        order: list[Node] = []
        while stack:
            node, nid, lv = stack.pop()
            node.id, node.level = nid, lv
            self._by_id[nid] = node
            order.append(node)
            stack.extend((c, f"{nid}.{i}", lv + 1) for i, c in enumerate(node.children))
        for node in reversed(order):
            self._leaves[id(node)] = (
                1 if node.kind in LEAF_KINDS else sum(self._leaves[id(c)] for c in node.children)
            )

    def node(self, node_id: str) -> Node:
        n = self._by_id.get(str(node_id).strip())
        if n is None:
            raise InputError(
                f"No node {node_id!r} in the structure; ids look like '0.3.2' (use outline or children)."
            )
        return n

    def leaf_count(self, node: Node) -> int:
        """How many entries, items and records sit under the node (the node itself if it is one)."""
        return self._leaves[id(node)]

    def path(self, node: Node) -> list[str]:
        out: list[str] = []
        n: Node | None = node if node.kind not in LEAF_KINDS else node.parent
        while n is not None and n.kind != "root":
            if n.kind not in LEAF_KINDS:
                out.append(n.title)
            n = n.parent
        return out[::-1]

    def walk(self, node: Node | None = None) -> list[Node]:
        """Every node under ``node`` (default: the root), in document order."""
        out: list[Node] = []
        stack = [node or self.root]
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(reversed(n.children))
        return out

    def outline(self, depth: int = 2) -> list[Node]:
        """The non-leaf nodes down to ``depth`` levels below the root, in document order."""
        out: list[Node] = []
        stack = list(reversed(self.root.children))
        while stack:
            n = stack.pop()
            if n.kind in LEAF_KINDS or n.level > depth:
                continue
            out.append(n)
            stack.extend(reversed(n.children))
        return out

    def innermost(self, offset: int) -> Node:
        """The deepest node whose span holds ``offset``."""
        n = self.root
        while n.children:
            starts = self._starts.get(id(n))
            if starts is None:
                starts = self._starts[id(n)] = [c.start for c in n.children]
            i = bisect_right(starts, offset) - 1
            if i < 0 or not (n.children[i].start <= offset < max(n.children[i].end, n.children[i].start + 1)):
                break
            n = n.children[i]
        return n

    def locate(
        self, pattern: str, *, regex: bool = False, case: bool = False, limit: int = 200
    ) -> list[Match]:
        """Every match of ``pattern`` (a literal unless ``regex``), with its innermost node and path."""
        if not pattern:
            raise InputError("The pattern is empty; pass a word or an id such as 'gh-1234'.")
        rx = compile_pattern(pattern if regex else re.escape(pattern), ignore_case=not case)
        out: list[Match] = []
        for m in rx.finditer(self.text):
            node = self.innermost(m.start())
            a = self.text.rfind("\n", 0, m.start()) + 1
            b = self.text.find("\n", m.start())
            line = self.text[a : b if b >= 0 else len(self.text)]
            out.append(Match(node, self.path(node), m.start(), line.strip()[:300]))
            if len(out) >= limit:
                break
        return out

    def children(self, node_id: str) -> list[tuple[Node, int]]:
        return [(c, self.leaf_count(c)) for c in self.node(node_id).children]

    def entries(self, node_id: str, filter: str | None = None) -> list[Node]:
        """Leaves under the node; with ``filter``, those whose text or field values contain it (any case)."""
        leaves = [n for n in self.walk(self.node(node_id)) if n.kind in LEAF_KINDS]
        if not filter:
            return leaves
        f = filter.lower()
        return [
            n
            for n in leaves
            if f in self.text[n.start : n.end].lower() or any(f in v.lower() for v in n.fields.values())
        ]

    def fields(self, node_id: str) -> dict[str, str]:
        return dict(self.node(node_id).fields)

    def summary(self) -> dict[str, int]:
        """How many nodes of each kind the tree holds (the root excluded)."""
        return dict(Counter(n.kind for n in self.walk() if n.kind != "root").most_common())

    def describe(self) -> str:
        """One line on the detected structure, for the root model's view of the context."""
        counts = self.summary()
        if not counts:
            return "no structure detected (plain text)"
        depth = max((n.level for n in self.walk() if n.kind not in LEAF_KINDS), default=0)
        parts = [f"{v} {k if v == 1 else _PLURAL.get(k, k + 's')}" for k, v in counts.items()]
        return ", ".join(parts) + f"; headings nest {depth} deep"


# ---------------------------------------------------------------------------------------------- parsing


def build_tree(documents: list[tuple[str, str]]) -> Tree:
    """The tree of one text (sections at the top) or of several documents (one ``file`` node each)."""
    if not documents:
        raise InputError("Nothing to build a structure from; pass at least one (name, text) document.")
    text = "\n\n".join(t for _, t in documents)
    root = Node("0", "root", "", 0, 0, len(text))
    if len(documents) == 1:
        name, body = documents[0]
        _parse_document(name, body, 0, root)
    else:
        pos = 0
        for name, body in documents:
            f = root.add(Node("", "file", name, 1, pos, pos + len(body)))
            _parse_document(name, body, pos, f)
            pos += len(body) + 2
    return Tree(root, text)


def _parse_document(name: str, text: str, base: int, parent: Node) -> None:
    if _looks_python(name, text):
        probe = Node("", "root", "", 0, base, base + len(text))
        if _python(text, base, probe) or name.endswith((".py", ".pyi")):
            for c in probe.children:
                parent.add(c)
            return
    if _MBOX_FROM.match(text) or len(_MBOX_FROM.findall(text[:200_000])) >= 2:
        _messages(text, base, parent)
        return
    if (head := _HEADER_BLOCK.match(text)) and _MAIL_HEADER.search(head.group(0)):
        _message(text, 0, len(text), base, parent)
        return
    _generic(text, 0, len(text), base, parent)


def _generic(text: str, a: int, b: int, base: int, parent: Node) -> None:
    """Sections from the shared heading rule over ``text[a:b]``, with their leaves."""
    body = text[a:b]
    heads = find_headings(body)
    stack: list[tuple[int, Node, bool]] = []  # (depth, node, changelog?)
    prev_end = 0
    for h in heads:
        _leaves(
            body, prev_end, h.start, base + a, stack[-1][1] if stack else parent, bool(stack and stack[-1][2])
        )
        while stack and stack[-1][0] >= h.depth:
            stack.pop()
        holder = stack[-1][1] if stack else parent
        node = holder.add(Node("", "section", h.title, 0, base + a + h.start, base + a + h.start))
        if h.fields:
            node.fields.update(h.fields)
        is_log = h.style == "debian" or h.release or bool(stack and stack[-1][2])
        stack.append((h.depth, node, is_log))
        prev_end = h.end
    _leaves(
        body, prev_end, len(body), base + a, stack[-1][1] if stack else parent, bool(stack and stack[-1][2])
    )
    _close_spans(parent, base + b)


def _close_spans(parent: Node, end: int) -> None:
    """A section runs to the start of its next sibling, the last one to its parent's end."""
    kids = parent.children
    for i, c in enumerate(kids):
        if c.kind == "section" and c.end == c.start:  # a heading's section, not yet closed
            c.end = kids[i + 1].start if i + 1 < len(kids) else end
            _close_spans(c, c.end)


_BULLET = re.compile(r"(?P<ind>[ \t]*)(?P<b>[*+\-•]|\d{1,3}[.)]|\(?[a-z][.)])[ \t]+(?P<text>\S.*)")
_TRAILER = re.compile(r" -- (?P<author>.+?) <(?P<email>[^<>\s]+)>[ \t]+(?P<date>\S.*?)[ \t]*")
_GROUP = re.compile(r"[ \t]+\[[ \t]*(?P<name>[^\[\]]+?)[ \t]*\][ \t]*")
_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})")


def _leaves(text: str, a: int, b: int, base: int, parent: Node, changelog: bool) -> None:
    """Items, entries, groups, records and trailers in one section body ``text[a:b]``."""
    if a >= b:
        return
    kind = "entry" if changelog else "item"
    holder = parent
    item: list[int] | None = None  # [start, end, indent]
    blank = False
    fenced = False
    table: list[tuple[int, int, str]] = []

    def close() -> None:
        nonlocal item
        if item is not None:
            s, e = item[0], item[1]
            raw = text[s:e]
            m = _BULLET.match(raw)
            first = (m.group("text") if m else raw).split("\n", 1)[0].strip()
            nl = raw.find("\n")
            if parent.fields.get("package") is None and nl > 0 and _is_label(first, raw[nl + 1 :], item[2]):
                # "* Bug fixes" over a nested list labels a group, as a heading would; the Debian format
                # defines each '*' line as one change, so there a line over sub-bullets stays one entry
                group = holder.add(
                    Node("", "section", first, 0, base + s, base + e, fields={"label": "list"})
                )
                _leaves(text, s + nl + 1, e, base, group, changelog)
                item = None
                return
            node = holder.add(Node("", kind, first[:200], 0, base + s, base + e, fields=entry_fields(raw)))
            if "contributor" in holder.fields and holder is not parent:
                node.fields.setdefault("contributor", holder.fields["contributor"])
            item = None

    def flush_table() -> None:
        if len(table) >= 3:
            rows = table_rows([t for _, _, t in table])
            if rows is not None:
                for (s, e, _), row in zip(table[1:], rows, strict=False):
                    if row is not None:
                        holder.add(
                            Node("", "record", text[s:e].strip()[:200], 0, base + s, base + e, fields=row)
                        )
                table.clear()
                return
        for s, e, line in table:
            rec = record_fields(line)
            if rec:
                holder.add(Node("", "record", line.strip()[:200], 0, base + s, base + e, fields=rec))
        table.clear()

    pos = a
    while pos < b:
        nl = text.find("\n", pos, b)
        end = b if nl < 0 else nl
        line = text[pos:end]
        start, pos = pos, end + 1
        stripped = line.strip()
        if ("```" in line or "~~~" in line) and _FENCE.match(line):
            if not fenced and item is not None and blank and len(line) - len(line.lstrip()) <= item[2]:
                close()  # a fence at the item's indent after a blank line ends the item
            fenced, blank = not fenced, False
            if item is not None:
                item[1] = end
            continue
        if fenced:
            if item is not None:
                item[1] = end
            continue
        if not stripped:
            blank = True
            if table:
                flush_table()
            continue
        indent = len(line) - len(line.lstrip())
        if changelog and line.startswith(" -- ") and (t := _TRAILER.fullmatch(line)):
            close()
            flush_table()
            if "author" not in parent.fields:  # a block's own trailer comes first; later ones are history
                parent.fields.update({k: v.strip() for k, v in t.groupdict().items()})
            if holder is not parent:
                holder.end = base + start
            holder, blank = parent, False
            continue
        if changelog and "[" in line and (g := _GROUP.fullmatch(line)):
            close()
            if holder is not parent:
                holder.end = base + start
            name = g.group("name")
            holder = parent.add(Node("", "section", f"[ {name} ]", 0, base + start, base + end))
            holder.fields["contributor"] = name
            blank = False
            continue
        m = _BULLET.match(line)
        if m and not (item is not None and indent > item[2]) and not _RULE_LINE.fullmatch(stripped):
            close()
            flush_table()
            item = [start, end, indent]
            blank = False
            continue
        if item is not None and (indent > item[2] or not blank):
            item[1] = end
            blank = False
            continue
        close()
        blank = False
        meta = _META.fullmatch(stripped) if holder is parent and parent.kind == "section" else None
        if meta and not parent.children:  # "*Release date: 2023-05-22*" under a heading
            parent.fields.setdefault(meta.group("key").strip().lower(), meta.group("value"))
        table.append((start, end, line))
        if holder is not parent:
            holder.end = max(holder.end, base + end)
    close()
    flush_table()
    if holder is not parent:
        holder.end = max(holder.end, holder.children[-1].end if holder.children else holder.end)


def _is_label(first: str, rest: str, indent: int) -> bool:
    """A short, unpunctuated first line whose item holds only a nested list."""
    # a numbered entry over a nested list is a table of contents line, not a category
    if len(first.split()) > 5 or first[-1:] in ".:;,!?)`" or first[:1].isdigit() or not rest.strip():
        return False
    lines = [ln for ln in rest.split("\n") if ln.strip()]
    first_nested = lines[0]
    lead = len(first_nested) - len(first_nested.lstrip())
    return lead > indent and bool(_BULLET.match(first_nested))


_META = re.compile(r"[*_]*(?P<key>[A-Z][A-Za-z]+(?: [a-z]+){0,2}):[ \t]+(?P<value>[^*_\s][^*_]*?)[*_]*")
_RULE_LINE = re.compile(r"([-*_=+~#])\1{2,}|(?:[-*_] ){2,}[-*_]")
_CREDIT_VERBS = frozenset(
    [
        "patch",
        "patches",
        "contributed",
        "thanks",
        "reported",
        "written",
        "reviewed",
        "suggested",
        "fixed",
        "implemented",
        "authored",
    ]
)
_WHO = re.compile(r"[^.;:()\n]*[^.;:()\s]")
# each with a literal prefix, so the scan over a long entry is a fast search rather than a regex per char
_ISSUES = tuple(
    (literal, re.compile(p))
    for literal, p in (
        ("gh-", r"gh-(?:issue-)?\d+\b"),
        ("GH-", r"GH-\d+\b"),
        ("bpo-", r"bpo-\d+\b"),
        ("CVE-", r"CVE-\d{4}-\d{3,}\b"),
        ("#", r"#\d{2,}\b"),
        ("LP:", r"LP:[ \t]*#\d+"),
    )
)
_CLOSES = re.compile(r"loses:\s*((?:#?\d+[,\s]*)+)")  # after a C or c, checked where it is used
_KV = re.compile(r"[ \t]*(?P<key>[A-Za-z][A-Za-z _-]{0,30}?)[ \t]*:[ \t]+(?P<value>\S.*?)[ \t]*")


def _credits(flat: str) -> list[tuple[int, str, str]]:
    """(position, "Patch by X", "X") for each credit phrase, found from its " by " / " to "."""
    out = []
    for word in (" by ", " to "):
        i = flat.find(word)
        while i >= 0:
            j = flat.rfind(" ", 0, i) + 1
            if flat[j:i].lower() in _CREDIT_VERBS and (who := _WHO.match(flat, i + 4)):
                k = flat.rfind(" ", 0, j - 1) + 1 if j else 0
                if j and flat[k : j - 1].lower() in ("original", "initial"):
                    j = k
                out.append((j, flat[j : who.end()], who.group(0).strip()))
            i = flat.find(word, i + 1)
    return sorted(out)


def _issue_matches(flat: str) -> list[tuple[int, re.Match[str]]]:
    found = (
        (m.start(), m)
        for literal, rx in _ISSUES
        if literal in flat
        for m in rx.finditer(flat)
        if not (
            m.group(0)[0] == "#"
            and m.start()
            and (flat[m.start() - 1].isalnum() or flat[m.start() - 1] in "&_")
        )
    )
    return sorted(found, key=lambda x: x[0])


def entry_fields(raw: str) -> dict[str, str]:
    """What an entry says about itself: credits, issue ids, ``Closes:`` bugs, ``key: value`` lines."""
    flat = " ".join(raw.split()) if len(raw) < 4000 else raw.replace("\n", " ")
    out: dict[str, str] = {}
    credits = _credits(flat)
    if credits:
        out["credit"] = "; ".join(c for _, c, _ in credits)
        out["credited"] = "; ".join(w for _, _, w in credits)
    issues = list(
        dict.fromkeys(
            m.group(0).replace(" ", "").replace("gh-issue-", "gh-") for _, m in _issue_matches(flat)
        )
    )
    if issues:
        out["issues"] = ", ".join(issues)
        cves = [i for i in issues if i.startswith("CVE-")]
        if cves:
            out["cve"] = ", ".join(cves)
    closes = (
        []
        if "loses:" not in flat
        else [
            f"#{n}"
            for m in _CLOSES.finditer(flat)
            if m.start() and flat[m.start() - 1] in "Cc"
            for n in re.findall(r"\d+", m.group(1))
        ]
    )
    if closes:
        out["closes"] = ", ".join(dict.fromkeys(closes))
    kv = 0
    for line in raw.split("\n")[1:]:
        if ": " not in line or _BULLET.match(line):
            continue
        m = _KV.fullmatch(line)
        if m and not any(ch.isdigit() for ch in m.group("key")) and kv < 20:
            out.setdefault(m.group("key").strip().lower(), m.group("value"))
            kv += 1
    return out


# ------------------------------------------------------------------------------------------- python

_PY_HINT = re.compile(r"^(?:def |class |import |from \S+ import |async def |@\w)", re.M)


def _looks_python(name: str, text: str) -> bool:
    if name.endswith((".py", ".pyi")):
        return True
    if "." in name.rsplit("/", 1)[-1] and not name.endswith((".txt", ".text")):
        return False
    hints = _PY_HINT.findall(text[:100_000])
    return len(hints) >= 2 and sum(1 for h in hints if h.startswith(("def", "class", "async"))) >= 1


# strings and comments, so that a "def" inside a docstring is not a definition; triple quotes first
_PY_MASK = re.compile(
    r'"""(?:\\.|[^\\])*?"""'
    r"|'''(?:\\.|[^\\])*?'''"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'"
    r"|#[^\n]*",
    re.S,
)
_PY_DEF = re.compile(r"(?:async[ \t]+)?(def|class)[ \t]+(\w+)")
_DOCSTRING = re.compile(r"\s*[rRuU]?(\"\"\"|'''|\"|')((?:\\.|(?!\1).)*)", re.S)


def _blank(m: re.Match[str]) -> str:
    s = m.group(0)
    return " " * len(s) if "\n" not in s else "\n".join(" " * len(p) for p in s.split("\n"))


def _python(text: str, base: int, parent: Node) -> bool:
    """Python source as class → def, from one pass over its lines with strings and comments masked.

    ``ast.parse`` of a whole module costs about a second per megabyte, too slow for a context of a
    million tokens; statements are found by indentation here, and ``ast`` parses each ``def`` / ``class``
    header for its parameters and bases. False when no definition is found.
    """
    masked = _PY_MASK.sub(_blank, text)
    stack: list[tuple[int, Node]] = []  # (indent, node)
    depth = 0  # open brackets: lines inside them continue a statement
    decorators: list[tuple[int, str]] = []  # (offset, source) of '@' lines waiting for their def
    pos = 0
    found = False
    for line in masked.split("\n"):
        start, pos = pos, pos + len(line) + 1
        body = line.lstrip()
        if not body:
            continue
        if depth == 0:
            indent = len(line) - len(body)
            while stack and stack[-1][0] >= indent:
                stack.pop()[1].end = base + (decorators[0][0] if decorators else start)
            if body.startswith("@"):
                decorators.append((start, text[start + indent : pos - 1].strip()))
            elif m := _PY_DEF.match(body):
                holder = stack[-1][1] if stack else parent
                node = holder.add(_definition(text, masked, start + indent, m, decorators))
                node.start = base + (decorators[0][0] if decorators else start)
                node.end = base + len(text)
                stack.append((indent, node))
                decorators, found = [], True
            else:
                decorators = []
        opened = line.count("(") + line.count("[") + line.count("{")
        depth = max(0, depth + opened - line.count(")") - line.count("]") - line.count("}"))
    return found


def _definition(text: str, masked: str, at: int, m: re.Match[str], decorators: list[tuple[int, str]]) -> Node:
    """A def or class node, its header parsed by ``ast`` (parameters, bases) and its docstring's line."""
    kind, name = m.group(1), m.group(2)
    depth, i = 0, at
    while i < len(masked):  # the header ends at the ':' outside brackets
        ch = masked[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth <= 0:
            break
        i += 1
    node = Node("", "class" if kind == "class" else "def", name, 0, 0, 0)
    try:
        st: ast.stmt | None = ast.parse(text[at : i + 1] + " pass").body[0]
    except (SyntaxError, ValueError, IndexError):
        st = None
    if isinstance(st, ast.ClassDef):
        if st.bases:
            node.fields["bases"] = ", ".join(ast.unparse(x) for x in st.bases)
    elif isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = st.args
        params = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        params += [f"*{a.vararg.arg}"] if a.vararg else []
        params += [f"**{a.kwarg.arg}"] if a.kwarg else []
        node.title = f"{name}({', '.join(params)})"
        node.fields.update({"name": name, "params": ", ".join(params)})
        if isinstance(st, ast.AsyncFunctionDef):
            node.fields["async"] = "yes"
    elif kind == "def":
        node.title = f"{name}(...)"
        node.fields["name"] = name
    if decorators:
        node.fields["decorators"] = ", ".join(d.lstrip("@") for _, d in decorators)
    doc = _DOCSTRING.match(text, i + 1)
    if doc:
        first = next((ln.strip() for ln in doc.group(2).split("\n") if ln.strip()), "")
        if first:
            node.fields["doc"] = first[:200]
    return node


# ------------------------------------------------------------------------------------------- email

_MBOX_FROM = re.compile(r"^From \S+ .*\d\d:\d\d(?::\d\d)?.*$", re.M)
_HEADER_BLOCK = re.compile(r"(?:[A-Za-z][\w-]*:[^\n]*\n(?:[ \t][^\n]*\n)*){2,}\n")
_MAIL_HEADER = re.compile(r"^(?:From|Subject|Message-ID|In-Reply-To):", re.M | re.I)
_HEADER = re.compile(r"^(?P<key>[A-Za-z][\w-]*):[ \t]*(?P<value>[^\n]*(?:\n[ \t][^\n]*)*)", re.M)
_ADDRESS = re.compile(r"^\s*\"?(?P<name>[^<\"]*?)\"?\s*<(?P<email>[^<>\s]+)>\s*$")


def _messages(text: str, base: int, parent: Node) -> None:
    starts = [m.start() for m in _MBOX_FROM.finditer(text)]
    if not starts or (starts[0] > 0 and text[: starts[0]].strip()):
        starts.insert(0, 0)
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(text)
        _message(text, s, e, base, parent)


def _message(text: str, s: int, e: int, base: int, parent: Node) -> None:
    head_start = s
    if text.startswith("From ", s):
        head_start = text.find("\n", s, e) + 1 or e
    sep = text.find("\n\n", head_start, e)
    head_end = e if sep < 0 else sep + 2
    fields: dict[str, str] = {}
    for m in _HEADER.finditer(text[head_start:head_end]):
        fields.setdefault(m.group("key").lower(), " ".join(m.group("value").split()))
    if "from" in fields and (a := _ADDRESS.match(fields["from"])):
        fields["author"], fields["email"] = a.group("name").strip() or a.group("email"), a.group("email")
    title = fields.get("subject") or fields.get("from") or text[s : text.find("\n", s, e)].strip()
    node = parent.add(Node("", "message", title[:200], 0, base + s, base + e, fields=fields))
    _generic(text, head_end, e, base, node)
