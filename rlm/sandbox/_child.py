"""The sandboxed REPL process. Stdlib only: the host's ``python -I -S -B`` reads this file from stdin.

It starts as the host's user, locks itself down, then serves JSON lines on its stdin/stdout:

1. new namespaces (mount, network, IPC, UTS, PID; first a user namespace when the host is not root); in
   the PID namespace the REPL is process 1 and a small outer process waits for it, reporting its exit
   status (and whether the CPU limit ended it);
2. a fresh root on tmpfs holding only ``/usr`` (read-only), the interpreter's prefix (read-only), a few
   ``/dev`` nodes, ``/inputs`` (read-only) and ``/scratch`` (a private, size-capped tmpfs, noexec),
   then ``chroot`` into it;
3. rlimits (address space, CPU, file size, open files, no core files), then the switch to ``nobody``
   with no groups and a process limit (or, in a user namespace, dropping every capability);
4. ``no_new_privs`` and a seccomp filter: no sockets, no exec, no fork (threads are fine), no
   mount/ptrace/namespaces/...;
5. then this process replaces itself (``execveat``, the one exec the seccomp filter lets through: it
   names a directory descriptor the REPL can never hold, since it lies above its open-file limit) with a
   fresh interpreter running ``_repl.py``, so the REPL's process never loaded ``ctypes``;
6. there, an audit hook (which Python cannot remove) refuses file access outside scratch and inputs,
   process creation, sockets and native code. It is the last layer, not the only one: everything it guards
   is also closed by the kernel layers above when those are available.

Each layer that cannot be applied is reported in the ``ready`` message, never silently skipped.
"""

import ctypes
import ctypes.util
import json
import os
import resource
import signal
import struct
import sys

# stage one runs no model code, so the protocol stays on fds 0 and 1, ready for the REPL after exec
PROTO_IN = os.fdopen(0, "rb", buffering=0, closefd=False)
PROTO_OUT = os.fdopen(1, "wb", closefd=False)


def _send(msg):
    PROTO_OUT.write(json.dumps(msg, default=repr).encode("utf-8", "surrogatepass") + b"\n")
    PROTO_OUT.flush()


def _recv_unbuffered():
    """One line, read byte by byte: nothing past it may be buffered here, the REPL reads it after exec."""
    line = bytearray()
    while not line.endswith(b"\n"):
        b = PROTO_IN.read(1)
        if not b:
            raise SystemExit(0)
        line += b
    return json.loads(line)


