"""The data behind a drawn figure, read back from its matplotlib artists.

Every figure of the book is saved with the numbers it shows (``results/<profile>/figures/
<chapter>__<name>.json``), read from the figure itself rather than from the code that drew it:
the lines, points, bars, images and texts of every axes, with the axes' labels, scales and
limits. A reader can re-plot or check a figure from that file without running the chapter, and
the published reference keeps it beside the run records (:mod:`cancer_alpha.reference`).
Numbers keep 6 significant digits: a figure shows far fewer.
"""

from __future__ import annotations

import math
from typing import Any

DIGITS = 6


def _number(value: Any) -> Any:
    """One value as JSON: a float rounded to :data:`DIGITS` significant digits, None for NaN
    or an infinity, a string for anything that is not a number (categorical axes)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else None
    try:
        return _number(float(value))
    except (TypeError, ValueError):
        return str(value)


def _values(seq: Any) -> Any:
    """A sequence (or an array of any rank) as nested lists of :func:`_number`."""
    import numpy as np

    arr = np.ma.filled(np.ma.asarray(seq, dtype=object), None) if np.ma.isMaskedArray(seq) \
        else np.asarray(seq, dtype=object)
    if arr.ndim == 0:
        return _number(arr.item())
    return [_values(row) for row in arr] if arr.ndim > 1 else [_number(v) for v in arr]


def _text(t: Any) -> dict[str, Any]:
    x, y = t.get_position()
    return {"text": t.get_text(), "x": _number(x), "y": _number(y)}


def _axes(ax: Any) -> dict[str, Any]:
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.patches import Rectangle

    entry: dict[str, Any] = {
        "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
        "xlim": _values(ax.get_xlim()), "ylim": _values(ax.get_ylim()),
        "xticklabels": [t.get_text() for t in ax.get_xticklabels() if t.get_text()],
        "yticklabels": [t.get_text() for t in ax.get_yticklabels() if t.get_text()],
    }
    lines = [{"label": line.get_label(), "x": _values(line.get_xdata()),
              "y": _values(line.get_ydata())} for line in ax.get_lines()]
    points = []
    for c in ax.collections:
        if not isinstance(c, Collection):
            continue
        offsets = c.get_offsets()
        item: dict[str, Any] = {"kind": type(c).__name__, "label": c.get_label()}
        if len(offsets):
            item["offsets"] = _values(offsets)
        array = c.get_array()
        if array is not None and len(array):
            item["values"] = _values(array)
        if len(item) > 2:
            points.append(item)
    bars = [{"label": p.get_label(), "x": _number(p.get_x()), "y": _number(p.get_y()),
             "width": _number(p.get_width()), "height": _number(p.get_height())}
            for p in ax.patches if isinstance(p, Rectangle)]
    images = [{"extent": _values(im.get_extent()), "values": _values(im.get_array())}
              for im in ax.get_images() if isinstance(im, AxesImage)]
    texts = [_text(t) for t in ax.texts if t.get_text()]
    legend = ax.get_legend()
    for key, value in (("lines", lines), ("points", points), ("bars", bars),
                       ("images", images), ("texts", texts)):
        if value:
            entry[key] = value
    if legend is not None:
        entry["legend"] = [t.get_text() for t in legend.get_texts()]
    return entry


def figure_data(fig: Any) -> dict[str, Any]:
    """What a figure shows, as plain JSON: its title, the function that drew it
    (``fig.drawn_by``) and, per axes, its labels, scales, limits and the data of its lines,
    points, bars, images and texts."""
    suptitle = getattr(fig, "_suptitle", None)
    return {"drawn_by": getattr(fig, "drawn_by", None),
            "suptitle": suptitle.get_text() if suptitle is not None else "",
            "axes": [_axes(ax) for ax in fig.axes if ax.get_visible()]}
