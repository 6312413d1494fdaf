"""Chapter 7's sweeps and the numbers its compute claims are judged on: memory against
sequence length with its power laws (C03), the memory ratio of Perceiver IO to the
full-attention transformer (C14), the paper's configuration (C05), epoch time against samples
(C04), and the quietness table of the timed blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from cancer_alpha.config import ModelConfig, TrainConfig
from cancer_alpha.profiling.experiments import (
    epoch_seconds,
    train_step_memory,
    training_state_mb,
)
from cancer_alpha.profiling.meters import run_in_subprocess
from cancer_alpha.profiling.reports import PowerLawFit, ScalingComparison
from cancer_alpha.profiling.scaling import compare_nlogn, fit_power_law

MEMORY_MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer")
"""The models of the memory sweep: the two transformers, Perceiver IO and TabTransformer."""
FULL_ATTENTION, LATENT_ATTENTION = "mmt_locus", "perceiver_io"
"""C14 compares Perceiver IO with the transformer that attends over every token (locus
tokens), on the same tokens."""


def memory_sweep(lengths: Iterable[int], batch_size: int, train_cfg: TrainConfig,
                 model_cfg: ModelConfig, models: Sequence[str] = MEMORY_MODELS,
                 device: str = "cpu") -> pd.DataFrame:
    """Peak memory of one training step of each model at each number of features per
    modality (tokens: three modalities' worth): one row per (features, model), with the
    tensor peak (``peak_mb``) and the resident-set increase (``rss_mb``)."""
    rows = []
    for n in lengths:
        for name in models:
            r = train_step_memory(name, n, batch_size, train_cfg, model_cfg, device=device)
            rows.append({"model": name, "features": n, "tokens": 3 * n,
                         "peak_mb": r.tensor_peak_mb, "rss_mb": r.rss_peak_mb})
    return pd.DataFrame(rows)


def memory_fits(memory: pd.DataFrame) -> dict[str, PowerLawFit]:
    """The power law of peak memory against features, per model (in the sweep's order)."""
    return {name: fit_power_law(g["features"], g["peak_mb"])
            for name, g in memory.groupby("model", sort=False)}


def exponent_table(fits: dict[str, PowerLawFit]) -> pd.DataFrame:
    """Each fit's exponent, its 95% interval and R², one row per model."""
    return pd.DataFrame({n: {"exponent": f.exponent, "ci95_low": f.ci95[0],
                             "ci95_high": f.ci95[1], "r2": f.r2}
                         for n, f in fits.items()}).T


def closest_length(lengths: Sequence[int], target: int) -> int:
    """The length of the sweep closest to ``target`` (the papers' features per modality)."""
    return min(lengths, key=lambda n: abs(n - target))


def memory_ratio(memory: pd.DataFrame, features: int, model: str = LATENT_ATTENTION,
                 reference: str = FULL_ATTENTION) -> float:
    """Peak memory of ``model`` over that of ``reference`` at ``features`` (C14's evidence:
    one minus it is the reduction)."""
    at = memory.set_index(["model", "features"])["peak_mb"]
    return float(at[(model, features)] / at[(reference, features)])


def paper_memory(n_features: int, batch_size: int, train_cfg: TrainConfig,
                 model_cfg: ModelConfig, models: Sequence[str] = ("mmt_modality", "mmt_locus"),
                 device: str = "cpu") -> pd.DataFrame:
    """Memory of training each model at the papers' configuration (C05), each step measured
    in a fresh process: the training state (weights, gradients, optimiser state), the tensor
    peak of a step, their total and the resident-set increase, one row per model."""
    rows = []
    for name in models:
        r = run_in_subprocess(train_step_memory, name, n_features, batch_size, train_cfg,
                              model_cfg, device=device)
        state = training_state_mb(name, n_features, model_cfg)
        rows.append({"model": name, "state_mb": state, "step_peak_mb": r.tensor_peak_mb,
                     "total_mb": state + r.tensor_peak_mb, "rss_increase_mb": r.rss_peak_mb})
    return pd.DataFrame(rows).set_index("model")


def time_sweep(sizes: Iterable[int], n_features: int, train_cfg: TrainConfig,
               model_cfg: ModelConfig, repeats: int, block: Any,
               model: str = "mmt_modality") -> pd.DataFrame:
    """Seconds of one training epoch of ``model`` at each number of training samples (C04):
    the low quantile of ``repeats`` epochs, their median and count, one row per size. Every
    timing goes to ``block``, the quietness check around the sweep
    (:meth:`cancer_alpha.profiling.QuietnessMonitor.block`)."""
    rows = []
    for n in sizes:
        t = epoch_seconds(model, n, n_features, train_cfg, model_cfg, repeats=repeats)
        block.timings(t)
        rows.append({"model": model, "samples": n, "seconds": t.low_s,
                     "median_seconds": t.median_s, "repeats": t.repeats})
    return pd.DataFrame(rows)


def time_laws(timing: pd.DataFrame) -> tuple[PowerLawFit, ScalingComparison]:
    """The power law of epoch seconds against samples, and whether a n or a n log n
    describes them better (C04's evidence)."""
    return (fit_power_law(timing["samples"], timing["seconds"]),
            compare_nlogn(timing["samples"], timing["seconds"]))


def quietness_table(reports: Iterable[Any]) -> pd.DataFrame:
    """One row per timed block: the probes before and after it and the best of the run, the
    spread of its repeats, the other processes' share of the CPU, and whether it was quiet."""
    return pd.DataFrame([{
        "block": r.block, "probe before (GFLOP/s)": r.peak_before_gflops,
        "probe after (GFLOP/s)": r.peak_after_gflops, "best probe (GFLOP/s)": r.peak_best_gflops,
        "spread": r.spread,
        "other processes (% CPU)": None if r.foreign_share is None else 100 * r.foreign_share,
        "quiet": "no" if r.disturbed else "yes", "why not": r.reason,
    } for r in reports]).set_index("block")
