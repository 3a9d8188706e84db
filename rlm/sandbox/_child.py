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
5. ``ctypes`` dropped again, then an audit hook (which Python cannot remove) that refuses file access
   outside scratch and inputs, process creation, sockets and native code. It is the last layer, not the
   only one: everything it guards is also closed by the kernel layers above when those are available.

Each layer that cannot be applied is reported in the ``ready`` message, never silently skipped.
"""

import ast
import ctypes
import ctypes.util
import io
import json
import linecache
import os
import reprlib
import resource
import signal
import struct
import sys
import threading
import traceback

PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=0)
PROTO_OUT = os.fdopen(os.dup(1), "wb")
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)
os.close(_null)
_IN = io.BufferedReader(PROTO_IN, 1 << 16)


def _send(msg):
    PROTO_OUT.write(json.dumps(msg, default=repr).encode("utf-8", "surrogatepass") + b"\n")
    PROTO_OUT.flush()


def _recv():
    line = _IN.readline()
    if not line:
        raise SystemExit(0)
    return json.loads(line)


CFG = _recv()
LAYERS = []
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
    PROTO_OUT.close()
    PROTO_IN.close()
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
    "fanotify_init": 300, "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsmount": 432,
    "fsconfig": 431, "fspick": 433, "mount_setattr": 442, "pidfd_getfd": 438, "memfd_create": 319,
}  # fmt: skip


def _seccomp_program():
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
    raw, n = _seccomp_program()
    buf = ctypes.create_string_buffer(raw, len(raw))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(n, ctypes.addressof(buf))
    _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.addressof(prog), 0, 0), "seccomp")
    LAYERS.append("seccomp")


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
_libc = None
for _m in [
    m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes", "subprocess", "_posixsubprocess")
]:
    del sys.modules[_m]
os.environ.clear()
os.environ.update({"HOME": SCRATCH, "TMPDIR": SCRATCH, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"})

MAX_OUT = int(CFG["max_output_chars"])
MAX_MSG = int(CFG["max_message_bytes"])
PREFIX = os.path.realpath(sys.base_prefix)


class HostError(Exception):
    """A host function (llm_query, search, ...) failed; the message says why."""


class StepTimeout(BaseException):
    """The step ran past its CPU or wall-clock limit. A BaseException so ``except Exception`` won't eat it."""


_ARMED = [False]


def _on_timer(signum, frame):
    if _ARMED[0]:
        _ARMED[0] = False
        which = "CPU" if signum == signal.SIGPROF else "wall-clock"
        limit = CFG["cpu_seconds"] if signum == signal.SIGPROF else CFG["wall_seconds"]
        raise StepTimeout(f"the step used more than its {which} limit of {limit:g}s")


signal.signal(signal.SIGPROF, _on_timer)
signal.signal(signal.SIGALRM, _on_timer)
_TIMER_SIGNALS = {signal.SIGPROF, signal.SIGALRM}
threading.stack_size(2 << 20)  # thread stacks count against RLIMIT_AS; 8 MB each would crowd it
_CALL_LOCK = threading.Lock()


def _host(name):
    def call(*args, **kwargs):
        try:
            payload = json.dumps(
                {"type": "call", "name": name, "args": args, "kwargs": kwargs}, ensure_ascii=False
            ).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name}(): arguments must be JSON values (str, int, float, bool, None, list, dict): {exc}"
            ) from None
        if len(payload) > MAX_MSG:
            raise ValueError(
                f"{name}(): the arguments are {len(payload) / 2**20:.1f} MB, over the "
                f"{MAX_MSG / 2**20:.0f} MB limit; pass smaller slices."
            )
        with _CALL_LOCK:
            signal.pthread_sigmask(signal.SIG_BLOCK, _TIMER_SIGNALS)
            paused = signal.setitimer(signal.ITIMER_REAL, 0)[0]
            try:
                PROTO_OUT.write(payload + b"\n")
                PROTO_OUT.flush()
                reply = _recv()
            finally:
                if paused > 0:
                    signal.setitimer(signal.ITIMER_REAL, paused)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _TIMER_SIGNALS)
        if reply.get("type") == "error":
            raise HostError(f"{name}: {reply.get('error')}")
        return reply.get("value")

    call.__name__ = call.__qualname__ = name
    return call


_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxdict = 6
_long = reprlib.Repr()
_long.maxstring = _long.maxother = MAX_OUT
_long.maxlist = _long.maxtuple = _long.maxset = _long.maxdict = 100
_long.maxlevel = 4
_HIDDEN = {"HostError", "StepTimeout", "SHOW_VARS", "__builtins__"}


