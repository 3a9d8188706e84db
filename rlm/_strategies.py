"""Built-in strategies: the wide work is done by search, grep and counting; the model reads candidates.

Each returns a ``Found`` (answer + evidence) or ``None`` when it does not apply or finds nothing. An answer
that the model gives is only accepted if it can be found in the text it was given (no invention).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from deepwell.rlm._engine import Engine

__all__ = ["STRATEGIES", "Found", "route"]

_STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "does",
        "do",
        "did",
        "with",
        "from",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "and",
        "or",
        "not",
        "no",
        "mentioned",
        "text",
        "context",
        "answer",
        "please",
        "give",
        "tell",
        "me",
        "find",
        "number",
        "word",
        "words",
        "many",
        "much",
        "record",
        "records",
        "document",
        "documents",
        "section",
        "sections",
        "should",
        "must",
        "can",
        "could",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "have",
        "has",
        "had",
    ]
)
# sentences end at . ! ? or a blank line; a hard-wrapped line goes on, a list item or heading starts anew
_SENT = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=[ \t]*(?:[#>*+-]|\d+[.)])\s)")
_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_QUANTITY_Q = re.compile(
    r"\b(?:how (?:long|often|far|old|big|fast|heavy|hot|cold|much)|when|what (?:pressure|temperature|size|"
    r"speed|weight|length|height|distance|price|cost|percentage|rate|age|time|date|port))\b",
    re.I,
)
_QTY = re.compile(
    r"-?\d[\d,]*(?:\.\d+)?(?:\s*(?:-|–|to|and)\s*-?\d[\d,]*(?:\.\d+)?)?"
    r"(?:\s*(?!(?:and|or|the|a|an|to|of|in|for|on|at|by|is|are)\b)[A-Za-z°%][\w°%/]*)?"
)


@dataclass
class Found:
    answer: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    how: str = ""


def _asking(q: str) -> str:
    """The sentence that asks: the last one ending in '?', else the last sentence.

    Questions often start with a description of the text's format ("records look like 'key: value'"); the
    terms to look for are in the asking sentence, not in that preamble.
    """
    parts = [p.strip() for p in re.split(r"(?<=[.?!])\s+", q.strip()) if p.strip()]
    asks = [p for p in parts if p.endswith("?")]
    return asks[-1] if asks else (parts[-1] if parts else q)


def _quoted(q: str) -> list[str]:
    return [a or b for a, b in re.findall(r"'([^']{2,60})'|\"([^\"]{2,60})\"", q)]


def _anchors(q: str) -> list[str]:
    """Distinctive terms of the question: quoted phrases, hyphenated words, then other content words."""
    out = _quoted(q)
    out += re.findall(r"\b[\w]+(?:-[\w]+)+\b", q)
    out += [w for w in re.findall(r"\b[A-Za-z][\w]*\b", q) if w.lower() not in _STOP and len(w) > 3]
    seen: set[str] = set()
    return [a for a in out if not (a.lower() in seen or seen.add(a.lower()))]


def _stem(word: str) -> str:
    w = word.lower()
    return re.sub(r"(?:ing|ed|es|s)$", "", w) if len(w) > 5 and " " not in w and "-" not in w else w


def _sentence_score(sentence: str, anchors: list[str]) -> float:
    """Distinctive anchors (hyphenated, multi-word) weigh most; a word counts in any inflection."""
    s = sentence.lower()
    score = 0.0
    for i, a in enumerate(anchors):
        if a.lower() in s or re.search(rf"\b{re.escape(_stem(a))}", s):
            score += 3.0 if ("-" in a or " " in a) else 1.0 / (1 + 0.1 * i)
    return score


async def retrieve_then_verify(e: Engine, question: str) -> Found | None:
    """Needle questions: search and grep for the question's anchors, read candidate sentences, verify."""
    step = e.trajectory.step("strategy", {"name": "retrieve_then_verify"})
    anchors = _anchors(_asking(question))
    keys = [x for x in anchors if "-" in x or " " in x or x in _quoted(_asking(question))][:3]
    passages: list[dict[str, Any]] = []
    for a in keys:
        g = await e.tool("grep", parent=step, pattern=re.escape(a), max_matches=5)
        passages += [{"doc": m["doc"], "text": m["context"]} for m in g["matches"]]
    if keys and not passages:
        # the question names something the text never mentions: say so rather than read look-alikes
        return Found(f"The text does not mention {keys[0]!r}.", [], "grep found no occurrence of the key")
    if not passages:
        passages = (await e.tool("search", parent=step, query=question, k=e.config.candidates))["passages"]
    sentences: list[tuple[float, str, str]] = []
    for p in passages:
        for sent in _SENT.split(p["text"]):
            sent = sent.strip()
            if not 8 < len(sent) < 600:
                continue
            if keys and not any(k.lower() in sent.lower() for k in keys):
                continue  # with a distinctive key, only sentences that carry it can answer
            sentences.append((_sentence_score(sent, anchors), sent, p["doc"]))
    sentences.sort(key=lambda x: (-x[0], -len(x[1])))
    top = []
    for sc, s, d in sentences:
        if sc > 0 and s not in [t[1] for t in top]:
            top.append((sc, s, d))
        if len(top) >= 3:
            break
    if not top:
        return None
    ask = f"Question: {question}\nAnswer in a few words copied from the text above."
    prompts = [f"{s}\n\n{ask}" for _, s, _ in top]
    replies = await e.llm_query_batched(prompts, parent=step, max_tokens=24)
    wants_number = bool(re.search(r"\b(number|how many|what year|count|amount)\b", question, re.I))
    quantity = not wants_number and bool(_QUANTITY_Q.search(_asking(question)))
    for (_, s, d), reply in zip(top, replies, strict=False):
        r = _value_in(reply, s, question, wants_number)
        if r and (not quantity or _NUM.search(r)):  # "how long" is not answered by words alone
            return Found(
                r, [{"doc": d, "text": s}], "model read the best sentences; answer verified in the text"
            )
    if quantity:
        for _, s, d in top:
            anchor_pos = max((s.lower().find(a.lower()) for a in anchors), default=-1)
            found = [m.group(0).strip() for m in _QTY.finditer(s) if m.start() > anchor_pos]
            if found:
                return Found(
                    found[0], [{"doc": d, "text": s}], "quantity taken from the best-matching sentence"
                )
    if wants_number:
        for _, s, d in top:
            anchor_pos = max((s.lower().find(a.lower()) for a in anchors), default=-1)
            nums = [(m.start(), m.group(0)) for m in _NUM.finditer(s)]
            after = [n for pos, n in nums if pos > anchor_pos] or [n for _, n in nums]
            if after:
                return Found(
                    after[0], [{"doc": d, "text": s}], "number taken from the best-matching sentence"
                )
    return None


