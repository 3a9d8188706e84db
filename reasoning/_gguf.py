"""Read a GGUF file's header and metadata without loading the model.

Written against the GGUF format description (ggml's docs/gguf.md) so ``deepwell models`` and the
loader can report context size and quantization, and refuse a broken file with a clear message, before
llama.cpp is involved (it prints to stderr or aborts on some malformed files).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from deepwell.core.errors import ModelError

__all__ = ["FILE_TYPES", "read_gguf_metadata"]

_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9

# llama.cpp's ``enum llama_ftype`` (general.file_type), the names users know from file names.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4",
}


class _Truncated(Exception):
    pass


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated
    return data


def _unpack(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: BinaryIO) -> str:
    n = _unpack(f, "<Q")
    if n > 1 << 26:
        raise ValueError(f"a metadata string claims {n} bytes")
    return _read(f, n).decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item_kind, n = _unpack(f, "<I"), _unpack(f, "<Q")
        if item_kind in _SCALARS:  # skipped: token tables are large and nobody here needs them
            f.seek(struct.calcsize(_SCALARS[item_kind]) * n, 1)
        else:
            for _ in range(n):
                _value(f, item_kind)
        return f"<array of {n}>"
    raise ValueError(f"unknown metadata value type {kind}")


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """The key/value metadata of a GGUF file (arrays summarised), plus ``gguf.version`` and tensor count.

    Raises ``ModelError`` saying what is wrong when the file is unreadable, not GGUF, or cut short.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
            if magic != b"GGUF":
                raise ModelError(
                    f"{path} is not a GGUF model (it starts with {magic!r}). Convert it with llama.cpp's "
                    "convert_hf_to_gguf.py, or point DEEPWELL_LLM_MODEL at a .gguf file."
                )
            version, n_tensors, n_kv = _unpack(f, "<I"), _unpack(f, "<Q"), _unpack(f, "<Q")
            if version not in (2, 3) or n_kv > 1 << 20 or n_tensors > 1 << 24:
                raise ValueError(f"implausible header: version {version}, {n_tensors} tensors, {n_kv} keys")
            meta: dict[str, Any] = {"gguf.version": version, "gguf.tensor_count": n_tensors}
            for _ in range(n_kv):
                key = _string(f)
                meta[key] = _value(f, _unpack(f, "<I"))
            last_offset = 0
            for _ in range(n_tensors):
                _string(f)
                n_dims = _unpack(f, "<I")
                f.seek(8 * n_dims + 4, 1)
                last_offset = max(last_offset, _unpack(f, "<Q"))
            align = int(meta.get("general.alignment", 32))
            data_start = -(-f.tell() // align) * align
            if data_start + last_offset >= size:
                raise _Truncated
    except OSError as exc:
        raise ModelError(f"Cannot read model file {path}: {exc.strerror}. Check DEEPWELL_LLM_MODEL.") from exc
    except _Truncated:
        raise ModelError(
            f"{path} is truncated: it ends before the tensors its GGUF header lists. "
            "Download or copy it again."
        ) from None
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} has a corrupt GGUF header ({exc}). Download or copy it again.") from exc
    return meta
