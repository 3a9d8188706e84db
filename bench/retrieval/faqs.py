"""Question sets from the FAQ files that Debian packages ship under ``/usr/share/doc``.

Each FAQ is a list of real user questions written by the maintainers, each followed by its answer. As in
the Python FAQ set, the question is the query and the answer *without* the question is its one relevant
document; the other answers in the same set are the distractors, and they are hard ones (same program,
same vocabulary). Three layouts occur, and each has its parser:

- ``Q:`` / ``A:`` blocks (socat, xz-utils, base-files); several questions may share one answer;
- numbered headings such as ``4.2. Why does ...?`` (zlib, valgrind, lsof, the sed FAQ), of which only
  the ones ending in a question mark become queries; the others still end the answer before them;
- a question alone on an unindented line with its answer indented below it (procps);
- the CVS FAQ's FAQ-O-Matic export: ``    N. Question?`` headings numbered afresh in every category
  (``cvs_pairs``); the Debian FAQ's numbered headings after a table of contents (``debian_faq_pairs``).

``cvs`` and ``debian`` (the Debian FAQ with the Midnight Commander FAQ) were added as fresh held-out sets
with issue 15, before anything was measured on them.

Nothing here is committed: the files come with the packages (``.ci/run`` installs them). A set whose files
are all missing raises ``ConfigError`` naming the packages to install.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from bench.retrieval.dataset import Dataset, rst_sections
from deepwell.core.errors import ConfigError

__all__ = [
    "DOC",
    "cvs_pairs",
    "debian_faq_pairs",
    "faq_dataset",
    "numbered_pairs",
    "qa_pairs",
    "unindented_pairs",
]

DOC = Path("/usr/share/doc")
_MIN_ANSWER_CHARS = 40
_NUMBERED = re.compile(r"^ {0,2}(\d+(?:\.\d+)*)\.?[ \t]+(\S.*)$")
_QA = re.compile(r"^(Q|A)[:.][ \t]*(.*)$")
_RULE = re.compile(r"^\s*[-=*_]{8,}\s*$")

Pair = tuple[list[str], str]  # (questions, answer)


def _read(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _tidy(lines: Iterable[str]) -> str:
    text = "\n".join(line for line in lines if not _RULE.match(line))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def qa_pairs(text: str) -> list[Pair]:
    """``Q:`` ... ``A:`` ... blocks; consecutive questions before one answer share it."""
    out: list[Pair] = []
    questions: list[list[str]] = []
    answer: list[str] | None = None
    for line in text.split("\n"):
        m = _QA.match(line)
        if m and m.group(1) == "Q":
            if answer is not None:
                out.append(([" ".join(q).strip() for q in questions], _tidy(answer)))
                questions, answer = [], None
            questions.append([m.group(2)])
        elif m and m.group(1) == "A" and questions:
            answer = [m.group(2)]
        elif answer is not None:
            answer.append(line)
        elif questions:
            questions[-1].append(line.strip())
    if questions and answer is not None:
        out.append(([" ".join(q).strip() for q in questions], _tidy(answer)))
    return out


def numbered_pairs(text: str) -> list[Pair]:
    """Numbered headings; a heading may run over up to three lines until its question mark. A table of
    contents repeats the headings before the body, so each number keeps its last occurrence."""
    lines = text.split("\n")
    heads: dict[str, tuple[int, int, str]] = {}  # number -> (first line, line after title, title)
    for i, line in enumerate(lines):
        m = _NUMBERED.match(line)
        if not m:
            continue
        title, j = m.group(2).strip(), i + 1
        while "?" not in title and j < len(lines) and j < i + 3 and lines[j].strip():
            if _NUMBERED.match(lines[j]):
                break
            title += " " + lines[j].strip()
            j += 1
        if "?" in title:
            title = title[: title.rindex("?") + 1]
            rest = lines[j - 1].split("?")[-1].strip() if j - 1 > i or "?" in m.group(2) else ""
        else:
            title, j, rest = m.group(2).strip(), i + 1, ""
        if rest:  # the answer begins on the title's own last line
            lines[j - 1] = rest
            j -= 1
        heads[m.group(1)] = (i, j, title)
    ordered = sorted(heads.values())
    out: list[Pair] = []
    for n, (_, body_start, title) in enumerate(ordered):
        end = ordered[n + 1][0] if n + 1 < len(ordered) else len(lines)
        if title.endswith("?"):
            out.append(([title], _tidy(lines[body_start:end])))
    return out


def unindented_pairs(text: str) -> list[Pair]:
    """A question on an unindented line ending in ``?``; its answer is everything until the next one."""
    out: list[Pair] = []
    q: str | None = None
    body: list[str] = []
    for line in text.split("\n"):
        if line[:1].strip() and line.rstrip().endswith("?"):
            if q is not None:
                out.append(([q], _tidy(body)))
            q, body = line.strip(), []
        elif q is not None:
            body.append(line)
    if q is not None:
        out.append(([q], _tidy(body)))
    return out


_CVS_HEAD = re.compile(r"^ {4}(\d+)\.[ \t]+(\S.*)$")
_CVS_END = re.compile(r"^\s*(Category:|Last modified:|\" .* \"\s*$)")


def cvs_pairs(text: str) -> list[Pair]:
    """The CVS FAQ (exported from FAQ-O-Matic): headings ``    N. Question?`` indented four spaces, numbered
    afresh in every category, a title running over up to three lines until its question mark; an answer
    ends at the next heading or category, and its ``Last modified`` stamps and category banners are
    dropped. Headings that are not questions end the answer before them but become no query."""
    lines = text.split("\n")
    out: list[Pair] = []
    title: str | None = None
    body: list[str] = []

    def close() -> None:
        if title is not None and title.endswith("?"):
            out.append(([title], _tidy(body)))

    i = 0
    while i < len(lines):
        m = _CVS_HEAD.match(lines[i])
        if m:
            close()
            t, j = m.group(2).strip(), i + 1
            while (
                "?" not in t
                and j < i + 3
                and j < len(lines)
                and re.match(r" {4}\S", lines[j])  # a wrapped title keeps the heading's indent
                and not _CVS_HEAD.match(lines[j])
            ):
                t += " " + lines[j].strip()
                j += 1
            title, body, i = t, [], j
            continue
        if _CVS_END.match(lines[i]):
            if lines[i].lstrip().startswith("Category:"):
                close()
                title, body = None, []
        elif title is not None:
            body.append(lines[i])
        i += 1
    close()
    return out


def debian_faq_pairs(text: str) -> list[Pair]:
    """The Debian FAQ as text: numbered headings (``numbered_pairs``) written with no-break spaces, after
    a table of contents whose chapter lines would otherwise swallow the first question of each chapter;
    the body starts at ``Chapter 1.`` and the ``Chapter N.`` lines are dropped."""
    text = text.replace("\xa0", " ")
    start = re.search(r"^Chapter 1\.", text, re.M)
    body = text[start.start() :] if start else text
    return numbered_pairs(re.sub(r"^Chapter \d+\..*$", "", body, flags=re.M))


def rst_pairs(text: str) -> list[Pair]:
    return [([t], b) for t, b in rst_sections(text) if t.endswith("?")]


Parser = Callable[[str], list[Pair]]

# set name -> [(file under /usr/share/doc, parser)]; the package to install is the first path part
FAQ_FILES: dict[str, list[tuple[str, Parser]]] = {
    "unix": [
        ("socat/FAQ", qa_pairs),
        ("xz-utils/faq.txt.gz", qa_pairs),
        ("base-files/FAQ", qa_pairs),
        ("zlib1g-dev/FAQ.gz", numbered_pairs),
        ("procps/FAQ.gz", unindented_pairs),
        ("man-db/FAQ", rst_pairs),
        ("valgrind/FAQ.txt.gz", numbered_pairs),
    ],
    "lsof": [("lsof/00FAQ.gz", numbered_pairs)],
    "sed": [("sed/sedfaq.txt.gz", numbered_pairs)],
    # added with issue 15 and never looked at while choosing anything (held out from the start)
    "cvs": [("cvs/FAQ.gz", cvs_pairs)],
    "debian": [("debian/FAQ/debian-faq.en.txt.gz", debian_faq_pairs), ("mc-data/FAQ.gz", numbered_pairs)],
}
TITLES = {
    "unix": "Debian package FAQs (socat, xz, base-files, zlib, procps, man-db, valgrind)",
    "lsof": "lsof FAQ",
    "sed": "sed FAQ",
    "cvs": "CVS FAQ",
    "debian": "Debian FAQ and Midnight Commander FAQ (debian-faq, mc-data)",
}
# the Debian package to install for each file, where it is not the path's first part
PACKAGES = {"debian": "debian-faq"}


def _package(rel: str) -> str:
    first = rel.split("/")[0]
    return PACKAGES.get(first, first)


def faq_dataset(name: str, root: Path = DOC) -> Dataset:
    """One question per query over all answers of the set's FAQ files (missing files are skipped)."""
    corpus: list[tuple[str, str, dict[str, str]]] = []
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    found = []
    for rel, parse in FAQ_FILES[name]:
        path = root / rel
        if not path.is_file():
            continue
        found.append(rel)
        for n, (questions, answer) in enumerate(parse(_read(path))):
            if len(answer) < _MIN_ANSWER_CHARS:
                continue
            doc_id = f"{rel.split('/')[0]}#{n}"
            corpus.append((doc_id, answer, {"kind": "faq"}))
            for q in questions:
                qid = f"{name}{len(queries):03d}"
                queries[qid] = re.sub(r"\s+", " ", q)
                qrels[qid] = {doc_id: 1}
    if not queries:
        packages = " ".join(sorted({_package(rel) for rel, _ in FAQ_FILES[name]}))
        raise ConfigError(
            f"The {TITLES[name]} question set found no questions under {root}; install the packages "
            f"that ship them: `apt-get install {packages}`."
        )
    return Dataset(TITLES[name], corpus, queries, qrels)
