"""Defense in depth: each layer holds on its own, with the others switched off.

The audit hook is the only layer Python code could in principle get around, so the kernel layers are
tested with it disabled; and the hook is tested alone (no namespaces, no seccomp) for hosts whose
kernel refuses the rest.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from deepwell.rlm.sandbox import ProcessSandbox
from tests.rlm.sandbox.conftest import LIMITS, still_fine

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="the kernel layers need root on this host")


@pytest.fixture
async def kernel_only(tmp_path: Path) -> AsyncIterator[ProcessSandbox]:
    async with ProcessSandbox(LIMITS, scratch_dir=tmp_path / "s", disable={"audit-hook"}) as box:
        assert "no-audit-hook(disabled by the host)" in box.layers
        yield box


@pytest.fixture
async def namespaces_only(tmp_path: Path) -> AsyncIterator[ProcessSandbox]:
    async with ProcessSandbox(LIMITS, scratch_dir=tmp_path / "s", disable={"audit-hook", "seccomp"}) as box:
        yield box


@pytest.fixture
async def hook_only(tmp_path: Path) -> AsyncIterator[ProcessSandbox]:
    async with ProcessSandbox(
        LIMITS, scratch_dir=tmp_path / "s", disable={"namespaces", "seccomp"}, allow_weak=True
    ) as box:
        assert "audit-hook" in box.layers and not {"mount-ns", "seccomp", "nobody"} & set(box.layers)
        yield box


async def test_kernel_hides_the_host_file_system(kernel_only: ProcessSandbox, tmp_path: Path) -> None:
    r = await kernel_only.execute("open('/etc/passwd').read()")
    assert "FileNotFoundError" in (r.error or "")
    r = await kernel_only.execute("import os; sorted(os.listdir('/'))")
    visible = set(eval(r.value or "[]"))
    assert visible <= {
        "usr",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "etc",
        "dev",
        "scratch",
        "inputs",
        "root",
    }
    assert not {"work", "home", "proc", "tmp", "var"} & visible
    r = await kernel_only.execute(
        "import os; os.listdir('/etc'), os.listdir('/root/' + os.listdir('/root')[0])"
    )
    assert r.ok and "ld.so.cache" in (r.value or "")
    r = await kernel_only.execute("open('/usr/pwned', 'w')")
    assert "Read-only file system" in (r.error or "")
    r = await kernel_only.execute(f"open({str(tmp_path / 'x')!r}, 'w')")
    assert not r.ok and not (tmp_path / "x").exists()


async def test_kernel_refuses_network_processes_and_privileges(
    kernel_only: ProcessSandbox, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    for attack in (
        "import socket; socket.socket()",
        "import subprocess; subprocess.run(['id'])",
        "import os; os.fork()",
        "import os; os.execv('/usr/bin/true', ['true'])",
        "import os; os.setuid(0)",
        "import os; os.chroot('/usr')",
        f"import os; os.kill({os.getpid()}, 9)",
    ):
        r = await kernel_only.execute(attack)
        assert not r.ok, (attack, r)
    # native code gets no further: libc's system() cannot fork, mount and unshare are refused
    r = await kernel_only.execute(
        "import ctypes\nlibc = ctypes.CDLL(None)\n"
        f"libc.system({f'touch {marker}'.encode()!r}), libc.unshare(0x40000000),\\\n"
        "libc.mount(b'x', b'/scratch', b'tmpfs', 0, None)"
    )
    status, unshared, mounted = eval(r.value or "(0, 0, 0)")
    assert status != 0 and unshared == -1 and mounted == -1 and not marker.exists(), r
    await still_fine(kernel_only)


async def test_network_namespace_alone_reaches_nothing(namespaces_only: ProcessSandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted: list[str] = []

    def accept() -> None:
        try:
            server.accept()[0].close()
            accepted.append("connected")
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    r = await namespaces_only.execute(
        f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)"
    )
    t.join()
    server.close()
    assert not r.ok and "OSError" in (r.error or "") and accepted == []


async def test_pid_namespace_and_nproc_contain_a_fork_bomb(namespaces_only: ProcessSandbox) -> None:
    r = await namespaces_only.execute(
        "import os, time\nkids = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(30)\n            os._exit(0)\n        kids += 1\n"
        "except OSError as e:\n    print('stopped after', kids, type(e).__name__)"
    )
    assert "stopped after" in r.stdout and int(r.stdout.split()[2]) < LIMITS.max_processes, r
    await namespaces_only.restart()  # killing the namespace's first process ends every one of them
    await still_fine(namespaces_only)


async def test_audit_hook_alone_blocks_the_obvious(hook_only: ProcessSandbox, tmp_path: Path) -> None:
    for attack, error in (
        ("open('/etc/passwd').read()", "PermissionError"),
        (f"open({str(tmp_path / 'x')!r}, 'w')", "PermissionError"),
        ("import socket; socket.socket()", "PermissionError"),
        ("import subprocess; subprocess.run(['true'])", "Error: sandbox"),
        ("import os; os.system('true')", "PermissionError: sandbox"),
        ("import ctypes", "ImportError: sandbox"),
    ):
        r = await hook_only.execute(attack)
        assert error in (r.error or ""), (attack, r)
    assert not (tmp_path / "x").exists()
    await still_fine(hook_only)
