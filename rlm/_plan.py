"""From question to a typed plan, and the plan's deterministic execution over the structure tree.

A plan names one operation (locate, enclosing, count, argmax, argmin, list, extract, compare, summarise)
and its arguments: the key terms that name the thing asked about, the kinds of node the answer is about
(``levels``: "release", "section", "file", "class", ...), what is counted, the field to extract. It is
filled without a list of any generator's phrasings:

* the operation from the nearest worked examples by MiniLM similarity (``_exemplars``), or from the root
  model under the plan's JSON-schema grammar (``planner="model"``, for models that can follow it);
* key terms from the question by how rare they are *in this context* (IDF over the tree's leaves), with
  identifiers (``Saffron-50``, ``CVE-2023-1234``, ``gh-12345``, ``#987654``, ``json.decoder``, ``2.1-3``)
  kept whole; a term the context never holds cannot be a key, and an identifier it never holds means the
  answer is not there;
* levels and fields from a lexicon of words for the parts of documents (release, chapter, module, class,
  author, date, ...) intersected with what this tree actually has.

Execution walks the tree: locating is scoring leaves by their rare terms, "which X" is the enclosing node
of kind X, counts and maxima are computed over a node's leaves. The model reads only where a span must be
extracted (a value no field holds); its answer is accepted only if the span it read holds it. Every result
carries a status: ``answered`` only when the plan ran and what was read supports the result; otherwise
``not_found`` or ``uncertain`` with the evidence and what was tried.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, ValidationError

from deepwell.rlm._strategies import FUNCTION_WORDS as _FUNCTION
from deepwell.rlm._strategies import _value_in, _words

__all__ = ["OPS", "Outcome", "Plan", "execute_plan", "fill_plan", "key_terms"]

Op = Literal["locate", "enclosing", "count", "argmax", "argmin", "list", "extract", "compare", "summarise"]
OPS: tuple[str, ...] = Op.__args__  # type: ignore[attr-defined]
_LEAF_KINDS = frozenset({"entry", "item", "record", "message"})
# located by words alone, a part scoring this share of the best in another place is a rival: the words
# do not tell the two apart (calibrated on the development domains)
NEAR_TIE = 0.85


class Plan(BaseModel):
    """What to compute; every field is checked against the tree before it is used."""

    op: Op
    terms: list[str] = Field(default_factory=list, description="key terms naming the thing asked about")
    levels: list[str] = Field(default_factory=list, description="kinds of node the answer names")
    counted: str | None = Field(None, description="kind of node counted or compared (default: entries)")
    field: str | None = Field(None, description="named field to extract (author, date, credit, ...)")
    source: str = "exemplars"


@dataclass
class Outcome:
    """A plan's result. ``status`` is answered | not_found | uncertain."""

    status: str
    answer: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    how: str = ""


# ---------------------------------------------------------------------------------------------- lexicon
# words people use for the parts of documents, by the kind of tree node they mean
_LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "release": tuple(_words("release version upload revision")),
    "section": tuple(_words("section heading article category component topic appendix")),
    "top-section": tuple(_words("chapter part book volume")),
    "sub-section": tuple(_words("subsection subchapter clause paragraph subheading")),
    "file": tuple(_words("file module document page script package")),
    "class": tuple(_words("class type")),
    "method": tuple(_words("method")),
    "function": tuple(_words("function routine callable procedure")),
    "def": tuple(_words("def")),
    "entry": tuple(_words("entry item change bullet line note fix record row bug")),
    "message": tuple(_words("message email mail post")),
}
# words that ask for a named field, by the field names trees use
_FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "credited": tuple(
        _words("credited credit thanks thanked contributed contributor patch reported reporter")
    ),
    "credit": tuple(_words("credited credit thanks thanked contributed contributor patch reported reporter")),
    "author": tuple(_words("uploaded uploader author wrote written maintainer signed sent who")),
    "bases": tuple(
        _words("inherit inherits inherited derive derives derived subclass subclasses base parent")
    ),
    "default": tuple(_words("default defaults pass omit omitted")),
    "date": tuple(_words("when date day dated")),
    "email": tuple(_words("email e-mail address")),
    "urgency": tuple(_words("urgency priority")),
}
# identifiers kept whole: anything with a digit or inner punctuation, and code names (snake_case, CamelCase)
_CODE_NAME = re.compile(r"_*[A-Za-z0-9]*_\w*|[A-Za-z][a-z0-9]*[A-Z]\w*")
_IDENT = re.compile(r"[#@]?\w+(?:[-./:+~]+\w+)+|#\d+|\b\w*\d\w*\b")
_WORD = re.compile(r"[#@]?\w+(?:[-./:+~]+\w+)*")
_QUOTED = re.compile(r"'([^']{1,80})'|\"([^\"]{1,80})\"|`([^`]{1,80})`")


def _plural(w: str) -> str:
    w = w.removesuffix("'s").removesuffix("\u2019s")
    if len(w) > 4 and re.search(r"(?:ss|x|ch|sh)es$", w):
        return w[:-2]
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def _singular(word: str) -> str:
    w = _plural(word.lower())
    return w[:-2] + "y" if w.endswith("ie") else w


def level_of(word: str, learned: frozenset[str] = frozenset()) -> str | None:
    """The kind of node a word names: first the kinds this tree's own headings name ("Chapter 4",
    "Release 2.1" teach what "chapter" and "release" mean here), then the lexicon."""
    w = _singular(word)
    if w in learned:
        return "title:" + w
    for level, words in _LEVEL_WORDS.items():
        if w in words:
            return level
    return None


def learned_levels(tree: Any) -> frozenset[str]:
    """Words the tree uses as the first word of several headings that go on to name different things
    ("Chapter 1 ...", "Chapter 2 ..."; "Release 1.0", "Release 2.0"): in this text they are the name of a
    kind of part. A heading repeated whole ("Library" under every release) names one part, not a kind."""
    cached = getattr(tree, "_plan_learned", None)
    if cached is not None:
        return cast(frozenset[str], cached)
    rests: dict[str, set[str]] = {}
    stack = [tree.root]
    while stack:
        n = stack.pop()
        stack.extend(n.children)
        if n.kind != "section":  # headings name kinds; a def's name is its own
            continue
        m = re.match(r"\s*([A-Z][a-z]+|[A-Z]{3,})\b\W*(\S.*)", n.title)
        if m and m.group(1).lower() not in _FUNCTION:
            rests.setdefault(_singular(m.group(1)), set()).add(m.group(2).strip().lower())
    out = frozenset(w for w, r in rests.items() if len(r) >= 2 and len(w) >= 4)
    tree._plan_learned = out
    return out


def _title_word(n: Any) -> str:
    m = re.match(r"\s*([A-Z][a-z]+|[A-Z]{3,})\b", getattr(n, "title", ""))
    return _singular(m.group(1)) if m else ""


def is_identifier(term: str) -> bool:
    return bool(_IDENT.fullmatch(term)) or term.startswith("'")


# ------------------------------------------------------------------------------------------- the units
@dataclass
class _Units:
    """The tree's leaves (or paragraphs, for text without structure) with their offsets, for IDF."""

    nodes: list[Any]
    starts: list[int]
    ends: list[int]
    text: str
    low: str
    _df: dict[str, list[int]] = field(default_factory=dict)

    def hits(self, term: str) -> list[int]:
        """Indices of the units holding ``term`` (whole word, any case; exact case for ``=term``)."""
        exact = term.startswith("=")
        key = term if exact else term.lower()
        if key not in self._df:
            rx = _term_rx(key[1:] if exact else key)
            seen: list[int] = []
            last = -1
            for m in rx.finditer(self.text if exact else self.low):
                i = bisect.bisect_right(self.starts, m.start()) - 1
                if i >= 0 and m.start() < self.ends[i] and i != last:
                    seen.append(i)
                    last = i
                if len(seen) > 20000:
                    break
            self._df[key] = seen
        return self._df[key]

    def present(self, term: str) -> bool:
        """Whether the term occurs anywhere in the text (headings and trailers too, not only leaves)."""
        return bool(self.hits(term)) or bool(_term_rx(term.lower().lstrip("=")).search(self.low))

    def idf(self, term: str) -> float:
        n = len(self.hits(term))
        return math.log((len(self.nodes) + 1) / (n + 0.5)) if n else 0.0


def _term_rx(term: str) -> re.Pattern[str]:
    """A whole term: an identifier ("4.9", "2.1-3") does not match inside a longer one ("4.9.3")."""
    term = term.removeprefix("=")
    ident = bool(re.search(r"\d|\w[-./+~:]\w", term))
    # not inside a longer version: "4.9" is not in "4.9.3", nor "1.12" in "2.1.12"; "llvm-15" is in
    # "llvm-15/changelog"
    lead = (
        (r"(?<![\w])(?<!\d[.+~:-])" if ident else r"(?<![\w])")
        if term[:1].isalnum() or term[:1] == "_"
        else ""
    )
    tail = (
        (r"(?![\w]|[.+~:-]\d)" if ident else r"(?![\w])") if term[-1:].isalnum() or term[-1:] == "_" else ""
    )
    return re.compile(lead + re.escape(term).replace(r"\ ", r"\s+") + tail)


