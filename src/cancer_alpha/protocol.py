"""The comparison protocol: every model on the same stratified folds and the same seeds.

One :class:`Fit` per (model, seed, fold): the model is trained on the fold's training part
(neural models hold out a stratified validation part of it for early stopping) and scored on the
fold's held-out part ("cv") and on any further evaluation sets (e.g. a large "test" cohort from
the same generator). Nothing is fitted or selected on the evaluated samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .baselines import BASELINES, fit_baseline, predict_proba
from .config import Profile
from .data import MultiOmicsData, stratified_folds
from .evaluate import classification_metrics, mean_sd


@dataclass
class Fit:
    """One trained model's scores (and, on request, its probabilities and extras)."""

    model: str
    seed: int
    fold: int
    fit_seconds: float
    metrics: dict[str, dict[str, float]]  # evaluation set -> metric -> value
    proba: dict[str, np.ndarray] = field(default_factory=dict)
    epochs: int | None = None  # epochs run (neural models)
    best_epoch: int | None = None  # epoch of the lowest validation loss (neural models)
    history: list[dict[str, float]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def fit_one(name: str, train: MultiOmicsData, evals: Mapping[str, MultiOmicsData],
            cfg: Profile, seed: int, *, fold: int = 0, keep_proba: bool = True,
            analyse: Callable[..., dict[str, Any]] | None = None) -> Fit:
    """Train model ``name`` on ``train`` with ``seed`` and score it on each evaluation set.

    ``analyse(model, evals)`` (neural models only) may add extras such as embeddings or
    attention summaries computed from the trained model.
    """
    t0 = time.perf_counter()
    if name in BASELINES:
        model = fit_baseline(name, train, seed=seed)
        seconds = time.perf_counter() - t0
        probas = {k: predict_proba(model, v, train.n_classes) for k, v in evals.items()}
        info: dict[str, Any] = {}
    else:
        from .training import fit_neural

        fitted = fit_neural(name, train, cfg, seed=seed)
        seconds = time.perf_counter() - t0
        probas = {k: fitted.predict_proba(v) for k, v in evals.items()}
        info = {"epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
                "history": fitted.history}
        if analyse is not None:
            info["extras"] = analyse(fitted, evals)
    metrics = {k: classification_metrics(evals[k].y, p) for k, p in probas.items()
               if evals[k].y is not None}
    return Fit(name, seed, fold, seconds, metrics, probas if keep_proba else {}, **info)


def _limit_threads() -> None:
    """One thread per worker process: parallel fits must not oversubscribe the cores."""
    import torch

    torch.set_num_threads(1)


def cross_validate(data: MultiOmicsData, cfg: Profile, models: Sequence[str], *,
                   evals: Mapping[str, MultiOmicsData] | None = None,
                   seeds: Sequence[int] | None = None, n_folds: int | None = None,
                   n_jobs: int | None = None, keep_proba: bool = False,
                   analyse: Callable[..., dict[str, Any]] | None = None,
                   progress: bool = False) -> list[Fit]:
    """Every model on every (seed, fold) of a stratified k-fold split of ``data``.

    The split of a seed is shared by all models, so their differences are paired. Fits are
    independent and deterministic given their seed, so they run in ``n_jobs`` processes with
    identical results.
    """
    seeds = list(cfg.evaluation.seeds if seeds is None else seeds)
    n_folds = cfg.evaluation.n_folds if n_folds is None else n_folds
    n_jobs = cfg.evaluation.n_jobs if n_jobs is None else n_jobs
    tasks = []
    for seed in seeds:
        for fold, (tr, te) in enumerate(stratified_folds(data.y, n_folds, seed)):
            for name in models:
                tasks.append((name, seed, fold, tr, te))

    def work(name, seed, fold, tr, te):
        if n_jobs > 1:
            _limit_threads()
        sets = {"cv": data.subset(te), **(evals or {})}
        return fit_one(name, data.subset(tr), sets, cfg, seed, fold=fold,
                       keep_proba=keep_proba, analyse=analyse)

    if n_jobs > 1:
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=n_jobs, backend="loky", verbose=10 if progress else 0)(
            delayed(work)(*t) for t in tasks))
    if progress:
        from tqdm.auto import tqdm

        tasks = tqdm(tasks, desc="fits")
    return [work(*t) for t in tasks]


def summary(fits: Sequence[Fit], eval_set: str = "test",
            metrics: Sequence[str] = ("accuracy", "precision_macro", "recall_macro", "f1_macro",
                                      "roc_auc_macro", "ece")) -> dict[str, dict[str, float]]:
    """Per model: mean and sd of each metric over its fits, mean fit time and the run count."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(f.model for f in fits):
        mine = [f for f in fits if f.model == name and eval_set in f.metrics]
        if not mine:
            continue
        row: dict[str, float] = {}
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_sd"] = mean_sd([f.metrics[eval_set][m] for f in mine])
        row["fit_seconds_mean"] = float(np.mean([f.fit_seconds for f in mine]))
        row["n_runs"] = len(mine)
        out[name] = row
    return out
