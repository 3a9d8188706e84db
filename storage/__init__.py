"""Storage: the database (SQLite by default, PostgreSQL for bigger deployments) is the source of truth."""

from deepwell.storage._db import SCHEMA_VERSION
from deepwell.storage._records import ChunkRecord, CollectionInfo, DocumentRecord, NewChunk
from deepwell.storage._runs import RunLog, RunRecord, StepRecord, clip_step_data
from deepwell.storage._store import Store

__all__ = [
    "SCHEMA_VERSION",
    "ChunkRecord",
    "CollectionInfo",
    "DocumentRecord",
    "NewChunk",
    "RunLog",
    "RunRecord",
    "StepRecord",
    "Store",
    "clip_step_data",
]
