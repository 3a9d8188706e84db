"""An on-disk embedding cache for the benchmark, keyed by (model, text hash).

MiniLM encodes ~23 chunks/s on two shared cores, so every chunking variant, peer and rerun that re-embeds
the same text wastes minutes. The cache is a SQLite file under ``bench/.cache`` (gitignored); vectors are
stored as float32 bytes. ``CachedEmbedder`` wraps a Deepwell ``Embedder`` for ingestion only: the
benchmark switches it off (``enabled = False``) before it times searches, so query latency always includes
a real query encoding.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["CACHE_DIR", "CachedEmbedder", "EmbeddingCache"]

CACHE_DIR = Path(__file__).resolve().parents[1] / ".cache"

Encode = Callable[[list[str]], np.ndarray]


class EmbeddingCache:
    def __init__(self, path: Path = CACHE_DIR / "embeddings.sqlite") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha1(f"{model}\0{text}".encode()).hexdigest()

    def encode(self, model: str, texts: Sequence[str], encode: Encode, batch: int = 256) -> np.ndarray:
        """Vectors for ``texts``: cached ones read back, the rest encoded (in batches, saved as they come)."""
        keys = [self.key(model, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            rows = self._db.execute(
                f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(part))})", part
            ).fetchall()
            found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            vecs = np.asarray(encode(part), dtype=np.float32)
            rows = [(self.key(model, t), v.tobytes()) for t, v in zip(part, vecs, strict=True)]
            self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
            self._db.commit()
            found.update((k, np.frombuffer(b, dtype=np.float32)) for k, b in rows)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([found[k] for k in keys])


class CachedEmbedder:
    """A Deepwell ``Embedder`` whose ``encode`` goes through the cache while ``enabled``."""

    def __init__(self, inner: object, cache: EmbeddingCache) -> None:
        self._inner = inner
        self._cache = cache
        self.enabled = True
        self.name: str = inner.name  # type: ignore[attr-defined]
        self.dim: int = inner.dim  # type: ignore[attr-defined]
        self.max_tokens: int = inner.max_tokens  # type: ignore[attr-defined]

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        inner = self._inner
        if not self.enabled:
            return inner.encode(texts, batch_size=batch_size, on_batch=on_batch)  # type: ignore[attr-defined]
        out = self._cache.encode(self.name, list(texts), lambda t: inner.encode(t, batch_size=batch_size))  # type: ignore[attr-defined]
        if on_batch:
            on_batch(len(texts))
        return out.reshape(len(texts), self.dim)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return self._inner.token_offsets(text)  # type: ignore[attr-defined, no-any-return]
