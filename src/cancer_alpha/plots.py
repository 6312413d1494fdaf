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
import numpy as np  # noqa: E402

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



# --------------------------------------------------------------------------- Chapter 1


def _chromosome_boundaries(ax, loci) -> None:
    """Vertical lines between chromosomes and their names along the genome axis."""
    chrom = loci["chrom"].to_numpy()
    pos = loci["position_mb"].to_numpy()
    starts = [0] + [i for i in range(1, len(chrom)) if chrom[i] != chrom[i - 1]]
    for i in starts[1:]:
        ax.axvline((pos[i - 1] + pos[i]) / 2, color="0.85", linewidth=0.6, zorder=0)
    ends = starts[1:] + [len(chrom)]
    ticks = [pos[s:e].mean() for s, e in zip(starts, ends, strict=True)]
    labels = [str(chrom[s]).removeprefix("chr") for s in starts]
    ax.set_xticks(ticks[::2], labels[::2], fontsize=6)
    ax.grid(False)


def methylation_densities(cohort, bins: int = 50):
    """Pooled beta values per class: the bimodal shape of methylation arrays."""
    x = cohort.data.x["methylation"]
    palette = class_palette(cohort.class_names)
    fig, ax = subplots(width=6.4, height=3.0)
    edges = np.linspace(0, 1, bins + 1)
    for k, name in enumerate(cohort.class_names):
        rows = x[(cohort.y == k) & cohort.data.mask[:, cohort.data.modalities.index("methylation")]]
        if len(rows):
            ax.hist(rows.ravel(), bins=edges, density=True, histtype="step", linewidth=1.2,
                    color=palette[name], label=name)
    ax.set_xlabel("beta value (methylated fraction of a CpG region)")
    ax.set_ylabel("density")
    ax.legend(ncol=len(cohort.class_names), loc="upper center")
    return fig


def fragment_lengths(cohort):
    """Mean fragment-length distribution per class, with the nucleosomal peaks marked."""
    edges = np.asarray(cohort.fragment_bins)
    centres = (edges[:-1] + edges[1:]) / 2
    x = cohort.data.x["fragmentomics"]
    present = cohort.data.mask[:, cohort.data.modalities.index("fragmentomics")]
    palette = class_palette(cohort.class_names)
    fig, (ax, zoom) = subplots(1, 2, width=8.0, height=3.0, gridspec_kw={"width_ratios": [2, 1]})
    for k, name in enumerate(cohort.class_names):
        rows = x[(cohort.y == k) & present]
        if len(rows):
            mean = rows.mean(axis=0) / np.diff(edges)
            ax.plot(centres, mean, color=palette[name], label=name, linewidth=1.1)
            zoom.plot(centres, mean, color=palette[name], linewidth=1.1)
    for a in (ax, zoom):
        for peak in (167, 334):  # mono- and dinucleosomal fragment lengths
            a.axvline(peak, **{**CEILING_STYLE, "linewidth": 0.7})
    ax.set_xlabel("fragment length (bp)")
    ax.set_ylabel("fraction of fragments per bp")
    ax.legend()
    zoom.set_xlim(90, 200)
    zoom.set_xlabel("fragment length (bp), zoom")
    zoom.set_title("10-bp periodicity below the main peak", fontsize=8)
    return fig


def copy_number_profiles(cohort, samples):
    """Log2 ratios along the genome for a few samples, with the hidden copy-number states."""
    loci = cohort.loci
    pos = loci["position_mb"].to_numpy()
    x = cohort.data.x["cna"]
    fig, axes = subplots(len(samples), 1, width=7.5, height=1.5 * len(samples), sharex=True,
                         squeeze=False)
    for ax, i in zip(axes[:, 0], samples, strict=True):
        ax.scatter(pos, x[i], s=6, color=modality_color("cna"), label="observed log2 ratio")
        states = cohort.cn_states[i]
        w = cohort.world.effect_size * cohort.tumour_fraction[i]
        expected = np.log2(1 + w * (states - 2) / 2)
        ax.step(pos, expected, where="mid", color="black", linewidth=1.0,
                label="hidden state (expected ratio)")
        name = cohort.class_names[cohort.y[i]]
        ax.set_title(f"sample {i}: {name}, tumour fraction {cohort.tumour_fraction[i]:.2f}",
                     fontsize=8, loc="left")
        ax.set_ylabel("log2 ratio")
        _chromosome_boundaries(ax, loci)
    axes[0, 0].legend(loc="upper right", ncol=2)
    axes[-1, 0].set_xlabel("chromosome")
    return fig


