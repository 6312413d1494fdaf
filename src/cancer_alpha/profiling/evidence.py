"""Chapter 7's evidence, assembled from the meters and sweeps of this package.

The readings the chapter records (the memory exponents and C14's ratio, the time law, the
memory at the papers' size and Chapter 4's fit time, the latencies, the Lightning overhead and
the training throughput, the quietness of every timed block, the run record) are computed
here, so that each has a test and the chapter keeps only its calls, its display and its glue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from cancer_alpha.models import LOCUS_TRANSFORMER, TRANSFORMER
from cancer_alpha.profiling import quietness, sweeps
from cancer_alpha.profiling.experiments import latency_of, plain_epoch_fn, train_gflops
from cancer_alpha.profiling.meters import LOW_QUANTILE, time_interleaved
from cancer_alpha.profiling.quietness import FOREIGN_TOLERANCE, PEAK_TOLERANCE, SPREAD_TOLERANCE

LATENCY_MODELS = (TRANSFORMER, LOCUS_TRANSFORMER, "perceiver_io", "early_fusion_mlp")
LATENCY_COLUMNS = ("batched_ms_per_sample", "single_low_ms", "single_p50_ms", "single_p99_ms")


def setting_glue(label: str, paper_features: int) -> dict[str, Any]:
    """The device, the papers' features per modality and the quietness check's thresholds, as
    the chapter states them."""
    return {"device": label, "paper_features": paper_features,
            "low_quantile_pct": 100 * LOW_QUANTILE, "peak_tolerance_pct": 100 * PEAK_TOLERANCE,
            "spread_tolerance": SPREAD_TOLERANCE,
            "foreign_tolerance_pct": 100 * FOREIGN_TOLERANCE,
            "probe_size": quietness.PROBE_SIZE}


def memory_claims(memory: pd.DataFrame, fits: Mapping[str, Any], lengths: Sequence[int],
                  paper_features: int) -> dict[str, Any]:
    """C03's and C14's evidence from the memory sweep: the locus-token model's exponent, the
    Perceiver's, and its memory over the full-attention model's at the length closest to the
    papers' and at the longest. Returns the glue, the arguments of the claims and their notes."""
    locus = fits[LOCUS_TRANSFORMER]
    closest = sweeps.closest_length(lengths, paper_features)
    longest = max(lengths)
    ratio = sweeps.memory_ratio(memory, closest)
    ratio_long = sweeps.memory_ratio(memory, longest)
    return {
        "locus": locus,
        "glue": {"locus_exponent": locus.exponent, "locus_lo": locus.ci95[0],
                 "locus_hi": locus.ci95[1], "perceiver_exponent": fits["perceiver_io"].exponent,
                 "c14_ratio": ratio, "c14_ratio_long": ratio_long},
        "ratio": ratio,
        "c03_note": f"peak training-step memory fitted over {list(lengths)} "
                    "features per modality",
        "c14_note": f"Perceiver IO vs the full-attention multi-modal transformer over the same "
                    f"tokens, one training step at {closest} features per modality; at {longest} "
                    f"features the reduction is {100 * (1 - ratio_long):.0f}%",
    }


def time_glue(time_fit: Any, law: Any) -> dict[str, Any]:
    return {"time_exponent": time_fit.exponent, "time_lo": time_fit.ci95[0],
            "time_hi": time_fit.ci95[1], "time_law": law.preferred}


def chapter4_fit_seconds(profile_name: str, results_dir: str = "results",
                         model: str = TRANSFORMER) -> float | None:
    """Chapter 4's mean seconds per fit of ``model`` at this profile (None without its record)."""
    from cancer_alpha import results

    try:
        training = results.load(profile_name, "04_training", results_dir)["metrics"]["models"]
    except FileNotFoundError:
        training = {}
    return training.get(model, {}).get("fit_seconds_mean")


def c04_note(repeats: int, dataset_sizes: Sequence[int]) -> str:
    """How C04's epoch times were measured."""
    return (f"epoch time (low quantile of {repeats} repeats) over {list(dataset_sizes)} "
            "samples")


def c06_note(label: str) -> str:
    """Where C06's fit time comes from, and why it is not checked for a quiet machine."""
    return (f"measured on {label} by Chapter 4, whose fits are not checked for a quiet machine: "
            "other work there only lengthens them")


def fit_seconds_glue(fit_seconds: float | None) -> dict[str, float]:
    """Chapter 4's seconds per fit of the transformer as the prose states it (NaN without
    Chapter 4's record)."""
    return {"mmt_fit_seconds": float("nan") if fit_seconds is None else fit_seconds}


def paper_memory_glue(paper_memory: pd.DataFrame) -> dict[str, float]:
    """Peak training-step memory (MB) at the papers' size, modality and locus tokens."""
    return {"paper_peak_mb": float(paper_memory.loc[TRANSFORMER, "total_mb"]),
            "paper_peak_locus_mb": float(paper_memory.loc[LOCUS_TRANSFORMER, "total_mb"])}


def c05_note(paper_memory: pd.DataFrame, batch_size: int, paper_features: int) -> str:
    peak_mb = float(paper_memory.loc[TRANSFORMER, "total_mb"])
    return (f"batch {batch_size}, {paper_features} features per modality, "
            f"mmt_modality: {peak_mb:.0f} MB of tensors at the peak of a training step "
            f"(locus tokens: {paper_memory.loc['mmt_locus', 'total_mb']:.0f} MB); a GPU "
            "would hold the same tensors plus the memory of its runtime")


