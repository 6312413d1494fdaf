"""The small report dataclasses every meter and fit returns, with ``to_dict()`` for the run
records."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cancer_alpha.jsonable import jsonable

MB = 1e6


Numbers = Sequence[float] | np.ndarray


class _Report:
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (tuples as lists, numpy scalars as Python numbers)."""
        return jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True)
class MemoryReport(_Report):
    """Peak memory of one call, above what the process held just before it."""

    device: str
    tensor_peak_mb: float  # peak live tensor bytes created during the call (see module doc)
    tensor_retained_mb: float  # of those, still alive when the call returned
    rss_peak_mb: float | None  # VmHWM during the call - VmRSS before; None without /proc
    rss_before_mb: float | None
    rss_exact: bool  # False: an earlier, higher high-water mark may hide this call's peak
    tensor_source: str  # what counted the tensor bytes


@dataclass(frozen=True)
class TimingReport(_Report):
    """Wall-clock times of repeated calls, warm-up calls excluded."""

    device: str
    repeats: int
    warmup: int
    seconds: tuple[float, ...]
    median_s: float
    min_s: float
    max_s: float


@dataclass(frozen=True)
class LatencyReport(_Report):
    """Batched inference throughput and single-sample latency, warm-up calls excluded."""

    device: str
    batch_size: int
    n_batches: int  # timed full batches: ceil(n_samples / batch_size)
    n_samples: int  # timed single-sample calls
    warmup: int
    batched_ms_per_sample: float
    batched_samples_per_s: float
    single_p50_ms: float
    single_p99_ms: float
    single_mean_ms: float
    single_max_ms: float
    single_ms: tuple[float, ...]  # one latency per timed single-sample call


@dataclass(frozen=True)
class PowerLawFit(_Report):
    """y = prefactor * x ** exponent, fitted by least squares on log y against log x."""

    exponent: float
    ci95: tuple[float, float]  # of the exponent, t distribution with n - 2 dof
    stderr: float  # of the exponent
    prefactor: float
    r2: float  # in log-log space
    n_points: int

    def predict(self, x: Numbers) -> np.ndarray:
        """The fitted law at x."""
        return self.prefactor * np.asarray(x, dtype=float) ** self.exponent


@dataclass(frozen=True)
class LawFit(_Report):
    """t = prefactor * g(n) for a fixed shape g, fitted in log space."""

    law: str  # "n" or "n log n"
    prefactor: float
    rss: float  # residual sum of squares of log t


@dataclass(frozen=True)
class ScalingComparison(_Report):
    """Whether times grow like n or like n log n, with the free power law beside them."""

    linear: LawFit
    nlogn: LawFit
    power_law: PowerLawFit
    preferred: str  # the law with the smaller residual sum of squares
