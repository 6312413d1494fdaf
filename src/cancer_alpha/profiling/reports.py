"""The small report dataclasses every meter and fit returns, with ``to_dict()`` for the run
records."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cancer_alpha.safe_write import jsonable

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
    low_s: float  # the low quantile of the repeats (meters.LOW_QUANTILE): the figure to judge

    @property
    def spread(self) -> float:
        """Median over low quantile: 1 when every repeat took the same time."""
        return self.median_s / self.low_s if self.low_s > 0 else 1.0


@dataclass(frozen=True)
class InterleavedReport(_Report):
    """Wall-clock times of callables timed in turn, round by round, and the ratio of the
    first two from the same rounds."""

    names: tuple[str, ...]
    arms: tuple[TimingReport, ...]  # one per callable, in the order of ``names``
    rounds: int
    ratio: float  # median over rounds of first / second, both timed in the same round
    round_ratios: tuple[float, ...]  # first / second in each round
    ratio_of_lows: float  # low quantile of the first / low quantile of the second

    def __getitem__(self, name: str) -> TimingReport:
        return self.arms[self.names.index(name)]

    @property
    def spread(self) -> float:
        """The largest spread (median over low quantile) of the arms."""
        return max(a.spread for a in self.arms)


@dataclass(frozen=True)
class LatencyReport(_Report):
    """Batched inference throughput and single-sample latency, warm-up calls excluded."""

    device: str
    batch_size: int
    n_batches: int  # timed full batches: ceil(n_samples / batch_size)
    n_samples: int  # timed single-sample calls
    warmup: int
    batch_repeats: int  # timed passes over the n_batches batches
    batched_ms_per_sample: float  # of the fastest pass: the figure to judge
    batched_median_ms_per_sample: float  # of the median pass
    batched_samples_per_s: float  # of the fastest pass
    single_low_ms: float  # low quantile (meters.LOW_QUANTILE): the figure to judge
    single_min_ms: float
    single_p50_ms: float
    single_p99_ms: float
    single_mean_ms: float
    single_max_ms: float
    single_ms: tuple[float, ...]  # one latency per timed single-sample call

    @property
    def spread(self) -> float:
        """Single-sample median over low quantile: 1 when every call took the same time."""
        return self.single_p50_ms / self.single_low_ms if self.single_low_ms > 0 else 1.0


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


@dataclass(frozen=True)
class QuietnessReport(_Report):
    """Whether the machine was quiet while a block of timings ran, and if not, why not
    (:mod:`cancer_alpha.profiling.quietness`)."""

    block: str
    peak_before_gflops: float | None  # float32 matmul probe just before the block
    peak_after_gflops: float | None  # the same probe just after it
    peak_best_gflops: float | None  # the best probe of the run so far, this block's included
    peak_drop: float | None  # 1 - the block's lower probe / the best probe
    spread: float | None  # largest median / low quantile of the block's repeated timings
    foreign_share: float | None  # share of the CPU time of this process's CPUs used by others
    seconds: float  # wall-clock seconds of the block, its probes included
    disturbed: bool
    reason: str  # every tolerance the block exceeded, "; "-separated; "" when quiet

    @property
    def summary(self) -> str:
        """One line: the signs measured and the finding."""
        signs = []
        if self.peak_before_gflops is not None or self.peak_after_gflops is not None:
            probes = "/".join("-" if p is None else f"{p:.1f}"
                              for p in (self.peak_before_gflops, self.peak_after_gflops))
            signs.append(f"probe before/after {probes} GFLOP/s (best {self.peak_best_gflops:.1f})")
        if self.spread is not None:
            signs.append(f"spread {self.spread:.2f}")
        if self.foreign_share is not None:
            signs.append(f"other processes {100 * self.foreign_share:.0f}% of the CPU")
        finding = f"disturbed ({self.reason})" if self.disturbed else "quiet"
        return f"{self.block}: " + ", ".join(signs) + (": " if signs else "") + finding
