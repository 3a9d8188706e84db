"""An isolated, persistent Python REPL for model-written code.

``ProcessSandbox`` runs the REPL in a child process locked down with what Linux offers (namespaces, a
minimal read-only root, ``nobody``, rlimits, seccomp, an audit hook) and talks to it over JSON lines on
its stdin/stdout; code in the REPL calls back into the host through ``host_functions``. Other
implementations only need to satisfy the ``Sandbox`` protocol: ``DockerSandbox`` runs the same REPL in a
throwaway container. ``SANDBOXES`` maps the configured name (``DEEPWELL_RLM_SANDBOX``) to the class.
"""

from deepwell.rlm.sandbox._docker import DockerSandbox
from deepwell.rlm.sandbox._process import ProcessSandbox
from deepwell.rlm.sandbox._protocol import ExecResult, HostFunction, Sandbox, SandboxLimits

SANDBOXES: dict[str, type[ProcessSandbox]] = {"process": ProcessSandbox, "docker": DockerSandbox}

__all__ = [
    "SANDBOXES",
    "DockerSandbox",
    "ExecResult",
    "HostFunction",
    "ProcessSandbox",
    "Sandbox",
    "SandboxLimits",
]
