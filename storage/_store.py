"""The store: every read and write of collections, documents, chunks and embeddings goes through here.

Each document is written in one transaction together with a bump of its collection's revision, so a crash
or Ctrl-C leaves either the old document or the new one, and derived indexes can tell they are stale.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from deepwell.core.errors import InputError, NotFoundError, StorageError
from deepwell.storage._db import open_engine
from deepwell.storage._models import Chunk, Collection, Document, Embedding
from deepwell.storage._pgvector import PgVector
from deepwell.storage._records import ChunkRecord, CollectionInfo, DocumentRecord, NewChunk
from deepwell.storage._runs import RunLog

__all__ = ["Store"]


def _chunk_record(c: Chunk) -> ChunkRecord:
    return ChunkRecord(
        id=c.id,
        document_id=c.document_id,
        ordinal=c.ordinal,
        text=c.text,
        char_start=c.char_start,
        char_end=c.char_end,
        token_count=c.token_count,
        headings=list(c.headings or []),
    )


class Store:
    """Repository over one database (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = open_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.runs = RunLog(self._sessions)
        self.pgvector: PgVector | None = PgVector.detect(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise StorageError(f"The database stopped answering: {exc.orig}. Start it and retry.") from exc

    # collections -------------------------------------------------------------------------------
    def ensure_collection(self, name: str, embedding_model: str, embedding_dim: int) -> int:
        name = name.strip()
        if not name or len(name) > 200:
            raise InputError("A collection name must be 1 to 200 characters, e.g. --collection notes.")
        with self.session() as s, s.begin():
            col = s.scalar(select(Collection).where(Collection.name == name))
            if col is None:
                col = Collection(name=name, embedding_model=embedding_model, embedding_dim=embedding_dim)
                s.add(col)
                try:
                    s.flush()
                except IntegrityError:  # created concurrently
                    s.rollback()
                    return self.collection_id(name)
            elif col.embedding_dim != embedding_dim or col.embedding_model != embedding_model:
                raise InputError(
                    f"Collection {name!r} was built with embedding model {col.embedding_model!r} "
                    f"(dim {col.embedding_dim}), not {embedding_model!r}. Use that model "
                    "(DEEPWELL_EMBEDDING_MODEL) or ingest into a new collection."
                )
            return col.id

    def collection_id(self, name: str) -> int:
        with self.session() as s:
            cid = s.scalar(select(Collection.id).where(Collection.name == name))
        if cid is None:
            known = ", ".join(c.name for c in self.collections()) or "none yet"
            raise NotFoundError(
                f"No collection named {name!r} (known: {known}). Ingest into it first: "
                f"deepwell ingest PATH --collection {name}"
            )
        return cid

    def collection(self, name: str) -> CollectionInfo:
        cid = self.collection_id(name)
        return next(c for c in self.collections() if c.id == cid)

    def collections(self) -> list[CollectionInfo]:
        with self.session() as s:
            docs = dict(
                s.execute(select(Document.collection_id, func.count()).group_by(Document.collection_id)).all()
            )
            chunks = dict(
                s.execute(
                    select(Document.collection_id, func.count(Chunk.id))
                    .join(Chunk, Chunk.document_id == Document.id)
                    .group_by(Document.collection_id)
                ).all()
            )
            cols = s.scalars(select(Collection).order_by(Collection.name)).all()
            return [
                CollectionInfo(
                    id=c.id,
                    name=c.name,
                    documents=docs.get(c.id, 0),
                    chunks=chunks.get(c.id, 0),
                    embedding_model=c.embedding_model,
                    embedding_dim=c.embedding_dim,
                    revision=c.revision,
                    created_at=c.created_at,
                )
                for c in cols
            ]

    def revision(self, collection_id: int) -> int:
        with self.session() as s:
            rev = s.scalar(select(Collection.revision).where(Collection.id == collection_id))
        if rev is None:
            raise NotFoundError(f"Collection id {collection_id} no longer exists.")
        return rev

    def delete_collection(self, name: str) -> bool:
        cid = self.collection_id(name)
        with self.session() as s, s.begin():
            s.execute(delete(Collection).where(Collection.id == cid))
        return True

    # documents ---------------------------------------------------------------------------------
    def document_hash(self, collection_id: int, uri: str) -> str | None:
        with self.session() as s:
            return s.scalar(
                select(Document.content_hash).where(
                    Document.collection_id == collection_id, Document.uri == uri
                )
            )

    def put_document(
        self,
        collection_id: int,
        *,
        uri: str,
        title: str,
        text: str,
        content_hash: str,
        metadata: dict[str, Any],
        chunks: Sequence[NewChunk],
    ) -> tuple[int, bool]:
        """Insert or atomically replace one document with its chunks and embeddings.

        Returns ``(document_id, replaced)``. Two writers (replicas over one PostgreSQL) putting the same
        new URI at once both find no row; the later insert breaks the unique key and is retried (a few
        times under contention) as a replacement of the committed row, so no caller sees an error and no
        document is duplicated.
        """
        for _ in range(4):
            try:
                return self._put_document(collection_id, uri, title, text, content_hash, metadata, chunks)
            except IntegrityError:
                continue  # another writer committed this URI between our read and our insert
        return self._put_document(collection_id, uri, title, text, content_hash, metadata, chunks)

    def _put_document(
        self,
        collection_id: int,
        uri: str,
        title: str,
        text: str,
        content_hash: str,
        metadata: dict[str, Any],
        chunks: Sequence[NewChunk],
    ) -> tuple[int, bool]:
        with self.session() as s, s.begin():
            old = s.scalar(
                select(Document).where(Document.collection_id == collection_id, Document.uri == uri)
            )
            replaced = old is not None
            if old is not None:
                s.delete(old)
                s.flush()
            doc = Document(
                collection_id=collection_id,
                uri=uri,
                title=title,
                text=text,
                content_hash=content_hash,
                meta=metadata,
            )
            s.add(doc)
            s.flush()
            rows = []
            for c in chunks:
                row = Chunk(
                    document_id=doc.id,
                    ordinal=c.ordinal,
                    text=c.text,
                    char_start=c.char_start,
                    char_end=c.char_end,
                    token_count=c.token_count,
                    headings=c.headings,
                )
                row.embedding = Embedding(vector=c.vector)
                s.add(row)
                rows.append(row)
            if self.pgvector is not None:
                s.flush()
                self.pgvector.insert(s, collection_id, [(r.id, r.embedding.vector) for r in rows])  # type: ignore[union-attr]
            s.execute(
                update(Collection)
                .where(Collection.id == collection_id)
                .values(revision=Collection.revision + 1)
            )
            return doc.id, replaced

    def _find_document(self, s: Session, collection_id: int, ref: int | str) -> Document:
        q = select(Document).where(Document.collection_id == collection_id)
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            doc = s.scalar(q.where(Document.id == int(ref)))
            if doc is None and isinstance(ref, str):
                doc = s.scalar(q.where(Document.uri == ref))
        else:
            doc = s.scalar(q.where(Document.uri == ref))
        if doc is None:
            raise NotFoundError(
                f"No document {ref!r} in this collection. List its documents with the list_documents tool "
                "(or find them with `deepwell search`), and pass a document id or its exact URI."
            )
        return doc

    def get_document(self, collection: str, ref: int | str) -> DocumentRecord:
        cid = self.collection_id(collection)
        with self.session() as s:
            d = self._find_document(s, cid, ref)
            n = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == d.id)) or 0
            return DocumentRecord(
                id=d.id,
                collection=collection,
                uri=d.uri,
                title=d.title,
                text=d.text,
                content_hash=d.content_hash,
                metadata=dict(d.meta or {}),
                chunk_count=n,
                created_at=d.created_at,
                updated_at=d.updated_at,
            )

    def list_documents(self, collection: str, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
        cid = self.collection_id(collection)
        with self.session() as s:
            rows = s.execute(
                select(Document.id, Document.uri, Document.title, func.length(Document.text), Document.meta)
                .where(Document.collection_id == cid)
                .order_by(Document.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [{"id": r[0], "uri": r[1], "title": r[2], "chars": r[3], "metadata": r[4] or {}} for r in rows]

    def document_uris(self, collection_id: int) -> list[str]:
        with self.session() as s:
            return list(s.scalars(select(Document.uri).where(Document.collection_id == collection_id)))

    def delete_document(self, collection: str, ref: int | str) -> bool:
        cid = self.collection_id(collection)
        with self.session() as s, s.begin():
            doc = self._find_document(s, cid, ref)
            s.delete(doc)
            s.execute(update(Collection).where(Collection.id == cid).values(revision=Collection.revision + 1))
        return True

    # chunks ------------------------------------------------------------------------------------
    def chunks(self, collection: str, ref: int | str) -> list[ChunkRecord]:
        cid = self.collection_id(collection)
        with self.session() as s:
            doc = self._find_document(s, cid, ref)
            return [_chunk_record(c) for c in doc.chunks]

    def get_chunk(self, chunk_id: int, neighbours: int = 0) -> list[ChunkRecord]:
        with self.session() as s:
            c = s.get(Chunk, chunk_id)
            if c is None:
                raise NotFoundError(f"No chunk with id {chunk_id}. Take chunk ids from search results.")
            lo, hi = c.ordinal - max(0, neighbours), c.ordinal + max(0, neighbours)
            rows = s.scalars(
                select(Chunk)
                .where(Chunk.document_id == c.document_id, Chunk.ordinal >= lo, Chunk.ordinal <= hi)
                .order_by(Chunk.ordinal)
            ).all()
            return [_chunk_record(r) for r in rows]

    def chunk_details(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Chunks with their document's id, uri, title and metadata, for building citations."""
        if not chunk_ids:
            return {}
        out: dict[int, dict[str, Any]] = {}
        with self.session() as s:
            for i in range(0, len(chunk_ids), 500):
                part = list(chunk_ids[i : i + 500])
                rows = s.execute(
                    select(Chunk, Document.uri, Document.title, Document.meta)
                    .join(Document, Document.id == Chunk.document_id)
                    .where(Chunk.id.in_(part))
                ).all()
                for c, uri, title, meta in rows:
                    out[c.id] = {
                        "chunk": _chunk_record(c),
                        "uri": uri,
                        "title": title,
                        "metadata": meta or {},
                    }
        return out

    def iter_chunk_texts(self, collection_id: int, batch: int = 2000) -> Iterator[tuple[int, str]]:
        with self.session() as s:
            q = (
                select(Chunk.id, Chunk.text)
                .join(Document, Document.id == Chunk.document_id)
                .where(Document.collection_id == collection_id)
                .order_by(Chunk.id)
                .execution_options(yield_per=batch)
            )
            yield from ((cid, text) for cid, text in s.execute(q))

    def load_vectors(self, collection_id: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All (chunk_ids, vectors) of a collection, the raw material to rebuild a dense index."""
        ids: list[int] = []
        blobs: list[bytes] = []
        with self.session() as s:
            q = (
                select(Embedding.chunk_id, Embedding.vector)
                .join(Chunk, Chunk.id == Embedding.chunk_id)
                .join(Document, Document.id == Chunk.document_id)
                .where(Document.collection_id == collection_id)
                .order_by(Embedding.chunk_id)
                .execution_options(yield_per=5000)
            )
            for cid, blob in s.execute(q):
                ids.append(cid)
                blobs.append(bytes(blob))
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=np.float32)
        vecs = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim)
        return np.asarray(ids, dtype=np.int64), vecs

    def chunk_ids_matching(self, collection_id: int, filters: dict[str, Any]) -> set[int]:
        """Chunk ids whose document matches ``filters`` (metadata equality; ``uri``/``title`` glob)."""
        from fnmatch import fnmatch

        def ok(uri: str, title: str, meta: dict[str, Any]) -> bool:
            for key, want in filters.items():
                if key in ("uri", "title"):
                    value = uri if key == "uri" else title
                    if not fnmatch(value, str(want)):
                        return False
                    continue
                have = meta.get(key)
                wants = want if isinstance(want, list) else [want]
                if have not in wants and str(have) not in [str(w) for w in wants]:
                    return False
            return True

        with self.session() as s:
            docs = s.execute(
                select(Document.id, Document.uri, Document.title, Document.meta).where(
                    Document.collection_id == collection_id
                )
            ).all()
            keep = [d[0] for d in docs if ok(d[1], d[2], d[3] or {})]
            if not keep:
                return set()
            out: set[int] = set()
            for i in range(0, len(keep), 500):
                out.update(s.scalars(select(Chunk.id).where(Chunk.document_id.in_(keep[i : i + 500]))))
            return out