def grounded(answer: str, text: str, question: str) -> bool:
    """Whether an answer could have come from the text: its numbers and one of its own content words occur
    there, in a sentence with a word of the question (a real number from the wrong sentence is not an
    answer)."""
    qwords = {w.lower() for w in re.findall(r"[\w-]+", question)}
    words = [
        w
        for w in re.findall(r"[A-Za-z][\w-]{3,}", answer)
        if w.lower() not in qwords and w.lower() not in _STOP and w.lower() not in _FILLER
    ]
    nums = _NUM.findall(answer)
    if any(n not in text for n in nums):
        return False
    keys = nums[:1] or words[:3]
    if not keys:
        return True  # nothing of its own to check (e.g. "yes")
    stems = [_stem(a) for a in _anchors(_asking(question))]
    low = text.lower()
    for key in keys:
        for m in list(re.finditer(re.escape(key.lower()), low))[:50]:
            start = max(low.rfind(". ", 0, m.start()), low.rfind("\n", 0, m.start())) + 1
            stops = [i for i in (low.find(". ", m.end()), low.find("\n", m.end())) if i >= 0]
            near = low[start : min(stops, default=len(low))]  # the sentence that holds it
            if not stems or any(re.search(rf"\b{re.escape(st)}", near) for st in stems):
                return True
    return False


_FILLER = {"answer", "text", "question", "mentioned", "says", "according", "based"}
_LEAD_IN = re.compile(r"^(?:(?:a|answer)\s*:|the answer(?: to (?:this|the) question)? is\b\s*:?)\s*", re.I)