def _show_vars():
    """Names, types and short reprs of the user's variables (not functions, modules or host stubs)."""
    out = {}
    for k, v in list(NS.items()):
        if k.startswith("_") or k in _HIDDEN or callable(v) or type(v).__name__ == "module":
            continue
        try:
            n = len(v) if hasattr(v, "__len__") else None
        except Exception:
            n = None
        try:
            r = _short.repr(v)
        except Exception as exc:
            r = f"<repr failed: {type(exc).__name__}>"
        out[k] = {"type": type(v).__name__, "len": n, "repr": r if len(r) <= 120 else r[:119] + "…"}
        if len(out) >= 200:
            break
    return out


NS = {"__name__": "__repl__", "__builtins__": __builtins__, "HostError": HostError, "SHOW_VARS": _show_vars}
for _name in CFG["host_functions"]:
    NS[_name] = _host(_name)
try:
    for _name, _file in CFG["inputs"].items():
        with open(os.path.join(INPUTS, _file), "rb") as _f:
            _raw = _f.read()
        if _file.endswith(".txt"):
            NS[_name] = _raw.decode("utf-8", "surrogatepass")
        elif _file.endswith(".json"):
            NS[_name] = json.loads(_raw)
        else:
            NS[_name] = _raw
        del _raw
except MemoryError:
    _send({"type": "fatal", "error": "the inputs do not fit in the sandbox's memory limit (memory_mb)"})
    raise SystemExit(3) from None


