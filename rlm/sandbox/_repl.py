"""The REPL itself: stage two of the sandboxed child, a fresh interpreter that never loads ``ctypes``.

``_child.py`` (stage one) applies the kernel layers with ``ctypes`` and then replaces itself with this
program (``execveat``), passing the config and its layers in ``argv``. The REPL's process therefore has no
``ctypes`` types anywhere (not through ``__main__``, not through ``object.__subclasses__()``), so model code
cannot build a raw memory write to switch off the audit hook. Stdlib only.

Protocol: JSON lines on stdin/stdout. Each ``exec`` carries a ``step`` token that its ``done`` echoes, and
each host call a ``call`` id that its reply echoes, so a message forged by a background thread of model
code is dropped by whichever side does not expect it.
"""

import ast
import io
import json
import linecache
import os
import reprlib
import signal
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


_STATE = json.loads(sys.argv[1])
CFG, LAYERS, SCRATCH, INPUTS = _STATE["cfg"], _STATE["layers"], _STATE["scratch"], _STATE["inputs"]
del _STATE
sys.argv[1:] = []
if any(m.split(".")[0] in ("ctypes", "_ctypes") for m in sys.modules):
    raise SystemExit("sandbox: ctypes is loaded in the REPL process")
LAYERS.append("no-ctypes")
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
_CALLS = [0]


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
                _CALLS[0] += 1
                tag = _CALLS[0]
                PROTO_OUT.write(payload[:-1] + b', "id": %d}\n' % tag)
                PROTO_OUT.flush()
                reply = _recv()
                while reply.get("id") != tag:  # a reply to a call forged by model code: not ours
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
# each write event, with the positions of its dir_fd arguments (paths relative to a dir_fd are not checked)
_WRITE_EVENTS = {
    "os.remove": (1,),
    "os.rename": (2, 3),
    "os.rmdir": (1,),
    "os.mkdir": (2,),
    "os.chmod": (2,),
    "os.chown": (3,),
    "os.truncate": (),
    "os.utime": (3,),
    "shutil.rmtree": (1,),
}
_AT_FDCWD = -100
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
    _AT_FDCWD=_AT_FDCWD,
):
    """Refuses what model code must not do. Everything it uses is bound here, so patching builtins or
    modules from user code cannot change what it does, and its code and defaults cannot be replaced."""

    def absolute(path):
        if _isinstance(path, _bytes):
            return path.startswith(b"/")
        return _isinstance(path, _str) and path.startswith("/")

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
        if mode is None and not _isinstance(path, _int) and not absolute(path):
            # os.open: the event does not carry dir_fd, so a relative path cannot be checked
            raise _PermissionError(
                f"sandbox: os.open({path!r}) needs an absolute path here (relative paths and dir_fd "
                "cannot be checked); use open() or an absolute path under the scratch directory"
            )
        if _isinstance(flags, _int) and flags:
            writing = bool(flags & _wflags)
        else:
            writing = _any(c in (mode or "") for c in "wax+")
        if not inside(path, _write if writing else _read):
            what = "write" if writing else "read"
            raise _PermissionError(f"sandbox: cannot {what} {path!r}: only the scratch directory is open")
    elif event in _writes:
        for i in _writes[event]:
            if _len(args) > i and args[i] is not None and args[i] != _AT_FDCWD:
                raise _PermissionError(f"sandbox: {event} with dir_fd is not allowed")
        if args and not inside(args[0], (_write[0],)):
            raise _PermissionError(f"sandbox: {event} outside the scratch directory is not allowed")
        if event == "os.rename" and _len(args) > 1 and not inside(args[1], (_write[0],)):
            raise _PermissionError("sandbox: os.rename outside the scratch directory is not allowed")
    elif event == "deepwell.stat":
        if args[1] is not None and args[1] != _AT_FDCWD:
            raise _PermissionError("sandbox: stat with dir_fd is not allowed")
        if not inside(args[0], _read):
            raise _PermissionError(f"sandbox: cannot stat {args[0]!r}: only the scratch directory is open")
    elif (
        event in ("os.listdir", "os.scandir", "os.chdir")
        and args
        and args[0] is not None
        and not inside(args[0], _read)
    ):
        raise _PermissionError(f"sandbox: {event} outside the scratch directory is not allowed")


def _stat_guard(fn, _audit_call=sys.audit):
    """``os.stat`` and friends raise no audit event: announce one, so the hook judges them like ``open``.
    (The original stays reachable through the wrapper's closure; it leaks metadata, never contents, and
    only where no mount namespace hides the host's files, a configuration the host refuses by default.)"""

    def guarded(path, *args, dir_fd=None, **kwargs):
        _audit_call("deepwell.stat", path, dir_fd)
        return fn(path, *args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = fn.__name__
    return guarded


if CFG["audit_hook"]:
    import posix

    for _name in ("stat", "lstat", "access"):
        setattr(posix, _name, _stat_guard(getattr(posix, _name)))
        setattr(os, _name, getattr(posix, _name))
    del posix
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
    _tag = _req.get("step")
    try:
        _reply = _step(str(_req.get("code", "")), _cell)
    except MemoryError:
        _reply = {
            "type": "done",
            "error": "MemoryError: the step ran out of memory.",
            "stdout": "",
            "stderr": "",
        }
    _reply["step"] = _tag
    try:
        _send(_reply)
    except (TypeError, ValueError, MemoryError) as _exc:
        _send({"type": "done", "step": _tag, "error": f"the step's result could not be sent: {_exc}"})
    _reply = _req = None