CFG = _recv_unbuffered()
LAYERS: list[str] = []
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER = 0x20000000, 0x40000000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src, dst, fstype, flags, data=None):
    enc = [s.encode() if s is not None else None for s in (src, dst, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {dst}")


def _unshare():
    """Enter what namespaces the kernel grants, one by one, so a refusal of one keeps the others."""
    got = set()
    if os.getuid() != 0:
        # an unprivileged host: a user namespace where we are root gives the others (if the kernel allows)
        uid, gid = os.getuid(), os.getgid()
        if _libc.unshare(CLONE_NEWUSER) == 0:
            for path, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{path}", "w") as f:
                    f.write(text)
            got.add("user-ns")
            LAYERS.append("user-ns")
        else:
            LAYERS.append(f"no-user-ns({os.strerror(ctypes.get_errno())})")
            return got
    for flag, name in (
        (CLONE_NEWNS, "mount-ns"),
        (CLONE_NEWNET, "net-ns"),
        (CLONE_NEWIPC, "ipc-ns"),
        (CLONE_NEWUTS, "uts-ns"),
        (CLONE_NEWPID, "pid-ns"),
    ):
        if _libc.unshare(flag) == 0:
            got.add(name)
            LAYERS.append(name)
        else:
            LAYERS.append(f"no-{name}({os.strerror(ctypes.get_errno())})")
    return got


def _outer_wait(pid, sync_w):
    """The process outside the PID namespace: tell the host the REPL's pid, then wait and report."""
    _send({"type": "launched", "pid": pid})
    PROTO_OUT.flush()
    os.close(0)  # the pipes belong to the REPL now: the host sees their end when the REPL's ends
    os.close(1)
    os.close(sync_w)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        cpu = usage.ru_utime + usage.ru_stime
        if sig == signal.SIGKILL and cpu >= CFG["lifetime_cpu_seconds"] - 1:
            sig = signal.SIGXCPU
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _locked_flags(path):
    """Mount flags a remount inside a user namespace must keep (the kernel refuses to clear them)."""
    f = os.statvfs(path).f_flag
    out = f & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY)
    for st, ms in ((1024, 1024), (2048, 2048), (4096, 1 << 21)):  # noatime, nodiratime, relatime
        if f & st:
            out |= ms
    return out


def _build_root(owner):
    """A new root on tmpfs with only what the interpreter and the step need, then chroot into it."""
    new = CFG["root_dir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")

    def bind(src, rel, flags, ro=True):
        dst = new + rel
        if os.path.isdir(src):
            os.makedirs(dst, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, "a").close()
        _mount(src, dst, None, MS_BIND | MS_REC)
        flags |= _locked_flags(src)
        _mount(None, dst, None, MS_BIND | MS_REMOUNT | (MS_RDONLY if ro else 0) | flags)

    bind("/usr", "/usr", MS_NOSUID | MS_NODEV)
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            os.symlink(os.readlink(top), new + top)
        elif os.path.isdir(top):
            bind(top, top, MS_NOSUID | MS_NODEV)
    prefix = CFG["prefix"]
    if not (prefix == "/usr" or prefix.startswith("/usr/")):
        bind(prefix, prefix, MS_NOSUID | MS_NODEV)
    os.makedirs(new + "/etc")
    if os.path.isfile("/etc/ld.so.cache"):
        bind("/etc/ld.so.cache", "/etc/ld.so.cache", MS_NOSUID | MS_NODEV)
    for dev in ("null", "zero", "full", "random", "urandom"):
        if os.path.exists("/dev/" + dev):
            bind("/dev/" + dev, "/dev/" + dev, MS_NOSUID | MS_NOEXEC, ro=dev in ("random", "urandom"))
    os.makedirs(new + "/scratch")
    size = f"size={CFG['scratch_bytes']},nr_inodes=4096,mode=700,uid={owner[0]},gid={owner[1]}"
    _mount("tmpfs", new + "/scratch", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, size)
    bind(CFG["inputs_dir"], "/inputs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(new)
    os.chroot(".")
    os.chdir("/scratch")
    LAYERS.append("minimal-root")
    return "/scratch", "/inputs"


def _rlimits():
    cpu = int(CFG["lifetime_cpu_seconds"])
    for which, soft, hard in (
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_AS, CFG["memory_bytes"], CFG["memory_bytes"]),
        (resource.RLIMIT_CPU, max(1, cpu - 1), cpu),
        (resource.RLIMIT_FSIZE, CFG["file_bytes"], CFG["file_bytes"]),
        (resource.RLIMIT_NOFILE, CFG["max_open_files"], CFG["max_open_files"]),
    ):
        resource.setrlimit(which, (soft, hard))
    LAYERS.append("rlimits")


def _drop_privileges():
    uid, gid = CFG["uid"], CFG["gid"]
    os.setgroups([])
    os.setgid(gid)
    # RLIMIT_NPROC counts every process of the real user, so it only means something for ``nobody``;
    # without the switch, seccomp is what refuses fork
    nproc = CFG["max_processes"]
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setuid(uid)
    try:
        os.setuid(0)
    except PermissionError:
        LAYERS.append("nobody")
        return
    raise RuntimeError("privileges could not be dropped")


def _drop_capabilities():
    """In a user namespace we are its root: give up every capability (there is no other uid to become)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")
    LAYERS.append("no-capabilities")


# x86_64 syscall numbers refused by the seccomp filter (EPERM); clone is refused unless it makes a thread
_DENY_X86_64 = {
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43, "accept4": 288,
    "execve": 59, "execveat": 322, "fork": 57, "vfork": 58, "ptrace": 101, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "setsid": 112, "setpgid": 109,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250,
    "add_key": 248, "request_key": 249, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "mknod": 133, "mknodat": 259, "acct": 163,
    "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172,
    "ioperm": 173, "quotactl": 179, "personality": 135, "lookup_dcookie": 212, "syslog": 103,
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114, "setgroups": 116, "setresuid": 117,
    "setresgid": 119, "setfsuid": 122, "setfsgid": 123, "capset": 126,
    "fanotify_init": 300, "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsmount": 432,
    "fsconfig": 431, "fspick": 433, "mount_setattr": 442, "pidfd_getfd": 438, "memfd_create": 319,
}  # fmt: skip


def _seccomp_program(exec_fd):
    """A classic-BPF seccomp filter, assembled here so no library (libseccomp) is needed."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, errno, kill = 0x7FFF0000, 0x00050000, 0x80000000
    eperm, enosys, clone_thread = 1, 38, 0x00010000
    code = [
        (ld, None, None, 4),
        (jeq, None, "KILL", 0xC000003E),  # AUDIT_ARCH_X86_64
        (ld, None, None, 0),
        (jge, "EPERM", None, 0x40000000),  # the x32 ABI
        (jeq, "ENOSYS", None, 435),  # clone3: glibc then falls back to clone, which is checked below
        (jeq, "CLONE", None, 56),
        (jeq, "EXECAT", None, _DENY_X86_64["execveat"]),
    ]
    code += [(jeq, "EPERM", None, nr) for nr in sorted(_DENY_X86_64.values())]
    code += [
        (ret, None, None, allow),
        ("EPERM", ret, None, None, errno | eperm),
        ("ENOSYS", ret, None, None, errno | enosys),
        ("KILL", ret, None, None, kill),
        ("CLONE", ld, None, None, 16),
        (jset, None, "EPERM2", clone_thread),
        (ret, None, None, allow),
        ("EPERM2", ret, None, None, errno | eperm),
        ("EXECAT", ld, None, None, 16),  # the low half of the dirfd argument
        (jeq, None, "EPERM3", exec_fd),
        (ret, None, None, allow),
        ("EPERM3", ret, None, None, errno | eperm),
    ]
    labels, rows = {}, []
    for ins in code:
        if isinstance(ins[0], str):
            labels[ins[0]] = len(rows)
            ins = ins[1:]
        rows.append(ins)
    out = b""
    for i, (op, jt, jf, k) in enumerate(rows):
        jt = labels[jt] - i - 1 if jt else 0
        jf = labels[jf] - i - 1 if jf else 0
        out += struct.pack("HBBI", op, jt, jf, k)
    return out, len(rows)


def _seccomp():
    if os.uname().machine != "x86_64":
        LAYERS.append(f"no-seccomp(no filter for {os.uname().machine})")
        return
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0), "no_new_privs")
    raw, n = _seccomp_program(_exec_fd())
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(n, ctypes.addressof(buf))
    _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.addressof(prog), 0, 0), "seccomp")
    LAYERS.append("seccomp")


