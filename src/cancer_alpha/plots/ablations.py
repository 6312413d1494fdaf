"""Figures of Chapter 6 (ablations, missing modalities, attention against planted truth), in
the book's one style (:mod:`cancer_alpha.plots`). Each function draws one figure and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cancer_alpha.plots.style import CEILING_STYLE, figure, modality_color, subplots


@figure
def ablation_deltas(table: Mapping[str, Mapping[str, Any]], title: str = ""):
    """Paired difference from the reference model (accuracy points, mean and 95% interval)
    of each ablation, one row each, with zero marked."""
    names = list(table)
    fig, ax = subplots(width=6.4, height=0.35 * len(names) + 1.0)
    y = np.arange(len(names))[::-1]
    mean = np.array([table[n]["delta_points_mean"] for n in names])
    ci = np.array([table[n]["delta_points_ci95"] for n in names])
    ax.errorbar(mean, y, xerr=[mean - ci[:, 0], ci[:, 1] - mean], fmt="o", color="#333333",
                ecolor="#777777", capsize=3)
    ax.axvline(0.0, **CEILING_STYLE)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n} (n={table[n]['n_seeds']})" for n in names])
    ax.set_xlabel("accuracy difference from the reference model (points, 95% CI)")
    if title:
        ax.set_title(title)
    return fig


@figure
def lambda_sweep(rows: Sequence[Mapping[str, Any]], max_entropy: float | None = None):
    """Accuracy and attention entropy against the attention-sparsity weight (mean, sd)."""
    lam = np.array([r["lambda"] for r in rows])
    # a symmetric-log axis keeps lambda = 0 on the plot
    fig, axes = subplots(1, 2, width=7.0, height=3.0)
    for ax, key, label in ((axes[0], "accuracy", "held-out accuracy"),
                           (axes[1], "entropy", "attention entropy (nats)")):
        m = np.array([r[f"{key}_mean"] for r in rows])
        s = np.array([r[f"{key}_sd"] for r in rows])
        ax.errorbar(lam, m, yerr=s, fmt="o-", color="#333333", capsize=3)
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlabel("attention-sparsity weight λ")
        ax.set_ylabel(label)
    if max_entropy is not None:
        axes[1].axhline(max_entropy, **CEILING_STYLE, label="uniform attention")
        axes[1].legend()
    return fig


@figure
def progressive_curves(rows: Sequence[Mapping[str, Any]], reference: str = "full",
                       variant: str = "progressive"):
    """Validation loss against cumulative training seconds, end-to-end and progressive
    (pre-training time included, drawn dotted), every seed."""
    fig, ax = subplots(width=6.4, height=3.4)
    colors = {reference: "#1f77b4", variant: "#d62728"}
    labelled = set()
    for r in rows:
        if r["variant"] not in colors:
            continue
        c = colors[r["variant"]]
        pre = float(sum(h["seconds"] for h in r.get("pretrain_history") or []))
        t = pre + np.cumsum([h["seconds"] for h in r["history"]])
        loss = [h["val_loss"] for h in r["history"]]
        label = None if r["variant"] in labelled else (
            "end-to-end" if r["variant"] == reference else "progressive")
        labelled.add(r["variant"])
        ax.plot(t, loss, "o-", ms=2.5, lw=1, color=c, alpha=0.8, label=label)
        if pre > 0:
            ax.plot([0, pre], [loss[0], loss[0]], ":", color=c, lw=1, alpha=0.6)
    ax.set_xlabel("training seconds (pre-training included)")
    ax.set_ylabel("validation loss")
    ax.legend()
    return fig


@figure
def subset_accuracy(table: Mapping[str, Mapping[str, float]]):
    """Accuracy with each subset of modalities observed: the model trained with modality
    dropout (mean, sd), the one trained on complete samples, and the Bayes ceiling."""
    keys = list(table)
    x = np.arange(len(keys))
    fig, ax = subplots(width=7.0, height=3.6)
    w = 0.27
    ax.bar(x - w, [table[k]["bayes"] for k in keys], w, color="#bbbbbb", label="Bayes ceiling")
    ax.bar(x, [table[k]["model"] for k in keys], w, yerr=[table[k]["model_sd"] for k in keys],
           color="#1b9e77", capsize=2, label="trained with modality dropout")
    ax.bar(x + w, [table[k]["without_dropout"] for k in keys], w, color="#7570b3",
           label="trained on complete samples")
    ax.set_xticks(x)
    ax.set_xticklabels([k.replace("+", "\n+") for k in keys], fontsize=7)
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1.15)  # room for the legend above the highest ceiling
    ax.legend(loc="upper left", ncol=3)
    return fig


@figure
def leave_one_out(model: Mapping[str, float], bayes: Mapping[str, float]):
    """Accuracy lost when each modality is left out: the model and the Bayes classifier."""
    names = list(model)
    x = np.arange(len(names))
    fig, ax = subplots(width=5.0, height=3.0)
    ax.bar(x - 0.2, [bayes[n] for n in names], 0.4, color="#bbbbbb", label="Bayes classifier")
    ax.bar(x + 0.2, [model[n] for n in names], 0.4, color=[modality_color(n) for n in names],
           label="model (modality dropout)")
    ax.set_xticks(x)
    ax.set_xticklabels(names)
    ax.set_ylabel("accuracy lost without it (points)")
    ax.legend()
    return fig


@figure
def planted_attention(summary: Mapping[str, Mapping[str, Any]], joint_loci: Sequence[int],
                      loci=None):
    """Left: cross-modal attention each locus receives (trained model), planted loci marked.
    Right: AUROC of that score for planted versus other loci, per model, with chance."""
    fig, axes = subplots(1, 2, width=8.0, height=3.2, width_ratios=[2.2, 1])
    scores = np.asarray(summary["trained"]["scores"])
    x = np.arange(len(scores)) if loci is None else loci["position_mb"].to_numpy()
    planted = np.isin(np.arange(len(scores)), joint_loci)
    ax = axes[0]
    ax.scatter(x[~planted], scores[~planted], s=8, color="#999999", label="other loci")
    ax.scatter(x[planted], scores[planted], s=22, color="#d62728", label="planted joint loci")
    ax.set_xlabel("genomic position (Mb)" if loci is not None else "locus")
    ax.set_ylabel("methylation-copy number attention")
    ax.legend()
    ax = axes[1]
    groups = list(summary)
    ax.bar(groups, [summary[g]["auroc"] for g in groups], color="#4c72b0")
    for i, g in enumerate(groups):
        runs = summary[g]["auroc_runs"]
        ax.scatter([i] * len(runs), runs, s=10, color="black", zorder=3)
    ax.axhline(0.5, **CEILING_STYLE)
    ax.set_ylim(0, 1)
    ax.set_ylabel("AUROC, planted vs other loci")
    return fig


# one colour per recipe of the positive control, in its order (ablations.control.RECIPES)
RECIPE_COLORS = ("#8fa9c8", "#d9a05b", "#7fb07f")


@figure
def control_accuracy(tables: Mapping[str, Any], ceiling: float, chance: float,
                     title: str = ""):
    """The positive control: held-out accuracy of each model (mean and sd over seeds) on the
    interaction world under each recipe (``tables``: one table by recipe, in order; a model
    gets a bar for each recipe it ran under), beside its exact Bayes ceiling and chance."""
    recipes = list(tables)
    names = list(dict.fromkeys(n for t in tables.values() for n in t.index))
    fig, ax = subplots(width=8.0, height=0.26 * len(names) * len(recipes) + 1.4)
    step = 0.8 / len(recipes)
    y = np.arange(len(names))[::-1].astype(float)
    for k, recipe in enumerate(recipes):
        table = tables[recipe]
        rows = [i for i, n in enumerate(names) if n in table.index]
        at = y[rows] + 0.4 - step * (k + 0.5)
        shown = table.loc[[names[i] for i in rows]]
        ax.barh(at, shown["accuracy_mean"], height=step * 0.9, xerr=shown["accuracy_sd"],
                color=RECIPE_COLORS[k % len(RECIPE_COLORS)], ecolor="#555555", capsize=2,
                label=recipe)
    ax.axvline(ceiling, **CEILING_STYLE, label=f"Bayes ceiling {ceiling:.3f}")
    ax.axvline(chance, color="0.5", linestyle=":", linewidth=1.0, label=f"chance {chance:.3f}")
    ax.set_yticks(y)
    runs = {n: max(int(t.loc[n, "n_runs"]) for t in tables.values() if n in t.index)
            for n in names}
    ax.set_yticklabels([f"{n} (n={runs[n]})" for n in names])
    ax.set_xlim(min(0.4, chance - 0.05), 1.0)
    ax.set_xlabel("held-out accuracy on the interaction world")
    # outside the axes: the bars may reach the ceiling
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title)
    return fig


@figure
def control_reverts(table: Any, tuned: float, published: float, ceiling: float,
                    chance: float):
    """The tuned transformer on the positive control with each tuned setting put back alone
    to its published value (``table``: one row per setting, its accuracy), beside the
    transformer tuned and published, the Bayes ceiling and chance."""
    names = list(table.index)
    fig, ax = subplots(width=8.0, height=0.3 * len(names) + 1.3)
    y = np.arange(len(names))[::-1]
    ax.barh(y, table["accuracy_mean"], color=RECIPE_COLORS[2], height=0.7)
    ax.axvline(ceiling, **CEILING_STYLE, label=f"Bayes ceiling {ceiling:.3f}")
    ax.axvline(published, color=RECIPE_COLORS[0], linewidth=1.5,
               label=f"published recipe {published:.3f}")
    ax.axvline(tuned, color=RECIPE_COLORS[1], linewidth=1.5, label=f"tuned {tuned:.3f}")
    ax.axvline(chance, color="0.5", linestyle=":", linewidth=1.0, label=f"chance {chance:.3f}")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{n}: {table.loc[n, 'tuned']} -> {table.loc[n, 'published']}"
                        for n in names])
    ax.set_xlim(min(0.4, chance - 0.05), 1.0)
    ax.set_xlabel("held-out accuracy of the tuned transformer with one setting put back")
    # outside the axes: the bars may reach the ceiling
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
