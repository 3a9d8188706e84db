"""Long-context tasks after the RLM paper (Zhang, Kraska & Khattab, arXiv 2512.24601), seeded.

Three kinds, each at any context size (in SmolLM2 tokens, within a few per cent):

``niah``      S-NIAH (the paper's single needle, from RULER): one haystack of corpus text per size, one
              ``The special magic number for <key> is: <7 digits>.`` sentence inserted at a stated depth
              per task; the question asks for the number. Scored like RULER: 1 if the exact number
              appears in the answer.
``oolong``    OOLONG-style aggregation: labelled records (``Record #… | user … | label: billing | …``)
              scattered among corpus paragraphs; every question about one context needs *all* records
              ("how many records have label X", "which label is most common", "… least common").
              Numeric answers score 0.75^|y−ŷ| as in the paper; labels score exact match.
``multidoc``  Structure questions over a corpus of documents, each block headed by its name:
              "which document mentions <word>" (the word occurs in the blocks of exactly one document)
              and "in how many different documents does <word> appear". The answer depends on which
              document holds the text, not on the text alone — where retrieval of a lone chunk fails.

OOLONG and multidoc questions share one context per size (the paper's OOLONG asks many questions per
context); each needle task has its own. Haystacks of all sizes are prefixes of one seeded ordering of
the corpus, so a smaller context is the head of a larger one.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bench.rlm.corpus import Corpus, Section, TokenCounter

__all__ = [
    "KINDS",
    "LABELS",
    "Task",
    "build_suite",
    "generate_multidoc",
    "generate_niah",
    "generate_oolong",
    "parse_size",
    "score",
    "score_choice",
    "score_exact_number",
    "score_numeric",
]

KINDS = ("niah", "oolong", "multidoc")
LABELS = ("billing", "shipping", "refund", "account", "technical", "feedback")
_ADJECTIVES = ("amber", "silent", "crimson", "frozen", "golden", "hollow", "lunar", "rapid", "velvet", "wild")
_NOUNS = ("falcon", "harbor", "lantern", "meadow", "orchid", "pebble", "quartz", "raven", "summit", "tundra")
_WORD = re.compile(r"\b[A-Za-z][a-z]{6,}\b")
_INT = re.compile(r"-?\d[\d,]*")

Scoring = Literal["exact_number", "numeric", "choice"]


@dataclass(frozen=True)
class Task:
    id: str
    kind: str
    size: int  # the requested size in tokens
    tokens: int  # the measured size of ``context``
    context: str = field(repr=False)
    question: str
    answer: str
    scoring: Scoring
    candidates: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


def parse_size(text: str) -> int:
    """``8k`` → 8192, ``1m`` → 1048576, ``5000`` → 5000."""
    t = text.strip().lower()
    mult = {"k": 1 << 10, "m": 1 << 20}.get(t[-1:], 1)
    try:
        return int(float(t[:-1] if mult > 1 else t) * mult)
    except ValueError:
        raise ValueError(f"Bad context size {text!r}; write e.g. 8k, 32k, 128k, 1m or 5000.") from None


# scoring ------------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    """Lower case, punctuation gone except inside names such as ``library/logging.config``."""
    return " ".join(w.strip("./-") for w in re.sub(r"[^\w/.\-]", " ", text.lower()).split())


def score_exact_number(prediction: str, gold: str) -> float:
    """RULER/S-NIAH: 1 if the gold number appears, as a whole number, in the answer."""
    return float(gold in re.findall(r"\d+", prediction.replace(",", "")))


def score_numeric(prediction: str | int | None, gold: int | str) -> float:
    """OOLONG's numeric score 0.75^|y−ŷ| on the first integer of the answer (0 if there is none)."""
    if prediction is None:
        return 0.0
    if isinstance(prediction, int):
        value = prediction
    else:
        m = _INT.search(prediction)
        if not m:
            return 0.0
        value = int(m.group().replace(",", ""))
    return 0.75 ** abs(int(gold) - value)


def score_choice(prediction: str, gold: str, candidates: Sequence[str]) -> float:
    """Exact match among candidates: the gold one is named and no other candidate is.

    An answer that lists every label or document must not score; case and punctuation are ignored.
    """
    pred = f" {_norm(prediction)} "

    def named(c: str) -> bool:
        return f" {_norm(c)} " in pred

    return float(named(gold) and not any(named(c) for c in candidates if c != gold))


