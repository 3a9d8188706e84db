"""pgvector: dense search inside PostgreSQL, for stores that outgrow one machine's FAISS files.

The ``embeddings`` table stays the source of truth on every backend; ``pgv_embeddings`` mirrors it as a
``vector`` column, written in the same transaction, so PostgreSQL can rank chunks itself. It exists only
where the ``vector`` extension can be created; otherwise Deepwell uses FAISS on PostgreSQL too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

__all__ = ["PgVector"]

log = logging.getLogger(__name__)

_DDL = [
    "CREATE TABLE IF NOT EXISTS pgv_embeddings ("
    " chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
    " collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    " embedding vector NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_pgv_collection ON pgv_embeddings (collection_id)",
]


def _literal(vec: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vec.tolist()) + "]"


class PgVector:
    """The pgvector mirror of one PostgreSQL store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def detect(cls, engine: Engine) -> PgVector | None:
        if engine.dialect.name != "postgresql":
            return None
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                for ddl in _DDL:
                    conn.execute(text(ddl))
        except SQLAlchemyError as exc:
            log.info(
                "pgvector is not available on this server (%s); dense search uses FAISS",
                exc.__class__.__name__,
            )
            return None
        pg = cls(engine)
        pg.backfill()
        return pg

    def insert(self, s: Session, collection_id: int, rows: Sequence[tuple[int, bytes]]) -> None:
        if not rows:
            return
        s.execute(
            text(
                "INSERT INTO pgv_embeddings (chunk_id, collection_id, embedding)"
                " VALUES (:c, :col, CAST(:v AS vector))"
            ),
            [
                {"c": c, "col": collection_id, "v": _literal(np.frombuffer(b, dtype=np.float32))}
                for c, b in rows
            ],
        )

    def backfill(self) -> int:
        """Mirror embeddings written before pgvector was installed; returns how many rows were added."""
        with Session(self.engine) as s, s.begin():
            missing = s.execute(
                text(
                    "SELECT e.chunk_id, d.collection_id, e.vector FROM embeddings e"
                    " JOIN chunks c ON c.id = e.chunk_id JOIN documents d ON d.id = c.document_id"
                    " LEFT JOIN pgv_embeddings p ON p.chunk_id = e.chunk_id WHERE p.chunk_id IS NULL"
                )
            ).all()
            by_col: dict[int, list[tuple[int, bytes]]] = {}
            for chunk_id, col, blob in missing:
                by_col.setdefault(col, []).append((chunk_id, bytes(blob)))
            for col, rows in by_col.items():
                self.insert(s, col, rows)
        if missing:
            log.warning(
                "pgvector: mirrored %d embeddings written before the extension was available", len(missing)
            )
        return len(missing)

    def ensure_ann(self, collection_id: int, dim: int) -> None:
        """An HNSW index for one large collection (a partial index on a typed cast of the column)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS pgv_hnsw_c{int(collection_id)} ON pgv_embeddings"
                    f" USING hnsw ((embedding::vector({int(dim)})) vector_ip_ops)"
                    f" WHERE collection_id = {int(collection_id)}"
                )
            )

    def count(self, collection_id: int) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM pgv_embeddings WHERE collection_id = :c"), {"c": collection_id}
                ).scalar_one()
            )

    def search(
        self, collection_id: int, dim: int, query: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        sql = (
            f"SELECT chunk_id, -((embedding::vector({int(dim)})) <#> CAST(:q AS vector({int(dim)}))) AS score"
            " FROM pgv_embeddings WHERE collection_id = :c"
        )
        params: dict[str, object] = {"q": _literal(query), "c": collection_id, "k": k}
        if allowed is not None:
            sql += " AND chunk_id = ANY(:allowed)"
            params["allowed"] = [int(x) for x in allowed]
        sql += f" ORDER BY (embedding::vector({int(dim)})) <#> CAST(:q AS vector({int(dim)})) LIMIT :k"
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).all()
        return (
            np.asarray([r[0] for r in rows], dtype=np.int64),
            np.asarray([r[1] for r in rows], dtype=np.float32),
        )
