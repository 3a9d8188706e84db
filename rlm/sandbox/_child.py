"""The REPL that runs inside the sandbox. Stdlib only: it runs with ``python -I -S`` as an unprivileged user.

It reads JSON lines on fd 0 and answers on fd 1. User code calls host functions (``llm_query``,
``search`` ...) through stubs that send a ``call`` message and block for the reply. Before any user code
runs, an audit hook (which Python cannot remove) refuses process creation, sockets, native code loading
and file access outside the scratch directory and the interpreter's own library.
"""

import io
import json
import os
import sys
import traceback

PROTO_IN = os.fdopen(os.dup(0), "r", encoding="utf-8")
PROTO_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
_devnull = os.open(os.devnull, os.O_RDWR)
os.dup2(_devnull, 0)
os.dup2(_devnull, 1)

CFG = json.loads(PROTO_IN.readline())
SCRATCH = os.path.realpath(CFG["scratch"])
READABLE = tuple(
    os.path.realpath(p) for p in [SCRATCH, sys.prefix, sys.base_prefix, sys.exec_prefix, *CFG["readable"]]
)
MAX_OUT = int(CFG["max_output_chars"])

BLOCKED_EVENTS = {
    "os.system",
    "os.fork",
    "os.forkpty",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.kill",
    "os.killpg",
    "subprocess.Popen",
    "pty.spawn",
    "socket.__new__",
    "socket.bind",
    "socket.connect",
    "socket.getaddrinfo",
    "socket.sendto",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.cdata",
    "ctypes.call_function",
    "ctypes.addressof",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "os.chroot",
    "os.setuid",
    "os.setgid",
    "resource.setrlimit",
    "resource.prlimit",
    "sys.setrecursionlimit",
    "os.putenv",
    "os.unsetenv",
    "webbrowser.open",
    "urllib.Request",
    "ftplib.connect",
    "smtplib.connect",
    "sys.remote_exec",
}
BLOCKED_IMPORTS = {
    "ctypes",
    "_ctypes",
    "cffi",
    "_cffi_backend",
    "_posixsubprocess",
    "socket",
    "_socket",
    "ssl",
    "_ssl",
    "multiprocessing",
    "_multiprocessing",
    "mmap",
    "resource",
    "pty",
    "fcntl",
    "termios",
    "_xxsubinterpreters",
    "_xxinterpchannels",
    "_testcapi",
    "_testinternalcapi",
    "faulthandler",
    "_posixshmem",
    "asyncio",
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _inside(path, roots):
    try:
        p = os.path.realpath(path if isinstance(path, str) else os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return any(p == r or p.startswith(r + os.sep) for r in roots)


def _audit(event, args):
    if event in BLOCKED_EVENTS:
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "import" and args[0].split(".")[0] in BLOCKED_IMPORTS:
        raise ImportError(f"sandbox: importing {args[0]} is not allowed")
    if event == "open":
        path, mode, flags = args[0], args[1], args[2]
        if isinstance(path, int):
            return
        writing = (
            bool(flags & WRITE_FLAGS)
            if isinstance(flags, int) and flags
            else any(c in (mode or "") for c in "wax+")
        )
        roots = (SCRATCH,) if writing else READABLE
        if not _inside(path, roots):
            raise PermissionError(
                f"sandbox: cannot {'write' if writing else 'read'} {path}: only the scratch directory is open"
            )
    if (
        event
        in {
            "os.remove",
            "os.rename",
            "os.rmdir",
            "os.mkdir",
            "os.chmod",
            "os.chown",
            "os.link",
            "os.symlink",
            "os.truncate",
            "os.utime",
        }
        and args
        and isinstance(args[0], (str, bytes))
        and not _inside(args[0], (SCRATCH,))
    ):
        raise PermissionError(f"sandbox: {event} outside the scratch directory is not allowed")
    if (
        event == "os.listdir"
        and args
        and isinstance(args[0], (str, bytes))
        and not _inside(args[0] or ".", READABLE)
    ):
        raise PermissionError("sandbox: listing directories outside the scratch directory is not allowed")


class _Bounded(io.TextIOBase):
    def __init__(self, limit):
        self.limit, self.parts, self.size, self.dropped = limit, [], 0, 0

    def write(self, s):
        room = self.limit - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def value(self):
        out = "".join(self.parts)
        return out + (f"\n…[{self.dropped} more characters of output cut]" if self.dropped else "")


def _send(msg):
    PROTO_OUT.write(json.dumps(msg, default=repr) + "\n")
    PROTO_OUT.flush()


class HostError(Exception):
    """A host function (llm_query, search, ...) failed; the message says why."""


def _host(name):
    def call(*args, **kwargs):
        _send({"type": "call", "name": name, "args": list(args), "kwargs": kwargs})
        reply = json.loads(PROTO_IN.readline() or '{"type": "error", "error": "host went away"}')
        if reply.get("type") == "error":
            raise HostError(reply.get("error"))
        return reply.get("value")

    call.__name__ = name
    return call


NS = {"__name__": "__repl__", "HostError": HostError}
for _name in CFG["host_functions"]:
    NS[_name] = _host(_name)
for _name, _file in CFG["inputs"].items():
    with open(_file, encoding="utf-8") as _f:
        NS[_name] = json.load(_f) if _file.endswith(".json") else _f.read()


def _show_vars():
    out = {}
    for k, v in NS.items():
        if k.startswith("_") or k in ("HostError", "SHOW_VARS") or callable(v):
            continue
        r = repr(v)
        out[k] = {
            "type": type(v).__name__,
            "len": len(v) if hasattr(v, "__len__") else None,
            "repr": r[:80] + ("…" if len(r) > 80 else ""),
        }
    return out


NS["SHOW_VARS"] = _show_vars
os.chdir(SCRATCH)
sys.addaudithook(_audit)
_send({"type": "ready"})

for line in PROTO_IN:
    req = json.loads(line)
    if req.get("type") != "exec":
        continue
    out, err = _Bounded(MAX_OUT), _Bounded(MAX_OUT)
    sys.stdout, sys.stderr = out, err
    error = None
    try:
        code = compile(req["code"], "<repl>", "exec")
        exec(code, NS)
    except SystemExit as exc:
        error = f"SystemExit({exc.code}) is not allowed to end the REPL; the state is kept."
    except BaseException as exc:  # user code: report everything, keep serving
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        keep = [t for t in tb if "<repl>" in t or not t.startswith("  File")]
        error = "".join(keep)[-3000:]
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    try:
        variables = _show_vars()
    except Exception:
        variables = {}
    _send(
        {"type": "done", "stdout": out.value(), "stderr": err.value(), "error": error, "variables": variables}
    )