def score(task: Task, prediction: str | None) -> float:
    if not prediction:
        return 0.0
    if task.scoring == "exact_number":
        return score_exact_number(prediction, task.answer)
    if task.scoring == "numeric":
        return score_numeric(prediction, task.answer)
    return score_choice(prediction, task.answer, task.candidates or (task.answer,))


# haystacks ----------------------------------------------------------------------------------------
def _order(corpus: Corpus, seed: int) -> list[Section]:
    sections = list(corpus.sections)
    random.Random(f"order-{seed}").shuffle(sections)
    return sections


def _take(units: Iterable[str], budget: int, counter: TokenCounter) -> tuple[list[str], int]:
    """Whole units from the front until ``budget`` tokens; the last one is cut at a paragraph."""
    out: list[str] = []
    total = 0
    for unit in units:
        n = counter.count(unit) + 1
        if total + n <= budget:
            out.append(unit)
            total += n
            continue
        kept: list[str] = []
        for para in unit.split("\n\n"):
            m = counter.count(para) + 1
            if total + m > budget:
                break
            kept.append(para)
            total += m
        if kept:
            out.append("\n\n".join(kept))
        break
    else:
        raise ValueError(
            f"The corpus is too small for a {budget}-token context; use --corpus python-docs "
            "(install python3.11-doc) or smaller --sizes."
        )
    return out, total


def _paragraphs(sections: Iterable[Section]) -> Iterable[str]:
    for s in sections:
        for para in s.text.split("\n\n"):
            if para.strip():
                yield para.strip()


def _insert_at_depth(paragraphs: list[str], sentence: str, depth: float) -> tuple[str, int]:
    """Join paragraphs with the sentence inserted at the paragraph boundary nearest ``depth``."""
    total = sum(len(p) + 2 for p in paragraphs)
    target, pos, index = depth * total, 0, len(paragraphs)
    for i, p in enumerate(paragraphs):
        if pos + (len(p) + 2) / 2 > target:
            index = i
            break
        pos += len(p) + 2
    parts = [*paragraphs[:index], sentence, *paragraphs[index:]]
    text = "\n\n".join(parts)
    return text, text.index(sentence)


def generate_niah(corpus: Corpus, size: int, n: int, counter: TokenCounter, seed: int = 0) -> list[Task]:
    rng = random.Random(f"niah-{seed}-{size}")
    paras, _ = _take(_paragraphs(_order(corpus, seed)), size - 24, counter)  # a needle is < 24 tokens
    tasks = []
    for i in range(n):
        key = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}"
        value = str(rng.randrange(1_000_000, 10_000_000))
        needle = f"The special magic number for {key} is: {value}."
        depth = min(0.95, max(0.05, (i + rng.random()) / n))
        context, at = _insert_at_depth(paras, needle, depth)
        tasks.append(
            Task(
                id=f"niah-{size}-{i}",
                kind="niah",
                size=size,
                tokens=counter.count(context),
                context=context,
                question=f"What is the special magic number for {key} mentioned in the text?",
                answer=value,
                scoring="exact_number",
                meta={"depth": depth, "char_depth": at / len(context), "needle": needle},
            )
        )
    return tasks


@dataclass(frozen=True)
class RecordFormat:
    """How one context writes its records; the question's preamble describes it, as a user's would."""

    name: str
    field: str  # the name of the labelled field
    describe: str
    scattered: bool  # one record per line among the paragraphs, or one table block

    def render(self, rng: random.Random, number: int, label: str, notes: Sequence[str]) -> str:
        date = f"2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        user, note = f"u{rng.randrange(100, 1000)}", rng.choice(notes)
        return {
            "pipe": f"Record #{number:05d} | user: {user} | date: {date} | label: {label} | note: {note}",
            "json": json.dumps({"id": number, "user": user, "date": date, "category": label, "note": note}),
            "logfmt": f"ts={date}T09:{number % 60:02d}:00 id={number} user={user} topic={label} "
            f"msg={json.dumps(note)}",
            "xml": f'<ticket id="{number}" user="{user}" date="{date}" label="{label}">'
            f"{html.escape(note, quote=False)}</ticket>",
            "csv": _csv_row([str(number), user, date, label, note]),
        }[self.name]


