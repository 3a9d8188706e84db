"""The REPL started by an unprivileged host user (the laptop case): a user namespace gives it the same
kernel layers as root gets, with every capability dropped instead of a switch to ``nobody``.

Driven over the real protocol by hand, as ``nobody``, with the system interpreter (the venv's lives
under /root here, which ``nobody`` cannot read).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deepwell.rlm.sandbox import ProcessSandbox
from deepwell.rlm.sandbox._process import _BOOT, _CHILD_SOURCE
from tests.rlm.sandbox.conftest import LIMITS

SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(
    os.getuid() != 0 or not shutil.which("setpriv") or not os.path.exists(SYSTEM_PYTHON),
    reason="needs root (to become nobody), setpriv and a system python3",
)


def _run_as_nobody(box: ProcessSandbox, steps: list[str]) -> list[dict[str, Any]]:
    prefix = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import os, sys; print(os.path.realpath(sys.base_prefix))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cfg = {**box._config(), "prefix": prefix}
    os.chmod(box.scratch, 0o777)
    program = _CHILD_SOURCE.read_bytes()
    data = b"%d\n" % len(program) + program + json.dumps(cfg).encode() + b"\n"
    data += b"".join(json.dumps({"type": "exec", "code": c}).encode() + b"\n" for c in steps)
    nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    proc = subprocess.run(
        [*nobody, SYSTEM_PYTHON, "-I", "-S", "-B", "-c", _BOOT],
        input=data,
        capture_output=True,
        cwd="/",
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_unprivileged_host_gets_the_kernel_layers(tmp_path: Path) -> None:
    box = ProcessSandbox(LIMITS, scratch_dir=tmp_path / "s", inputs={"context": "the secret number is 42"})
    try:
        msgs = _run_as_nobody(
            box,
            [
                "import os; os.getuid(), os.getcwd(), context[-2:]",
                "open('/etc/passwd').read()",
                "import os; os.fork()",
                "import socket; socket.socket()",
                "import os; os.listdir('/')",
                "open('notes', 'w').write('ok'); open('notes').read()",
            ],
        )
    finally:
        # the host side was never started; only its directories need removing
        shutil.rmtree(box._root, ignore_errors=True)
    ready = next(m for m in msgs if m["type"] == "ready")
    need = {
        "user-ns",
        "mount-ns",
        "net-ns",
        "pid-ns",
        "minimal-root",
        "no-capabilities",
        "seccomp",
        "audit-hook",
    }
    if "user-ns" not in ready["layers"]:
        pytest.skip(f"this kernel refuses unprivileged user namespaces: {ready['layers']}")
    assert need <= set(ready["layers"]), ready["layers"]
    done = [m for m in msgs if m["type"] == "done"]
    assert done[0]["value"] == "(0, '/scratch', '42')"
    assert all("PermissionError" in (d["error"] or "") for d in done[1:5]), done
    assert done[5]["value"] == "'ok'" and done[5]["error"] is None
