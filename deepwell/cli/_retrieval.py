"""``deepwell ingest | search | collections | rm | doctor``."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from deepwell.cli._common import err_console, handle_errors, load_settings, out_console, print_json
from deepwell.core.errors import DeepwellError, InputError

__all__ = ["register"]

CollectionOpt = Annotated[str, typer.Option("--collection", "-c", help="Collection name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]


def _open(**overrides: Any):  # type: ignore[no-untyped-def]
    from deepwell.sdk import Deepwell

    return Deepwell(load_settings(**overrides))


def _parse_filters(items: list[str] | None) -> dict[str, Any] | None:
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise InputError(
                f"Filter {item!r} is not KEY=VALUE, e.g. --filter type=md or --filter 'uri=*guide*'."
            )
        k, v = item.split("=", 1)
        out.setdefault(k.strip(), []).append(v)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


class _IngestProgress:
    """What ingest really did so far: files read and chunked, chunks embedded, and the embedding rate.

    No time estimate: chunks per file vary too much to promise one. On a terminal a live line; otherwise
    (CI logs, pipes) one plain line every few seconds, so a long ingest is visibly alive.
    """

    def __init__(self, every: float = 5.0) -> None:
        self.files = self.total = self.embedded = 0
        self.item = "loading models"
        self.every = every
        self.t0 = self.last = time.perf_counter()
        self.live = err_console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.fields[line]}"),
            console=err_console,
            transient=True,
            disable=not self.live,
        )
        self.task = self.bar.add_task("ingest", total=None, line="loading models")

    def __enter__(self) -> _IngestProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def _line(self) -> str:
        took = time.perf_counter() - self.t0
        rate = f", {self.embedded / took:.1f} chunks/s" if self.embedded and took > 0 else ""
        return f"{self.files}/{self.total} files read, {self.embedded} chunks embedded{rate} · {self.item}"

    def _show(self) -> None:
        if self.live:
            self.bar.update(self.task, completed=self.files, total=self.total or None, line=self._line())
        elif time.perf_counter() - self.last >= self.every:
            self.last = time.perf_counter()
            err_console.print(f"ingest: {self._line()}", highlight=False, soft_wrap=True)

    def file(self, item: str, done: int, total: int) -> None:
        self.files, self.total, self.item = done, total, Path(item).name[-40:]
        self._show()

    def chunks(self, n: int) -> None:
        self.embedded += n
        self._show()


@handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories (searched recursively).")],
    collection: CollectionOpt = "default",
    include: Annotated[list[str] | None, typer.Option(help="Glob of files to include, e.g. '*.md'.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Glob of files to leave out.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest .txt, .md, .html and .pdf files; unchanged ones are skipped, changed ones replaced."""
    dw = _open()
    t0 = time.perf_counter()
    with _IngestProgress() as shown:
        report = dw.ingest(
            paths, collection, include=include, exclude=exclude, progress=shown.file, on_chunks=shown.chunks
        )
    seconds = time.perf_counter() - t0
    if as_json:
        print_json({**report.to_dict(), "collection": collection, "seconds": round(seconds, 2)})
    else:
        for path, why in report.skipped:
            err_console.print(f"[yellow]skipped[/yellow] {path}: {why}", highlight=False)
        out_console.print(f"{collection}: {report.summary} in {seconds:.1f}s", highlight=False)
    if report.interrupted:
        raise typer.Exit(130)
    if report.skipped and not (report.added or report.updated or report.unchanged):
        err_console.print("[red]error:[/red] nothing was ingested; every path above was skipped.")
        raise typer.Exit(1)