RECORD_FORMATS = {
    "pipe": RecordFormat(
        "pipe",
        "label",
        "records, one per line, of the form 'Record #N | user: ... | date: ... | label: L | note: ...'",
        True,
    ),
    "json": RecordFormat(
        "json", "category", "records, one JSON object per line with keys id, user, date, category, note", True
    ),
    "logfmt": RecordFormat(
        "logfmt", "topic", "log lines of the form 'ts=... id=N user=... topic=T msg=\"...\"'", True
    ),
    "csv": RecordFormat(
        "csv", "category", "one CSV table with the header line 'id,user,date,category,note'", False
    ),
    "xml": RecordFormat(
        "xml",
        "label",
        'records, one per line, as XML elements \'<ticket id="N" user=... label="L">note</ticket>\'',
        True,
    ),
}
HEADER_FORMATS = {
    "equals": ("=== Document: {doc} (section: {title}) ===", "", "'=== Document: NAME (section: TITLE) ==='"),
    "markdown": ("# File: {doc} (section: {title})", "", "'# File: NAME (section: TITLE)'"),
    "xml": ('<document name="{doc}" section="{title}">', "</document>", "'<document name=\"NAME\" ...>'"),
    "dashes": ("----- {doc} (section: {title}) -----", "", "'----- NAME (section: TITLE) -----'"),
}


def _csv_row(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _pick(formats: str | Sequence[str], table: dict[str, Any], rng: random.Random) -> str:
    """One format name: the given one, or a seeded choice among ``formats`` ('varied' = all)."""
    names = list(table) if formats == "varied" else [formats] if isinstance(formats, str) else list(formats)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"Unknown format {unknown[0]!r}; choose from varied, {', '.join(table)}.")
    return rng.choice(names)


