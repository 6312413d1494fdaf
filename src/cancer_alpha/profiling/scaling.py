"""Scaling laws fitted to measurements: a power law with the 95% interval of its exponent, and
``a n`` against ``a n log n``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from cancer_alpha.config import require
from cancer_alpha.profiling.reports import LawFit, Numbers, PowerLawFit, ScalingComparison


def _positive_points(where: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    for name, v, given in (("x", xs, x), ("y", ys, y)):
        require(v.ndim == 1, where, name, given, "a 1-d sequence of numbers")
        require(bool(np.all(np.isfinite(v) & (v > 0))), where, name, given,
                 "finite values > 0 (a log-log fit)")
    require(len(xs) == len(ys), where, "y", y, f"{len(xs)} values, one per x")
    require(len(xs) >= 3, where, "x", x, "at least 3 points (the exponent's CI needs n - 2 dof)")
    require(len(np.unique(xs)) >= 2, where, "x", x, "at least 2 distinct values")
    return xs, ys


def fit_power_law(x: Numbers, y: Numbers) -> PowerLawFit:
    """Least-squares fit of log y = log a + b log x, with the 95% CI of b."""
    xs, ys = _positive_points("fit_power_law", x, y)
    lx, ly = np.log(xs), np.log(ys)
    n = len(lx)
    dx, dy = lx - lx.mean(), ly - ly.mean()
    sxx = float(dx @ dx)
    slope = float(dx @ dy) / sxx
    intercept = float(ly.mean()) - slope * float(lx.mean())
    rss = float(np.sum((ly - intercept - slope * lx) ** 2))
    tss = float(dy @ dy)
    stderr = math.sqrt(rss / (n - 2) / sxx)
    half = float(stats.t.ppf(0.975, n - 2)) * stderr
    return PowerLawFit(
        exponent=slope, ci95=(slope - half, slope + half), stderr=stderr,
        prefactor=math.exp(intercept),
        r2=1.0 - rss / tss if tss > 0 else 1.0,  # a constant y fitted exactly by b = 0
        n_points=n,
    )


def _fixed_shape_fit(law: str, log_t: np.ndarray, log_g: np.ndarray) -> LawFit:
    log_a = float(np.mean(log_t - log_g))
    return LawFit(law=law, prefactor=math.exp(log_a),
                  rss=float(np.sum((log_t - log_g - log_a) ** 2)))


def compare_nlogn(n: Numbers, t: Numbers) -> ScalingComparison:
    """Fits t = a n and t = a n log n in log space; the one with smaller residuals is preferred.

    Both laws have one free parameter, so their residual sums of squares compare directly.
    """
    ns, ts = _positive_points("compare_nlogn", n, t)
    require(bool(np.all(ns > 1)), "compare_nlogn", "n", n, "sizes > 1 (log n must be > 0)")
    log_n, log_t = np.log(ns), np.log(ts)
    linear = _fixed_shape_fit("n", log_t, log_n)
    nlogn = _fixed_shape_fit("n log n", log_t, log_n + np.log(log_n))
    return ScalingComparison(
        linear=linear, nlogn=nlogn, power_law=fit_power_law(ns, ts),
        preferred=nlogn.law if nlogn.rss < linear.rss else linear.law,
    )
