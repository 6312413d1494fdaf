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
# verdicts whose colour is light: their counts are written in black, the others in white
_LIGHT = ("partly", "not judged", "pending")


@figure
def verdict_summary(rows: Sequence[Mapping[str, Any]]):
    """One horizontal bar of the claims, a segment per verdict with its count written in it
    and named in the legend below."""
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ORDER}
    fig, ax = subplots(width=6.4, height=1.25)
    left = 0
    for v in ORDER:
        n = counts[v]
        if not n:
            continue
        ax.barh([0], [n], left=left, height=0.8, color=VERDICT_COLORS[v],
                edgecolor="white", linewidth=1.5, label=f"{v} ({n})")
        ax.text(left + n / 2, 0, str(n), ha="center", va="center", fontsize=10,
                fontweight="bold", color="#1b1b1b" if v in _LIGHT else "white")
        left += n
    ax.set_yticks([])
    ax.set_xlim(0, max(left, 1))
    ax.set_ylim(-0.5, 0.5)
    ax.set_xlabel("claims")
    ax.grid(False)
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    shown = sum(n > 0 for n in counts.values())
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6), ncol=shown if shown <= 4 else 3,
              handlelength=1.2, columnspacing=1.2)
    return fig
