"""``deepwell ask`` (a cited answer from a collection) and ``deepwell runs`` (every recorded run)."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from deepwell.cli import _rlm
from deepwell.cli._common import err_console, handle_errors, load_settings, out_console, print_json
from deepwell.core.errors import InputError

__all__ = ["register"]

# same convention as `deepwell rlm`: scripts can tell an answer from "not in the sources"
EXIT_ANSWERED, EXIT_NOT_FOUND = 0, 3


@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer from the collection.")],
    collection: Annotated[
        str, typer.Option("--collection", "-c", help="Collection to answer from.")
    ] = "default",
    method: Annotated[
        str,
        typer.Option(
            help="self-moa (default: samples of the model, the supported answer they agree on; measured "
            "best in bench.answers), single (one streamed sample, fastest), vote, self-moa-seq, or moa "
            "(DEEPWELL_MOA_MODELS as proposers)."
        ),
    ] = "self-moa",
    k: Annotated[int, typer.Option("-k", help="Passages to read.")] = 4,
    samples: Annotated[int, typer.Option(help="Samples for vote / self-moa / self-moa-seq.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Answer QUESTION from a collection with numbered citations, or say it is not in the sources.

    The model's draft streams to stderr; the checked answer (only sentences a source supports) and its
    citations go to stdout. Exit code 0 when answered, 3 when not found. The run is stored: `deepwell runs
    show RUN_ID`.
    """
    from deepwell.agents import METHODS, Method

    if method not in METHODS:
        raise InputError(f"Unknown --method {method!r}; use one of {', '.join(METHODS)}.")
    if not 1 <= k <= 20:
        raise InputError("-k must be between 1 and 20.")
    settings = load_settings()
    from deepwell.sdk import Deepwell

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

        result = asyncio.run(
            dw.ask_async(
                question,
                collection,
                method=cast(Method, method),
                k=k,
                samples=samples,
                on_text=show if streamed else None,
            )
        )
        if streamed:
            sys.stderr.write("\n")
    if as_json:
        print_json(result.to_dict())
    else:
        out_console.print(escape(result.answer), highlight=False)
        if result.citations:
            table = Table("n", "document", "chunk", "chars", box=None, show_header=False)
            for c in result.citations:
                table.add_row(
                    f"[{c.n}]", escape(c.uri), f"chunk {c.chunk}", f"chars {c.char_start}-{c.char_end}"
                )
            out_console.print(table)
        err_console.print(
            f"[dim]{result.status} · {result.method} · {result.seconds:.1f}s · "
            f"{result.prompt_tokens + result.completion_tokens} tokens · run {result.run_id} "
            f"(deepwell runs show {result.run_id})[/dim]"
        )
    if result.status != "answered":
        raise typer.Exit(EXIT_NOT_FOUND)


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
