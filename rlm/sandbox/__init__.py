"""An isolated, persistent Python REPL for model-written code (separate process, namespaces, rlimits)."""

from rlm.sandbox._process import ExecResult, ProcessSandbox, Sandbox, SandboxLimits

__all__ = ["ExecResult", "ProcessSandbox", "Sandbox", "SandboxLimits"]
