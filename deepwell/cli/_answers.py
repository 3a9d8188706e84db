"""``deepwell ask`` (a cited answer from a collection) and ``deepwell runs`` (every recorded run)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.markup import escape
from rich.table import Table

from deepwell.cli import _rlm
from deepwell.cli._common import err_console, handle_errors, load_settings, out_console, print_json
from deepwell.core.errors import InputError

if TYPE_CHECKING:
    from deepwell.agents import Method
    from deepwell.sdk import Strategy

__all__ = ["register"]

# same convention as `deepwell rlm`: scripts can tell an answer from "not in the sources"
EXIT_ANSWERED, EXIT_ERROR, EXIT_NOT_FOUND = 0, 1, 3


@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer from the collection.")],
    collection: Annotated[
        str, typer.Option("--collection", "-c", help="Collection to answer from.")
    ] = "default",
    strategy: Annotated[
        str,
        typer.Option(
            help="auto (default): the retrieved passages, unless the question needs the whole collection "
            "(counting, ranking, listing all, which part holds something) - then an RLM run over it; and "
            "the other way when the first finds no supported answer. rag, rlm or moa force one way."
        ),
    ] = "auto",
    method: Annotated[
        str,
        typer.Option(
            help="How rag drafts: self-moa (default: samples of the model, the supported answer they agree "
            "on; measured best in bench.answers), single (one streamed sample, fastest), vote, "
            "self-moa-seq, or moa (DEEPWELL_MOA_MODELS as proposers)."
        ),
    ] = "self-moa",
    k: Annotated[int, typer.Option("-k", help="Passages to read.")] = 4,
    samples: Annotated[int, typer.Option(help="Samples for vote / self-moa / self-moa-seq.")] = 3,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-time budget of an RLM run.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-step progress lines.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Answer QUESTION from a collection with citations, or say it is not in the sources.

    Which way ran and why is printed on stderr (and is `strategy` / `why` in --json). A single-sample
    draft streams to stderr, and so do the steps of an RLM run; the checked answer and its citations go
    to stdout. The run is stored: `deepwell runs show RUN_ID`.

    Exit codes: 0 answered; 1 error (bad input, a model or the database failed, the RLM run failed);
    3 not found in the sources (or the RLM run ended without a verified answer).
    """
    from deepwell.agents import METHODS
    from deepwell.sdk import STRATEGIES

    if strategy not in STRATEGIES:
        raise InputError(f"Unknown --strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.")
    if method not in METHODS:
        raise InputError(f"Unknown --method {method!r}; use one of {', '.join(METHODS)}.")
    if not 1 <= k <= 20:
        raise InputError("-k must be between 1 and 20.")
    settings = load_settings()
    from deepwell.sdk import Deepwell, Route

    with Deepwell(settings) as dw:
        if collection not in {c.name for c in dw.collections()}:
            known = ", ".join(c.name for c in dw.collections()) or "none yet"
            raise InputError(
                f"No collection {collection!r} (collections: {known}). Ingest first: "
                f"deepwell ingest PATH -c {collection}"
            )
        with err_console.status(f"loading {settings.llm_model}"):
            _ = dw.llm
        streamed = method == "single" and not as_json

        def show(piece: str) -> None:
            sys.stderr.write(piece)
            sys.stderr.flush()

        with err_console.status("searching") as status:

            def on_route(way: Route) -> None:
                status.update(f"[cyan]{way.strategy}[/cyan] answering")
                err_console.print(
                    f"[cyan]{way.strategy}[/cyan] [dim]{escape(way.why)}[/dim]", highlight=False
                )
                if streamed and way.strategy != "rlm":
                    status.stop()  # the draft streams in its place

            result = dw.ask(
                question,
                collection,
                strategy=cast("Strategy", strategy),
                method=cast("Method", method),
                k=k,
                samples=samples,
                max_seconds=max_seconds,
                on_text=show if streamed else None,
                progress=_rlm._progress_printer(status, quiet),
                on_route=on_route,
            )
        if streamed and result.strategy != "rlm":
            sys.stderr.write("\n")
    if as_json:
        print_json(result.to_dict())
    else:
        _print_answer(result)
    if result.status == "error":
        raise typer.Exit(EXIT_ERROR)
    if result.status != "answered":
        raise typer.Exit(EXIT_NOT_FOUND)


def _print_answer(result: Any) -> None:
    out_console.print(escape(result.answer), highlight=False)
    if result.citations:
        table = Table("n", "document", "chunk", "chars", box=None, show_header=False)
        for c in result.citations:
            table.add_row(f"[{c.n}]", escape(c.uri), f"chunk {c.chunk}", f"chars {c.char_start}-{c.char_end}")
        out_console.print(table)
    for e in result.evidence[:5]:  # what an RLM run read, by heading path
        if e.get("path"):
            out_console.print(f"[dim]read:[/dim] {escape(' > '.join(map(str, e['path'])))}", highlight=False)
    style = "green" if result.status == "answered" else "yellow"
    err_console.print(
        f"[{style}]{escape(result.status)}[/{style}] · {result.strategy} "
        f"({escape(result.method.removeprefix(result.strategy + ':'))}) · "
        f"{result.seconds:.1f}s · run {result.run_id} (deepwell runs show {result.run_id})\n"
        f"[dim]why {result.strategy}: {escape(result.why)}[/dim]",
        highlight=False,
    )


runs_app = typer.Typer(
    help="Recorded runs of ask, MoA and RLM: list them, or show one as a tree, JSON or HTML.",
    invoke_without_command=True,
)


@runs_app.callback()
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the latest runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the latest runs (ask, moa, rlm); `deepwell runs show RUN_ID` shows one."""
    if ctx.invoked_subcommand is None:
        _rlm.runs(limit=limit, as_json=as_json)


# the same rendering as RLM runs: one tree/JSON/HTML renderer for every kind of run
runs_app.command("show")(_rlm.show)


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.add_typer(runs_app, name="runs")
