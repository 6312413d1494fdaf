"""Figures of the claims audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cancer_alpha.config import VERDICTS
from cancer_alpha.plots.style import (
    VERDICT_COLORS,
    figure,
    subplots,
)

# every verdict a claim can have, in the order the bar shows them
ORDER: tuple[str, ...] = (*VERDICTS, "pending")


@figure
def verdict_summary(rows: Sequence[Mapping[str, Any]]):
    """Horizontal bar of how many claims got each verdict."""
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ORDER}
    fig, ax = subplots(width=6.4, height=1.6)
    left = 0
    for v in ORDER:
        if counts[v]:
            ax.barh([0], [counts[v]], left=left, color=VERDICT_COLORS[v],
                    label=f"{v} ({counts[v]})")
            left += counts[v]
    ax.set_yticks([])
    ax.set_xlim(0, max(left, 1))
    ax.set_xlabel("claims")
    ax.grid(False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6), ncol=3)
    return fig
