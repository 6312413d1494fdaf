"""Figures of Chapter 8: every model on a real data set beside a reference model and published
results."""

from __future__ import annotations

import numpy as np

from cancer_alpha.plots.style import (
    CEILING_STYLE,
    figure,
    subplots,
)


@figure
def accuracy_vs_reference(table, reference: str, published=None, baseline=None,
                          labels: tuple[str, str] = ("published recipe", "tuned")):
    """Accuracy of each model (mean, sd over seeds) beside a simple baseline on the same split
    (the dashed line), and published results where given. With ``baseline`` (the same models
    with another recipe), each model gets two bars: ``labels`` name them."""
    names = list(table.index)
    extra = len(published or {})
    fig, ax = subplots(width=6.4, height=(0.45 if baseline is not None else 0.32)
                       * (len(names) + extra) + 1.0)
    pos = np.arange(len(names))
    if baseline is not None:
        b = baseline.loc[names]
        ax.barh(pos - 0.2, b["accuracy_mean"], 0.4, xerr=b["accuracy_sd"], color="0.75",
                error_kw={"capsize": 1.5}, label=f"{labels[0]} (mean, sd over seeds)")
        ax.barh(pos + 0.2, table["accuracy_mean"], 0.4, xerr=table["accuracy_sd"],
                color="0.35", error_kw={"capsize": 1.5},
                label=f"{labels[1]} (mean, sd over seeds)")
    else:
        ax.barh(pos, table["accuracy_mean"], xerr=table["accuracy_sd"], color="0.6",
                error_kw={"capsize": 2}, label="measured here (mean, sd over seeds)")
    ax.axvline(table.loc[reference, "accuracy_mean"], **CEILING_STYLE,
               label=f"{reference} (same split)")
    ticks = list(names)
    if published:
        pub = list(published)
        at = np.arange(len(names), len(names) + len(pub))
        ax.barh(at, [published[p]["accuracy"] for p in pub],
                xerr=[published[p].get("accuracy_sd", 0) for p in pub],
                color="white", edgecolor="0.3", hatch="//", error_kw={"capsize": 2},
                label="published")
        ticks += pub
    ax.set_yticks(np.arange(len(ticks)), ticks)
    lows = [float((t["accuracy_mean"] - t["accuracy_sd"]).min())
            for t in (table, baseline) if t is not None]
    ax.set_xlim(max(0.0, min(lows) - 0.1), 1.0)
    ax.set_xlabel("accuracy on the test split")
    ax.invert_yaxis()
    ax.legend(loc="lower left", fontsize=7)
    return fig
