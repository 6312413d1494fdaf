"""One conversion of results to plain JSON: what run records, tuning summaries, run folders and
profile dumps write."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays as Python numbers and lists,
    tuples as lists, mapping keys as strings, and NaN or an infinity as None (JSON has no
    such numbers)."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
