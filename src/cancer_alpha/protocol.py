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


def _in_worker(work: Callable[..., Any], *args: Any) -> Any:
    """Run one task in a worker process with one torch thread, so that parallel fits do not
    oversubscribe the cores."""
    import torch

    torch.set_num_threads(1)
    return work(*args)


def run_tasks(work: Callable[..., Any], tasks: Sequence[tuple], n_jobs: int = 1, *,
              progress: bool = False, cost: Callable[[tuple], Any] | None = None) -> list[Any]:
    """``work(*task)`` for every task, in ``n_jobs`` processes when above 1; results in the
    order of ``tasks``. With ``cost`` (a sort key, lowest first), tasks *run* in that order:
    the longest first, so that parallel workers finish together."""
    order = list(range(len(tasks)))
    if cost is not None:
        order.sort(key=lambda i: cost(tasks[i]))
    queue = [tasks[i] for i in order]
    if n_jobs > 1:
        from joblib import Parallel, delayed

        done = list(Parallel(n_jobs=n_jobs, backend="loky", verbose=10 if progress else 0)(
            delayed(_in_worker)(work, *t) for t in queue))
    else:
        if progress:
            from tqdm.auto import tqdm

            queue = tqdm(queue, desc="fits")
        done = [work(*t) for t in queue]
    results: list[Any] = [None] * len(tasks)
    for i, result in zip(order, done, strict=True):
        results[i] = result
    return results


def cross_validate(data: MultiOmicsData, cfg: Profile, models: Sequence[str], *,
                   evals: Mapping[str, MultiOmicsData] | None = None,
                   seeds: Sequence[int] | None = None, n_folds: int | None = None,
                   n_jobs: int | None = None, keep_proba: bool = False,
                   analyse: Callable[..., dict[str, Any]] | None = None,
                   progress: bool = False) -> list[Fit]:
    """Every model on every (seed, fold) of a stratified k-fold split of ``data``.

    The split of a seed is shared by all models, so their differences are paired. Fits are
    independent and deterministic given their seed, so they run in ``n_jobs`` processes with
    identical results. ``cfg.evaluation.max_runs`` caps the runs of named models.
    """
    seeds = list(cfg.evaluation.seeds if seeds is None else seeds)
    n_folds = cfg.evaluation.n_folds if n_folds is None else n_folds
    n_jobs = cfg.evaluation.n_jobs if n_jobs is None else n_jobs
    caps = dict(cfg.evaluation.max_runs)
    splits = {seed: stratified_folds(data.y, n_folds, seed) for seed in seeds}
    # run order: fold 0 of every seed, then fold 1, ...; a capped model keeps the first runs,
    # so its runs span as many seeds as possible
    order = [(seed, fold) for fold in range(n_folds) for seed in seeds]
    tasks = []
    for name in models:
        for seed, fold in order[:caps.get(name, len(order))]:
            tr, te = splits[seed][fold]
            tasks.append((name, seed, fold, tr, te))
    def work(name, seed, fold, tr, te):
        sets = {"cv": data.subset(te), **(evals or {})}
        return fit_one(name, data.subset(tr), sets, cfg, seed, fold=fold,
                       keep_proba=keep_proba, analyse=analyse)

    # longest first: neural before classical, and among them the most tightly capped first
    # (a model is capped because it is slow); fits come back in the order of ``models``
    return run_tasks(work, tasks, n_jobs, progress=progress,
                     cost=lambda t: (t[0] in BASELINES, caps.get(t[0], len(order))))


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


def comparison_table(fits: Sequence[Fit], ceiling: float, eval_set: str = "test"):
    """One row per model: metrics as mean and sd over runs, the share of the Bayes ceiling,
    the cross-validated accuracy, fit time and the number of runs (seed 002's Table 1)."""
    import pandas as pd

    rows = summary(fits, eval_set)
    cv = summary(fits, "cv", metrics=("accuracy",))
    table = pd.DataFrame(rows).T
    table["share_of_ceiling"] = table["accuracy_mean"] / ceiling
    table["cv_accuracy_mean"] = [cv.get(n, {}).get("accuracy_mean", float("nan"))
                                 for n in table.index]
    table["n_runs"] = table["n_runs"].astype(int)
    return table


def histories(fits: Sequence[Fit]) -> dict[str, list[list[dict[str, float]]]]:
    """The per-epoch history of every neural run, by model."""
    out: dict[str, list] = {}
    for f in fits:
        if f.history:
            out.setdefault(f.model, []).append(f.history)
    return out


def best_epochs(fits: Sequence[Fit]) -> dict[str, list[int]]:
    """Epoch (counted from 1) of the lowest validation loss of every neural run, by model."""
    out: dict[str, list[int]] = {}
    for f in fits:
        if f.best_epoch is not None:
            out.setdefault(f.model, []).append(f.best_epoch + 1)
    return out