def sample_views(cohort, i: int):
    """One sample's three modalities side by side."""
    fig, (a, b, c) = subplots(1, 3, width=9.0, height=2.6)
    loci = cohort.loci
    pos = loci["position_mb"].to_numpy()
    a.scatter(pos, cohort.data.x["methylation"][i], s=6, color=modality_color("methylation"))
    a.set_ylim(0, 1)
    a.set_ylabel("beta value")
    a.set_title("methylation", fontsize=9)
    _chromosome_boundaries(a, loci)
    edges = np.asarray(cohort.fragment_bins)
    b.stairs(cohort.data.x["fragmentomics"][i], edges, color=modality_color("fragmentomics"))
    b.set_xlabel("fragment length (bp)")
    b.set_ylabel("fraction of fragments")
    b.set_title("fragment lengths", fontsize=9)
    c.scatter(pos, cohort.data.x["cna"][i], s=6, color=modality_color("cna"))
    c.set_ylabel("log2 ratio")
    c.set_title("copy number", fontsize=9)
    _chromosome_boundaries(c, loci)
    fig.suptitle(f"sample {i}: {cohort.class_names[cohort.y[i]]}, tumour fraction "
                 f"{cohort.tumour_fraction[i]:.2f}", fontsize=9)
    return fig


def class_balance(y, class_names, mask, modalities):
    """Samples per class, and the share of samples missing each modality."""
    fig, (a, b) = subplots(1, 2, width=7.5, height=2.6)
    counts = np.bincount(y, minlength=len(class_names))
    palette = class_palette(class_names)
    a.bar(class_names, counts, color=[palette[c] for c in class_names])
    a.set_ylabel("samples")
    a.set_title("class balance", fontsize=9)
    a.tick_params(axis="x", rotation=30)
    missing = 1 - mask.mean(axis=0)
    b.bar(modalities, missing, color=[modality_color(m) for m in modalities])
    b.set_ylabel("share of samples missing it")
    b.set_ylim(0, max(0.05, float(missing.max()) * 1.3))
    b.set_title("missing modalities", fontsize=9)
    return fig


def ceiling_vs_difficulty(table, chance: float, default: float | None = None):
    """Bayes accuracy against the effect size, joint and per modality."""
    fig, ax = subplots(width=6.4, height=3.2)
    if default is not None:
        ax.axvline(default, color="0.7", linewidth=4, alpha=0.4, label="default difficulty")
    for column in table.columns:
        style = {"color": "black", "linewidth": 2} if column == "joint" else {
            "color": modality_color(column)}
        ax.plot(table.index, table[column], marker="o", label=column, **style)
    ax.axhline(chance, color="0.5", linestyle=":", label="chance (largest prior)")
    ax.set_xlabel("effect size (multiplies every tumour-derived deviation)")
    ax.set_ylabel("Bayes-optimal accuracy")
    ax.legend()
    return fig


def subset_ceilings(ceilings, intervals=None):
    """Bayes accuracy for each subset of modalities, as horizontal bars with their intervals."""
    names = list(ceilings)
    values = [ceilings[n] for n in names]
    fig, ax = subplots(width=6.4, height=0.35 * len(names) + 0.8)
    ax.barh(names, values, color="0.6")
    if intervals:
        lo = [values[i] - intervals[n][0] for i, n in enumerate(names)]
        hi = [intervals[n][1] - values[i] for i, n in enumerate(names)]
        ax.errorbar(values, names, xerr=[lo, hi], fmt="none", color="black", capsize=2)
    ax.set_xlim(min(values) - 0.1, 1.0)
    ax.set_xlabel("Bayes-optimal accuracy")
    ax.invert_yaxis()
    return fig


