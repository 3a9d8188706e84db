"""``deepwell rlm``: answer over a long context with a Recursive Language Model, and inspect past runs.

    deepwell rlm "question" --context FILE|- | --collection NAME [--mode auto|actions|code|plain] [--json]
    deepwell rlm show RUN_ID [--json | --html FILE]
    deepwell rlm runs [--limit N] [--json]

The question form is the group's default command (``deepwell rlm ask ...`` also works), so a question
never has to be preceded by a sub-command name. Progress goes to stderr, the answer to stdout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from deepwell.cli._common import err_console, handle_errors, load_settings, out_console, print_json
from deepwell.core.errors import InputError

__all__ = ["register"]

# exit codes of `deepwell rlm QUESTION`: scripts can tell an answer from a recorded non-answer
EXIT_ANSWERED, EXIT_ERROR, EXIT_NOT_ANSWERED = 0, 1, 3


class _QuestionFirstGroup(TyperGroup):
    """A group whose unknown first word is a question for the default ``ask`` command."""

    default_command = "ask"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


rlm_app = typer.Typer(
    cls=_QuestionFirstGroup,
    help="Recursive Language Model: answer over contexts far larger than the model's window.\n\n"
    'deepwell rlm "QUESTION" --context FILE | --collection NAME  (same as `deepwell rlm ask ...`)',
    no_args_is_help=True,
)


def _config(**overrides: Any) -> Any:
    from deepwell.rlm import RLMConfig

    base = RLMConfig()
    known = {f.name for f in dataclasses.fields(base)}
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None and k in known})


def _progress_printer(status: Any, quiet: bool) -> Any:
    """One dim line per step on stderr, indented under its parent, and the spinner shows the latest."""
    depth: dict[int, int] = {}

    def show(step: dict[str, Any]) -> None:
        from deepwell.rlm import step_label

        seq = int(step.get("seq") or 0)
        parent = step.get("parent_seq", step.get("parent"))
        level = depth.get(parent, -1) + 1 if parent is not None else 0
        depth[seq] = level
        kind = str(step.get("kind", "step"))
        summary = step_label(step, 100).removeprefix(kind).lstrip(" ·") or str(step.get("summary") or "")
        summary = " ".join(str(summary).split())[:110]
        status.update(f"[cyan]step {seq}[/cyan] {escape(kind)}")
        if not quiet:
            err_console.print(
                f"[dim]{'  ' * level}#{seq}[/dim] [bold]{escape(kind)}[/bold] [dim]{escape(summary)}[/dim]",
                highlight=False,
            )

    return show


def _looks_like_a_path(value: str) -> bool:
    """``-c`` used to mean ``--context``: catch old habits (a path, or ``-`` for stdin) with a hint."""
    return value == "-" or "/" in value or "\\" in value or Path(value).expanduser().is_file()


def _read_stdin() -> str:
    text = sys.stdin.read()
    if not text.strip():
        raise InputError(
            "--context - read nothing from stdin; pipe the text in, e.g. `cat big.txt | deepwell rlm ...`."
        )
    return text


@rlm_app.command("ask")
@handle_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            help="A text/Markdown/HTML/PDF file, a directory of them (one document each), or - for stdin.",
        ),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Answer over this ingested collection.")
    ] = None,
    mode: Annotated[
        str, typer.Option(help="auto (plain model if it fits, else a probe picks), actions, code or plain.")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    max_seconds: Annotated[float | None, typer.Option(help="Wall-time budget in seconds.")] = None,
    max_iterations: Annotated[int | None, typer.Option(help="Root-model iterations budget.")] = None,
    max_sub_calls: Annotated[int | None, typer.Option(help="Sub-call (llm_query) budget.")] = None,
    max_depth: Annotated[
        int | None, typer.Option(help="Recursion depth (1 = sub-calls are plain models).")
    ] = None,
    sandbox: Annotated[
        str | None,
        typer.Option(help="Where code mode runs code: process (default) or docker (DEEPWELL_RLM_SANDBOX)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No per-step progress lines.")] = False,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Then read follow-up questions from stdin (one session)."),
    ] = False,
) -> None:
    """Answer QUESTION over a long context; every step is recorded (see `deepwell rlm show RUN_ID`).

    Exit code 0 when answered, 3 when the (last) run ended without an answer (not found, or a budget ran
    out), 1 on an error. With --interactive, follow-up questions reuse the loaded, indexed context.
    """
    if collection is not None and _looks_like_a_path(collection):
        raise InputError(
            f"-c is --collection (as in every deepwell command), and {collection!r} looks like a file or "
            f"directory: pass it as --context {collection}."
        )
    if (context is None) == (collection is None):
        raise InputError("Pass exactly one of --context FILE (or - for stdin) and --collection/-c NAME.")
    if mode not in ("auto", "actions", "code", "plain"):
        raise InputError(f"Unknown --mode {mode!r}; use auto, actions, code or plain.")
    if sandbox not in (None, "process", "docker"):
        raise InputError(f"Unknown --sandbox {sandbox!r}; use process or docker.")
    settings = load_settings()
    from deepwell import rlm

    value: Any
    if collection is not None:
        value = rlm.CollectionRef(collection)
    elif context == "-":
        value = _read_stdin()
    else:
        path = Path(context or "").expanduser()
        if not path.exists():
            raise InputError(f"No context file at {path}; pass an existing file, a directory or - for stdin.")
        value = path
    config = _config(
        max_seconds=max_seconds,
        max_iterations=max_iterations,
        max_sub_calls=max_sub_calls,
        max_depth=max_depth,
        sandbox=sandbox,
    )
    if interactive and context == "-":
        raise InputError(
            "--interactive reads follow-up questions from stdin, so the context cannot come from -."
        )

    async def one(session: Any, q: str) -> Any:
        with err_console.status("reading the context") as status:
            return await session.ask(q, mode=mode, progress=_progress_printer(status, quiet))

    async def go() -> Any:
        if not interactive:
            with err_console.status("loading the context and the model") as status:
                return await rlm.answer_async(
                    question,
                    value,
                    settings=settings,
                    mode=mode,  # type: ignore[arg-type]
                    config=config,
                    progress=_progress_printer(status, quiet),
                )
        # one session: the context is loaded and indexed once, follow-ups reuse it
        with err_console.status("loading the context and the model"):
            session = rlm.RLM(value, settings=settings, config=config)
        try:
            result = await one(session, question)
            _emit(result, as_json)
            err_console.print("[dim]follow-up questions, one per line; empty line or Ctrl-D ends[/dim]")
            while True:
                try:
                    line = await asyncio.to_thread(input, "")
                except EOFError:
                    break
                if not line.strip() or line.strip() in ("/exit", "/quit"):
                    break
                result = await one(session, line.strip())
                _emit(result, as_json)
            return result
        finally:
            session.close()

    result = asyncio.run(go())
    if not interactive:
        _emit(result, as_json)
    if result.status == "error":
        raise typer.Exit(EXIT_ERROR)
    if result.status != "answered":
        raise typer.Exit(EXIT_NOT_ANSWERED)


def _emit(result: Any, as_json: bool) -> None:
    """The answer on stdout (or the whole result as JSON); status, timing and run id on stderr."""
    if as_json:
        print_json(result.to_dict())
        return
    out_console.print(result.answer, highlight=False, markup=False)
    style = "green" if result.status == "answered" else "yellow"
    err_console.print(
        f"[{style}]{escape(result.status)}[/{style}] · {result.mode} mode · {result.seconds:.1f}s · "
        f"{result.steps} steps · run [cyan]{result.run_id}[/cyan] "
        f"([dim]deepwell rlm show {result.run_id}[/dim])",
        highlight=False,
    )


def _run_log(settings: Any) -> Any:
    from deepwell.storage import Store

    return Store(settings.db_url)


def _follow(store: Any, run_id: str, interval: float) -> Any:
    """Print a run's steps as they are recorded (by this or another process) until it finishes."""
    run = store.runs.get(run_id)
    seen = 0
    with err_console.status(f"following run {run.id}") as status:
        show = _progress_printer(status, quiet=False)
        while True:
            for st in run.steps[seen:]:
                show(st.to_dict())
            seen = len(run.steps)
            if run.finished_at is not None:
                return run
            time.sleep(interval)
            run = store.runs.get(run.id)