def _value_in(reply: str, sentence: str, question: str, wants_number: bool) -> str | None:
    """The answer in a sub-call's reply, accepted only if it occurs in the sentence the model read.

    Small models rarely reply with the bare answer: they restate the question ("The codename of release
    2.4 was Blue Heron.") or add their own words. The answer is then the longest run of the reply's words
    that the question lacks and the sentence holds, returned as the sentence spells it.
    """
    lines = [_LEAD_IN.sub("", x.strip()).strip().strip(".").strip() for x in reply.strip().split("\n")]
    lines = [x for x in lines if x]
    if not lines or any("NONE" in x.upper() for x in lines[:1]):
        return None
    if wants_number:
        # a reply that rephrases the sentence still counts if its number is one the sentence holds
        held = {n.replace(",", "") for n in _NUM.findall(sentence)}
        qnums = {n.replace(",", "") for n in _NUM.findall(question)}
        nums = [n for x in lines for n in _NUM.findall(x) if n.replace(",", "") in held - qnums]
        return nums[0] if nums else None
    qwords = {w.lower() for w in re.findall(r"[\w-]+", question)}
    swords = {w.lower() for w in re.findall(r"[\w-]+", sentence)}
    for line in lines[:3]:
        words = re.findall(r"[\w-]+", line)
        novel = [w.lower() not in qwords and w.lower() not in _STOP for w in words]
        if line.lower() in sentence.lower() and any(novel):
            return line.lstrip("-*+ ")  # the model copied what it judged the answer, however long
        runs: list[list[str]] = [[]]
        for w, new in zip(words, novel, strict=True):
            if new and w.lower() in swords:
                runs[-1].append(w)
            elif runs[-1]:
                runs.append([])
        best = max(runs, key=len)
        if best:
            span = re.search(r"\W+".join(re.escape(w) for w in best), sentence, re.I)
            if span:
                return span.group(0)
    return None


