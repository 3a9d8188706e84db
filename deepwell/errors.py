"""Moved to :mod:`deepwell.core.errors` in 0.2; this alias keeps 0.1 code running and says where to go."""

import warnings

from deepwell.core.errors import *  # noqa: F403
from deepwell.core.errors import __all__  # noqa: F401

warnings.warn(
    "deepwell.errors moved to deepwell.core: import from deepwell.core"
    " (e.g. `from deepwell.core import DeepwellError`).",
    DeprecationWarning,
    stacklevel=2,
)