def units_of(tree: Any) -> _Units:
    cached = getattr(tree, "_plan_units", None)
    if cached is not None:
        return cached
    leaves: list[Any] = []

    def walk(n: Any) -> None:
        if not n.children:
            if n.kind != "root":
                leaves.append(n)
            return
        for c in n.children:
            walk(c)

    walk(tree.root)
    if len(leaves) < 2:  # no structure: paragraphs are the units
        leaves = []
    leaves += _gaps(tree, leaves)  # text no leaf covers (prose under a heading) is a unit too
    leaves.sort(key=lambda n: n.start)
    u = _Units(leaves, [n.start for n in leaves], [n.end for n in leaves], tree.text, tree.text.lower())
    tree._plan_units = u
    return u


def _gaps(tree: Any, leaves: list[Any]) -> list[Any]:
    """Paragraphs of the text that lie outside every leaf, each under the innermost node holding it."""
    spans = sorted((n.start, n.end) for n in leaves)
    out: list[Any] = []
    pos = 0
    for a, b in [*spans, (len(tree.text), len(tree.text))]:
        if a > pos:
            for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", tree.text[pos:a]):
                start, end = pos + m.start(), pos + m.end()
                out.append(_Para(start, end, parent=_innermost(tree.root, start)))
        pos = max(pos, b)
    return out


def _innermost(node: Any, offset: int) -> Any:
    while True:
        starts = [c.start for c in node.children]
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0 or not (node.children[i].start <= offset < node.children[i].end):
            return node
        node = node.children[i]


@dataclass(eq=False)
class _Para:
    start: int
    end: int
    kind: str = "paragraph"
    title: str = ""
    parent: Any = None
    children: list[Any] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    id: str = ""


# ----------------------------------------------------------------------------------------- key terms
def _asking(q: str) -> str:
    """The sentence that asks (the last ending in '?'): a format preamble before it holds no key terms."""
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+(?=[A-Z\"'])", q.strip()) if p.strip()]
    asks = [p for p in parts if p.endswith("?")]
    return asks[-1] if asks else (parts[-1] if parts else q)


_SCOPE_WORD = re.compile(r"(?:top|module|class|file)[- ]level", re.I)


def key_terms(question: str, tree: Any) -> list[tuple[str, float, bool]]:
    """(term, idf, is_identifier), rarest first. Quoted strings and identifiers are kept whole; a plain
    word too common in the context to tell its parts apart is dropped; a term no leaf holds has idf 0 (it
    may still be in a heading, or nowhere: the question names something the text lacks)."""
    q = _asking(question)
    u = units_of(tree)
    learned = learned_levels(tree)
    out: dict[str, tuple[str, float, bool]] = {}
    for m in _QUOTED.finditer(q):
        t = next(g for g in m.groups() if g)
        if u.hits("=" + t):  # a quoted term is meant as written when the text has it so
            t = "=" + t
        out[t.lower().lstrip("=")] = (t, u.idf(t), True)
    q_rest = _QUOTED.sub(" ", q)
    words = [m.group(0).strip(".:/-") for m in _WORD.finditer(q_rest)]
    # a compound of letters only that the text never writes, while it writes each of its words
    # ("module-level"), is a phrase, not a name; a compound whose words are absent too ("silver-otter")
    # stays a name the text does not hold
    words = [p for w in words for p in (w.split("-") if _phrase_compound(w, u) else [w])]
    for t in words:
        if not t or t.lower() in out:
            continue
        if _SCOPE_WORD.fullmatch(t):
            continue  # "top-level", "module-level": which parts are counted, not what they hold
        ident = bool(_IDENT.fullmatch(t) or _CODE_NAME.fullmatch(t))
        if not ident and (
            len(t) < 3
            or t.lower() in _FUNCTION
            or t.lower() in _REQUEST
            or _singular(t) in _REQUEST
            or _MOST.fullmatch(t)
            or _FEWEST.fullmatch(t)
            or ((level_of(t, learned) or _field_word(t)) and t not in part_names(tree))
        ):
            continue  # the grammar of the question, unless the word is the name of a part ("types")
        idf = u.idf(t)
        if not ident and 0 < idf < 0.5 and t not in part_names(tree):
            continue  # a word too common here to tell units apart, unless it is the name of a part
        out[t.lower()] = (t, idf, ident)
    terms = sorted(out.values(), key=lambda x: (not x[2], -x[1]))
    return terms


def _phrase_compound(word: str, u: _Units) -> bool:
    if not re.fullmatch(r"[A-Za-z]+(?:-[A-Za-z]+)+", word) or u.present(word):
        return False
    return all(u.present(p) for p in word.split("-") if len(p) > 2)


def part_names(tree: Any) -> frozenset[str]:
    """The names of the tree's parts as written (case kept: "types" names a module, "class" does not
    name the class "Class"): file names and their stems, class and def names, whole headings."""
    cached = getattr(tree, "_plan_names", None)
    if cached is None:
        names: set[str] = set()
        for n in _all_nodes(tree):
            if n.kind in _LEAF_KINDS or n.kind == "root":
                continue
            t = n.title.strip()
            names.add(t)
            if n.kind == "file":
                base = t.rsplit("/", 1)[-1]
                names.update({base, base.rsplit(".", 1)[0]})
            if "name" in n.fields:
                names.add(n.fields["name"])
        cached = tree._plan_names = frozenset(names)
    return cast(frozenset[str], cached)


# verbs that make a request of the reader rather than name what it is about
_REQUEST = frozenset(_words("find count counted counting list name give tell show identify state"))


def _field_word(w: str) -> str | None:
    lw = w.lower()
    for f, words in _FIELD_WORDS.items():
        if lw in words:
            return f
    return None


# --------------------------------------------------------------------------------------- filling plans
@cache
def _exemplar_matrix(model_name: str) -> tuple[Any, Any]:
    from deepwell.retrieval import load_embedder
    from deepwell.rlm._exemplars import EXEMPLARS

    emb = load_embedder(model_name)
    return emb, emb.encode([shape(q) for q, _ in EXEMPLARS])


def shape(question: str, terms: list[str] | None = None) -> str:
    """The question with what it is about replaced by X (quoted strings, identifiers, the given terms):
    the operation is in the question's shape, and a topic shared with an example must not outvote it."""
    q = _QUOTED.sub("X", _asking(question))
    q = re.sub(r"[#@]?\w+(?:[-./:+~]\w+)+|#\d+|\b\w*\d\w*\b", "X", q)
    for t in sorted(terms or [], key=len, reverse=True):
        q = (
            _term_rx(t.lower()).sub("X", q)
            if t.lower() == t
            else re.sub(rf"(?<!\w){re.escape(t)}(?!\w)", "X", q)
        )
    return re.sub(r"X(?:\W+X)+", "X", q)


def choose_op(
    question: str, embedding_model: str, k: int = 3, terms: list[str] | None = None
) -> tuple[str, list[tuple[str, str, float]]]:
    """The op most of the k nearest worked examples have (similarity-weighted), and those examples."""
    from deepwell.rlm._exemplars import EXEMPLARS

    emb, mat = _exemplar_matrix(embedding_model)
    v = emb.encode([shape(question, terms)])[0]
    sims = mat @ v
    top = sims.argsort()[::-1][:k]
    votes: dict[str, float] = {}
    for i in top:
        votes[EXEMPLARS[i][1]] = votes.get(EXEMPLARS[i][1], 0.0) + float(sims[i])
    op = max(votes, key=lambda o: votes[o])
    return op, [(EXEMPLARS[i][0], EXEMPLARS[i][1], round(float(sims[i]), 3)) for i in top]


_MOST = re.compile(r"\b(?:most|largest|greatest|highest|biggest|longest)\b|\bmore\b.{1,40}\bthan any\b", re.I)
_FEWEST = re.compile(r"\b(?:fewest|least|smallest|lowest|shortest)\b", re.I)


_TITLE_Q = re.compile(
    r"\b(?:title|heading|name)\s+of\b|\bits\s+(?:title|heading|name)\b|\bcalled\W*$|^\W*(?:title|heading)\b",
    re.I,
)


