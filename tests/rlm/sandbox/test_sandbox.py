"""The sandbox as the RLM uses it: a persistent REPL whose code calls back into the host."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from deepwell.core.errors import SandboxError
from deepwell.rlm import sandbox
from deepwell.rlm.sandbox import ProcessSandbox, Sandbox, SandboxLimits
from tests.rlm.sandbox.conftest import HOST, LIMITS, still_fine


def test_exported_names() -> None:
    assert set(sandbox.__all__) == {
        "SANDBOXES",
        "DockerSandbox",
        "ExecResult",
        "HostFunction",
        "ProcessSandbox",
        "Sandbox",
        "SandboxLimits",
    }


async def test_every_sandbox_satisfies_the_protocol(sb: ProcessSandbox) -> None:
    assert isinstance(sb, Sandbox)


async def test_state_persists_and_the_last_expression_is_echoed(sb: ProcessSandbox) -> None:
    r = await sb.execute("n = int(context.split()[-1])\nn * 2")
    assert r.ok and r.value == "84" and r.stdout == ""
    r = await sb.execute("def double(v):\n    return 2 * v\nprint(double(n))")
    assert r.stdout == "84\n" and r.value is None
    r = await sb.execute("_ + 1")
    assert r.value == "85"
    assert r.variables["n"] == {"type": "int", "len": None, "repr": "42"}
    assert r.variables["context"]["len"] == len("the secret number is 42")
    r = await sb.execute("SHOW_VARS()['n']['type']")
    assert r.value == "'int'"


async def test_host_functions_sync_async_and_errors(sb: ProcessSandbox) -> None:
    r = await sb.execute("llm_query('q')")
    assert r.value == "'answer to q'"
    r = await sb.execute("grep('secret', text=context + '\\nnothing here')")
    assert r.value == "['the secret number is 42']"
    r = await sb.execute("llm_query_batched(['a', 'b', 'c'])")
    assert r.value == "['answer to a', 'answer to b', 'answer to c']"
    r = await sb.execute("try:\n    boom()\nexcept HostError as e:\n    print('caught:', e)")
    assert r.ok and r.stdout.strip() == "caught: boom: ValueError: host function failed"
    r = await sb.execute("boom()")
    assert "HostError" in (r.error or "") and "host function failed" in (r.error or "")
    r = await sb.execute("llm_query(object())")
    assert "TypeError" in (r.error or "") and "JSON" in (r.error or "")
    await still_fine(sb)


async def test_errors_show_only_the_model_code(sb: ProcessSandbox) -> None:
    r = await sb.execute("def f(x):\n    return x / 0\n\ny = f(1)")
    err = r.error or ""
    assert "ZeroDivisionError" in err and 'File "<cell 1>", line 2, in f' in err and "return x / 0" in err
    assert "_child" not in err and "_step" not in err and "_run" not in err
    r = await sb.execute("def broken(:\n    pass")
    assert "SyntaxError" in (r.error or "")
    r = await sb.execute("import re\nre.compile('(')")
    assert "re.error" in (r.error or "") or "error: missing )" in (r.error or "")


async def test_time_in_host_functions_does_not_count_against_the_step(tmp_path: Path) -> None:
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    def slow_sync(seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    limits = SandboxLimits(wall_seconds=1, kill_grace_seconds=0.5, host_call_timeout=2)
    async with ProcessSandbox(limits, host_functions={"slow": slow, "slow_sync": slow_sync}) as box:
        r = await box.execute("slow(0.8), slow_sync(0.8)")
        assert r.ok and r.value == "('done', 'done')" and r.seconds > 1.5
        r = await box.execute("slow(5)")
        assert "HostError" in (r.error or "") and "longer than 2s" in (r.error or "")


async def test_threads_calling_the_host_are_serialised(sb: ProcessSandbox) -> None:
    code = (
        "import threading\nout = {}\n"
        "def work(i):\n    out[i] = llm_query(str(i))\n"
        "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "sorted(out.values()) == sorted(f'answer to {i}' for i in range(8))"
    )
    r = await sb.execute(code)
    assert r.value == "True", r


async def test_large_inputs_of_every_kind(tmp_path: Path) -> None:
    big = ("lorem ipsum dolor sit amet " * 40 + "\n") * 30_000  # ~32 MB
    records = [{"id": i, "label": "x" if i % 3 else "y"} for i in range(10_000)]
    inputs = {"context": big, "raw": b"\x00\xffbytes", "records": records, "unicode": "naïve ☃ 𝄞"}
    t0 = time.perf_counter()
    async with ProcessSandbox(LIMITS, host_functions=HOST, inputs=inputs) as box:
        r = await box.execute(
            "len(context), context.count('\\n'), raw, sum(r['label'] == 'y' for r in records), unicode"
        )
        assert r.ok, r
        assert r.value == repr((len(big), 30_000, b"\x00\xffbytes", 3334, "naïve ☃ 𝄞"))
        r = await box.execute("llm_query(context[:100_000])[:20]")
        assert r.value == repr("answer to lorem ipsu")
        # the input survives a restart
        await box.restart()
        r = await box.execute("len(context)")
        assert r.value == str(len(big))
    assert time.perf_counter() - t0 < 30


async def test_restart_and_crash_recovery(sb: ProcessSandbox) -> None:
    await sb.execute("kept = 1")
    await sb.restart()
    r = await sb.execute("kept")
    assert "NameError" in (r.error or "") and not r.restarted
    r = await sb.execute("import os; os._exit(7)")
    assert r.killed and "status 7" in (r.error or "")
    r = await still_fine(sb)
    assert r.restarted and "earlier variables are gone" in r.notice


async def test_concurrent_steps_are_serialised(sb: ProcessSandbox) -> None:
    rs = await asyncio.gather(*(sb.execute(f"x{i} = {i}\nsum(range({i}))") for i in range(5)))
    assert [r.value for r in rs] == [repr(sum(range(i))) for i in range(5)]


async def test_cancelling_a_step_leaves_a_usable_sandbox(sb: ProcessSandbox) -> None:
    task = asyncio.create_task(sb.execute("import time\ntime.sleep(1.5)"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    r = await still_fine(sb)
    assert r.restarted


async def test_processes_are_gone_after_close(tmp_path: Path) -> None:
    box = ProcessSandbox(LIMITS, scratch_dir=tmp_path)
    await box.start()
    pid = box._proc.pid if box._proc else 0
    r = await box.execute(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()"
    )
    assert r.ok
    await box.close()
    await box.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(SandboxError, match="closed"):
        await box.execute("1")


def test_bad_configuration_is_a_clear_error() -> None:
    with pytest.raises(SandboxError, match="cpu_seconds"):
        SandboxLimits(cpu_seconds=0)
    with pytest.raises(SandboxError, match="memory_mb"):
        SandboxLimits(memory_mb=8)
    with pytest.raises(SandboxError, match="identifier"):
        ProcessSandbox(inputs={"not a name": "x"})
    with pytest.raises(SandboxError, match="JSON"):
        ProcessSandbox(inputs={"context": object()})
    with pytest.raises(SandboxError, match="share a name"):
        ProcessSandbox(inputs={"grep": "x"}, host_functions={"grep": len})
    with pytest.raises(SandboxError, match="Unknown sandbox layer"):
        ProcessSandbox(disable={"everything"})


async def test_results_are_json_and_bounded(sb: ProcessSandbox) -> None:
    r = await sb.execute("big = {i: 'v' * 1000 for i in range(10_000)}\nbig")
    assert r.ok and r.value is not None and len(r.value) <= LIMITS.max_output_chars + 100 and "cut" in r.value
    assert len(r.variables["big"]["repr"]) <= 120
    json.dumps(r.variables)
