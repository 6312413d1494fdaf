"""Figures of Chapter 7: every model on a real data set beside a reference model and published
results."""

from __future__ import annotations

from cancer_alpha.plots.style import (
    CEILING_STYLE,
    figure,
    subplots,
)


@figure
def accuracy_vs_reference(table, reference: str, published=None):
    """Accuracy of each model (mean, sd over seeds) beside a simple baseline on the same split,
    and published results where given."""
    names = list(table.index)
    fig, ax = subplots(width=6.4, height=0.32 * (len(names) + len(published or {})) + 1.0)
    ax.barh(names, table["accuracy_mean"], xerr=table["accuracy_sd"], color="0.6",
            error_kw={"capsize": 2}, label="measured here (mean, sd over seeds)")
    ax.axvline(table.loc[reference, "accuracy_mean"], **CEILING_STYLE,
               label=f"{reference} (same split)")
    if published:
        pub = list(published)
        ax.barh(pub, [published[p]["accuracy"] for p in pub],
                xerr=[published[p].get("accuracy_sd", 0) for p in pub],
                color="white", edgecolor="0.3", hatch="//", error_kw={"capsize": 2},
                label="published")
    lo = float((table["accuracy_mean"] - table["accuracy_sd"]).min())
    ax.set_xlim(max(0.0, lo - 0.1), 1.0)
    ax.set_xlabel("accuracy on the test split")
    ax.invert_yaxis()
    ax.legend(loc="lower left", fontsize=7)
    return fig
