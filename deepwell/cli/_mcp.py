"""``deepwell serve`` (streamable HTTP) and ``deepwell mcp stdio | config | install``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from deepwell.cli._common import err_console, handle_errors, load_settings, out_console

__all__ = ["register"]

mcp_app = typer.Typer(
    help="The MCP server: run it over stdio, or set up Claude Desktop.", no_args_is_help=True
)


@mcp_app.command("stdio")
@handle_errors
def stdio() -> None:
    """Serve MCP over stdin/stdout (what Claude Desktop and the MCP Inspector launch)."""
    from deepwell.mcp_servers import run_stdio

    run_stdio(load_settings())


ClientOpt = Annotated[
    str,
    typer.Option(help="claude-desktop, cursor, vscode or claude-code (each in its own documented format)."),
]


@mcp_app.command("config")
@handle_errors
def config(
    client: ClientOpt = "claude-desktop",
    name: Annotated[str, typer.Option(help="Server name in the client's config.")] = "deepwell",
) -> None:
    """Print the config entry for an MCP client, with absolute paths (paste it or use `mcp install`)."""
    from deepwell.mcp_servers import client_config, client_config_path

    out_console.print_json(json.dumps(client_config(load_settings(), client, name)))
    err_console.print(f"[dim]{client} reads it from {client_config_path(client)}[/dim]", highlight=False)


@mcp_app.command("install")
@handle_errors
def install(
    client: ClientOpt = "claude-desktop",
    config_path: Annotated[
        Path | None, typer.Option(help="Config file to edit (default: where the client reads it).")
    ] = None,
    name: str = "deepwell",
) -> None:
    """Add Deepwell to an MCP client's config, keeping every other server (a backup is made first)."""
    from deepwell.mcp_servers import install_client_config as do_install

    path, backup = do_install(load_settings(), config_path, name, client)
    out_console.print(f"Added {name!r} to {path}" + (f" (backup: {backup})" if backup else ""))
    err_console.print(f"Restart {client} (or reload its MCP servers) to load it.")


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765).")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="DEEPWELL_AUTH_TOKEN", help="Require this bearer token.", show_envvar=True),
    ] = None,
    ingest: Annotated[
        list[Path] | None,
        typer.Option(help="Ingest this file or directory before serving (unchanged files are skipped)."),
    ] = None,
    ingest_collection: Annotated[str, typer.Option(help="Collection for --ingest.")] = "corpus",
) -> None:
    """Serve MCP over streamable HTTP at /mcp, with /health and optional bearer-token auth."""
    from deepwell.mcp_servers import serve_http

    settings = load_settings(http_host=host, http_port=port)
    serve_http(
        settings,
        settings.http_host,
        settings.http_port,
        token or settings.auth_token,
        ingest=ingest or (),
        ingest_collection=ingest_collection,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(mcp_app, name="mcp")
    app.command()(serve)
