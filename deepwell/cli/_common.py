"""Helpers shared by the CLI modules: settings at the edge, error handling, stderr console."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from deepwell.core.errors import DeepwellError
from deepwell.core.settings import Settings

__all__ = ["err_console", "handle_errors", "load_settings", "out_console", "print_json"]

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, soft_wrap=True)
out_console = Console(soft_wrap=True)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once, at the edge; ``None`` overrides are ignored."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:  # pydantic ValidationError: bad DEEPWELL_* value
        err_console.print(
            f"[red]error:[/red] invalid configuration: {exc}\nCheck your DEEPWELL_* environment variables."
        )
        raise typer.Exit(2) from None


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except DeepwellError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator for commands: a ``DeepwellError`` becomes one message on stderr and exit code 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _errors():
            return func(*args, **kwargs)

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
