"""Figures of Chapter 7: scaling laws fitted to measured points, and inference latency."""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: E402  (after the style is set)
import numpy as np  # noqa: E402

from cancer_alpha.plots.style import (
    CEILING_STYLE,
    figure,
    subplots,
)


@figure
def scaling(points, x: str, y: str, fits: dict, ylabel: str):
    """Measured points on log-log axes with their fitted power laws."""
    fig, ax = subplots(width=6.4, height=3.4)
    cmap = plt.get_cmap("tab10")
    for i, (name, grp) in enumerate(points.groupby("model", sort=False)):
        color = cmap(i % 10)
        ax.scatter(grp[x], grp[y], color=color, s=14, zorder=3)
        if name in fits:
            f = fits[name]
            grid = np.geomspace(grp[x].min(), grp[x].max(), 50)
            ax.plot(grid, f.predict(grid), color=color,
                    label=f"{name}: exponent {f.exponent:.2f} "
                          f"[{f.ci95[0]:.2f}, {f.ci95[1]:.2f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return fig


@figure
def latency(table):
    """Batched and single-sample inference latency per model (log scale)."""
    fig, ax = subplots(width=6.4, height=2.8)
    names = list(table.index)
    pos = np.arange(len(names))
    ax.barh(pos - 0.2, table["batched_ms_per_sample"], 0.4, label="batched, per sample",
            color="0.6")
    ax.barh(pos + 0.2, table["single_p50_ms"], 0.4, label="one sample (median)", color="0.3")
    ax.axvline(15, **CEILING_STYLE, label="Cancer Alpha paper: 15 ms")
    ax.set_yticks(pos, names)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return fig