def joint_signal(world, seed: int, n: int = 400, tumour_fraction: float = 0.4):
    """Methylation and copy number at the joint loci for two cancer classes of opposite sign."""
    plus = int(np.flatnonzero(world.coupling == 1)[0])
    minus = int(np.flatnonzero(world.coupling == -1)[0])
    palette = class_palette(world.class_names)
    fig, (a, b, c) = subplots(1, 3, width=9.0, height=2.8)
    for k in (plus, minus):
        # a seed per class: with one seed both classes would share their copy-number draws
        co = world.sample(n, seed + k, classes=k, tumour_fraction=tumour_fraction)
        meth = co.data.x["methylation"][:, world.joint_loci].ravel()
        cna = co.data.x["cna"][:, world.joint_loci].ravel()
        name = world.class_names[k]
        a.hist(meth, bins=30, range=(0, 1), histtype="step", color=palette[name], label=name)
        b.hist(cna, bins=30, histtype="step", color=palette[name], label=name)
        c.scatter(cna, meth, s=3, alpha=0.35, color=palette[name], label=name)
        slope, intercept = np.polyfit(cna, meth, 1)
        grid = np.linspace(cna.min(), cna.max(), 2)
        c.plot(grid, intercept + slope * grid, color=palette[name], linewidth=1.5)
    a.set_xlabel("methylation (beta)")
    a.set_title("methylation alone", fontsize=9)
    b.set_xlabel("copy number (log2 ratio)")
    b.set_title("copy number alone", fontsize=9)
    c.set_xlabel("copy number (log2 ratio)")
    c.set_ylabel("methylation (beta)")
    c.set_title("together", fontsize=9)
    a.legend()
    return fig


# --------------------------------------------------------------------------- Chapters 2 and 3


def accuracy_vs_ceiling(table, ceiling: float, ceiling_ci=None, chance: float | None = None):
    """Mean accuracy of each model (with its sd over runs) beside the Bayes ceiling."""
    names = list(table.index)
    fig, ax = subplots(width=6.4, height=0.32 * len(names) + 1.0)
    ax.barh(names, table["accuracy_mean"], xerr=table["accuracy_sd"], color="0.6",
            error_kw={"capsize": 2})
    ax.axvline(ceiling, **CEILING_STYLE, label="Bayes-optimal ceiling")
    if ceiling_ci is not None:
        ax.axvspan(*ceiling_ci, color="black", alpha=0.08, linewidth=0)
    if chance is not None:
        ax.axvline(chance, color="0.5", linestyle=":", label="majority class")
    lo = min(float((table["accuracy_mean"] - table["accuracy_sd"]).min()), chance or 1) - 0.05
    ax.set_xlim(max(0.0, lo), 1.0)
    ax.set_xlabel("accuracy on the held-out cohort")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    return fig


def learning_curves(histories: dict, key: str = "val_loss"):
    """Validation loss per epoch of every run, one panel per model."""
    names = list(histories)
    ncols = min(3, len(names))
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = subplots(nrows, ncols, width=3.0 * ncols, height=2.2 * nrows, squeeze=False,
                         sharey=True)
    for ax, name in zip(axes.ravel(), names, strict=False):
        for h in histories[name]:
            ax.plot([r["epoch"] + 1 for r in h], [r.get(key, np.nan) for r in h],
                    color="0.3", alpha=0.35, linewidth=0.8)
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel(key.replace("_", " "))
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    return fig


def epochs_to_convergence(best_epochs: dict, claimed=(30, 50)):
    """Epoch of the lowest validation loss of each run, per model, beside the claimed range."""
    names = list(best_epochs)
    fig, ax = subplots(width=6.4, height=0.32 * len(names) + 1.0)
    ax.axvspan(*claimed, color=VERDICT_COLORS["partly"], alpha=0.25,
               label=f"claimed: {claimed[0]}-{claimed[1]} epochs")
    rng = np.random.default_rng(0)
    for i, n in enumerate(names):
        v = np.asarray(best_epochs[n], float)
        ax.scatter(v, i + rng.uniform(-0.15, 0.15, len(v)), s=10, color="0.25")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("epoch of the best validation loss (early stopping keeps it)")
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    return fig


