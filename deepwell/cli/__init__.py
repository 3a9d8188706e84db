"""The ``deepwell`` command line.

Each command group lives in its own module with a ``register(app)`` function; this module only wires them
together. Results go to stdout, logs and progress to stderr, and every ``DeepwellError`` becomes one clear
message with exit code 1 (see :func:`deepwell.cli._common.handle_errors`).
"""

from __future__ import annotations

import typer

from deepwell.cli import _answers, _chat, _mcp, _retrieval, _rlm

__all__ = ["app", "main"]

app = typer.Typer(
    name="deepwell",
    help="Local-first agentic RAG: hybrid search, a local GGUF model, MCP tool servers and Recursive LMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_retrieval, _chat, _answers, _mcp, _rlm):
    _module.register(app)


def main() -> None:
    app()
