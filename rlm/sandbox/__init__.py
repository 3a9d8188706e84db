"""An isolated, persistent Python REPL for model-written code.

``ProcessSandbox`` runs the REPL in a child process locked down with what Linux offers (namespaces, a
minimal read-only root, ``nobody``, rlimits, seccomp, an audit hook) and talks to it over JSON lines on
its stdin/stdout; code in the REPL calls back into the host through ``host_functions``. Other
implementations only need to satisfy the ``Sandbox`` protocol.
"""

from rlm.sandbox._process import ProcessSandbox
from rlm.sandbox._protocol import ExecResult, HostFunction, Sandbox, SandboxLimits

__all__ = ["ExecResult", "HostFunction", "ProcessSandbox", "Sandbox", "SandboxLimits"]