def roc_curves(y, proba, class_names):
    """One-vs-rest ROC curve of each class, with its area."""
    from sklearn.metrics import roc_auc_score, roc_curve

    palette = class_palette(class_names)
    fig, ax = subplots(width=4.2, height=4.0)
    for k, name in enumerate(class_names):
        if (y == k).any() and (y != k).any():
            fpr, tpr, _ = roc_curve(y == k, proba[:, k])
            auc = roc_auc_score(y == k, proba[:, k])
            ax.plot(fpr, tpr, color=palette[name], label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right")
    return fig


def confusion(y, pred, class_names, title: str = ""):
    """Row-normalised confusion matrix."""
    k = len(class_names)
    cm = np.zeros((k, k))
    np.add.at(cm, (y, pred), 1)
    cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = subplots(width=4.6, height=4.0)
    im = ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > 0.6 else "black")
    ax.set_xticks(range(k), class_names, rotation=30)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class")
    return fig


def embedding_map(coords, y, class_names, title: str = ""):
    """A 2-D map (t-SNE) of embeddings coloured by class."""
    palette = class_palette(class_names)
    fig, ax = subplots(width=5.0, height=4.2)
    for k, name in enumerate(class_names):
        sel = y == k
        ax.scatter(coords[sel, 0], coords[sel, 1], s=5, alpha=0.6, color=palette[name],
                   label=name)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title, fontsize=9)
    ax.legend(markerscale=3, loc="best")
    return fig


def modality_shares(shares: dict, title: str = ""):
    """Share of attention each modality receives (mean and sd over runs), per model."""
    models = list(shares)
    modalities = list(next(iter(shares.values())))
    width = 0.8 / len(modalities)
    fig, ax = subplots(width=6.4, height=3.0)
    for i, m in enumerate(modalities):
        mean = [np.mean(shares[n][m]) * 100 for n in models]
        sd = [np.std(shares[n][m], ddof=1) * 100 if len(shares[n][m]) > 1 else 0 for n in models]
        ax.bar(np.arange(len(models)) + (i - (len(modalities) - 1) / 2) * width, mean, width,
               yerr=sd, capsize=2, color=modality_color(m), label=m)
    ax.set_xticks(range(len(models)), models)
    ax.set_ylabel("share of attention received (%)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    return fig


def top_features(importance: dict, n: int = 20, title: str = ""):
    """The n most important features (permutation importance), coloured by modality."""
    order = np.argsort(-importance["importance_mean"])[:n]
    fig, ax = subplots(width=6.4, height=0.22 * n + 0.9)
    names = importance["feature"][order]
    ax.barh(range(len(order)), importance["importance_mean"][order],
            xerr=importance["importance_sd"][order], capsize=1.5,
            color=[modality_color(m) for m in importance["modality"][order]])
    ax.set_yticks(range(len(order)), [f"{m}: {f}" for m, f in
                                      zip(importance["modality"][order], names, strict=True)],
                  fontsize=6.5)
    ax.invert_yaxis()
    ax.set_xlabel("drop in accuracy when the feature is shuffled")
    ax.set_title(title, fontsize=9)
    return fig


def accuracy_vs_training_size(curve, ceiling: float):
    """Test accuracy against the number of training samples, per model, beside the ceiling."""
    fig, ax = subplots(width=6.4, height=3.2)
    for name, grp in curve.groupby("model", sort=False):
        g = grp.groupby("n_train")["accuracy"]
        ax.errorbar(g.mean().index, g.mean(), yerr=g.std().fillna(0), marker="o", capsize=2,
                    label=name)
    ax.axhline(ceiling, **CEILING_STYLE, label="Bayes-optimal ceiling")
    ax.set_xscale("log")
    ax.set_xlabel("training samples")
    ax.set_ylabel("accuracy on the held-out cohort")
    ax.legend()
    return fig


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


# --------------------------------------------------------------------------- Chapter 5


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


def latency(table):
    """Batched and single-sample inference latency per model (log scale)."""
    fig, ax = subplots(width=6.4, height=2.8)
    names = list(table.index)
    pos = np.arange(len(names))
    ax.barh(pos - 0.2, table["batched_ms_per_sample"], 0.4, label="batched, per sample",
            color="0.6")
    ax.barh(pos + 0.2, table["single_p50_ms"], 0.4, label="one sample (median)", color="0.3")
    ax.axvline(15, **CEILING_STYLE, label="seed 002: 15 ms")
    ax.set_yticks(pos, names)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds")
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    return fig
