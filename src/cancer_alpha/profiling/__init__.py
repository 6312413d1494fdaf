"""Compute profiling: the meters (``meters``), the reports they return (``reports``), scaling
fits (``scaling``), and Chapter 6's experiments built on them (``experiments``).

Importing this package imports torch but not pytorch_lightning.
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
    achieved_gflops,
    device_label,
    inference_latency,
    matmul_peak_gflops,
    peak_memory,
    run_in_subprocess,
    time_callable,
)
from cancer_alpha.profiling.reports import (
    MB,
    LatencyReport,
    LawFit,
    MemoryReport,
    PowerLawFit,
    ScalingComparison,
    TimingReport,
)
from cancer_alpha.profiling.scaling import compare_nlogn, fit_power_law

__all__ = [
    "epoch_seconds", "latency_of", "optimiser_step", "plain_epoch_fn", "random_batch",
    "synthetic_specs", "train_gflops", "train_step_memory", "training_state_mb", "training_step_fn",
    "achieved_gflops", "device_label", "inference_latency", "matmul_peak_gflops", "peak_memory",
    "run_in_subprocess", "time_callable", "MB", "LatencyReport", "LawFit", "MemoryReport",
    "PowerLawFit", "ScalingComparison", "TimingReport", "compare_nlogn", "fit_power_law",
]
