"""The long context, held outside the model: documents, a keyword index, grep, ranges and structure.

The root model never sees this text; it sees ``describe()`` (size, documents, a preview) and the results of
bounded tools. Cost grows with what is read: building the index is one pass of tokenising for BM25, and
every tool returns a few hundred characters.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepwell.core.errors import InputError
from deepwell.retrieval import BM25Index, read_regular_file
from deepwell.retrieval.documents import compile_pattern
from deepwell.retrieval.loaders import LOADERS, iter_files, load_file
from deepwell.rlm._formats import find_headers, find_titles, parse_records
from deepwell.rlm._store import StoreOwner
from deepwell.rlm._structure import Tree, build_tree

__all__ = ["CollectionRef", "ContextIndex", "ContextSource", "Document", "Passage", "load_context"]

_CHUNK_CHARS = 1200


@dataclass(frozen=True)
class CollectionRef:
    """A Deepwell collection used as the context."""

    name: str


# text, a file or directory, documents as strings, or a collection in the store
ContextSource = str | Path | list[str] | tuple[str, ...] | CollectionRef


@dataclass
class Document:
    name: str
    text: str
    start: int = 0  # offset in the concatenated context


@dataclass
class Passage:
    doc: str
    start: int
    end: int
    text: str
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "text": self.text,
        }


@dataclass
class ContextIndex:
    documents: list[Document]
    text: str = ""
    _chunks: list[Passage] = field(default_factory=list)
    _bm25: BM25Index | None = None
    segmented: bool = False
    segmented_by: str = ""  # "headers" (documents inside one text) or "titles" (its top-level sections)
    source_name: str = "context"
    _tree: Tree | None = None

    @classmethod
    def build(cls, documents: list[Document]) -> ContextIndex:
        if not documents or not any(d.text.strip() for d in documents):
            raise InputError("The context is empty; pass a file, text or collection with something in it.")
        segmented, segmented_by, source = False, "", documents[0].name if len(documents) == 1 else "context"
        if len(documents) == 1:
            documents, segmented_by = _segment(documents[0].text)
            segmented = True
            if len(documents) == 1:
                documents[0].name = "context"
                segmented, segmented_by = False, ""
        pos = 0
        for d in documents:
            d.start = pos
            pos += len(d.text) + 2
        idx = cls(
            documents=documents,
            text="\n\n".join(d.text for d in documents),
            segmented=segmented,
            segmented_by=segmented_by,
            source_name=source,
        )
        idx._index()
        return idx

    def _index(self) -> None:
        for d in self.documents:
            for a in range(0, max(len(d.text), 1), _CHUNK_CHARS):
                b = min(len(d.text), a + _CHUNK_CHARS + 200)
                self._chunks.append(Passage(d.name, d.start + a, d.start + b, d.text[a:b]))
        ids = np.arange(len(self._chunks), dtype=np.int64)
        self._bm25 = BM25Index.build(ids, [c.text for c in self._chunks], revision=0)
        if self._bm25.empty:
            raise InputError(
                "The context has no words to index (only punctuation, symbols or bytes that are not UTF-8 "
                "text); pass text, or convert the file to UTF-8 first (e.g. iconv -t utf-8)."
            )

    @property
    def tree(self) -> Tree:
        """The structure model of the context (built on first use; one linear pass)."""
        if self._tree is None:
            if len(self.documents) == 1 or self.segmented_by == "titles":
                self._tree = build_tree([(self.source_name, self.text)])
            else:
                self._tree = build_tree([(d.name, d.text) for d in self.documents])
        return self._tree

    def describe(self, count_tokens: Any = None, preview_chars: int = 300) -> dict[str, Any]:
        names = [d.name for d in self.documents]
        small = count_tokens is not None and len(self.text) < 200_000
        return {
            "chars": len(self.text),
            "tokens": count_tokens(self.text) if small else round(len(self.text) / 4),
            "documents": len(self.documents),
            # before the names: a prompt that clips this description keeps what the text is made of
            "structure": ("documents detected from header lines; " if self.segmented_by == "headers" else "")
            + self.tree.describe(),
            "document_names": names[:20] + (["…"] if len(names) > 20 else []),
            "preview": self.text[:preview_chars],
        }

    def search(self, query: str, k: int = 5) -> list[Passage]:
        if self._bm25 is None:
            return []
        ranked = self._bm25.search(query, k)
        out = []
        for i, s in zip(ranked.ids, ranked.scores, strict=True):
            c = self._chunks[int(i)]
            out.append(Passage(c.doc, c.start, c.end, c.text, float(s)))
        return out

    def grep(self, pattern: str, max_matches: int = 50, context_chars: int = 80) -> dict[str, Any]:
        rx = compile_pattern(pattern)
        matches: list[dict[str, Any]] = []
        total = 0
        starts = np.asarray([d.start for d in self.documents])
        for m in rx.finditer(self.text):
            total += 1
            if len(matches) < max_matches:
                doc = self.documents[int(np.searchsorted(starts, m.start(), side="right")) - 1]
                a, b = max(0, m.start() - context_chars), min(len(self.text), m.end() + context_chars)
                matches.append(
                    {"doc": doc.name, "char": m.start(), "match": m.group(0)[:200], "context": self.text[a:b]}
                )
        return {"pattern": pattern, "total": total, "matches": matches, "truncated": total > len(matches)}

    def docs_matching(self, pattern: str, ignore_case: bool = True) -> Counter[str]:
        """How many matches of ``pattern`` each document holds (for 'which/how many documents' questions)."""
        rx = compile_pattern(pattern, ignore_case=ignore_case)
        return Counter({d.name: n for d in self.documents if (n := len(rx.findall(d.text)))})

    def read(self, start: int, end: int, max_chars: int = 4000) -> str:
        if start < 0 or start >= len(self.text):
            raise InputError(f"Start {start} is outside the context (0..{len(self.text) - 1}).")
        return self.text[start : min(end, start + max_chars, len(self.text))]

    def outline(self, max_items: int = 100) -> list[dict[str, Any]]:
        return [{"doc": d.name, "start": d.start, "chars": len(d.text)} for d in self.documents[:max_items]]

    def records(self) -> tuple[list[str], list[dict[str, str]]]:
        """Structured records in the context (see ``rlm._formats.parse_records``)."""
        return parse_records(self.text)


def _segment(text: str) -> tuple[list[Document], str]:
    """Split one text into documents at the most frequent kind of header line, if any repeats; else at its
    top-level markdown or reStructuredText titles. Says which of the two it did."""
    heads, how = find_headers(text), "headers"
    if not heads:
        heads, how = find_titles(text), "titles"
    if not heads:
        return [Document("context", text)], ""
    docs = []
    if heads[0][0] > 0 and text[: heads[0][0]].strip():
        docs.append(Document("(preamble)", text[: heads[0][0]]))
    for i, (start, name) in enumerate(heads):
        end = heads[i + 1][0] if i + 1 < len(heads) else len(text)
        docs.append(Document(name, text[start:end]))
    return docs, how


def load_context(
    context: ContextSource, dw: StoreOwner | None = None, max_bytes: int = 50_000_000
) -> ContextIndex:
    """A string, a file or directory path, a list of strings (documents) or a ``CollectionRef``.

    Files go through the ingestion loaders where text must be extracted (HTML, PDF); a directory
    becomes one document per readable file, named by its path inside the directory."""
    if isinstance(context, CollectionRef):
        if dw is None:
            raise InputError("A collection context needs the Deepwell store (pass dw=).")
        docs = [
            Document(d["uri"], dw.get_document(context.name, d["id"]).text)
            for d in dw.documents(context.name, limit=100_000)
        ]
        return ContextIndex.build(docs)
    if isinstance(context, Path) and context.is_dir():
        return ContextIndex.build(_directory(context, max_bytes))
    if isinstance(context, Path) and context.suffix.lower() in _EXTRACTED:
        return ContextIndex.build([Document(context.name, load_file(context, max_bytes).text)])
    if isinstance(context, Path):
        data = read_regular_file(context, max_bytes)
        name = context.name
        if data[:2] == b"\x1f\x8b":  # gzip: changelogs and manuals ship compressed (changelog.Debian.gz)
            try:  # read one byte past the limit, never the whole stream: a small file can inflate to GBs
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as z:
                    data = z.read(max_bytes + 1)
            except (OSError, EOFError) as exc:
                raise InputError(f"{context} is not a readable gzip file: {exc}.") from exc
            if len(data) > max_bytes:
                raise InputError(
                    f"{context} inflates to over the {max_bytes:,}-byte limit; "
                    "raise DEEPWELL_MAX_FILE_BYTES or split the file."
                )
            name = name.removesuffix(".gz")
        if b"\x00" in data[:8192]:
            raise InputError(f"{context} looks binary; the RLM reads text. Extract its text first.")
        return ContextIndex.build([Document(name, data.decode("utf-8", errors="replace"))])
    if isinstance(context, (list, tuple)):
        return ContextIndex.build([Document(f"doc{i}", str(t)) for i, t in enumerate(context)])
    if isinstance(context, str):
        if "\x00" in context[:8192]:
            raise InputError("The context looks binary (NUL characters); pass text.")
        return ContextIndex.build([Document("context", context)])
    raise InputError(
        f"Unsupported context type {type(context).__name__}; pass text, a Path, a list or a collection."
    )


_EXTRACTED = frozenset({".html", ".htm", ".pdf"})
log = logging.getLogger(__name__)


# plain-text sources an RLM reads as they are (the tree parses Python into classes and defs); ingestion's
# loaders cover documents, not code
_SOURCE = (".py", ".pyi", ".c", ".h", ".js", ".ts", ".go", ".rs", ".java", ".sh", ".toml", ".cfg", ".ini",
           ".yaml", ".yml", ".json", ".csv", ".tsv", ".log")  # fmt: skip


def _read_source(path: Path, max_bytes: int) -> str:
    try:
        if path.stat().st_size > max_bytes:
            raise InputError(f"{path}: over the {max_bytes / 1e6:.0f} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: binary")
    return data.decode("utf-8", errors="replace")


def _directory(root: Path, max_bytes: int) -> list[Document]:
    docs: list[Document] = []
    wanted = [f"*{ext}" for ext in (*LOADERS, *_SOURCE)]
    for path, reason in iter_files([root], include=wanted):  # refuses links out and special files
        if reason:
            log.warning("skipped %s: %s", path, reason)
            continue
        try:
            name = str(path.relative_to(root))
            if path.suffix.lower() in LOADERS:
                docs.append(Document(name, load_file(path, max_bytes).text))
            else:
                docs.append(Document(name, _read_source(path, max_bytes)))
        except InputError as exc:
            log.warning("skipped %s", exc)
    if not docs:
        raise InputError(
            f"No readable text files in {root} (looked for {', '.join(sorted((*LOADERS, *_SOURCE)))}); "
            "pass a file or a directory of documents."
        )
    return docs
