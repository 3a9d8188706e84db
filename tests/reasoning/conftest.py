from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture(scope="session")
def model_path():  # type: ignore[no-untyped-def]
    from deepwell.reasoning import resolve_model_path

    return resolve_model_path("smollm2-135m")


@pytest.fixture(scope="session")
def llm(model_path):  # type: ignore[no-untyped-def]
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    return LlamaCppLLM(model_path, n_ctx=2048)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def llama_server(model_path, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real ``python -m llama_cpp.server`` serving the packaged GGUF on loopback."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",  # generation: one thread is faster for a model this small (see _llama_cpp.py)
            "1",
            "--n_threads_batch",
            "2",
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"llama_cpp.server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 90 s")
    yield url
    proc.terminate()
    log.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
