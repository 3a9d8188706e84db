"""Red team: model-written code tries to escape the sandbox. Every attack must fail and the host survive."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from rlm.sandbox import ProcessSandbox, SandboxLimits

LIMITS = SandboxLimits(cpu_seconds=3, wall_seconds=6, memory_mb=256, file_size_mb=1, max_output_chars=2000)


@pytest.fixture
async def sb(tmp_path: Path):  # type: ignore[no-untyped-def]
    async def llm_query(prompt: str) -> str:
        return f"answer to {prompt}"

    def boom() -> None:
        raise ValueError("host function failed")

    box = ProcessSandbox(
        LIMITS,
        scratch_dir=tmp_path / "box",
        host_functions={"llm_query": llm_query, "boom": boom},
        inputs={"context": "the secret number is 42"},
    )
    async with box:
        yield box


async def _still_fine(sb: ProcessSandbox) -> None:
    r = await sb.execute("print('alive', 6 * 7)")
    assert r.ok and "alive 42" in r.stdout, r


@pytest.mark.parametrize(
    "attack",
    [
        "print(open('/etc/passwd').read())",
        "print(open('/etc/shadow').read())",
        "import os; print(os.listdir('/root'))",
        "print(open(os.path.expanduser('~/.bashrc')).read())"
        if False
        else "print(open('/proc/1/environ').read())",
        "print(open('../../../../etc/hostname').read())",
    ],
)
async def test_cannot_read_outside_scratch(sb: ProcessSandbox, attack: str) -> None:
    r = await sb.execute(attack)
    assert not r.ok and ("PermissionError" in (r.error or "") or "denied" in (r.error or ""))
    await _still_fine(sb)


async def test_cannot_write_outside_scratch(sb: ProcessSandbox, tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    r = await sb.execute(f"open({str(target)!r}, 'w').write('x')")
    assert not r.ok and not target.exists()
    r = await sb.execute("import os; os.remove('/tmp/anything')")
    assert not r.ok
    r = await sb.execute("open('notes.txt', 'w').write('ok'); print(open('notes.txt').read())")
    assert r.ok and r.stdout.strip() == "ok"


async def test_no_network(sb: ProcessSandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted: list[object] = []
    server.settimeout(3)
    t = threading.Thread(target=lambda: accepted.append(_try_accept(server)))
    t.start()
    for attack in (
        f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=1)",
        f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
        "import http.client; http.client.HTTPConnection('127.0.0.1', 80).request('GET', '/')",
    ):
        r = await sb.execute(attack)
        assert not r.ok
    t.join()
    server.close()
    assert accepted == [None]
    await _still_fine(sb)


def _try_accept(server: socket.socket) -> object:
    try:
        conn, _ = server.accept()
        conn.close()
        return "connected"
    except OSError:
        return None


@pytest.mark.parametrize(
    "attack",
    [
        "import subprocess; subprocess.run(['id'])",
        "import os; os.system('id')",
        "import os; os.fork()",
        "import os; os.execv('/bin/sh', ['sh'])",
        "import os; os.posix_spawn('/bin/true', ['true'], {})",
        "import pty; pty.spawn('/bin/sh')",
        "import ctypes; ctypes.CDLL(None).system(b'id')",
        "import _ctypes",
        "import cffi",
        "import _posixsubprocess",
        "import multiprocessing; multiprocessing.Process(target=print).start()",
        "import os; os.kill(os.getppid(), 9)",
        "import signal, os; os.killpg(0, signal.SIGKILL)",
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (-1, -1))",
        "import sys; sys.addaudithook = None; import ctypes",
        "__builtins__['__import__']('ctypes')",
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0](['id'])",
    ],
)
async def test_no_processes_no_native_code(sb: ProcessSandbox, attack: str) -> None:
    r = await sb.execute(attack)
    assert not r.ok, attack
    await _still_fine(sb)


async def test_fork_bomb_is_contained(sb: ProcessSandbox) -> None:
    r = await sb.execute("import os\nwhile True:\n    os.fork()")
    assert not r.ok
    await _still_fine(sb)


async def test_memory_blowup_kills_only_the_repl(sb: ProcessSandbox) -> None:
    r = await sb.execute("x = 'a' * (2 * 1024**3)")
    assert not r.ok and ("MemoryError" in (r.error or "") or r.killed)
    await _still_fine(sb)


async def test_disk_fill_is_capped(sb: ProcessSandbox) -> None:
    r = await sb.execute("f = open('big.bin', 'wb')\nwhile True:\n    f.write(b'x' * 65536)")
    assert not r.ok
    size = (sb.scratch / "big.bin").stat().st_size if (sb.scratch / "big.bin").exists() else 0
    assert size <= 1 * 2**20
    await _still_fine(sb)


async def test_infinite_loops_time_out(sb: ProcessSandbox) -> None:
    r = await sb.execute("while True:\n    pass")
    assert not r.ok and (r.timed_out or r.killed)
    r = await sb.execute("import time\ntime.sleep(60)")
    assert r.timed_out and "lost" in (r.error or "")
    await _still_fine(sb)


async def test_huge_print_is_truncated(sb: ProcessSandbox) -> None:
    r = await sb.execute("print('y' * 10_000_000)")
    assert r.ok and len(r.stdout) < 3000 and "cut" in r.stdout


async def test_recursion_and_exit_do_not_end_the_host(sb: ProcessSandbox) -> None:
    r = await sb.execute("def f(n): return f(n + 1)\nf(0)")
    assert "RecursionError" in (r.error or "")
    r = await sb.execute("import sys; sys.exit(3)")
    assert "SystemExit" in (r.error or "")
    r = await sb.execute("import os; os._exit(0)")
    assert not r.ok
    await _still_fine(sb)


async def test_host_secrets_are_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPWELL_SECRET_TOKEN", "hunter2")
    async with ProcessSandbox(LIMITS) as box:
        r = await box.execute("import os; print(dict(os.environ))")
    assert r.ok and "hunter2" not in r.stdout


async def test_state_persists_and_host_functions_work(sb: ProcessSandbox) -> None:
    r = await sb.execute("n = int(context.split()[-1])\nreply = llm_query('q')")
    assert r.ok
    r = await sb.execute("print(n * 2, reply)")
    assert r.stdout.strip() == "84 answer to q"
    r = await sb.execute("boom()")
    assert "host function failed" in (r.error or "") and "HostError" in (r.error or "")
    r = await sb.execute("print(SHOW_VARS()['n'])")
    assert "'type': 'int'" in r.stdout


async def test_isolation_layers_are_active(sb: ProcessSandbox) -> None:
    if os.getuid() != 0:
        pytest.skip("kernel namespaces need root here; the audit hook and rlimits still apply")
    assert {"namespaces", "readonly-fs", "rlimits", "nobody"} <= set(sb.layers)
