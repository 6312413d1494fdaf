"""One figure style for the whole book. Each function draws one figure and returns it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.rcParams.update({
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.figsize": (6.4, 3.6),
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "image.cmap": "viridis",
})

import matplotlib.pyplot as plt  # noqa: E402  (after the style is set)

# one colour per modality and per verdict, used in every chapter
MODALITY_COLORS: dict[str, str] = {
    "methylation": "#1b9e77", "fragmentomics": "#d95f02", "cna": "#7570b3",
    "mrna": "#e7298a", "mirna": "#66a61e", "protein": "#e6ab02",
}
VERDICT_COLORS: dict[str, str] = {
    "reproduced": "#1a9850", "partly": "#fdae61", "not reproduced": "#d73027",
    "not testable here": "#9e9e9e", "pending": "#d9d9d9",
}
CEILING_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.0}


def modality_color(name: str) -> str:
    """The colour of a modality (a neutral grey for names without one)."""
    return MODALITY_COLORS.get(name.lower(), "#666666")


def class_palette(class_names: Sequence[str]) -> dict[str, Any]:
    """A colour per class, stable across figures."""
    cmap = plt.get_cmap("tab10")
    return {c: cmap(i % 10) for i, c in enumerate(class_names)}


def subplots(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 3.6,
             **kw: Any):
    """``plt.subplots`` with the book's size and a constrained layout."""
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def verdict_summary(rows: Sequence[Mapping[str, Any]]):
    """Horizontal bar of how many claims got each verdict."""
    order = list(VERDICT_COLORS)
    counts = {v: sum(r["verdict"] == v for r in rows) for v in order}
    fig, ax = subplots(width=6.4, height=1.6)
    left = 0
    for v in order:
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


def close(fig) -> None:
    """Free a figure after it has been displayed and saved."""
    plt.close(fig)