def _exec_fd():
    return int(CFG["max_open_files"]) + 1


def _exec_repl(scratch, inputs):
    """Become the REPL: a fresh interpreter, without ctypes, keeping every layer applied here."""
    state = json.dumps({"cfg": CFG, "layers": LAYERS, "scratch": scratch, "inputs": inputs})
    exe = sys.executable
    argv = [exe, "-I", "-S", "-B", "-c", CFG["repl"], state]
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "1"}
    PROTO_OUT.flush()
    if "seccomp" in LAYERS:
        strings = [a.encode("utf-8", "surrogateescape") for a in argv]
        c_argv = (ctypes.c_char_p * (len(strings) + 1))(*strings, None)
        c_env = (ctypes.c_char_p * (len(env) + 1))(*[f"{k}={v}".encode() for k, v in env.items()], None)
        _libc.syscall.restype = ctypes.c_long
        name = os.path.basename(exe).encode()
        _libc.syscall(_DENY_X86_64["execveat"], _exec_fd(), name, c_argv, c_env, 0)
        raise OSError(ctypes.get_errno(), f"execveat: {os.strerror(ctypes.get_errno())}")
    os.execve(exe, argv, env)


def _isolate():
    scratch, inputs = CFG["scratch"], CFG["inputs_dir"]
    got = _unshare() if CFG["namespaces"] else set()
    if not CFG["namespaces"]:
        LAYERS.append("no-namespaces(disabled by the host)")
    if "pid-ns" in got:
        sync_r, sync_w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(sync_r)
            _outer_wait(pid, sync_w)
        os.close(sync_w)
        os.read(sync_r, 1)
        os.close(sync_r)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, None, 0, 0)
    if "mount-ns" in got:
        try:
            drop = os.getuid() == 0 and "user-ns" not in got
            scratch, inputs = _build_root((CFG["uid"], CFG["gid"]) if drop else (0, 0))
        except OSError as exc:
            LAYERS.append(f"no-minimal-root({exc})")
    # the one directory descriptor the final exec may use, above the open-file limit set next, so the
    # REPL can never make one with this number; closed by the exec itself
    exe_dir = os.open(os.path.dirname(sys.executable), os.O_RDONLY | os.O_DIRECTORY)
    os.dup2(exe_dir, _exec_fd(), inheritable=False)
    os.close(exe_dir)
    try:
        _rlimits()
    except (OSError, ValueError) as exc:
        LAYERS.append(f"no-rlimits({exc})")
    if "user-ns" in got:
        _drop_capabilities()
    elif os.getuid() == 0:
        if "minimal-root" in LAYERS:
            _drop_privileges()
        else:
            LAYERS.append("no-uid-drop(the interpreter is only reachable as root without a minimal root)")
    else:
        LAYERS.append("no-uid-drop(not started as root: runs as the host user)")
    os.chdir(scratch)
    if not CFG["seccomp"]:
        LAYERS.append("no-seccomp(disabled by the host)")
        return scratch, inputs
    try:
        _seccomp()
    except OSError as exc:
        LAYERS.append(f"no-seccomp({exc})")
    return scratch, inputs


SCRATCH, INPUTS = _isolate()
try:
    _exec_repl(SCRATCH, INPUTS)
except OSError as _exc:
    _send({"type": "fatal", "error": f"the REPL could not be started: {_exc}"})
    raise SystemExit(3) from None
