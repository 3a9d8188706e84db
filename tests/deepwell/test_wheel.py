"""The built wheel installs one top-level package, ``deepwell``, and lives beside the libraries whose
import names the old layout took: ``rlms`` (imports as ``rlm``) and ``openai-agents`` (``agents``)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / ".cache/peer-wheels"

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert proc.returncode == 0, f"{args[:4]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, ROOT)
    (found,) = dist.glob("deepwell-*.whl")
    return found


def test_wheel_holds_one_top_level_package(wheel: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"deepwell"}
    for part in ("core", "storage", "retrieval", "reasoning", "agents", "rlm", "mcp_servers", "cli"):
        assert f"deepwell/{part}/__init__.py" in names
    assert "deepwell/py.typed" in names


def test_installs_beside_rlms_and_openai_agents(wheel: Path, tmp_path: Path) -> None:
    if not any(PEERS.glob("rlms-*.whl")) or not any(PEERS.glob("openai_agents-*.whl")):
        pytest.skip(f"no peer wheels in {PEERS}: run `make install` (it downloads them)")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin/python"
    purelib = _run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    # Deepwell's own dependencies (torch, faiss, ...) come from this venv; only the three packages under
    # test are installed into the new one
    Path(purelib, "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [py, "-m", "pip", "install", "-q", "--no-index", "--find-links", PEERS]
    _run(*pip, "rlms", "openai-agents")
    _run(*pip, "--no-deps", "--force-reinstall", wheel)
    probe = (
        "import pathlib, rlm, agents, deepwell\n"
        "import deepwell.rlm, deepwell.agents, deepwell.sdk, deepwell.mcp_servers\n"
        f"site = pathlib.Path({purelib!r})\n"
        "for m in (rlm, agents, deepwell):\n"
        "    assert pathlib.Path(m.__file__).is_relative_to(site), m.__file__\n"
        "assert hasattr(rlm, 'RLM') and hasattr(agents, 'Agent')\n"
        "assert callable(deepwell.rlm.answer) and hasattr(deepwell.agents, 'MixtureOfAgents')\n"
        "print('ok', rlm.__file__, agents.__file__, deepwell.rlm.__file__)\n"
    )
    out = _run(py, "-c", probe, cwd=tmp_path)
    assert out.startswith("ok ")