_OPS = [
    ("most", re.compile(r"\bmost (common|frequent|often|popular)\b|\bmajority\b", re.I)),
    ("least", re.compile(r"\b(least (common|frequent|often)|fewest|rarest)\b", re.I)),
    ("count", re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b", re.I)),
]


async def extract_then_count(e: Engine, question: str) -> Found | None:
    """Aggregation over records: parse every record, then count or compare deterministically."""
    step = e.trajectory.step("strategy", {"name": "extract_then_count"})
    rec = await e.tool("records", parent=step)
    fields, rows = rec["fields"], rec["records"]
    if len(rows) < 2:
        return None
    asking = _asking(question)
    op = next((name for name, rx in _OPS if rx.search(asking)), None)
    ql = asking.lower()
    mentioned = [f for f in fields if re.search(rf"\b{re.escape(f)}\b", ql)]
    values = {f: Counter(r.get(f, "").lower() for r in rows) for f in fields}
    target = None
    for q in _quoted(asking):
        for f in fields:
            if q.lower() in values[f]:
                target = (f, q.lower())
    if target is None:
        for f in mentioned or fields:
            hits = [v for v in values[f] if v and re.search(rf"\b{re.escape(v)}\b", ql)]
            if len(hits) == 1:
                target = (f, hits[0])
                break
    if op is None:
        return None
    field_ = (mentioned or ([target[0]] if target else []) or [None])[0]
    if op == "count":
        if target is None:
            ans, how = str(len(rows)), f"counted all {len(rows)} records"
        else:
            n = values[target[0]][target[1]]
            ans, how = str(n), f"counted records with {target[0]} = {target[1]}"
        e.trajectory.step("reduce", {"operation": "count", "target": target, "result": ans}, parent=step)
        return Found(ans, [{"counts": dict(values[target[0]]) if target else {"records": len(rows)}}], how)
    if field_ is None:
        return None
    counts = values[field_]
    ordered = counts.most_common()
    pick = ordered[0] if op == "most" else ordered[-1]
    ties = [v for v, c in ordered if c == pick[1]]
    ans = pick[0] if len(ties) == 1 else " / ".join(ties)
    e.trajectory.step(
        "reduce", {"operation": op, "field": field_, "counts": dict(counts), "result": ans}, parent=step
    )
    return Found(ans, [{"counts": dict(counts)}], f"{op} common {field_} over {len(rows)} records")


async def locate_in_structure(e: Engine, question: str) -> Found | None:
    """'Which document mentions X' / 'in how many documents does X appear': grep, then group by document."""
    step = e.trajectory.step("strategy", {"name": "locate_in_structure"})
    if len(e.ctx.documents) < 2:
        return None
    asking = _asking(question)
    quoted = _quoted(asking)
    terms = quoted or [a for a in _anchors(asking) if a.lower() not in _STOP][:1]
    if not terms:
        return None
    term = terms[0]
    pattern = rf"\b{re.escape(term)}\b"
    docs: dict[str, int] = {}
    if quoted:  # a quoted word is meant literally: 'Position' is not 'position'
        docs = (await e.tool("documents_matching", parent=step, pattern=pattern, ignore_case=False))[
            "documents"
        ]
    if not docs:
        docs = (await e.tool("documents_matching", parent=step, pattern=pattern))["documents"]
    if not docs:
        return Found(f"No document mentions '{term}'.", [], "grep found no match")
    if re.search(r"\bhow many\b|\bnumber of\b", asking, re.I):
        return Found(str(len(docs)), [{"documents": docs}], f"'{term}' occurs in {len(docs)} documents")
    best = max(docs.items(), key=lambda kv: kv[1])
    return Found(best[0], [{"documents": docs}], f"'{term}' occurs in {', '.join(list(docs)[:5])}")


async def map_reduce(e: Engine, question: str) -> Found | None:
    """Summaries and open questions: notes from the most relevant pieces, then one combining call."""
    step = e.trajectory.step("strategy", {"name": "map_reduce"})
    passages = (await e.tool("search", parent=step, query=question, k=e.config.candidates))["passages"]
    if not passages:
        spread = e.ctx.outline(max_items=e.config.candidates)
        passages = [{"doc": d["doc"], "text": e.ctx.read(d["start"], d["start"] + 1200)} for d in spread]
    notes = await e.llm_query_batched(
        [
            f"Passage: {p['text'][:1200]}\n\n"
            f"Write one short note on what this passage says about: {question}\n"
            "If it says nothing about it, reply NONE."
            for p in passages
        ],
        parent=step,
    )
    useful = [n for n in notes if n and "NONE" not in n.upper()]
    if not useful:
        return None
    combined = await e.llm_query(
        "Notes:\n" + "\n".join(f"- {n}" for n in useful) + f"\n\nUsing only these notes, answer: {question}",
        parent=step,
        max_tokens=e.config.root_max_tokens,
    )
    return Found(
        combined, [{"doc": p["doc"], "text": p["text"][:300]} for p in passages[:3]], "map-reduce over notes"
    )


Strategy = Callable[[Engine, str], Awaitable[Found | None]]
STRATEGIES: dict[str, Strategy] = {
    "retrieve_then_verify": retrieve_then_verify,
    "extract_then_count": extract_then_count,
    "locate_in_structure": locate_in_structure,
    "map_reduce": map_reduce,
}


def route(question: str, ctx: Any) -> list[str]:
    """Strategies to try, most fitting first, from the question's wording and the context's shape."""
    q = _asking(question).lower()
    order: list[str] = []
    structure_q = re.search(
        r"\bwhich (document|section|file|chapter|release|page)"
        r"|how many (different )?(documents|sections|files)|in how many",
        q,
    )
    aggregate_q = re.search(
        r"most common|least common|most frequent|least frequent"
        r"|how many (records|entries|rows|items|times)|number of (records|entries)",
        q,
    )
    if aggregate_q:
        order.append("extract_then_count")
    if structure_q and len(ctx.documents) > 1:
        order.append("locate_in_structure")
    if re.search(r"\bsummar|overview|main (points|ideas)|what is .* about\b", q):
        order.append("map_reduce")
    for name in ("retrieve_then_verify", "extract_then_count", "map_reduce"):
        if name not in order:
            order.append(name)
    return order
