"""Figures of the tuning chapter: every study's optimisation history, and what mattered."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cancer_alpha.plots.style import figure, subplots


@figure
def optimisation_history(studies: Sequence[Any]):
    """Optuna's optimisation history of several studies on one axis: each trial's objective
    (mean inner-fold validation log-loss; lower is better) and the best value so far."""
    from optuna.visualization import matplotlib as optuna_plots

    with warnings.catch_warnings():  # Optuna marks its matplotlib backend experimental
        warnings.simplefilter("ignore")
        ax = optuna_plots.plot_optimization_history(list(studies), target_name="log-loss")
    fig = ax.figure
    fig.set_size_inches(7.5, 4.0)
    ax.set_title("")
    ax.set_ylabel("mean inner-fold validation log-loss")
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    return fig


@figure
def parameter_importances(study: Any, seed: int = 0):
    """Optuna's fANOVA importance of each setting of one study (fixed seed)."""
    import optuna
    from optuna.visualization import matplotlib as optuna_plots

    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = optuna_plots.plot_param_importances(study, evaluator=evaluator)
    fig = ax.figure
    fig.set_size_inches(6.4, 0.3 * len(study.best_params) + 1.2)
    ax.set_title(f"{study.study_name}: importance of each setting (fANOVA)")
    return fig


@figure
def importance_map(importances: Mapping[str, Mapping[str, float]]):
    """Importance of each setting (rows) for each model's study (columns), as a heat map;
    blank where a model has no such setting."""
    models = [m for m, v in importances.items() if v]
    settings = sorted({k for m in models for k in importances[m]})
    grid = np.full((len(settings), len(models)), np.nan)
    for j, m in enumerate(models):
        for i, k in enumerate(settings):
            grid[i, j] = importances[m].get(k, np.nan)
    fig, ax = subplots(width=1.0 * len(models) + 3.0, height=0.28 * len(settings) + 1.4)
    im = ax.imshow(grid, vmin=0, vmax=1, cmap="Blues", aspect="auto")
    for i in range(len(settings)):
        for j in range(len(models)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if grid[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_yticks(range(len(settings)), settings)
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="share of the objective's variance (fANOVA)")
    return fig


@figure
def budget_curves(curves: Mapping[str, Sequence[float]], budget: int):
    """Best inner-fold log-loss found so far against the number of trials, one line per
    model's continued study, with the book's budget marked: a line still falling after it
    says the budget was too small for that model."""
    fig, ax = subplots(width=6.4, height=3.6)
    for model, curve in curves.items():
        x = np.arange(1, len(curve) + 1)
        ax.step(x, curve, where="post", label=model)
    ax.axvline(budget, color="0.4", linestyle="--", linewidth=1)
    ax.annotate(f"budget of every model: {budget} trials", (budget, 1.0),
                xycoords=("data", "axes fraction"), xytext=(4, -12),
                textcoords="offset points", fontsize=7, color="0.3")
    ax.set_xlabel("trials")
    ax.set_ylabel("best mean inner-fold log-loss so far")
    ax.legend(fontsize=7)
    return fig