@handle_errors
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    collection: CollectionOpt = "default",
    mode: Annotated[str, typer.Option(help="hybrid, dense or keyword.")] = "hybrid",
    k: Annotated[int, typer.Option("-k", help="Number of results.")] = 5,
    rerank: Annotated[
        bool, typer.Option("--rerank", help="Re-score the top results with the reranker.")
    ] = False,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="KEY=VALUE on document metadata; uri/title take globs."),
    ] = None,
    fusion: Annotated[str | None, typer.Option(help="rrf, weighted or relative (hybrid mode).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a collection; every result carries its citation (document, chunk, character span, scores)."""
    dw = _open()
    hits = dw.search(
        query, collection, mode=mode, k=k, rerank=rerank, filters=_parse_filters(filters), fusion=fusion
    )
    if as_json:
        print_json(
            {
                "query": query,
                "collection": collection,
                "mode": mode,
                "hits": [{**h.to_dict(), "citation": h.citation} for h in hits],
            }
        )
        return
    if not hits:
        out_console.print("No results.")
        return
    for i, h in enumerate(hits, 1):
        stages = "  ".join(f"{k}={v:.3f}" for k, v in h.scores.items())
        where = " › ".join(h.headings) or h.title
        out_console.print(f"[bold][{i}][/bold] {where}  [dim]{stages}[/dim]", highlight=False)
        snippet = " ".join(h.text.split())
        out_console.print(f"    {snippet[:300]}{'…' if len(snippet) > 300 else ''}", highlight=False)
        out_console.print(f"    [cyan]{h.citation}[/cyan]", highlight=False)


@handle_errors
def collections(as_json: JsonOpt = False) -> None:
    """List collections with their document and chunk counts."""
    dw = _open()
    cols = dw.collections()
    if as_json:
        print_json([c.to_dict() for c in cols])
        return
    if not cols:
        out_console.print("No collections yet. Try: deepwell ingest PATH --collection NAME")
        return
    table = Table("collection", "documents", "chunks", "embedding model", "created")
    for c in cols:
        table.add_row(
            c.name, str(c.documents), str(c.chunks), c.embedding_model, f"{c.created_at:%Y-%m-%d %H:%M}"
        )
    out_console.print(table)


@handle_errors
def docs(
    collection: CollectionOpt = "default",
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many.")] = 1000,
    offset: Annotated[int, typer.Option(help="Skip this many first.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """List a collection's documents: id, URI, title, size and chunks (ids work with `deepwell rm`)."""
    dw = _open()
    rows = dw.documents(collection, limit=limit, offset=offset)
    if as_json:
        print_json({"collection": collection, "documents": rows})
        return
    if not rows:
        out_console.print(f"{collection} has no documents. Try: deepwell ingest PATH -c {collection}")
        return
    table = Table(*(k for k in rows[0] if k != "metadata"))
    for r in rows:
        table.add_row(*(str(v) for k, v in r.items() if k != "metadata"))
    out_console.print(table)


@handle_errors
def rm(
    collection: CollectionOpt = "default",
    document: Annotated[
        str | None, typer.Argument(help="Document id or URI; omit to remove the collection.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a document (by id or URI) or a whole collection, from the database and every index."""
    dw = _open()
    if document is None:
        info = dw.store.collection(collection)
        if not yes:
            typer.confirm(
                f"Remove collection {collection!r} ({info.documents} documents)?", abort=True, err=True
            )
        dw.delete_collection(collection)
        out_console.print(f"Removed collection {collection}.")
    else:
        doc = dw.get_document(collection, document)
        dw.delete_document(collection, doc.id)
        out_console.print(f"Removed {doc.uri} from {collection}.")


def doctor(as_json: JsonOpt = False) -> None:
    """Check that models load offline, the database answers, and indexes match the database."""
    settings = load_settings()
    checks: list[dict[str, Any]] = []

    def check(name: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        try:
            detail = fn()
            checks.append(
                {"check": name, "ok": True, "detail": detail, "seconds": round(time.perf_counter() - t0, 2)}
            )
            return True
        except DeepwellError as exc:
            checks.append({"check": name, "ok": False, "detail": str(exc)})
        except Exception as exc:
            checks.append({"check": name, "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
        return False

    from deepwell.sdk import Deepwell

    holder: dict[str, Any] = {}

    def db() -> str:
        holder["dw"] = Deepwell(settings)
        holder["dw"].store.ping()
        return f"{holder['dw'].store.dialect} at {settings.db_url.split('@')[-1]}"

    def embedder() -> str:
        from deepwell.retrieval import load_embedder

        e = load_embedder(settings.embedding_model, settings.torch_threads)
        v = e.encode(["doctor check"])
        norm = float((v**2).sum())
        return f"{settings.embedding_model}: dim {e.dim}, max {e.max_tokens} tokens, norm {norm:.2f}"

    def llm() -> str:
        if settings.llm_backend != "llama_cpp":
            return f"{settings.llm_backend} backend at {settings.llm_base_url} (not probed)"
        if importlib.util.find_spec("llama_cpp") is None:
            raise InputError("llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36")
        from deepwell.reasoning import resolve_model_path

        path = resolve_model_path(settings.llm_model)
        return f"{settings.llm_model}: {path}"

    def indexes() -> str:
        dw = holder["dw"]
        lines = []
        for c in dw.collections():
            dense, kw = dw.retriever.indexes(c.id)
            if dense.size != c.chunks or len(kw.ids) != c.chunks:
                dw.retriever.rebuild(c.id)
                lines.append(f"{c.name}: rebuilt (index had {dense.size} of {c.chunks} chunks)")
            else:
                lines.append(
                    f"{c.name}: {c.chunks} chunks, {dense.kind} index, in sync at revision {c.revision}"
                )
        return "; ".join(lines) or "no collections"

    ok_db = check("database", db)
    check("embedding model (offline)", embedder)
    check("reasoning model", llm)
    if ok_db:
        check("indexes vs database", indexes)
    if as_json:
        print_json({"ok": all(c["ok"] for c in checks), "checks": checks})
    else:
        for c in checks:
            mark = "[green]ok[/green]  " if c["ok"] else "[red]FAIL[/red]"
            out_console.print(f"{mark} {c['check']}: {c['detail']}", highlight=False)
    if not all(c["ok"] for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(search)
    app.command()(collections)
    app.command()(docs)
    app.command()(rm)
    app.command()(doctor)
