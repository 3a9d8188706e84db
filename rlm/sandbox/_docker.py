"""``DockerSandbox``: the same REPL, run in a throwaway container (``rlm_sandbox = "docker"``).

For hosts that already trust Docker for isolation, or whose kernel refuses unprivileged namespaces. The
container has no network, a read-only root, no capabilities, ``no-new-privileges``, the ``nobody`` user,
memory, CPU and process caps and a size-capped ``/scratch`` tmpfs; inside it the child still applies its
rlimits, seccomp filter and audit hook. No image registry is needed: the image is empty (made once with
``docker import``) and the host's interpreter and libraries are bind-mounted read-only, as the process
sandbox does for its minimal root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deepwell.core.errors import SandboxError
from deepwell.rlm.sandbox._process import ProcessSandbox
from deepwell.rlm.sandbox._protocol import HostFunction, SandboxLimits

__all__ = ["DockerSandbox"]

EMPTY_IMAGE = "deepwell-sandbox:empty"
_NOBODY = "65534:65534"


def _docker(docker: str, *args: str, stdin: bytes | None = None, timeout: float = 60) -> str:
    try:
        done = subprocess.run([docker, *args], input=stdin, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxError(
            f"Docker did not answer ({exc}). Start the daemon (e.g. `dockerd --bridge=none "
            "--iptables=false &`) or use the process sandbox (DEEPWELL_RLM_SANDBOX=process)."
        ) from exc
    if done.returncode != 0:
        raise SandboxError(
            f"`docker {' '.join(args[:2])}` failed: {done.stderr.decode(errors='replace').strip()[:400]}. "
            "Check that the daemon runs and this user may use it, or use DEEPWELL_RLM_SANDBOX=process."
        )
    return done.stdout.decode(errors="replace").strip()


def ensure_empty_image(docker: str = "docker", image: str = EMPTY_IMAGE) -> str:
    """The empty image the REPL container starts from, imported from an empty tar if it is missing."""
    if shutil.which(docker) is None:
        raise SandboxError(
            f"No `{docker}` command: install Docker (Debian: apt-get install docker.io) "
            "or use the process sandbox (DEEPWELL_RLM_SANDBOX=process)."
        )
    if _docker(docker, "images", "-q", image):
        return image
    empty_tar = b"\0" * 1024  # an archive with no members: two zero blocks
    _docker(docker, "import", "-", image, stdin=empty_tar)
    return image


class DockerSandbox(ProcessSandbox):
    """``ProcessSandbox`` whose child runs in a container; same protocol, limits and results."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        scratch_dir: str | Path | None = None,
        host_functions: Mapping[str, HostFunction] | None = None,
        inputs: Mapping[str, Any] | None = None,
        disable: Iterable[str] = (),
        docker: str = "docker",
        image: str = EMPTY_IMAGE,
        allow_weak: bool = False,
    ) -> None:
        # namespaces are Docker's job here; the child keeps its rlimits, seccomp and audit hook
        super().__init__(
            limits,
            scratch_dir=scratch_dir,  # unused by the container, whose /scratch is its own tmpfs
            host_functions=host_functions,
            inputs=inputs,
            disable={*disable, "namespaces"},
            allow_weak=allow_weak,
        )
        self.docker, self.image = docker, image
        self._container: str | None = None

    async def _spawn(self) -> None:
        ensure_empty_image(self.docker, self.image)
        await super()._spawn()
        self.layers = [
            "docker(network=none, read-only root, cap-drop=ALL, no-new-privileges, user=nobody)",
            *(x for x in self.layers if not x.startswith(("no-namespaces", "no-uid-drop"))),
        ]

    def _config(self) -> dict[str, Any]:
        cfg = super()._config()
        cfg.update(scratch="/scratch", inputs_dir="/inputs", uid=65534, gid=65534)
        return cfg

    def _command(self, python: str, env: dict[str, str]) -> list[str]:
        lim = self.limits
        self._container = f"deepwell-sbx-{uuid.uuid4().hex[:12]}"
        prefix = os.path.realpath(sys.base_prefix)
        mounts = ["/usr", prefix] + [p for p in ("/bin", "/lib", "/lib64", "/lib32") if Path(p).exists()]
        if Path("/etc/ld.so.cache").exists():
            mounts.append("/etc/ld.so.cache")
        memory = self._memory_bytes + (256 << 20)  # the interpreter itself, beyond the REPL's own limit
        cmd = [self.docker, "run", "--rm", "-i", "--name", self._container, "--network", "none"]
        cmd += ["--read-only", "--user", _NOBODY, "--cap-drop", "ALL"]
        cmd += [
            "--security-opt",
            "no-new-privileges",
            "--ipc",
            "none",
            "--pids-limit",
            str(lim.max_processes + 8),
        ]
        cmd += ["--memory", str(memory), "--memory-swap", str(memory), "--cpus", "1"]
        cmd += [
            "--tmpfs",
            f"/scratch:rw,nosuid,nodev,noexec,size={lim.scratch_mb}m,uid=65534,gid=65534,mode=700",
        ]
        cmd += ["-v", f"{self._inputs_dir}:/inputs:ro", "-w", "/scratch"]
        for m in dict.fromkeys(mounts):
            cmd += ["-v", f"{m}:{m}:ro"]
        for k, v in env.items():
            cmd += ["-e", f"{k}={v}"]
        return [*cmd, self.image, *super()._command(python, env)]

    def _kill(self) -> None:
        super()._kill()
        if self._container is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                subprocess.run(
                    [self.docker, "rm", "-f", self._container], capture_output=True, timeout=30, check=False
                )
            self._container = None
