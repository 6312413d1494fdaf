"""Tables as the book shows them: fixed decimals, counts as integers, "—" where a cell does
not apply, readable column labels.

The chapters compute with full-precision pandas tables and show them through
:func:`readable`, which returns a table of strings: what a reader sees is decided here once,
not in every chapter (no ``NaN``, no ``2.0`` runs, no ``0.426667``, no ``Name: ..., dtype``
footer of a bare Series).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

NOT_APPLICABLE = "\u2014"  # an em dash: the cell has no value for this row
# columns that hold counts, by name: shown as integers even when pandas stored floats
_COUNT = re.compile(r"^(n[_ ]|n$|seeds?$|runs$|epochs?$|best[_ ]epoch|trials$|pruned$|"
                    r"repeats$|folds$|inner[_ ]folds$|features$|samples$|n_train$|rounds$|"
                    r".*[_ ]count$|count$|parameters$)", re.IGNORECASE)


def _label(name: Any) -> Any:
    """'accuracy_mean' -> 'accuracy mean'; tuples (MultiIndex columns) label by label."""
    if isinstance(name, tuple):
        return tuple(_label(n) for n in name)
    return name.replace("_", " ") if isinstance(name, str) else name


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def cell(value: Any, decimals: int = 3, *, integer: bool = False,
         significant: int | None = None) -> str:
    """One cell as text: '—' for a missing value, an integer for a count or an int, a float
    with ``decimals`` fixed decimals (scientific notation where that would print 0 for a
    non-zero value) or, for settings that span magnitudes, ``significant`` significant
    digits; anything else as ``str``."""
    if _missing(value):
        return NOT_APPLICABLE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value)}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isinf(value):
            return "\u221e" if value > 0 else "-\u221e"
        if integer and value.is_integer():
            return f"{int(value)}"
        if significant is not None:
            return f"{value:.{significant}g}"
        if value != 0 and abs(value) < 0.5 * 10 ** -decimals:
            return f"{value:.{max(decimals - 1, 1)}e}"
        return f"{value:.{decimals}f}"
    return str(value)


def plural(n: int, noun: str) -> str:
    """'1 seed', '3 seeds': a count with its noun."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def readable(table: pd.DataFrame | pd.Series, decimals: int = 3, *,
             integers: Iterable[str] = (), decimals_by_column: dict[str, int] | None = None,
             significant: int | None = None) -> pd.DataFrame:
    """``table`` as a table of strings for reading (see :func:`cell`). Columns named as
    counts (``n_runs``, ``seeds``, ``epochs``...) or listed in ``integers`` show whole numbers
    as integers; ``decimals_by_column`` overrides ``decimals`` for single columns. A Series
    becomes a one-column table named after it. Column and index labels lose their
    underscores. With ``significant``, floats show that many significant digits instead
    (settings such as a learning rate of 3.2e-04 beside a depth of 6)."""
    frame = table.to_frame() if isinstance(table, pd.Series) else table.copy()
    integers = set(integers)
    per_column = decimals_by_column or {}
    out = pd.DataFrame(index=frame.index)
    for position, name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        key = name[-1] if isinstance(name, tuple) else name
        integer = (str(key) in integers or bool(_COUNT.match(str(key)))
                   or pd.api.types.is_integer_dtype(column.dtype))
        places = per_column.get(str(key), decimals)
        out[position] = [cell(v, places, integer=integer, significant=significant)
                         for v in column]
    out.columns = pd.Index([_label(c) for c in frame.columns]) \
        if not isinstance(frame.columns, pd.MultiIndex) else \
        pd.MultiIndex.from_tuples([_label(c) for c in frame.columns])
    out.index = out.index.rename([_label(n) for n in frame.index.names]) \
        if isinstance(frame.index, pd.MultiIndex) else out.index.rename(_label(frame.index.name))
    return out


__all__ = ["NOT_APPLICABLE", "cell", "plural", "readable"]
