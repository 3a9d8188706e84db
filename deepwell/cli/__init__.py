"""The ``deepwell`` command line.

Each command group lives in its own module with a ``register(app)`` function; this module only wires them
together. Results go to stdout, logs and progress to stderr, and every ``DeepwellError`` becomes one clear
message with exit code 1 (see :func:`deepwell.cli._common.handle_errors`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from deepwell.cli import _answers, _chat, _mcp, _retrieval, _rlm

__all__ = ["app", "main"]

app = typer.Typer(
    name="deepwell",
    help="Local-first agentic RAG: hybrid search, a local GGUF model, MCP tool servers and Recursive LMs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from deepwell import __version__

        typer.echo(f"deepwell {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Local-first agentic RAG: hybrid search, a local GGUF model, MCP tool servers and Recursive LMs."""


for _module in (_retrieval, _chat, _answers, _mcp, _rlm):
    _module.register(app)


def main() -> None:
    app()