def frame_op(question: str, learned: frozenset[str] = frozenset()) -> str | None:
    """The operation English interrogative syntax fixes, if it does: a superlative asked with which/what
    is a maximum or minimum, "how many" a count, "which <part of a document>" an enclosing node, "who" /
    "when" a named value. These are the grammar of questions in any domain; everything else is left to
    the worked examples."""
    a = _asking(question)
    many = re.search(r"\bhow many\W+(?:[^\w\s]\S*\s+)?([A-Za-z][\w-]*)((?:\s+[A-Za-z][\w-]*){0,4})", a, re.I)
    # "how many degrees" asks for a quantity the text states; "how many module-level functions" for
    # parts to count: a word for a kind of part among the first words after it
    near = re.split(r"[\s-]+", (many.group(1) + many.group(2)) if many else "")
    if (
        many
        and not any(level_of(w, learned) for w in near)
        and many.group(1).lower() not in ("times", "different", "distinct")
    ):
        return "extract"  # "how many degrees": a quantity the text states, not parts to count
    if re.search(r"\bhow many\b|^\s*count\b|\bwhat(?:'s|\s+is)\s+the\s+(?:total\s+)?number\s+of\b", a, re.I):
        return "count"
    if _MOST.search(a):
        return "argmax"
    if _TITLE_Q.search(a):
        return "extract"  # "what is section 3.2 called": the heading of a part the question names
    if _FEWEST.search(a):
        return "argmin"
    m = re.match(r"\s*(?:\w+\s+)?(?:which|what)\s+([\w-]+)", a, re.I) or re.search(
        r"[,;:\u2014\u2013]\s*(?:\w+\s+)?(?:which|what)\s+([\w-]+)", a, re.I
    )
    if (m and level_of(m.group(1), learned)) or _asked_levels(a, learned):
        return "enclosing"
    if m and not re.fullmatch(r"do|does|did|one|ones|of|kind|sort|type", m.group(1), re.I):
        return "extract"  # "which urgency", "what value": a named value, not a part of the text
    m = re.match(
        r"\s*(?:find|name|give|identify|tell me)\s+the\s+(?:[\w.-]+\s+)?([\w-]+)\s+"
        r"(?:that|which|whose|where|in which)\b",
        a,
        re.I,
    )
    if m and level_of(m.group(1), learned):
        return "enclosing"
    if re.match(r"\s*(?:tell me|give(?: me)?|state|find)\s+the\s+\w+", a, re.I):
        return "extract"
    if re.search(
        r"(?:^|[,;:\u2014\u2013]\s)\s*(?:(?:who|whom|whose|when)\b|what(?:'s|\s+(?:is|are|was|were))\s+the\b)",
        a,
        re.I,
    ):
        return "extract"  # a person, a date, or "what is the <attribute> of X": a value
    if re.match(r"\s*where\b", a, re.I):
        return "locate"
    return None


