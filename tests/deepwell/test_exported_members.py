"""Each package's public API is exactly what its ``__all__`` declares (the encode/httpx habit)."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "deepwell",
    "deepwell.core",
    "deepwell.storage",
    "deepwell.retrieval",
    "deepwell.reasoning",
    "deepwell.mcp_servers",
    "deepwell.agents",
    "deepwell.rlm",
    "deepwell.rlm.sandbox",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete_and_sorted(name: str) -> None:
    mod = importlib.import_module(name)
    exported = mod.__all__
    assert exported == sorted(exported, key=lambda s: (not s.isupper(), not s[0].isupper(), s))
    for attr in exported:
        assert hasattr(mod, attr), f"{name}.{attr} is in __all__ but missing"


def test_errors_share_one_root() -> None:
    from deepwell.core import errors

    for attr in errors.__all__:
        assert issubclass(getattr(errors, attr), errors.DeepwellError)