def generate_oolong(
    corpus: Corpus,
    size: int,
    n: int,
    counter: TokenCounter,
    seed: int = 0,
    formats: str | Sequence[str] = "pipe",
) -> list[Task]:
    rng = random.Random(f"oolong-{seed}-{size}")
    fmt = RECORD_FORMATS[_pick(formats, RECORD_FORMATS, random.Random(f"oolong-format-{seed}-{size}"))]
    n_records = max(20, size // 120)
    weights = sorted((rng.uniform(0.3, 3.0) for _ in LABELS), reverse=True)
    labels = list(LABELS)
    rng.shuffle(labels)
    drawn = rng.choices(labels, weights=weights, k=n_records)
    counts = Counter(drawn)
    ranked = counts.most_common()
    while len(ranked) > 1 and ranked[0][1] == ranked[1][1]:  # a unique most common label
        drawn[drawn.index(ranked[1][0])] = ranked[0][0]
        counts = Counter(drawn)
        ranked = counts.most_common()
    notes = [p.split("\n")[0][:70] for p in _paragraphs(corpus.sections[:300]) if len(p) > 40][:200]
    records = [fmt.render(rng, i + 1, label, notes) for i, label in enumerate(drawn)]
    if not fmt.scattered:
        records = ["id,user,date,category,note\n" + "\n".join(records)]
    record_tokens = sum(counter.count(r) + 1 for r in records)
    paras, _ = _take(_paragraphs(_order(corpus, seed)), max(size // 10, size - record_tokens), counter)
    slots = sorted(rng.randrange(len(paras) + 1) for _ in records)
    parts: list[str] = []
    j = 0
    for i, para in enumerate(paras):
        while j < len(slots) and slots[j] == i:
            parts.append(records[j])
            j += 1
        parts.append(para)
    parts.extend(records[j:])
    context = "\n\n".join(parts)
    tokens = counter.count(context)
    present = [lab for lab in LABELS if counts[lab]]
    least = min(present, key=lambda lab: (counts[lab], lab))
    unique_least = sum(counts[lab] == counts[least] for lab in present) == 1
    questions: list[tuple[str, str, Scoring]] = []
    for i in range(n):
        kind = ("count", "most", "least", "count")[i % 4]
        if kind == "most":
            questions.append(
                (
                    f"Among the records, which {fmt.field} is the most common? Answer with the {fmt.field}.",
                    ranked[0][0],
                    "choice",
                )
            )
        elif kind == "least" and unique_least:
            questions.append(
                (
                    f"Among the records, which {fmt.field} is the least common? Answer with the {fmt.field}.",
                    least,
                    "choice",
                )
            )
        else:
            label = rng.choice(present)
            questions.append(
                (
                    f"How many records have the {fmt.field} '{label}'? Answer with a number.",
                    str(counts[label]),
                    "numeric",
                )
            )
    preamble = f"The text contains {fmt.describe}; the {fmt.field} is one of: {', '.join(LABELS)}. "
    return [
        Task(
            id=f"oolong-{size}-{i}",
            kind="oolong",
            size=size,
            tokens=tokens,
            context=context,
            question=preamble + q,
            answer=a,
            scoring=s,
            candidates=LABELS if s == "choice" else (),
            meta={"records": n_records, "format": fmt.name, "counts": dict(counts)},
        )
        for i, (q, a, s) in enumerate(questions)
    ]


def generate_multidoc(
    corpus: Corpus,
    size: int,
    n: int,
    counter: TokenCounter,
    seed: int = 0,
    formats: str | Sequence[str] = "equals",
) -> list[Task]:
    rng = random.Random(f"multidoc-{seed}-{size}")
    fmt = _pick(formats, HEADER_FORMATS, random.Random(f"multidoc-format-{seed}-{size}"))
    opening, closing, shown = HEADER_FORMATS[fmt]
    sections = [s for s in _order(corpus, seed + 1) if s.text.strip()]
    blocks, _ = _take(
        (f"{opening.format(doc=s.doc, title=s.title)}\n{s.text}\n{closing}".rstrip() for s in sections),
        size,
        counter,
    )
    context = "\n\n".join(blocks)
    docs_of: dict[str, set[str]] = {}
    header_words: set[str] = set()
    doc_names: list[str] = []
    for section, block in zip(sections, blocks, strict=False):
        head, _, body = block.partition("\n")
        doc = section.doc
        doc_names.append(doc)
        header_words.update(w.lower() for w in re.findall(r"[A-Za-z]+", closing))
        header_words.update(w.lower() for w in re.findall(r"[A-Za-z]+", head))
        for word in set(_WORD.findall(body)):
            docs_of.setdefault(word, set()).add(doc)
    candidates = tuple(sorted(set(doc_names)))
    tokens = counter.count(context)
    usable = sorted(w for w in docs_of if w.lower() not in header_words)
    single = [w for w in usable if len(docs_of[w]) == 1]
    several = [w for w in usable if 2 <= len(docs_of[w]) <= 8]
    rng.shuffle(single)
    rng.shuffle(several)
    tasks = []
    rules = (
        f"The text is a sequence of documents; each block starts with a line {shown} "
        "and runs until the next such line. "
    )
    for i in range(n):
        if i % 2 == 0 and single:
            word = single.pop()
            doc = next(iter(docs_of[word]))
            q = f"Which document mentions the word '{word}'? Answer with the document NAME only."
            answer, scoring, cands = doc, "choice", candidates
        elif several:
            word = several.pop()
            q = (
                f"In how many different documents (distinct NAMEs) does the word '{word}' appear? "
                "Answer with a number."
            )
            answer, scoring, cands = str(len(docs_of[word])), "numeric", ()
        else:
            break
        tasks.append(
            Task(
                id=f"multidoc-{size}-{i}",
                kind="multidoc",
                size=size,
                tokens=tokens,
                context=context,
                question=rules + q,
                answer=answer,
                scoring=scoring,  # type: ignore[arg-type]
                candidates=cands,
                meta={"word": word, "format": fmt, "documents": len(candidates), "blocks": len(blocks)},
            )
        )
    return tasks


def build_suite(
    corpus: Corpus,
    sizes: Sequence[int],
    per_kind: int,
    counter: TokenCounter,
    seed: int = 0,
    kinds: Sequence[str] = KINDS,
    formats: str = "varied",
) -> list[Task]:
    """Tasks for every size and kind. ``formats``: 'varied' (the record and header layouts rotate from
    one context size to the next, so no strategy can lean on one layout) or 'fixed' (pipe records,
    '=== Document' headers)."""
    if formats not in ("varied", "fixed"):
        raise ValueError(f"Unknown formats {formats!r}; choose varied or fixed.")
    records, headers = list(RECORD_FORMATS), list(HEADER_FORMATS)
    tasks: list[Task] = []
    for i, size in enumerate(sizes):
        record = records[(i + seed) % len(records)] if formats == "varied" else "pipe"
        header = headers[(i + seed) % len(headers)] if formats == "varied" else "equals"
        for kind in kinds:
            if kind == "niah":
                tasks += generate_niah(corpus, size, per_kind, counter, seed)
            elif kind == "oolong":
                tasks += generate_oolong(corpus, size, per_kind, counter, seed, record)
            else:
                tasks += generate_multidoc(corpus, size, per_kind, counter, seed, header)
    return tasks