def _levels_in(question: str, learned: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    out = []
    for m in re.finditer(r"[A-Za-z][\w-]*", _asking(question)):
        lv = level_of(m.group(0), learned)
        if lv:
            out.append((m.start(), lv))
    return out


def _names_one(after: list[str]) -> bool:
    """A level word followed by an identifier ("section 2.2", "version 1.4-2") names one part, the
    target of the question, not the kind of part asked for."""
    return bool(after) and bool(re.search(r"\d", after[0])) and not re.fullmatch(r"\d{4}\W*", after[0])


def _asked_levels(question: str, learned: frozenset[str] = frozenset()) -> list[str]:
    """The kinds of node a "which/what ..." asks for: a level word within three words after the
    interrogative ("which debianutils version"); the other level words describe the target ("bug 123")."""
    asked = []
    rx = r"\b(?:which|what|find the|name the|identify the)\s+(?=((?:[\w.+-]+\s*){1,3}))"
    for m in re.finditer(rx, _asking(question), re.I):
        ws = m.group(1).split()
        for i, w in enumerate(ws):
            if _field_word(w):
                break  # "what date was version X ...": a value is asked, the version names the target
            if (lv := level_of(w, learned)) and not _names_one(ws[i + 1 : i + 2]):
                asked.append(lv)
                break
    return asked


def _field_in(question: str, fields_present: set[str]) -> str | None:
    """The field the question asks for, among those the tree has (a specific cue beats a bare 'who')."""
    words = [w.lower() for w in re.findall(r"[A-Za-z][\w-]*", _asking(question))]
    low = _asking(question).lower()
    for f in sorted((f for f in fields_present if " " in f), key=len, reverse=True):
        if re.search(rf"\b{re.escape(f)}\b", low):
            return f  # a field named as the text names it ("release date")
    dated = sorted((f for f in fields_present if "date" in f.split()), key=lambda f: (f != "date", f))
    if words[:1] == ["when"] and dated:
        return dated[0]  # the interrogative fixes the kind of value; "uploaded" only says which date
    for m in re.finditer(r"\b(?:which|what|the)\s+([a-z][\w-]*)", _asking(question).lower()):
        named = _field_word(m.group(1))
        if named in fields_present and m.group(1) != "who":
            return named  # "what date ... signed", "the urgency level of ... upload": the noun asked for
    best: tuple[int, str] | None = None
    for f, cues in _FIELD_WORDS.items():
        if f not in fields_present:
            f = next((g for g in sorted(fields_present) if g.split()[-1] == f), "")
        if not f:
            continue
        for w in words:
            if w in cues:
                rank = 0 if w == "who" else 1
                if best is None or rank > best[0]:
                    best = (rank, f)
    if best:
        return best[1]
    if "who" in words and "credited" in fields_present:
        return "credited"  # "who did gh-123": the person the entry credits
    # no word of the lexicon: a field this text names itself, asked by a word of the same stem ("how
    # urgent" for an "urgency" field); a field that names a kind of part ("version") is not a value
    for w in words:
        for f in sorted(fields_present):
            if len(f) >= 5 and w[:5] == f[:5] and len(w) >= 5 and not level_of(f) and not level_of(w):
                return f
    return None


def _dated_headings(tree: Any) -> bool:
    """Headings that carry their part's date ("## 2023-03-07, Version 18.15.0") give it a date field."""
    cached = getattr(tree, "_plan_dated", None)
    if cached is None:
        sections = [n for n in _all_nodes(tree)[:5000] if n.kind == "section" and n.children]
        dated = sum(1 for n in sections if _HEADING_DATE.search(n.title))
        cached = tree._plan_dated = dated >= 2
    return bool(cached)


def fields_present(tree: Any) -> set[str]:
    cached = getattr(tree, "_plan_fields", None)
    if cached is None:
        cached = set()
        stack = [tree.root]
        while stack:
            n = stack.pop()
            cached.update(n.fields)
            stack.extend(n.children)
        tree._plan_fields = cached
    return cached


def fill_plan(question: str, tree: Any, embedding_model: str) -> tuple[Plan, dict[str, Any]]:
    """A plan: the op from interrogative syntax where it fixes one, else from the nearest worked examples
    (MiniLM, loaded only then); terms, levels and field from the tree. Returns what decided it too."""
    framed = frame_op(question, learned_levels(tree))
    if framed:
        return _complete(framed, question, tree, "frame"), {"frame_op": framed}
    op, near = choose_op(question, embedding_model)
    why = {"shape": shape(question), "nearest_examples": near, "exemplar_op": op}
    return _complete(op, question, tree, "exemplars"), why


def _verb_levels(asking: str, learned: frozenset[str]) -> list[str]:
    """Kinds of part named by a past participle: "how many times was X released / uploaded" counts
    releases (the verb of a kind of part)."""
    out = []
    for w in re.findall(r"[a-z]+ed\b", asking.lower()):
        lv = level_of(w[:-1], learned) or level_of(w[:-2], learned)
        if lv:
            out.append(lv)
    return out


def _complete(op: str, question: str, tree: Any, source: str) -> Plan:
    terms = key_terms(question, tree)
    learned = learned_levels(tree)
    levels = _levels_in(question, learned)
    asking = _asking(question)
    counted = None
    if op in ("count", "argmax", "argmin", "compare"):
        cue = re.search(r"\bhow many\b|\bnumber of\b|\bcount(?:ed)?\b", asking, re.I)
        cue = cue or _MOST.search(asking) or _FEWEST.search(asking)
        after = [lv for pos, lv in levels if cue and pos > cue.start()]
        if not after and op == "count":
            after = _verb_levels(asking, learned)
        if op == "count":
            counted = after[0] if after else (levels[0][1] if levels else "entry")
            top = re.search(
                r"\btop[- ]level\b|\bmodule[- ]level\b|\boutside (?:any |of )?class", asking, re.I
            )
            if counted == "def" and top:
                counted = "function"
        else:
            counted = after[0] if after else "entry"
    named_one = {m.start() for m in re.finditer(r"[A-Za-z][\w-]*(?=\s+[\w.+~:-]*\d)", asking)}
    named_one = {p for p in named_one if _names_one(asking[p:].split()[1:2])}
    answer_levels = [
        lv for pos, lv in levels if pos not in named_one and (lv != counted or op not in ("argmax", "argmin"))
    ]
    if op in ("argmax", "argmin") and levels:
        answer_levels = (_asked_levels(question, learned) or [levels[0][1]])[:1]
    if op in ("locate", "enclosing") and _asked_levels(question, learned):
        answer_levels = _asked_levels(question, learned)
    seen: list[str] = []
    for lv in answer_levels:
        if lv not in seen:
            seen.append(lv)
    present = fields_present(tree) | ({"default"} if "params" in fields_present(tree) else set())
    if _dated_headings(tree):
        present |= {"date"}
    fld = _field_in(question, present) if op in ("extract", "enclosing", "locate", "summarise") else None
    if not fld and op in ("extract", "locate", "enclosing") and _TITLE_Q.search(asking):
        op, fld = "extract", "title"
    if fld in ("bases", "default") and op != "extract":
        op = "extract"  # "which class does X inherit from" asks for a field of X, not for X's container
    elif op != "extract":
        fld = None
    if op == "extract" and not fld and seen and re.match(r"(?:\w+ )?(?:which|what)\s+\w+", asking, re.I):
        # "which <part> ..." asks for a node, not a value inside one
        first = re.match(r"(?:\w+ )?(?:which|what)\s+([\w-]+)", asking, re.I)
        if first and level_of(first.group(1), learned):
            op = "enclosing"
    return Plan(
        op=cast(Op, op),
        terms=[t for t, _, _ in terms],
        levels=seen,
        counted=counted,
        field=fld,
        source=source,
    )


_MODEL_SCHEMA = {
    "type": "object",
    "properties": {
        "op": {"type": "string", "enum": list(OPS)},
        "target": {"type": "string", "maxLength": 60},
        "level": {"type": "string", "maxLength": 20},
        "field": {"type": "string", "maxLength": 20},
    },
    "required": ["op", "target", "level", "field"],
}
_MODEL_EXAMPLES = [
    (
        "Which chapter has the recipe for lemon tart?",
        {"op": "enclosing", "target": "lemon tart", "level": "chapter", "field": ""},
    ),
    (
        "How many clauses does article 7 list?",
        {"op": "count", "target": "article 7", "level": "clause", "field": ""},
    ),
    ("Which thread got the most replies?", {"op": "argmax", "target": "", "level": "thread", "field": ""}),
    (
        "Who signed the lease for flat 4B?",
        {"op": "extract", "target": "flat 4B", "level": "", "field": "author"},
    ),
    (
        "What is the access code for gate-12?",
        {"op": "extract", "target": "gate-12", "level": "", "field": "value"},
    ),
    (
        "Summarise the travel policy.",
        {"op": "summarise", "target": "travel policy", "level": "", "field": ""},
    ),
]


async def fill_plan_with_model(e: Any, question: str, tree: Any) -> tuple[Plan, dict[str, Any]]:
    """The root model fills the plan under its JSON-schema grammar, from worked examples; its terms and
    levels are then checked against the tree exactly like the exemplar plan's."""
    shots = "\n".join(f"Question: {q}\nPlan: {json.dumps(p)}" for q, p in _MODEL_EXAMPLES)
    raw = await e.root(
        [
            {"role": "system", "content": "Turn the question into a plan. ops: " + ", ".join(OPS) + "."},
            {"role": "user", "content": f"{shots}\nQuestion: {_asking(question)}\nPlan:"},
        ],
        json_schema=_MODEL_SCHEMA,
        max_tokens=80,
    )
    try:
        data = json.loads(raw)
        op = data["op"] if data.get("op") in OPS else "extract"
    except (json.JSONDecodeError, TypeError, KeyError):
        op = "extract"
        data = {}
    plan = _complete(op, question, tree, "model")
    lv = level_of(str(data.get("level", "")), learned_levels(tree)) if data else None
    if lv and op in ("count", "argmax", "argmin", "compare"):
        plan.counted = lv  # the kind the model says is counted, checked like any level word
    return plan, {"model_plan": data}


# ------------------------------------------------------------------------------------------ execution
@dataclass
class _Ctx:
    tree: Any
    units: _Units
    plan: Plan
    terms: list[tuple[str, float, bool]]
    tried: list[str] = field(default_factory=list)
    question: str = ""


def _ancestors(n: Any) -> list[Any]:
    out = []
    p = n.parent
    while p is not None and p.kind != "root":
        out.append(p)
        p = p.parent
    return out


def _matches_level(n: Any, level: str) -> bool:
    if level.startswith("title:"):
        return n.kind == "section" and _title_word(n) == level[6:]
    if level == "release":
        return n.kind == "section" and "version" in n.fields
    if level == "section":
        return n.kind == "section"
    if level == "top-section":
        return n.kind == "section" and not any(a.kind == "section" for a in _ancestors(n))
    if level == "sub-section":
        return n.kind == "section" and any(a.kind == "section" for a in _ancestors(n))
    if level == "file":
        return n.kind == "file"
    if level == "def":
        return n.kind == "def"
    if level == "method":
        return n.kind == "def" and n.parent is not None and n.parent.kind == "class"
    if level == "function":
        return n.kind == "def" and (n.parent is None or n.parent.kind != "class")
    if level == "class":
        return n.kind == "class"
    if level == "message":
        return n.kind == "message"
    if level == "entry":
        return n.kind in _LEAF_KINDS or (n.kind == "def" and not n.children)
    return False


def _label(n: Any, level: str | None) -> str:
    """A release by its version, unless another release has the same one ("3.12.0" for both "3.12.0
    beta 1" and "3.12.0 alpha 7"): an answer must name one part, so then by its heading."""
    v = n.fields.get("version") if level == "release" else None
    if v and _version_counts(n).get(v, 0) < 2:
        return str(v)
    return str(n.title.strip())


def _version_counts(n: Any) -> dict[str, int]:
    root = n
    while root.parent is not None:
        root = root.parent
    cached = root.__dict__.get("_plan_versions")
    if cached is None:
        counts: dict[str, int] = {}
        for x in _all_nodes_from(root):
            if x.kind == "section" and "version" in x.fields:
                counts[x.fields["version"]] = counts.get(x.fields["version"], 0) + 1
        cached = root.__dict__["_plan_versions"] = counts
    return cast(dict[str, int], cached)


def _enclosing(n: Any, level: str, taken: set[int]) -> Any | None:
    chain = [n, *_ancestors(n)]
    if level in ("section", "sub-section"):
        # a release is a section too; when a release is asked for alongside, the section is inside it
        cands = [a for a in chain if _matches_level(a, level) and id(a) not in taken]
        plain = [a for a in cands if "version" not in a.fields]
        return (plain or cands or [None])[0]
    return next((a for a in chain if _matches_level(a, level) and id(a) not in taken), None)


def _best_units(c: _Ctx, limit: int = 5) -> list[tuple[float, int]]:
    """Units scored by the IDF of the key terms they hold; every identifier must be held."""
    idents = [t for t, idf, ident in c.terms if ident and idf > 0]
    words = [(t, idf) for t, idf, ident in c.terms if not ident]
    scores: dict[int, float] = {}
    if idents:
        pools = [set(c.units.hits(t)) for t in idents]
        pool = set.intersection(*pools) if pools else set()
        if not pool:  # identifiers that never meet in one unit: the unit with most of them
            pool = set.union(*pools)
        for i in pool:
            scores[i] = sum(3 * c.units.idf(t) for t in idents if i in set(c.units.hits(t)))
    for t, idf in words:
        for i in c.units.hits(t):
            if not idents or i in scores:
                scores[i] = scores.get(i, 0.0) + idf
    for i in list(scores):  # the part named by the term (its definition) before the parts that mention it
        title = getattr(c.units.nodes[i], "title", "")
        for t in idents:
            if title and _term_rx(t.lower()).search(title.lower()):
                scores[i] += 2 * c.units.idf(t)
    ranked = sorted(((s, i) for i, s in scores.items()), key=lambda x: (-x[0], x[1]))
    return ranked[:limit]


def _all_nodes(tree: Any) -> list[Any]:
    out, stack = [], [tree.root]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def _norm(s: str) -> str:
    s = s.removeprefix("=")
    return re.sub(r"[./\\:]+", ".", s.lower())


def _named_nodes(c: _Ctx, level: str | None, nested: bool = False) -> list[tuple[float, Any]]:
    """Inner nodes whose name (title, short fields) holds the key terms: a scope such as "version 2.1-3"
    or "module json.decoder". An identifier outweighs any number of words; the node's own name outweighs
    its fields; a name written as the question writes it outweighs one that matches only case-folded.

    ``nested``: a node also counts the terms that name the parts around it, so "the Library section of
    release 3.2" is the Library section inside 3.2, not the release, nor every Library section."""
    own = _name_weights(c, level)
    if not nested:
        out = [(sum(w.values()), n) for n, w in own.values()]
    else:
        out = []
        for n, w in own.values():
            merged = dict(w)
            for a in _ancestors(n):
                for t, x in own.get(id(a), (None, {}))[1].items():
                    merged[t] = max(merged.get(t, 0.0), x)
            out.append((sum(merged.values()), n))
    out.sort(key=lambda x: -x[0])
    return out


def _name_weights(c: _Ctx, level: str | None) -> dict[int, tuple[Any, dict[str, float]]]:
    out: dict[int, tuple[Any, dict[str, float]]] = {}
    for n in _all_nodes(c.tree):
        if not n.children or n.kind == "root" or (level and not _matches_level(n, level)):
            continue
        title = n.title
        stem = title.rsplit(".", 1)[0] if n.kind == "file" else title
        short = " ".join(v for k, v in n.fields.items() if k != "doc" and len(v) < 120)
        w: dict[str, float] = {}
        for t, idf, ident in c.terms:
            plain = t.removeprefix("=")
            weight = (10.0 + idf) if ident else max(idf, 0.5)
            rx = _term_rx(_norm(plain))
            if rx.search(_norm(title)) or rx.search(_norm(stem)):
                exact = re.search(rf"(?<![\w]){re.escape(plain)}(?![\w])", title + " " + stem)
                w[t] = weight * (2.5 if exact else 2.0)
            elif rx.search(_norm(short)):
                w[t] = weight
        if w:
            out[id(n)] = (n, w)
    return out


def _outermost(named: list[tuple[float, Any]]) -> list[tuple[float, Any]]:
    """Tied named nodes where one holds all the others ("llvm-15/changelog" and its "llvm-15 (1.2-3)"
    blocks) are one scope: the holder."""
    if len(named) < 2 or named[1][0] != named[0][0]:
        return named
    tied = [n for sc, n in named if sc == named[0][0]]
    for cand in tied:
        if all(o is cand or cand in _ancestors(o) for o in tied):
            return [(named[0][0] + 1e-6, cand)] + [x for x in named if x[1] is not cand]
    return named


def _nodes_of(root: Any, level: str) -> list[Any]:
    return [n for n in _all_nodes_from(root) if n is not root and _matches_level(n, level)]


def _all_nodes_from(root: Any) -> list[Any]:
    out, stack = [], [root]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def _leaves(n: Any) -> list[Any]:
    return [x for x in _all_nodes_from(n) if x is not n and not x.children]


def _count_under(n: Any, level: str | None) -> int:
    """Entries are the items a part lists (a sub-item belongs to its item); other kinds are the parts
    of that kind directly under it: a part of the same kind inside one counted belongs to that one
    (section 4's subsections are 4.1, 4.2, ..., not 4.1.1; a class's methods, not their inner defs)."""
    if level in (None, "entry"):
        items = sum(
            1
            for x in _all_nodes_from(n)
            if x is not n and x.kind in _LEAF_KINDS and not (x.parent and x.parent.kind in _LEAF_KINDS)
        )
        return items or sum(1 for x in _leaves(n))  # a class lists its defs
    parts = _outermost_of(n, level)
    number = _NUMBERED.match(getattr(n, "title", ""))
    if number and level in ("section", "sub-section"):
        # a numbered part's subsections extend its number (2.1 -> 2.1.3); "1. Free Redistribution"
        # inside 2.1 is a numbered list, not a subsection
        own = number.group(1).rstrip(".") + "."
        numbered = [x for x in parts if (m := _NUMBERED.match(x.title)) and m.group(1).startswith(own)]
        if numbered or all(_NUMBERED.match(x.title) for x in parts):
            return len(numbered)
    return len(parts)


_NUMBERED = re.compile(r"\s*(?:(?:section|chapter|article)\s+)?(\d+(?:\.\d+)*\.?)(?=\s|$)", re.I)


def _outermost_of(root: Any, level: str) -> list[Any]:
    code = level in ("def", "method", "function", "class")
    out, stack = [], list(reversed(root.children))
    while stack:
        x = stack.pop()
        if _matches_level(x, level):
            out.append(x)
        elif not (code and x.kind in ("def", "class") and not _matches_level(x, "class")):
            stack.extend(reversed(x.children))  # a def inside a method is neither method nor function
    return out


def _evidence(tree: Any, n: Any, chars: int = 300) -> dict[str, Any]:
    path = _path(tree, n)
    return {
        "node": getattr(n, "id", ""),
        "path": path,
        "text": tree.text[n.start : min(n.end, n.start + chars)],
    }


def _nothing(c: _Ctx) -> Outcome:
    names = " or ".join(repr(t.lstrip("=")) for t, _, _ in c.terms[:4])
    if any(c.units.present(t) for t, _, _ in c.terms):
        return Outcome(
            "uncertain",
            f"{names} occur only outside the parts I can read as entries.",
            [],
            "scored every part; the terms are in headings or between parts",
        )
    return Outcome(
        "not_found",
        f"No part of the text mentions {names}.",
        [],
        f"searched every part of the text for {names}",
    )


def _path(tree: Any, n: Any) -> list[str]:
    if getattr(n, "id", ""):
        return list(tree.path(n))
    p = getattr(n, "parent", None)
    return list(tree.path(p)) if p is not None and p.kind != "root" else []


def _missing(c: _Ctx) -> Outcome | None:
    absent = [t for t, idf, ident in c.terms if ident and idf == 0 and not c.units.present(t)]
    if absent:
        return Outcome(
            "not_found",
            f"The text never mentions {absent[0].lstrip('=')!r}.",
            [],
            f"searched every unit of the text for {', '.join(repr(a) for a in absent)}",
        )
    return None


async def execute_plan(e: Any, plan: Plan, tree: Any, question: str, parent: int | None) -> Outcome:
    """Run a plan over the tree; every step is recorded under ``parent``."""
    c = _Ctx(
        tree,
        units_of(tree),
        plan,
        [t for t in key_terms(question, tree) if t[0] in plan.terms] or key_terms(question, tree),
        question=question,
    )
    e.trajectory.step(
        "terms",
        {"terms": [{"term": t, "idf": round(i, 2), "identifier": d} for t, i, d in c.terms]},
        parent=parent,
    )
    handler = _HANDLERS[plan.op]
    out = await handler(e, c, question, parent)
    e.trajectory.step(
        "execute",
        {
            "op": plan.op,
            "status": out.status,
            "result": out.answer,
            "how": out.how,
            "evidence": out.evidence[:3],
        },
        parent=parent,
    )
    return out


async def _locate(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    if (miss := _missing(c)) is not None:
        return miss
    if not c.terms:
        return Outcome(
            "uncertain",
            "The question names nothing the text holds to look for.",
            [],
            "no key term of the question occurs in the text",
        )
    defined = _defined(c) or _titled_exactly(c, question)
    if defined is not None:
        return defined
    ranked = _best_units(c)
    named = _named_nodes(c, None)
    titled = [n for sc, n in named if sc >= 20]  # an identifier in the node's own name
    if titled and (not ranked or not _titled_unit(c, ranked[0][1])):
        # the thing asked about is a part with that name (a def with nested defs, a release heading)
        node = titled[0]
        ev = [_evidence(c.tree, node)]
        labels = [_label(a, lv) for lv in c.plan.levels if (a := _enclosing_above(node, lv)) is not None]
        if labels and len(labels) == len(c.plan.levels):
            return Outcome(
                "answered", " / ".join(labels), ev, "the part named by the key term; its enclosing"
            )
    if not ranked:
        return _nothing(c)
    best_score, best = ranked[0]
    node = c.units.nodes[best]
    ev = [_evidence(c.tree, c.units.nodes[i]) for _, i in ranked[:3]]
    weak = _coverage(c, best)
    if weak is not None:
        return weak
    exact = any(ident and idf > 0 for _, idf, ident in c.terms)
    near = NEAR_TIE if not exact else 1.0  # an identifier locates exactly; words only by weight
    tied = [i for s, i in _best_units(c, 50) if s >= best_score * near - 1e-9]
    if any(not _same_answer(c, best, j) for j in tied[1:]):
        ev = [_evidence(c.tree, c.units.nodes[i]) for i in tied[:3]]
        return Outcome(
            "uncertain",
            f"Several parts match equally ({len(tied)}): " + "; ".join(" > ".join(x["path"]) for x in ev[:3]),
            ev,
            "located by rare terms; a tie",
        )
    if (absent := _absent_level(c)) is not None:
        absent.evidence = ev + absent.evidence
        return absent
    if not c.plan.levels:
        path = _path(c.tree, node)
        if not path:  # prose without headings: "where" asks for what the sentence says
            return await _read_value(e, c, question, parent)
        # the innermost heading answers "where"; the whole path is in the evidence
        return Outcome("answered", path[-1], ev, "located by rare terms; innermost enclosing heading")
    labels = []
    taken: set[int] = set()
    for lv in c.plan.levels:
        anc = _enclosing(node, lv, taken)
        if anc is None:
            continue
        taken.add(id(anc))
        labels.append(_label(anc, lv))
    if len(labels) < len(c.plan.levels):
        # every kind asked for must enclose what was found: a section is no answer to "which release"
        kinds = ", ".join(c.plan.levels)
        return Outcome(
            "uncertain",
            f"Found it, but not inside a {kinds}: " + " > ".join(ev[0]["path"]),
            ev,
            f"no enclosing node of each kind {kinds}",
        )
    return Outcome("answered", " / ".join(labels), ev, f"located by rare terms; enclosing {c.plan.levels}")


_CODE_KINDS = ("def", "class")


def _defined(c: _Ctx) -> Outcome | None:
    """ "Which class has the method family?": a definition whose name is a key term is the thing asked
    about, however often the word occurs elsewhere. Answered only when every such definition lies in
    the same enclosing part of each kind asked for."""
    if not c.plan.levels or not any(n.kind in _CODE_KINDS for n in _all_nodes(c.tree)[:2000]):
        return None
    names = {t.removeprefix("="): t for t, _, _ in c.terms}
    hits = [
        n
        for n in _all_nodes(c.tree)
        if n.kind in _CODE_KINDS and n.fields.get("name", n.title.split("(")[0].strip()) in names
    ]
    answers: dict[str, Any] = {}
    for n in hits:
        # the kinds asked of, less the definition's own kind ("the class that defines a method X")
        asked = [lv for lv in c.plan.levels if not _matches_level(n, lv)]
        labels = [_label(a, lv) for lv in asked if (a := _enclosing_above(n, lv)) is not None]
        if asked and len(labels) == len(asked):
            answers.setdefault(" / ".join(labels), n)
    ev = [_evidence(c.tree, n) for n in hits[:3]]
    if len(answers) == 1:
        ((ans, _node),) = answers.items()
        return Outcome("answered", ans, ev, "the definition named by the key term; its enclosing part")
    if len(answers) > 1:
        return Outcome(
            "uncertain",
            f"{len(answers)} definitions have that name: " + "; ".join(list(answers)[:4]),
            ev,
            "several definitions named by the key term",
        )
    return None


def _titled_exactly(c: _Ctx, question: str) -> Outcome | None:
    """ "Which section covers standards conformance?": a heading that says, word for word, what the
    question names is the part asked for (a two-word name at least; the longest such name wins)."""
    asked = " " + " ".join(re.findall(r"[\w'-]+", _asking(question).lower())) + " "
    hits: list[tuple[int, Any]] = []
    for n in _all_nodes(c.tree):
        if n.kind != "section":
            continue
        name = " ".join(re.findall(r"[\w'-]+", re.sub(r"^\W*[\dA-Z]?[\d.]*\d[.)]?\s+", "", n.title).lower()))
        if len(name.split()) >= 2 and f" {name} " in asked:
            hits.append((len(name), n))
    if not hits:
        return None
    top = max(k for k, _ in hits)
    best = [n for k, n in hits if k == top]
    if len(best) != 1:
        return None
    node = best[0]
    labels = [
        _label(node, lv) if _matches_level(node, lv) else _label(a, lv)
        for lv in c.plan.levels or ["section"]
        if _matches_level(node, lv) or (a := _enclosing_above(node, lv)) is not None
    ]
    if not labels:
        return None
    return Outcome("answered", " / ".join(labels), [_evidence(c.tree, node)], "a heading names it exactly")


def _has_level(tree: Any, level: str) -> bool:
    cache: dict[str, bool] = tree.__dict__.setdefault("_plan_has_level", {})
    if level not in cache:
        cache[level] = any(_matches_level(n, level) for n in _all_nodes(tree) if n.kind != "root")
    return cache[level]


def _absent_level(c: _Ctx, levels: list[str] | None = None) -> Outcome | None:
    """A kind of part the question asks about that this text does not have: no answer can name one."""
    for lv in c.plan.levels if levels is None else levels:
        if not _has_level(c.tree, lv):
            kinds = c.tree.summary()
            return Outcome(
                "uncertain",
                f"The text has no part I can read as a {lv.removeprefix('title:')}; it has: "
                + (", ".join(kinds) or "no structure")
                + ".",
                [{"asked_kind": lv, "kinds_in_text": kinds}],  # settled by the tree: no exploring
                f"no node of kind {lv}",
            )
    return None


def _titled_unit(c: _Ctx, i: int) -> bool:
    title = getattr(c.units.nodes[i], "title", "").lower()
    return any(ident and _term_rx(t.lower()).search(title) for t, _, ident in c.terms)


def _enclosing_above(n: Any, level: str) -> Any | None:
    """The enclosing node of a kind, the node itself excluded unless nothing above it is of that kind."""
    return next((a for a in _ancestors(n) if _matches_level(a, level)), None) or (
        n if _matches_level(n, level) else None
    )


def _coverage(c: _Ctx, best: int) -> Outcome | None:
    """The located unit must hold most of what the question is about: the weight (IDF) of the question's
    content terms it holds against all of them, a term the text never holds weighing as the rarest."""
    if any(ident and idf > 0 for _, idf, ident in c.terms):
        return None  # an identifier located it exactly
    top = math.log((len(c.units.nodes) + 1) / 0.5)
    held, total, absent = 0.0, 0.0, []
    for t, idf, _ in c.terms:
        w = idf if idf > 0 else (top if not c.units.present(t) else 0.0)
        total += w
        if idf > 0 and best in set(c.units.hits(t)):
            held += w
        if w and not c.units.present(t):
            absent.append(t)
    if total == 0 or held / total >= 0.5:
        return None
    ev = [_evidence(c.tree, c.units.nodes[best])]
    if absent and sum(top for _ in absent) > total / 2:
        return Outcome(
            "not_found",
            f"The text never mentions {', '.join(repr(a) for a in absent)}.",
            ev,
            "the closest part holds only the question's common words",
        )
    return Outcome(
        "uncertain",
        "The closest part holds only some of what is asked: " + ev[0]["text"][:200],
        ev,
        f"best unit covers {held / total:.0%} of the question's term weight",
    )


def _same_answer(c: _Ctx, i: int, j: int) -> bool:
    a, b = c.units.nodes[i], c.units.nodes[j]
    for lv in c.plan.levels or ["section"]:
        x, y = _enclosing(a, lv, set()), _enclosing(b, lv, set())
        if x is not y:
            return False
    return bool(c.plan.levels)


def _scope(c: _Ctx, exclude_level: str | None) -> tuple[Any, list[tuple[float, Any]]]:
    named = [
        x
        for x in _named_nodes(c, None, nested=True)
        if not (exclude_level and _matches_level(x[1], exclude_level))
    ]
    return (named[0][1] if named else c.tree.root), named


async def _count(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    if (miss := _missing(c)) is not None:
        return miss
    counted = c.plan.counted or "entry"
    if (absent := _absent_level(c, [counted])) is not None:
        return absent
    named = _named_nodes(c, None, nested=True)
    if named and not any(_matches_level(n, counted) for _, n in named[:2]):
        named = _outermost(named)
    if named:
        ties = [n for s, n in named if s == named[0][0]]
        same = [n for n in ties if _matches_level(n, counted)]
        by_id = named[0][0] >= 20  # an identifier in its heading names the part: it is the scope
        if (
            len(same) == 1
            and len(ties) == 1
            and counted != "entry"
            and (by_id or _count_under(same[0], counted))
        ):
            # one part named, itself of the kind counted, holding parts of that kind: "how many
            # subsections does section 4 have" counts inside it, not the one part named
            same = []
            named = [(named[0][0], ties[0])] + [x for x in named if x[1] is not ties[0]]
        if len(same) > 1 or (same and len(same) == len(ties) and counted != "entry"):
            # the terms name several nodes of the kind counted: they filter what is counted
            return Outcome(
                "answered",
                str(len(same)),
                [_evidence(c.tree, n, 120) for n in same[:5]],
                f"counted {len(same)} {counted} nodes whose heading or fields hold the key terms",
            )
        scopes = [
            x
            for x in named
            if not _matches_level(x[1], counted)
            or counted == "entry"
            or _count_under(x[1], counted)
            or (by_id and x is named[0])
        ]
        if scopes:
            top = [n for s, n in scopes if s == scopes[0][0]]
            if len(top) > 1:
                return Outcome(
                    "uncertain",
                    "Several parts are named alike: " + "; ".join(n.title for n in top[:5]),
                    [_evidence(c.tree, n, 120) for n in top[:5]],
                    "the scope is ambiguous",
                )
            scope = top[0]
            n = _count_under(scope, counted)
            if n == 0:
                return Outcome(
                    "uncertain",
                    f"{scope.title} holds no {counted} nodes I can count.",
                    [_evidence(c.tree, scope)],
                    "the scope has nothing of that kind",
                )
            return Outcome(
                "answered",
                str(n),
                [_evidence(c.tree, scope)],
                f"counted the {counted} nodes under {scope.title!r}",
            )
    # no heading names it: count the parts of the kind asked whose text holds the terms
    keys = [t for t, idf, ident in c.terms if idf > 0 and (ident or len(c.terms) == 1)]
    if not keys:
        return Outcome(
            "uncertain",
            "No heading or identifier names what to count.",
            [],
            "looked for a heading, field or identifier holding the key terms",
        )
    pool = set.intersection(*(set(c.units.hits(t)) for t in keys))
    holders: dict[int, Any] = {}
    for i in pool:
        u = c.units.nodes[i]
        anc = u if counted == "entry" else _enclosing(u, counted, set())
        if anc is not None:
            holders[id(anc)] = anc
    if not holders:
        return Outcome(
            "not_found",
            f"No {counted} holds {', '.join(repr(k) for k in keys)}.",
            [],
            f"grouped the units holding the terms by their {counted}",
        )
    ev = [_evidence(c.tree, n, 120) for n in list(holders.values())[:5]]
    return Outcome(
        "answered",
        str(len(holders)),
        ev,
        f"{len(holders)} {counted} nodes hold {', '.join(repr(k) for k in keys)}",
    )


async def _extreme(e: Any, c: _Ctx, question: str, parent: int | None, most: bool) -> Outcome:
    if (miss := _missing(c)) is not None:
        return miss
    level = c.plan.levels[0] if c.plan.levels else None
    counted = c.plan.counted or "entry"
    if (absent := _absent_level(c, [*c.plan.levels[:1], counted])) is not None:
        return absent
    scope = c.tree.root
    named = _outermost(_named_nodes(c, None, nested=True)) if c.terms else []
    if named and not (len(named) > 1 and named[1][0] == named[0][0]):
        scope = named[0][1]  # one node named by the terms: the maximum is taken inside it
    elif named:
        tied = [n for sc, n in named if sc == named[0][0]]
        if level and not all(_matches_level(n, level) for n in tied):
            # the terms name several unrelated parts: which one the maximum is taken in is a guess
            return Outcome(
                "uncertain",
                "Several parts are named alike: " + "; ".join(n.title for n in tied[:5]),
                [_evidence(c.tree, n, 120) for n in tied[:5]],
                "the scope of the maximum is ambiguous",
            )
    names_one = [t for t, idf, ident in c.terms if ident and idf > 0]
    if not named and names_one:
        # "which section of 2.3 alpha 1 ...": the part the identifier names was not found, and the
        # maximum over the whole text would answer another question
        return Outcome(
            "uncertain",
            f"No part is named by {names_one[0]!r}, so there is nothing to take the maximum in.",
            [],
            "the scope named by an identifier was not found",
        )
    cands = _nodes_of(scope, level) if level else [n for n, _ in c.tree.children(scope.id)]
    if level and named and scope is c.tree.root:
        # "which version of X": the parts of that kind the terms name, when several are named
        top = [n for sc, n in _named_nodes(c, level) if sc >= named[0][0] - 1e-6 or sc >= 20]
        if len(top) >= 2:
            cands = top
    if not cands and scope is not c.tree.root:
        scope = c.tree.root
        cands = _nodes_of(scope, level) if level else [n for n, _ in c.tree.children(scope.id)]
    if level == "section":
        plain = [n for n in cands if "version" not in n.fields]
        cands = plain if plain and scope is not c.tree.root else cands
    cands = [n for n in cands if n.kind != "root"]
    if not cands:
        return Outcome(
            "uncertain",
            f"The text has no {level or 'parts'} to compare.",
            [],
            f"looked for nodes of kind {level}",
        )
    counts = [(n, _count_under(n, counted)) for n in cands]
    pick = max(x[1] for x in counts) if most else min(x[1] for x in counts)
    tied = [n for n, k in counts if k == pick]
    ev = [{"counts": {_label(n, level): k for n, k in sorted(counts, key=lambda x: -x[1])[:20]}}]
    if pick == 0 and most:
        return Outcome("uncertain", "No part holds any of what is counted.", ev, "all counts are 0")
    if len(tied) > 1:
        return Outcome(
            "uncertain",
            f"A tie at {pick}: " + ", ".join(_label(n, level) for n in tied[:6]),
            ev,
            f"{'most' if most else 'fewest'} {counted} over {len(cands)} {level}",
        )
    return Outcome(
        "answered",
        _label(tied[0], level),
        ev,
        f"{'most' if most else 'fewest'} {counted} ({pick}) over {len(cands)} {level or 'parts'}",
    )


async def _argmax(e: Any, c: _Ctx, q: str, p: int | None) -> Outcome:
    return await _extreme(e, c, q, p, True)


async def _argmin(e: Any, c: _Ctx, q: str, p: int | None) -> Outcome:
    return await _extreme(e, c, q, p, False)


async def _list(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    if (miss := _missing(c)) is not None:
        return miss
    scope, _ = _scope(c, None)
    if scope is c.tree.root:
        return Outcome("uncertain", "No heading names what to list.", [], "looked for a named part")
    items = _leaves(scope)
    if not items:
        return Outcome("uncertain", f"{scope.title} lists nothing.", [_evidence(c.tree, scope)], "no leaves")
    return Outcome(
        "answered",
        "; ".join(n.title for n in items[:30]),
        [_evidence(c.tree, scope)],
        f"the {len(items)} leaves under {scope.title!r}",
    )


async def _compare(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    named = _named_nodes(c, None)
    if len(named) < 2:
        return Outcome(
            "uncertain",
            "The question does not name two parts the text has.",
            [],
            "looked for two named parts",
        )
    a, b = named[0][1], named[1][1]
    ka, kb = _count_under(a, c.plan.counted), _count_under(b, c.plan.counted)
    return Outcome(
        "answered",
        f"{a.title}: {ka}; {b.title}: {kb}",
        [_evidence(c.tree, a), _evidence(c.tree, b)],
        f"counted {c.plan.counted or 'entry'} nodes under both",
    )


async def _extract(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    if (miss := _missing(c)) is not None:
        return miss
    if not c.terms:
        return Outcome(
            "uncertain",
            "The question names nothing the text holds to look for.",
            [],
            "no key term of the question occurs in the text",
        )
    fld = c.plan.field
    if fld:
        ranked = _best_units(c, 3)
        named = _named_nodes(c, None)
        start_nodes = []
        if named and (not ranked or named[0][0] >= ranked[0][0]):
            start_nodes.append(named[0][1])
        start_nodes += [c.units.nodes[i] for _, i in ranked]
        if fld == "default":
            return _default_of(c, [n for _, n in named] + start_nodes)
        if fld == "title":
            return _title_of(c, named, start_nodes)
        for n in start_nodes:
            for a in [n, *_ancestors(n)]:
                v = _field_value(a, fld)
                if v:
                    return Outcome(
                        "answered", v, [_evidence(c.tree, a)], f"field {fld!r} of the located node"
                    )
        if fld not in _FIELD_WORDS:
            # a word the question shares with some "key: value" line elsewhere ("number"), not a kind
            # of value the lexicon knows: the value is read where the question's terms are
            return await _read_value(e, c, question, parent)
        # the question asks for a field the text records elsewhere but not here: reading a value from
        # the prose would be a guess of a different kind (a name mentioned is not the one credited)
        ev = [_evidence(c.tree, n) for n in start_nodes[:2]]
        return Outcome(
            "uncertain",
            f"The part found has no {fld}: " + (" > ".join(ev[0]["path"]) if ev else "nothing located"),
            ev,
            f"no {fld!r} field on the located nodes or their enclosing parts",
        )
    return await _read_value(e, c, question, parent)


_HEADING_DATE = re.compile(
    r"(?<!\d)(\d{4}-\d\d-\d\d|\d{4}\.\d\d\.\d\d|\d{1,2} [A-Z][a-z]{2,8},? \d{4}"
    r"|[A-Z][a-z]{2,8} \d{1,2},? \d{4})(?!\d)"
)


def _field_value(n: Any, fld: str) -> str | None:
    """A node's value for a field: the field itself, a compound field whose head is the asked word
    ("release date" for a date, "patch author" for an author), or for a date one the heading states
    ("## 2023-03-07, Version 18.15.0", "1.2.0 (2021-04-01)")."""
    fields = getattr(n, "fields", None) or {}
    if fields.get(fld):
        return str(fields[fld])
    for k, v in fields.items():
        if v and fld in k.split() and k.split()[-1] == fld:
            return str(v)
    if fld == "date" and getattr(n, "children", None) and getattr(n, "kind", "") not in ("root", "file"):
        m = _HEADING_DATE.search(n.title)
        if m:
            return m.group(1)
    return None


def _title_of(c: _Ctx, named: list[tuple[float, Any]], start: list[Any]) -> Outcome:
    """ "What is section 3.9 called?": the heading of the part named by its number, without the number."""
    idents = {t.removeprefix("=").rstrip(".") for t, _, ident in c.terms if ident}
    best = [
        n
        for n in _all_nodes(c.tree)
        if n.kind == "section" and (m := _NUMBERED.match(n.title)) and m.group(1).rstrip(".") in idents
    ]
    if not best:
        best = [n for sc, n in named if sc >= 20 and sc == named[0][0]]
    if len(best) != 1:
        ev = [_evidence(c.tree, n) for n in (best or start)[:2]]
        return Outcome(
            "uncertain",
            "No single part is named by " + ", ".join(repr(t) for t, _, _ in c.terms[:2]),
            ev,
            "a title is read from the one part the question names",
        )
    n = best[0]
    title = re.sub(r"^\W*(?:(?:section|chapter|part|article|appendix)\s+)?[\dA-Z]?[\d.]*\d[.)]?\s+", "",
                   n.title.strip(), flags=re.I)  # fmt: skip
    return Outcome("answered", title or n.title, [_evidence(c.tree, n)], "the heading of the named part")


def _signature_defaults(text: str) -> dict[str, str]:
    """Parameter -> default, from a ``def`` header as written (the source, parsed, not guessed)."""
    import ast

    header = re.match(r"\s*(?:async\s+)?def\s.*?\)\s*(?:->[^:]*)?:", text, re.S)
    if not header:
        return {}
    try:
        fn = ast.parse(header.group(0).strip() + "\n    pass").body[0]
    except SyntaxError:
        return {}
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    out = {
        p.arg: ast.unparse(d)
        for p, d in zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True)
    }
    out.update(
        {p.arg: ast.unparse(d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None}
    )
    return out


def _default_of(c: _Ctx, nodes: list[Any]) -> Outcome:
    """The default value of a named parameter, read from the signature of the function the terms name."""
    names = {w.lower() for w in re.findall(r"\w+", c.question)}
    for n in nodes:
        if n.kind != "def":
            continue
        defaults = _signature_defaults(c.tree.text[n.start : min(n.end, n.start + 2000)])
        # "the default value of the parameter hash": a parameter called "default" is the asked one only
        # when no other parameter is named
        named = [p for p in defaults if p.lower() in names]
        if len(named) > 1:
            named = [p for p in named if p.lower() not in _FIELD_WORDS["default"]] or named
        if named:
            return Outcome(
                "answered",
                defaults[named[0]],
                [_evidence(c.tree, n)],
                f"default of {named[0]!r} in the signature of {n.title!r}",
            )
    return Outcome(
        "uncertain",
        "No signature found with a default for that parameter.",
        [_evidence(c.tree, n) for n in nodes[:2]],
        "read the signatures of the named functions",
    )


_QUANTITY_Q = re.compile(
    r"^\W*when\b|\b(?:how (?:long|often|far|old|big|fast|heavy|hot|cold|much)|"
    r"what (?:pressure|temperature|size|speed|weight|length|height|distance|price|cost|percentage|rate|age|"
    r"year|port))\b",
    re.I,
)
_SENT = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=[ \t]*(?:[#>*+-]|\d+[.)])\s)")


async def _read_value(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    """A value no field holds: the model reads the best sentences; its span must be in what it read."""
    scope = _read_scope(c)
    if scope is not None:
        # the question names a part by an identifier in its heading ("release 2.4", "section 4.9"): the
        # value is read inside that part, its heading included; a sentence elsewhere is about another
        inside = [
            (sc, i) for sc, i in _best_units(c, 200) if scope.start <= c.units.nodes[i].start < scope.end
        ]
        ranked = inside[:4]
        bodies = [c.tree.text[scope.start : min(scope.end, scope.start + 800)]]
    else:
        ranked = _best_units(c, 4)
        bodies = []
    if not ranked and scope is None:
        return _nothing(c)
    title = scope.title.lower() if scope is not None else ""
    idents = [t for t, idf, ident in c.terms if ident and idf > 0]
    keys = idents or [c.terms[0][0]]
    need = [k for k in idents if not _term_rx(k.lower()).search(title)]  # the scope's name is given
    scored: list[tuple[float, int, str]] = []
    bodies += [c.tree.text[c.units.nodes[i].start : c.units.nodes[i].end] for _, i in ranked]
    for body in bodies:
        for s in _SENT.split(body):
            s = s.strip()
            if not 8 < len(s) < 600 or any(s == x for _, _, x in scored):
                continue
            low = s.lower()
            if need and not any(_term_rx(k.lower()).search(low) for k in need):
                continue  # with an identifier, only sentences that carry it can answer
            # a sentence is ranked by the rarity of the question's terms it holds, not by one key
            # terms that only name the part read in do not make a sentence about what is asked
            w = sum(
                max(idf, 0.5)
                for t, idf, _ in c.terms
                if _term_rx(t.lower()).search(low) and not _term_rx(t.lower()).search(title)
            )
            if w > 0:
                scored.append((w, -len(scored), s))
    sentences = [x for _, _, x in sorted(scored, reverse=True)[:3]]
    if not sentences and ranked and scope is None:
        n = c.units.nodes[ranked[0][1]]
        sentences = [c.tree.text[n.start : min(n.end, n.start + 500)]]
    if not sentences:
        return Outcome(
            "uncertain",
            f"Nothing inside {scope.title if scope is not None else 'the text'} answers it.",
            [_evidence(c.tree, scope)] if scope is not None else [],
            "read only inside the part the question names",
        )
    sentences = sentences[:3]
    # the question first, then the span: measured to make SmolLM2 reach the value within a short reply
    prompts = [f"Question: {_asking(question)}\nText: {s}\nAnswer (copied from the text):" for s in sentences]
    replies = await e.llm_query_batched(prompts, parent=parent, max_tokens=48)
    wants_number = bool(re.search(r"\b(number|how many|what year|count|amount)\b", question, re.I))
    masked_q = question
    quantity = bool(_QUANTITY_Q.search(_asking(question)))
    for s, reply in zip(sentences, replies, strict=False):
        # numbers that are part of the key ("Saffron-50") are not the answer
        shown = s
        for k in keys:
            shown = _term_rx(k.lower()).sub(lambda m: "\u2063" * len(m.group(0)), shown.lower())
        span = _value_in(reply, _restore_case(shown, s), masked_q, wants_number)
        if span and quantity and not re.search(r"\d", span):
            continue  # "what pressure", "how long", "when": words alone do not answer a quantity
        if span and not _balanced(span):
            continue  # a cut-off fragment of code or prose ("parts[0"), not a value
        if span and scope is not None and _part_of_heading(span, scope.title):
            continue  # a piece of the named part's own heading ("Archive" of "2.2. Archive areas")
        if span and not any(span.lower() in k.lower() for k in keys):
            return Outcome(
                "answered", span, [{"text": s}], "the model read the best sentences; span verified"
            )
    return Outcome(
        "uncertain",
        "Read: " + " | ".join(x[:160] for x in sentences),
        [{"text": x} for x in sentences],
        "the model's replies held no span of what it read: " + " | ".join(r[:60] for r in replies),
    )


def _part_of_heading(span: str, title: str) -> bool:
    name = re.sub(r"^\W*[\d.]+\W*", "", title).strip().lower()
    low = span.strip().lower()
    return bool(low) and low in name and len(low) < 0.8 * len(name)


def _read_scope(c: _Ctx) -> Any | None:
    """The one part the question names by an identifier in its own heading, if it names one."""
    named = [(sc, n) for sc, n in _named_nodes(c, None, nested=True) if sc >= 20]
    if not named or (len(named) > 1 and named[1][0] == named[0][0]):
        return None
    n = named[0][1]
    title = n.title.lower()
    return n if any(ident and _term_rx(t.lower()).search(title) for t, _, ident in c.terms) else None


def _balanced(span: str) -> bool:
    depth = {"(": 0, "[": 0, "{": 0}
    close = {")": "(", "]": "[", "}": "{"}
    for ch in span:
        if ch in depth:
            depth[ch] += 1
        elif ch in close:
            depth[close[ch]] -= 1
            if depth[close[ch]] < 0:
                return False
    return not any(depth.values())


def _restore_case(masked_lower: str, original: str) -> str:
    return "".join(o if m != "\u2063" else m for m, o in zip(masked_lower, original, strict=True))


async def _summarise(e: Any, c: _Ctx, question: str, parent: int | None) -> Outcome:
    if c.terms:
        ranked = _best_units(c, 6)
        if not ranked:
            return _nothing(c)
        texts = [c.tree.text[c.units.nodes[i].start : c.units.nodes[i].end][:1000] for _, i in ranked]
    else:  # about the whole text: the beginning of each top-level part
        texts = [c.tree.text[n.start : n.end][:1000] for n in c.tree.root.children[:6]] or [
            c.tree.text[:1000]
        ]
    notes = await e.llm_query_batched(
        [
            f"Passage: {t}\n\nWrite one short note on what this passage says about: {question}\n"
            "If it says nothing about it, reply NONE."
            for t in texts
        ],
        parent=parent,
    )
    useful = [n for n in notes if n and "NONE" not in n.upper()]
    if not useful:
        return Outcome(
            "uncertain",
            "The passages read say nothing clear about it.",
            [{"text": t[:300]} for t in texts[:3]],
            "map over the best passages; every note was NONE",
        )
    return Outcome(
        "answered",
        " ".join(useful[:4]),
        [{"text": t[:300]} for t in texts[:3]],
        "notes of the model on the best passages",
    )


_HANDLERS = {
    "locate": _locate,
    "enclosing": _locate,
    "count": _count,
    "argmax": _argmax,
    "argmin": _argmin,
    "list": _list,
    "compare": _compare,
    "extract": _extract,
    "summarise": _summarise,
}


def parse_plan(data: Any) -> Plan:
    """A plan from JSON (for callers and tests); an invalid plan is an InputError saying what is wrong."""
    from deepwell.core.errors import InputError

    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"Not a valid plan: {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}.") from exc