def latencies(monitor: Any, features: int, model_cfg: Any, n_samples: int,
              models: Sequence[str] = LATENCY_MODELS):
    """Batched and single-sample inference latency of ``models``, timed in one block of
    ``monitor``: ({model: LatencyReport}, the block's quietness report)."""
    with monitor.block("inference latency (C13)") as block:
        latency = {name: latency_of(name, features, model_cfg, n_samples=n_samples)
                   for name in models}
        block.timings(*latency.values())
    return latency, block.report


def latency_table(latency: Mapping[str, Any]) -> pd.DataFrame:
    """One row per model, the latency columns of its report."""
    return pd.DataFrame({n: {c: getattr(r, c) for c in LATENCY_COLUMNS}
                         for n, r in latency.items()}).T


def latency_glue(report: Any) -> dict[str, float]:
    return {"lat_batched": report.batched_ms_per_sample, "lat_batch_repeats": report.batch_repeats,
            "lat_low": report.single_low_ms, "lat_p50": report.single_p50_ms}


def c13_note(report: Any, label: str, n_calls: int) -> str:
    return (f"mmt_modality on {label}; single-sample {100 * LOW_QUANTILE:.0f}th "
            f"percentile of {n_calls} calls, median {report.single_p50_ms:.3f} ms; batched: "
            f"{report.batched_ms_per_sample:.4f} ms per sample")


def overhead_and_throughput(monitor: Any, profile: Any, features: int):
    """Lightning against a plain PyTorch loop over the same epochs, then the training
    throughput, each timed in a block of ``monitor``: (loops report, throughput)."""
    p, model = profile.profiling, TRANSFORMER
    lightning_epoch, plain_epoch = plain_epoch_fn(model, p.overhead_samples, features,
                                                  profile.train, profile.model)
    with monitor.block("Lightning against a plain loop") as loop_block:
        loops = time_interleaved({"Lightning": lightning_epoch, "plain PyTorch": plain_epoch},
                                 repeats=p.repeats, warmup=1)
        loop_block.timings(loops)
    with monitor.block("training throughput") as throughput_block:
        throughput = train_gflops(model, features, profile.train.batch_size, profile.model,
                                  repeats=p.repeats, train_cfg=profile.train)
        throughput_block.timings(throughput["step_seconds"])
    return loops, throughput


def loop_glue(loops: Any, throughput: Mapping[str, Any]) -> dict[str, float]:
    """Lightning's overhead over a plain loop, the rounds it was timed in, and the training
    throughput, as the prose states them."""
    return {"overhead": loops.ratio, "overhead_rounds": loops.rounds,
            "train_gflops": throughput["gflops"]}


def loop_table(loops: Any) -> pd.DataFrame:
    """Seconds per epoch of each loop, low quantile and median."""
    return pd.DataFrame({"s per epoch (low quantile)": {n: loops[n].low_s for n in loops.names},
                         "s per epoch (median)": {n: loops[n].median_s for n in loops.names}})


def quietness_glue(reports: Sequence[Any], disturbed: Sequence[Any]) -> dict[str, Any]:
    return {"n_blocks": len(reports), "n_disturbed": len(disturbed),
            "disturbed_blocks": ", ".join(r.block for r in disturbed) or "none"}


def record(*, label: str, memory: pd.DataFrame, exponents: pd.DataFrame,
           paper_memory: pd.DataFrame, locus: Any, timing: pd.DataFrame, time_fit: Any,
           law: Any, latency: Mapping[str, Any], loops: Any, throughput: Mapping[str, Any],
           peak: float, reports: Sequence[Any]) -> dict[str, Any]:
    """The chapter's run record, key by key, in the order it is written."""
    mmt = latency[TRANSFORMER]
    return {
        "device": label,
        "memory_points": memory.to_dict(orient="list"),
        "memory_exponents": exponents.reset_index(names="model").to_dict(orient="records"),
        "peak_train_memory_mb": paper_memory["total_mb"].to_dict(),
        "memory_exponent": {"value": locus.exponent, "ci95": list(locus.ci95),
                            "model": LOCUS_TRANSFORMER},
        "time_points": timing.to_dict(orient="list"),
        "time_exponent": {"value": time_fit.exponent, "ci95": list(time_fit.ci95),
                          "preferred_law": law.preferred},
        "inference_ms_per_sample_batched": mmt.batched_ms_per_sample,
        "inference_ms_single_p50": mmt.single_p50_ms,
        "inference_ms_single_low": mmt.single_low_ms,
        "low_quantile": LOW_QUANTILE,
        "latency": latency_table(latency).to_dict(orient="index"),
        "lightning_overhead_ratio": loops.ratio,
        "lightning_overhead": loops.to_dict(),
        "train_gflops": throughput["gflops"],
        "matmul_peak_gflops": peak,
        "quietness": [r.to_dict() for r in reports],
        "quietness_tolerances": {"peak": PEAK_TOLERANCE, "spread": SPREAD_TOLERANCE,
                                 "foreign_share": FOREIGN_TOLERANCE},
    }
