"""Training and measuring one variant with one seed, and every run of the chapter in worker
processes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from cancer_alpha.ablations.plan import (
    DifficultyData,
    Variant,
    build_variant,
    hide_modalities,
    modality_subsets,
    plan,
    subset_key,
)
from cancer_alpha.config import Profile, TrainConfig
from cancer_alpha.data import MultiOmicsData, Standardizer
from cancer_alpha.evaluate import (
    classification_metrics,
)
from cancer_alpha.interpret import attention_entropy_of, planted_attention_scores


def subset_accuracy(predict_proba: Callable[[MultiOmicsData], np.ndarray],
                    data: MultiOmicsData) -> dict[str, float]:
    """Accuracy with only each non-empty subset of the modalities observed."""
    return {subset_key(s): float(np.mean(predict_proba(hide_modalities(data, s)).argmax(1)
                                         == data.y))
            for s in modality_subsets(data.modalities)}


def run_variant(variant: Variant, seed: int, cohorts: DifficultyData,
                profile: Profile) -> dict[str, Any]:
    """Train (or only initialise) one variant with one seed and measure it, on one torch
    thread: as in a worker process, so that results do not depend on ``n_jobs``, and because
    these small models lose more to thread synchronisation than they gain on a shared CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_variant(variant, seed, cohorts, profile)
    finally:
        torch.set_num_threads(threads)


def _run_variant(variant: Variant, seed: int, cohorts: DifficultyData,
                 profile: Profile) -> dict[str, Any]:
    import time

    from cancer_alpha.models.complexity import count_parameters
    from cancer_alpha.training import FittedModel, fit_neural

    train = cohorts.train
    if variant.shuffled_labels:
        train = train.subset(np.arange(train.n_samples))
        train.y = np.random.default_rng(10_000 + seed).permutation(train.y)
    model = build_variant(variant, list(train.specs), train.n_classes, profile, seed)
    tcfg = variant.train_config(profile.train)
    t0 = time.perf_counter()
    if variant.untrained:
        fitted = FittedModel(variant.name, model.eval(), Standardizer().fit(train),
                             list(train.specs), list(train.class_names), [], 0, -1, 0.0)
    else:
        fitted = fit_neural(variant.name, train, profile, seed, train_cfg=tcfg, model=model)
    fit_seconds = time.perf_counter() - t0
    test = cohorts.test
    proba = fitted.predict_proba(test)
    head = test.subset(np.arange(min(profile.ablation.attention_samples, test.n_samples)))
    row: dict[str, Any] = {
        "variant": variant.name, "seed": seed, "difficulty": variant.difficulty,
        "metrics": classification_metrics(test.y, proba),
        "fit_seconds": fit_seconds, "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
        "history": fitted.history, "pretrain_history": fitted.pretrain_history,
        "attention_entropy": attention_entropy_of(fitted, head),
        "n_parameters": count_parameters(fitted.model),
    }
    row["accuracy"] = row["metrics"]["accuracy"]
    if variant.subsets:
        row["subset_accuracy"] = subset_accuracy(fitted.predict_proba, test)
    if variant.planted:
        row["planted_scores"] = planted_attention_scores(fitted, head)
    return row


def _cost(variant: Variant) -> int:
    """Rough order of a run's cost, to start the longest first."""
    if variant.model == "mmt_locus":
        return 0 if not variant.untrained else 3
    return 1 if variant.train_config(TrainConfig()).progressive else 2


def run_all(profile: Profile, data: Mapping[str, DifficultyData],
            variants: Sequence[Variant] | None = None, n_jobs: int | None = None
            ) -> list[dict[str, Any]]:
    """Every (variant, seed) run, in ``n_jobs`` processes; rows in plan order."""
    from cancer_alpha.protocol import run_tasks

    variants = plan(profile) if variants is None else list(variants)
    # the generator itself stays here: workers need the samples only
    light = {k: dataclasses.replace(v, world=None) for k, v in data.items()}
    tasks = [(v, s, light[v.difficulty], profile) for v in variants for s in v.seeds]
    return run_tasks(run_variant, tasks, profile.evaluation.n_jobs if n_jobs is None else n_jobs,
                     cost=lambda t: _cost(t[0]))
