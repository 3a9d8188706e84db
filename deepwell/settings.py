"""Moved to :mod:`deepwell.core.settings` in 0.2; this alias keeps 0.1 code running and says where to go."""

import warnings

from deepwell.core.settings import *  # noqa: F403
from deepwell.core.settings import __all__  # noqa: F401

warnings.warn(
    "deepwell.settings moved to deepwell.core: import from deepwell.core"
    " (e.g. `from deepwell.core import Settings`).",
    DeprecationWarning,
    stacklevel=2,
)
