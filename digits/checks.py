"""Checks of parameters that several modules share."""

from __future__ import annotations

import numpy as np


def is_count(value, minimum: int = 1) -> bool:
    """True when ``value`` is a whole number (Python or NumPy integer, not a bool) of at least ``minimum``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum
