"""Ingestion: files or texts → chunks → embeddings → one transaction per document.

Unchanged content (same SHA-256) is a no-op; changed content replaces the document's chunks atomically.
A bad file is skipped with its reason and never disturbs what is already stored. Ctrl-C between documents
leaves the store consistent: finished documents are committed, the one in flight is not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deepwell.core.errors import InputError
from deepwell.retrieval.chunking import Chunker, ChunkSpan
from deepwell.retrieval.embedding import Embedder
from deepwell.retrieval.loaders import LoadedDocument, iter_files, load_file, load_text
from deepwell.storage import NewChunk, Store

__all__ = ["IngestReport", "Ingestor"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as ``progress(item, done, total)``."""


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def summary(self) -> str:
        s = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped; {self.chunks} chunks written"
        )
        return s + (" (interrupted: finished documents are saved)" if self.interrupted else "")


class Ingestor:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Chunker,
        *,
        max_file_bytes: int,
        batch_chunks: int = 256,
    ) -> None:
        self.store = store
        self.batch_chunks = batch_chunks
        self.embedder = embedder
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes

    def ingest_paths(
        self,
        paths: Iterable[str | Path],
        collection: str,
        *,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        progress: Progress | None = None,
        roots: Iterable[Path] | None = None,
    ) -> IngestReport:
        """Ingest files; with ``roots``, every file (links followed) must lie under one of them."""
        files = list(iter_files(paths, include, exclude, roots=roots))
        report = IngestReport()
        report.skipped.extend((str(p), why) for p, why in files if why)
        todo = [p for p, why in files if not why]
        if not todo and not report.skipped:
            raise InputError("No files to ingest: the paths hold no .txt, .md, .html or .pdf files.")

        def docs() -> Iterable[LoadedDocument | tuple[str, str]]:
            for p in todo:
                try:
                    yield load_file(p, self.max_file_bytes)
                except InputError as exc:
                    yield (str(p), str(exc).split(": ", 1)[-1])

        return self._ingest(docs(), len(todo), collection, report, progress)

    def ingest_texts(
        self,
        items: Iterable[tuple[str, str, dict[str, Any] | None]],
        collection: str,
        *,
        progress: Progress | None = None,
    ) -> IngestReport:
        total = len(items) if isinstance(items, Sized) else 0
        report = IngestReport()

        def docs() -> Iterable[LoadedDocument | tuple[str, str]]:
            for uri, text, meta in items:
                try:
                    yield load_text(uri, text, meta)
                except InputError as exc:
                    yield (uri, str(exc).split(": ", 1)[-1])

        return self._ingest(docs(), total, collection, report, progress)

    def _ingest(
        self,
        docs: Iterable[LoadedDocument | tuple[str, str]],
        total: int,
        collection: str,
        report: IngestReport,
        progress: Progress | None,
    ) -> IngestReport:
        cid = self.store.ensure_collection(collection, self.embedder.name, self.embedder.dim)
        done = 0
        pending: list[tuple[LoadedDocument, str, list[ChunkSpan]]] = []
        try:
            for doc in docs:
                done += 1
                if isinstance(doc, tuple):
                    report.skipped.append(doc)
                    log.warning("skipped %s: %s", *doc)
                else:
                    prepared = self._prepare(cid, doc, report)
                    if prepared:
                        pending.append(prepared)
                if progress:  # before the flush: the file is read, and its chunks are what gets embedded next
                    progress(doc[0] if isinstance(doc, tuple) else doc.uri, done, total)
                if sum(len(p[2]) for p in pending) >= self.batch_chunks:
                    self._flush(cid, pending, report)
            self._flush(cid, pending, report)
        except KeyboardInterrupt:
            report.interrupted = True
        return report

    def _prepare(
        self, cid: int, doc: LoadedDocument, report: IngestReport
    ) -> tuple[LoadedDocument, str, list[ChunkSpan]] | None:
        digest = hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
        if self.store.document_hash(cid, doc.uri) == digest:
            report.unchanged += 1
            return None
        spans = self.chunker.chunk(doc.text)
        if not spans:
            report.skipped.append((doc.uri, "no text to index after chunking"))
            return None
        return doc, digest, spans

    def _flush(
        self, cid: int, pending: list[tuple[LoadedDocument, str, list[ChunkSpan]]], report: IngestReport
    ) -> None:
        """Embed the pending documents' chunks in one batch, then commit each document on its own."""
        if not pending:
            return
        vecs = self.embedder.encode([s.text for _, _, spans in pending for s in spans], batch_size=32)
        row = 0
        for doc, digest, spans in pending:
            chunks = []
            for i, s in enumerate(spans):
                chunks.append(
                    NewChunk(
                        ordinal=i,
                        text=s.text,
                        char_start=s.char_start,
                        char_end=s.char_end,
                        token_count=s.token_count,
                        headings=s.headings,
                        vector=vecs[row].tobytes(),
                    )
                )
                row += 1
            _, replaced = self.store.put_document(
                cid,
                uri=doc.uri,
                title=doc.title,
                text=doc.text,
                content_hash=digest,
                metadata=doc.metadata,
                chunks=chunks,
            )
            report.chunks += len(chunks)
            if replaced:
                report.updated += 1
            else:
                report.added += 1
        pending.clear()
