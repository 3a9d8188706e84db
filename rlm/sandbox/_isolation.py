"""Kernel-level isolation applied in the child between fork and exec (Linux).

Layers, each applied when the OS allows it and reported otherwise:
- new mount, network, IPC and UTS namespaces: no network interfaces at all, a private mount table;
- the root file system remounted read-only, the scratch directory bind-mounted writable, and home/work
  directories hidden under empty read-only tmpfs mounts;
- the interpreter's prefix bind-mounted where an unprivileged user can reach it, then the process drops
  to ``nobody`` with no supplementary groups (so RLIMIT_NPROC applies and files are not root's to read);
- rlimits: address space, CPU seconds, file size, open files, processes, no core dumps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Isolation", "make_preexec"]

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
NOBODY = 65534
HIDE = ["/root", "/home", "/work", "/srv", "/opt", "/mnt", "/media", "/var", "/dev/shm", "/run"]


@dataclass
class Isolation:
    scratch: Path
    scratch_mount: Path  # where the child sees it
    py_prefix: Path  # the directory to expose for the interpreter (read-only)
    py_mount: Path  # where it is mounted inside the child
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    processes: int = 16
    open_files: int = 64


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def make_preexec(iso: Isolation, status_fd: int):  # type: ignore[no-untyped-def]
    """The function ``subprocess`` runs in the child; it writes which layers took effect to ``status_fd``."""
    libc = _libc()
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]

    def mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None) -> None:
        _check(
            libc.mount(
                src.encode() if src else None,
                dst.encode(),
                fstype.encode() if fstype else None,
                flags,
                data.encode() if data else None,
            ),
            f"mount {dst}",
        )

    def preexec() -> None:
        layers: list[str] = []
        os.setsid()
        try:
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
            layers.append("namespaces")
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            mount(str(iso.scratch), str(iso.scratch_mount), None, MS_BIND | MS_REC)
            mount(str(iso.py_prefix), str(iso.py_mount), None, MS_BIND | MS_REC)
            mount(None, str(iso.py_mount), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            for d in HIDE:
                if os.path.isdir(d) and not str(iso.py_mount).startswith(d + "/"):
                    mount("tmpfs", d, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=755")
            mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
            layers.append("readonly-fs")
        except OSError as exc:
            layers.append(f"no-namespaces({exc.strerror})")
        rl = [
            (resource.RLIMIT_AS, iso.memory_bytes),
            (resource.RLIMIT_CPU, iso.cpu_seconds),
            (resource.RLIMIT_FSIZE, iso.file_bytes),
            (resource.RLIMIT_NOFILE, iso.open_files),
            (resource.RLIMIT_CORE, 0),
        ]
        for which, value in rl:
            resource.setrlimit(which, (value, value))
        layers.append("rlimits")
        if os.getuid() == 0:
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                resource.setrlimit(resource.RLIMIT_NPROC, (iso.processes, iso.processes))
                os.setuid(NOBODY)
                layers.append("nobody")
            except OSError as exc:
                layers.append(f"no-uid-drop({exc.strerror})")
        else:
            resource.setrlimit(resource.RLIMIT_NPROC, (iso.processes, iso.processes))
        os.write(status_fd, (",".join(layers) + "\n").encode())
        os.close(status_fd)

    return preexec