class _Bounded(io.TextIOBase):
    """A stdout/stderr that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def value(self):
        out = "".join(self.parts)
        return out + (f"\n…[{self.dropped} more characters of output were cut]" if self.dropped else "")


def _format_error(exc):
    if isinstance(exc, SyntaxError):
        return "".join(traceback.format_exception_only(type(exc), exc))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    head = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
    text = head + "".join(traceback.format_exception_only(type(exc), exc))
    return text if len(text) <= 4000 else "…" + text[-4000:]


def _run(code, cell):
    """Exec the cell; if it ends in an expression, evaluate that too and return its repr (REPL echo)."""
    name = f"<cell {cell}>"
    linecache.cache[name] = (len(code), None, code.splitlines(True), name)
    tree = ast.parse(code, name)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, name, "exec"), NS)
    if last is not None:
        value = eval(compile(last, name, "eval"), NS)
        if value is not None:
            NS["_"] = value
            text = _long.repr(value)
            return (
                text
                if len(text) <= MAX_OUT
                else text[:MAX_OUT] + f"…[{len(text) - MAX_OUT} more characters cut]"
            )
    return None


def _step(code, cell):
    out, err = _Bounded(MAX_OUT), _Bounded(MAX_OUT)
    error, value, timed_out, variables = None, None, False, {}
    sys.stdout, sys.stderr = out, err
    try:
        try:
            _ARMED[0] = True
            signal.setitimer(signal.ITIMER_PROF, float(CFG["cpu_seconds"]))
            signal.setitimer(signal.ITIMER_REAL, float(CFG["wall_seconds"]))
            value = _run(code, cell)
            variables = _show_vars()
        finally:
            _ARMED[0] = False
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
    except StepTimeout as exc:
        timed_out = True
        error = f"StepTimeout: {exc}; the step was interrupted and the variables are kept."
    except SystemExit as exc:
        error = f"SystemExit({exc.code!r}): exiting is not allowed here; the REPL and its variables are kept."
    except MemoryError:
        error = f"MemoryError: the step ran out of memory (limit {CFG['memory_bytes'] // 2**20} MB)."
    except BaseException as exc:
        error = _format_error(exc)
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    if not variables:
        try:
            variables = _show_vars()
        except BaseException:
            variables = {}
    return {
        "type": "done",
        "stdout": out.value(),
        "stderr": err.value(),
        "value": value,
        "error": error,
        "timed_out": timed_out,
        "variables": variables,
    }


# Everything the hook and the loop need is imported above; from here on the hook judges every import.
_ALLOWED_READ = (SCRATCH, INPUTS, PREFIX, "/dev/null", "/dev/urandom", "/dev/random", "/dev/zero")
_BLOCKED_EVENTS = frozenset(
    [
        "os.system",
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.kill",
        "os.killpg",
        "subprocess.Popen",
        "socket.__new__",
        "socket.bind",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "socket.sendmsg",
        "socket.sethostname",
        "os.chroot",
        "resource.setrlimit",
        "resource.prlimit",
        "sys.addaudithook",
        "sys.remote_exec",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "mmap.__new__",
        "webbrowser.open",
        "os.symlink",
        "os.link",
        "os.setxattr",
        "os.removexattr",
        "os.chflags",
        "os.lchflags",
        "winreg.OpenKey",
    ]
)
_BLOCKED_IMPORTS = frozenset(
    [
        "ctypes",
        "_ctypes",
        "cffi",
        "_cffi_backend",
        "_posixsubprocess",
        "_xxsubinterpreters",
        "_xxinterpchannels",
        "_testcapi",
        "_testinternalcapi",
        "_testbuffer",
        "_testmultiphase",
        "_testimportmultiple",
        "_testclinic",
        "_lsprof",
        "_tracemalloc",
    ]
)
_WRITE_EVENTS = frozenset(
    [
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "shutil.rmtree",
    ]
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(
    event,
    args,
    _blocked=_BLOCKED_EVENTS,
    _imports=_BLOCKED_IMPORTS,
    _writes=_WRITE_EVENTS,
    _wflags=_WRITE_FLAGS,
    _read=_ALLOWED_READ,
    _write=(SCRATCH, "/dev/null"),
    _getcwd=os.getcwd,
    _fspath=os.fspath,
    _isinstance=isinstance,
    _str=str,
    _bytes=bytes,
    _int=int,
    _len=len,
    _any=any,
    _PermissionError=PermissionError,
    _ImportError=ImportError,
):
    """Refuses what model code must not do. Everything it uses is bound here, so patching builtins or
    modules from user code cannot change what it does, and its code and defaults cannot be replaced."""

    def inside(path, roots):
        if _isinstance(path, _int):
            return True
        try:
            p = _fspath(path)
        except Exception:
            return False
        if _isinstance(p, _bytes):
            p = p.decode("utf-8", "surrogateescape")
        if not _isinstance(p, _str) or "\x00" in p:
            return False
        if not p.startswith("/"):
            p = _getcwd() + "/" + p
        parts = []
        for part in p.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
            else:
                parts.append(part)
        p = "/" + "/".join(parts)
        return _any(p == r or p.startswith(r + "/") for r in roots)

    if event in _blocked:
        raise _PermissionError(f"sandbox: {event} is not allowed")
    if event == "import":
        if args[0].split(".")[0] in _imports:
            raise _ImportError(f"sandbox: importing {args[0]} is not allowed")
    elif event.startswith("ctypes."):
        raise _PermissionError(f"sandbox: {event} is not allowed")
    elif event == "object.__setattr__":
        if _len(args) > 1 and args[1] in ("__code__", "__defaults__", "__kwdefaults__"):
            raise _PermissionError(f"sandbox: replacing a function's {args[1]} is not allowed")
    elif event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if _isinstance(flags, _int) and flags:
            writing = bool(flags & _wflags)
        else:
            writing = _any(c in (mode or "") for c in "wax+")
        if not inside(path, _write if writing else _read):
            what = "write" if writing else "read"
            raise _PermissionError(f"sandbox: cannot {what} {path!r}: only the scratch directory is open")
    elif event in _writes:
        if args and not inside(args[0], (_write[0],)):
            raise _PermissionError(f"sandbox: {event} outside the scratch directory is not allowed")
        if event == "os.rename" and _len(args) > 1 and not inside(args[1], (_write[0],)):
            raise _PermissionError("sandbox: os.rename outside the scratch directory is not allowed")
    elif (
        event in ("os.listdir", "os.scandir", "os.chdir")
        and args
        and args[0] is not None
        and not inside(args[0], _read)
    ):
        raise _PermissionError(f"sandbox: {event} outside the scratch directory is not allowed")


if CFG["audit_hook"]:
    sys.addaudithook(_audit)
    LAYERS.append("audit-hook")
else:
    LAYERS.append("no-audit-hook(disabled by the host)")
_send({"type": "ready", "layers": LAYERS, "pid": os.getpid(), "uid": os.getuid()})

_cell = 0
while True:
    try:
        _req = _recv()
    except SystemExit:
        break
    if _req.get("type") != "exec":
        continue
    _cell += 1
    try:
        _reply = _step(str(_req.get("code", "")), _cell)
    except MemoryError:
        _reply = {
            "type": "done",
            "error": "MemoryError: the step ran out of memory.",
            "stdout": "",
            "stderr": "",
        }
    try:
        _send(_reply)
    except (TypeError, ValueError, MemoryError) as _exc:
        _send({"type": "done", "error": f"the step's result could not be sent: {_exc}"})
    _reply = _req = None