@rlm_app.command("show")
@handle_errors
def show(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix) from `deepwell runs`.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Export the run and all its steps as JSON.")
    ] = False,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained, browsable HTML page here.")
    ] = None,
    brief: Annotated[bool, typer.Option("--brief", help="One line per step, no step details.")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print steps as they are recorded until the run ends.")
    ] = False,
) -> None:
    """Show a recorded run as a tree of its steps (sub-calls and tool calls under the step that made them).

    With --follow, watch a run that is still going (say one started by an MCP client's rlm_answer).
    """
    from deepwell.rlm import render_html, render_tree, run_to_dict

    store = _run_log(load_settings())
    try:
        run = _follow(store, run_id, 0.5) if follow else store.runs.get(run_id)
    finally:
        store.close()
    if html_file is not None:
        try:
            html_file.write_text(render_html(run), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot write {html_file}: {exc.strerror}; pick a writable path.") from exc
        err_console.print(f"wrote {html_file} ({len(run.steps)} steps)")
        if not as_json:
            return
    if as_json:
        print_json(run_to_dict(run))
        return
    out_console.print(render_tree(run, details=not brief), soft_wrap=False)


@rlm_app.command("runs")
@handle_errors
def runs(
    limit: Annotated[int, typer.Option(help="How many of the latest runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the latest recorded runs."""
    store = _run_log(load_settings())
    try:
        rows = store.runs.list(limit=limit)
    finally:
        store.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        err_console.print('No runs yet. Ask one with: deepwell rlm "question" --context FILE')
        return
    table = Table("run", "kind", "status", "started", "question")
    for r in rows:
        started = r["created_at"].strftime("%Y-%m-%d %H:%M:%S") if r.get("created_at") else ""
        q = str(r.get("question") or "")
        table.add_row(
            r["id"], r["kind"], str(r["status"] or "running"), started, q[:70] + ("…" if len(q) > 70 else "")
        )
    out_console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(rlm_app, name="rlm")
