"""Compute profiling: the meters (``meters``), the reports they return (``reports``), the check
that the machine was quiet around a block of timings (``quietness``), scaling fits
(``scaling``), and Chapter 7's experiments built on them (``experiments``).

Importing this package imports torch but not pytorch_lightning. ``distributed`` is a script
(``python -m cancer_alpha.profiling.distributed``): one epoch under DDP on several CPU processes.
"""

from cancer_alpha.profiling.experiments import (
    epoch_seconds,
    latency_of,
    optimiser_step,
    plain_epoch_fn,
    random_batch,
    synthetic_specs,
    train_gflops,
    train_step_memory,
    training_state_mb,
    training_step_fn,
)
from cancer_alpha.profiling.meters import (
    LOW_QUANTILE,
    achieved_gflops,
    device_label,
    inference_latency,
    low_quantile,
    matmul_peak_gflops,
    peak_memory,
    run_in_subprocess,
    time_callable,
    time_interleaved,
)
from cancer_alpha.profiling.quietness import (
    FOREIGN_TOLERANCE,
    PEAK_TOLERANCE,
    SPREAD_TOLERANCE,
    QuietnessMonitor,
    assess,
    probe_gflops,
    timings_check,
)
from cancer_alpha.profiling.reports import (
    MB,
    InterleavedReport,
    LatencyReport,
    LawFit,
    MemoryReport,
    PowerLawFit,
    QuietnessReport,
    ScalingComparison,
    TimingReport,
)
from cancer_alpha.profiling.scaling import compare_nlogn, fit_power_law

__all__ = [
    "epoch_seconds", "latency_of", "optimiser_step", "plain_epoch_fn", "random_batch",
    "synthetic_specs", "train_gflops", "train_step_memory", "training_state_mb", "training_step_fn",
    "LOW_QUANTILE", "achieved_gflops", "device_label", "inference_latency", "low_quantile",
    "matmul_peak_gflops", "peak_memory", "run_in_subprocess", "time_callable",
    "time_interleaved", "FOREIGN_TOLERANCE", "PEAK_TOLERANCE", "SPREAD_TOLERANCE",
    "QuietnessMonitor", "assess", "probe_gflops", "timings_check", "MB", "InterleavedReport",
    "LatencyReport", "LawFit", "MemoryReport", "PowerLawFit", "QuietnessReport",
    "ScalingComparison", "TimingReport", "compare_nlogn", "fit_power_law",
]
