"""Figures of Chapter 4: the model comparison beside the ceiling, convergence, errors,
representations, attention shares, feature importance and accuracy against training size."""

from __future__ import annotations

import numpy as np

from cancer_alpha.plots.style import (
    CEILING_STYLE,
    VERDICT_COLORS,
    class_palette,
    figure,
    modality_color,
    subplots,
)


@figure
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


@figure
def accuracy_by_recipe(tables, ceiling: float, ceiling_ci=None, chance: float | None = None):
    """Mean accuracy of each model under each recipe (``tables``: recipe -> comparison table;
    bars with the sd over runs), beside the Bayes ceiling."""
    recipes = list(tables)
    names = list(tables[recipes[0]].index)
    fig, ax = subplots(width=6.4, height=0.42 * len(names) + 1.2)
    height = 0.8 / len(recipes)
    shades = ["0.75", "0.35", "0.55", "0.15"]
    pos = np.arange(len(names))
    for i, r in enumerate(recipes):
        t = tables[r].loc[names]
        ax.barh(pos + (i - (len(recipes) - 1) / 2) * height, t["accuracy_mean"], height,
                xerr=t["accuracy_sd"], color=shades[i % len(shades)], label=r,
                error_kw={"capsize": 1.5, "linewidth": 0.8})
    ax.axvline(ceiling, **CEILING_STYLE, label="Bayes-optimal ceiling")
    if ceiling_ci is not None:
        ax.axvspan(*ceiling_ci, color="black", alpha=0.08, linewidth=0)
    if chance is not None:
        ax.axvline(chance, color="0.5", linestyle=":", label="majority class")
    lows = [float((t["accuracy_mean"] - t["accuracy_sd"]).min()) for t in tables.values()]
    ax.set_xlim(max(0.0, min(min(lows), chance or 1) - 0.05), 1.0)
    ax.set_yticks(pos, names)
    ax.set_xlabel("accuracy on the held-out cohort")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=7)
    return fig


@figure
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


@figure
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


@figure
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


@figure
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


@figure
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


@figure
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


@figure
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


@figure
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