def training_size_curve(pool: MultiOmicsData, test: MultiOmicsData, cfg: Profile,
                        models: Sequence[str], sizes: Sequence[int], seeds: Sequence[int],
                        n_jobs: int = 1) -> list[dict[str, Any]]:
    """Test accuracy of each model trained on stratified subsets of ``pool`` of each size."""
    from sklearn.model_selection import train_test_split

    tasks = []
    for seed in seeds:
        for n in sorted(sizes):
            if n > pool.n_samples:
                raise ValueError(f"training size {n} exceeds the pool of {pool.n_samples}")
            idx = (np.arange(pool.n_samples) if n == pool.n_samples else
                   train_test_split(np.arange(pool.n_samples), train_size=n,
                                    random_state=seed, stratify=pool.y)[0])
            tasks += [(name, seed, n, idx) for name in models]

    def work(name, seed, n, idx):
        fit = fit_one(name, pool.subset(idx), {"test": test}, cfg, seed, keep_proba=False)
        return {"model": name, "seed": seed, "n_train": n,
                "accuracy": fit.metrics["test"]["accuracy"], "fit_seconds": fit.fit_seconds}

    return run_tasks(work, tasks, n_jobs)


def fixed_split(train: MultiOmicsData, test: MultiOmicsData, cfg: Profile,
                models: Sequence[str], seeds: Sequence[int], n_jobs: int = 1,
                keep_proba: bool = True) -> list[Fit]:
    """Every model trained on a published training split with each seed, scored on its test
    split (real data sets come with a fixed split; only the seed varies)."""
    tasks = [(name, seed) for seed in seeds for name in models]

    def work(name, seed):
        return fit_one(name, train, {"test": test}, cfg, seed, keep_proba=keep_proba)

    return run_tasks(work, tasks, n_jobs)


def real_data_table(fits: Sequence[Fit], test: MultiOmicsData):
    """Per model on a fixed split: accuracy, F1 and ROC AUC (mean and sd over seeds).

    F1 is the binary F1 of the second class for two classes (as published for ROSMAP, where it
    is "AD") and macro F1 otherwise.
    """
    import pandas as pd
    from sklearn.metrics import f1_score

    rows = {}
    for name in dict.fromkeys(f.model for f in fits):
        mine = [f for f in fits if f.model == name]
        acc = [f.metrics["test"]["accuracy"] for f in mine]
        auc = [f.metrics["test"]["roc_auc_macro"] for f in mine]
        if test.n_classes == 2:
            f1 = [f1_score(test.y, f.proba["test"].argmax(axis=1)) for f in mine]
        else:
            f1 = [f.metrics["test"]["f1_macro"] for f in mine]
        rows[name] = {"accuracy_mean": np.mean(acc), "accuracy_sd": mean_sd(acc)[1],
                      "f1_mean": np.mean(f1), "f1_sd": mean_sd(f1)[1],
                      "auc_mean": np.mean(auc), "auc_sd": mean_sd(auc)[1],
                      "fit_seconds_mean": np.mean([f.fit_seconds for f in mine]),
                      "n_runs": len(mine)}
    return pd.DataFrame(rows).T.astype({"n_runs": int})


def cv_comparison(fits: Sequence[Fit], eval_set: str = "cv", reference: str | None = None,
                  metrics: Sequence[str] = ("accuracy", "f1_macro", "roc_auc_macro")):
    """One row per model of a cross-validation: each metric's mean and sd over runs, the
    ROC AUC's 95% t interval, the accuracy difference from ``reference`` (default: the first
    model; ``accuracy_delta`` = model - reference) paired on the same (seed, fold), with its
    95% t interval and the number of pairs, mean fit time and n_runs.

    Runs share samples across folds and seeds, so the intervals describe the spread of runs,
    not a sampling distribution of independent data sets: read them as a guide to stability.
    A metric undefined in some run (e.g. AUC with one class in a fold) is averaged over the
    runs that define it.
    """
    import pandas as pd

    from .evaluate import paired_difference, t_ci95

    names = list(dict.fromkeys(f.model for f in fits if eval_set in f.metrics))
    if not names:
        raise ValueError(f"no fit was scored on {eval_set!r}")
    reference = names[0] if reference is None else reference
    by_key = {(f.model, f.seed, f.fold): f for f in fits if eval_set in f.metrics}
    rows = {}
    for name in names:
        mine = [f for f in fits if f.model == name and eval_set in f.metrics]
        row: dict[str, Any] = {"n_runs": len(mine)}
        for m in metrics:
            values = [f.metrics[eval_set][m] for f in mine
                      if np.isfinite(f.metrics[eval_set][m])]
            row[f"{m}_mean"], row[f"{m}_sd"] = mean_sd(values) if values else (np.nan, np.nan)
            if m == "roc_auc_macro":
                row["roc_auc_ci95_low"], row["roc_auc_ci95_high"] = (
                    t_ci95(values) if values else (np.nan, np.nan))
        pairs = [(f, by_key[(reference, f.seed, f.fold)]) for f in mine
                 if (reference, f.seed, f.fold) in by_key]
        if name != reference and pairs:
            d = paired_difference([a.metrics[eval_set]["accuracy"] for a, _ in pairs],
                                  [b.metrics[eval_set]["accuracy"] for _, b in pairs])
            row["accuracy_delta"] = d["delta_mean"]
            row["accuracy_delta_ci95_low"], row["accuracy_delta_ci95_high"] = d["delta_ci95"]
            row["n_pairs"] = d["n"]
        row["fit_seconds_mean"] = float(np.mean([f.fit_seconds for f in mine]))
        rows[name] = row
    table = pd.DataFrame(rows).T
    table["n_runs"] = table["n_runs"].astype(int)
    table.attrs["reference"] = reference  # accuracy_delta = model - reference, paired
    return table
