"""Measurement utilities of the compute-profiling chapter: fits, timing, latency, memory."""

import dataclasses
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from cancer_alpha.config import load_profile
from cancer_alpha.models import build_model
from cancer_alpha.profiling import (
    achieved_gflops,
    compare_nlogn,
    device_label,
    fit_power_law,
    inference_latency,
    low_quantile,
    matmul_peak_gflops,
    meters,
    peak_memory,
    plain_epoch_fn,
    run_in_subprocess,
    synthetic_specs,
    time_callable,
    time_interleaved,
)

FLOATS_200MB = 50_000_000  # float32: 4 bytes each
FLOATS_1MB = 250_000


def _allocate(n_floats: int) -> float:
    x = torch.ones(n_floats)  # ones, not empty: the pages must be touched to enter the RSS
    return float(x[-1])


# ----------------------------------------------------------------------------- scaling fits


def test_power_law_recovers_exponent_exactly_without_noise():
    x = np.array([32, 64, 128, 256, 512, 1024, 4096])
    fit = fit_power_law(x, 3.5e-4 * x**1.37)
    assert abs(fit.exponent - 1.37) < 1e-9
    assert abs(fit.prefactor / 3.5e-4 - 1) < 1e-9
    assert abs(fit.r2 - 1) < 1e-12
    assert fit.ci95[0] <= fit.exponent <= fit.ci95[1]
    assert fit.ci95[1] - fit.ci95[0] < 1e-9  # no residuals, no uncertainty
    np.testing.assert_allclose(fit.predict(x), 3.5e-4 * x**1.37, rtol=1e-9)


def test_power_law_ci_contains_true_exponent_under_multiplicative_noise():
    rng = np.random.default_rng(7)
    x = np.geomspace(100, 1e5, 8)
    y = 2e-3 * x**1.1 * np.exp(rng.normal(0, 0.1, x.size))
    fit = fit_power_law(x, y)
    lo, hi = fit.ci95
    assert lo < 1.1 < hi
    assert 0 < hi - lo < 0.2  # 10% noise over three decades pins the exponent to about +-0.05
    assert 0.95 < fit.r2 < 1


def test_power_law_ci_has_95_percent_coverage_with_few_points():
    # with 5 points (3 dof) a normal-quantile interval would cover only about 86%; the t
    # interval covers 95%. 600 replicates: binomial sd 0.009, bounds at about 3.5 sd.
    rng = np.random.default_rng(11)
    x = np.array([10.0, 30, 100, 300, 1000])
    covered = 0
    for _ in range(600):
        lo, hi = fit_power_law(x, x**0.8 * np.exp(rng.normal(0, 0.2, x.size))).ci95
        covered += lo <= 0.8 <= hi
    assert 0.92 <= covered / 600 <= 0.98


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        ([1, -2, 3], [1, 2, 3], "fit_power_law.x"),
        ([1, 2, 3], [1, 0, 3], "fit_power_law.y"),
        ([1, 2, 3], [1, float("nan"), 3], "fit_power_law.y"),
        ([1, 2], [1, 2], "at least 3 points"),
        ([1, 2, 3], [1, 2], "3 values, one per x"),
        ([5, 5, 5], [1, 2, 3], "2 distinct values"),
    ],
)
def test_power_law_rejects_bad_points(x, y, message):
    with pytest.raises(ValueError, match=message):
        fit_power_law(x, y)


def test_compare_nlogn_recovers_n_log_n_and_linear_laws():
    n = np.array([100, 300, 1000, 3000, 10000, 30000, 100000])
    nlogn = compare_nlogn(n, 4e-6 * n * np.log(n))
    assert nlogn.preferred == "n log n"
    assert nlogn.nlogn.rss < 1e-20 < nlogn.linear.rss
    assert abs(nlogn.nlogn.prefactor / 4e-6 - 1) < 1e-9
    linear = compare_nlogn(n, 7e-5 * n)
    assert linear.preferred == "n"
    assert abs(linear.linear.prefactor / 7e-5 - 1) < 1e-9
    assert abs(linear.power_law.exponent - 1) < 1e-9


def test_compare_nlogn_tells_the_laws_apart_through_noise():
    # log log n spans 1.5 to 2.4 over these sizes, far wider than 5% noise: the shapes separate
    rng = np.random.default_rng(3)
    n = np.geomspace(100, 1e5, 8)
    noise = np.exp(rng.normal(0, 0.05, n.size))
    assert compare_nlogn(n, 1e-6 * n * np.log(n) * noise).preferred == "n log n"
    assert compare_nlogn(n, 1e-6 * n * noise).preferred == "n"


def test_compare_nlogn_rejects_sizes_without_a_positive_log():
    with pytest.raises(ValueError, match="compare_nlogn.n"):
        compare_nlogn([1, 10, 100], [1.0, 2.0, 3.0])


def test_fit_reports_are_json_ready():
    report = compare_nlogn([100, 1000, 10000], [1.0, 11.0, 130.0])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["preferred"] == report.preferred
    assert data["power_law"]["ci95"] == list(report.power_law.ci95)


# ----------------------------------------------------------------------------- timing


def test_time_callable_excludes_warmup_and_counts_repeats():
    calls = []

    def fn(x):
        calls.append(x)
        if len(calls) == 1:
            time.sleep(0.5)  # a slow first call, as with lazy initialisation

    report = time_callable(fn, "a", repeats=4, warmup=1)
    assert calls == ["a"] * 5
    assert len(report.seconds) == 4
    assert report.max_s < 0.25  # the half-second first call is not among the timed runs
    assert report.min_s <= report.median_s <= report.max_s


def test_time_callable_measures_elapsed_time():
    report = time_callable(time.sleep, 0.02, repeats=3, warmup=0)
    assert report.min_s >= 0.02  # sleep never returns early; no upper bound on a shared machine


class _FakeClock:
    """A perf_counter that advances only when a timed callable says how long it took."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float, log: list | None = None, name: str = ""):
        def fn():
            if log is not None:
                log.append(name)
            self.now += seconds
        return fn


@pytest.fixture
def clock(monkeypatch):
    fake = _FakeClock()
    monkeypatch.setattr(meters.time, "perf_counter", fake)
    return fake


def test_the_low_quantile_is_an_observed_time_the_minimum_of_up_to_ten():
    assert meters.LOW_QUANTILE == 0.1
    assert low_quantile([5.0, 3.0, 4.0]) == 3.0
    assert low_quantile(list(range(10, 0, -1))) == 1.0  # 10 repeats: still the minimum
    assert low_quantile(list(range(11, 0, -1))) == 2.0  # 11: the second smallest
    assert low_quantile(np.arange(1.0, 201.0)) == 20.0  # 200: the 20th smallest


def test_time_callable_reports_the_low_quantile_beside_the_median(clock):
    times = iter([0.5, 0.125, 0.375, 0.25, 1.0])  # binary fractions: exact differences
    report = time_callable(lambda: clock.work(next(times))(), repeats=5, warmup=0)
    assert report.seconds == (0.5, 0.125, 0.375, 0.25, 1.0)
    assert report.low_s == report.min_s == 0.125
    assert report.median_s == 0.375 and report.max_s == 1.0
    assert report.spread == 3.0


def test_time_interleaved_reverses_the_order_every_round(clock):
    log = []
    time_interleaved({"a": clock.work(1.0, log, "a"), "b": clock.work(1.0, log, "b"),
                      "c": clock.work(1.0, log, "c")}, repeats=3, warmup=1)
    assert log == ["a", "b", "c"] + ["a", "b", "c", "c", "b", "a", "a", "b", "c"]


def test_time_interleaved_takes_the_ratio_within_rounds(clock):
    # a load that doubles every call after the second round: both arms in a round see it, so
    # each round's ratio stays 3; timing all of a before all of b would not
    calls = []

    def arm(seconds):
        def fn():
            calls.append(seconds)
            clock.now += seconds * (2.0 if len(calls) > 4 else 1.0)
        return fn

    report = time_interleaved({"slow": arm(3.0), "fast": arm(1.0)}, repeats=4, warmup=0)
    assert report.names == ("slow", "fast") and report.rounds == 4
    assert report.round_ratios == pytest.approx((3.0, 3.0, 3.0, 3.0))
    assert report.ratio == pytest.approx(3.0)
    assert report["slow"].seconds == (3.0, 3.0, 6.0, 6.0)
    assert report.ratio_of_lows == pytest.approx(3.0)
    assert report.spread == pytest.approx(1.5)  # median 4.5 over the minimum 3
    assert json.loads(json.dumps(report.to_dict()))["arms"][1]["low_s"] == 1.0


@pytest.mark.parametrize(
    ("fns", "message"),
    [({"a": lambda: None}, "time_interleaved.fns"),
     ([lambda: None, lambda: None], "time_interleaved.fns"),
     ({"a": lambda: None, "b": 3}, "time_interleaved.fns")],
)
def test_time_interleaved_needs_two_named_callables(fns, message):
    with pytest.raises(ValueError, match=message):
        time_interleaved(fns)


class _SlowFirstCalls:
    """A fake model: the first `slow_calls` calls at each batch size sleep, later ones do not."""

    def __init__(self, slow_calls: int, sleep_s: float):
        self.slow_calls, self.sleep_s = slow_calls, sleep_s
        self.calls: dict[int, int] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        k = len(x)
        self.calls[k] = self.calls.get(k, 0) + 1
        if self.calls[k] <= self.slow_calls:
            time.sleep(self.sleep_s)
        return x.sum(dim=1)


def test_inference_latency_excludes_warmup_calls():
    model = _SlowFirstCalls(slow_calls=2, sleep_s=0.2)
    report = inference_latency(model, lambda k: torch.zeros(k, 3), batch_size=8, n_samples=20,
                               warmup=2, batch_repeats=1)
    assert model.calls == {8: 2 + 3, 1: 2 + 20}  # warm-up calls were made, then 3 full batches
    assert report.n_batches == 3 and len(report.single_ms) == 20
    # every timed call is a sum of 24 zeros; 100 ms is half a warm-up sleep
    assert report.single_max_ms < 100
    assert report.batched_ms_per_sample * 8 < 100
    assert report.single_min_ms <= report.single_low_ms <= report.single_p50_ms
    assert report.single_p50_ms <= report.single_p99_ms <= report.single_max_ms


def test_inference_latency_without_warmup_sees_the_slow_calls():
    model = _SlowFirstCalls(slow_calls=1, sleep_s=0.2)
    report = inference_latency(model, lambda k: torch.zeros(k, 3), batch_size=4, n_samples=4,
                               warmup=0, batch_repeats=1)
    assert report.single_max_ms >= 200
    assert report.batched_ms_per_sample * 4 >= 200


def test_inference_latency_judges_the_fastest_batched_pass():
    # the first pass over the batches sleeps, as a pass disturbed by other work would
    model = _SlowFirstCalls(slow_calls=1, sleep_s=0.2)
    report = inference_latency(model, lambda k: torch.zeros(k, 3), batch_size=4, n_samples=8,
                               warmup=0, batch_repeats=3)
    assert model.calls[4] == 2 * 3 and report.batch_repeats == 3
    assert report.batched_ms_per_sample * 4 < 100  # not the slow pass
    assert report.batched_median_ms_per_sample >= report.batched_ms_per_sample
    assert report.batched_samples_per_s == pytest.approx(1e3 / report.batched_ms_per_sample)


def test_inference_latency_restores_training_mode_of_a_module():
    model = torch.nn.Linear(3, 2).train()
    report = inference_latency(model, lambda k: torch.randn(k, 3), batch_size=4, n_samples=8,
                               warmup=1)
    assert model.training
    assert report.device == "cpu"
    assert json.loads(json.dumps(report.to_dict()))["batch_size"] == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "inference_latency.batch_size = 0"),
        ({"n_samples": -1}, "inference_latency.n_samples = -1"),
        ({"warmup": 1.5}, "inference_latency.warmup = 1.5"),
        ({"device": "tpu"}, "inference_latency.device = 'tpu'"),
        ({"batch_repeats": 0}, "inference_latency.batch_repeats = 0"),
    ],
)
def test_inference_latency_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        inference_latency(lambda x: x, lambda k: torch.zeros(k, 1), **kwargs)


# ----------------------------------------------------------------------------- memory


def test_peak_memory_sees_a_200_mb_allocation():
    report = peak_memory(_allocate, FLOATS_200MB)
    # the tracker counts the storage's bytes exactly; the RSS also holds the 200 MB pages
    assert report.tensor_peak_mb == pytest.approx(200.0, abs=0.01)
    assert report.tensor_retained_mb == pytest.approx(0.0, abs=0.01)  # freed on return
    assert report.rss_peak_mb is not None and report.rss_peak_mb >= 190
    assert report.rss_exact


def test_peak_memory_of_a_1_mb_allocation_is_small():
    report = peak_memory(_allocate, FLOATS_1MB)
    assert report.tensor_peak_mb == pytest.approx(1.0, abs=0.01)
    # 1 MB plus whatever the allocator and interpreter touch: far from 200 MB, whatever ran before
    assert report.rss_peak_mb is not None and report.rss_peak_mb < 100


def test_peak_memory_counts_activations_until_backward_frees_them():
    w = torch.randn(1000, 1000, requires_grad=True)

    def step():
        h = torch.tanh(torch.tanh(torch.randn(1000, 1000) @ w))  # saves input, two outputs
        h.sum().backward()

    report = peak_memory(step)
    # alive together before backward: the input, the matmul output, two tanh outputs (4 MB
    # each); the gradient of w (4 MB) outlives the call
    assert report.tensor_peak_mb >= 16.0
    assert report.tensor_retained_mb == pytest.approx(4.0, abs=0.01)


def test_peak_memory_in_a_fresh_process_returns_the_report():
    report = run_in_subprocess(peak_memory, _allocate, FLOATS_200MB)
    assert report.tensor_peak_mb == pytest.approx(200.0, abs=0.01)
    assert report.rss_peak_mb >= 190 and report.rss_exact


def test_run_in_subprocess_uses_another_process_and_raises_its_error():
    assert run_in_subprocess(os.getpid) != os.getpid()
    with pytest.raises(ValueError, match="math domain error"):
        run_in_subprocess(math.sqrt, -1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_peak_memory_sees_a_200_mb_cuda_allocation():
    report = peak_memory(lambda: float(torch.ones(FLOATS_200MB, device="cuda")[-1]),
                         device="cuda")
    assert report.tensor_peak_mb == pytest.approx(200.0, abs=1.0)  # allocator rounds blocks up


# ----------------------------------------------------------------------------- throughput, device


def test_achieved_gflops_is_flops_over_seconds():
    assert achieved_gflops(3e9, 1.5) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="achieved_gflops.seconds = 0"):
        achieved_gflops(1e9, 0)


def test_matmul_peak_gflops_is_a_finite_positive_rate():
    gflops = matmul_peak_gflops(size=128, repeats=2)
    assert math.isfinite(gflops) and gflops > 0
    with pytest.raises(ValueError, match="matmul_peak_gflops.dtype = 'int8'"):
        matmul_peak_gflops(size=8, dtype="int8")


def test_device_label_names_cpu_and_threads():
    label = device_label("cpu")
    assert label.startswith("cpu: ")
    n = torch.get_num_threads()
    assert label.endswith(f", {n} thread" + ("" if n == 1 else "s"))


def test_importing_profiling_does_not_import_lightning():
    code = ("import sys, cancer_alpha.profiling; print(sorted({m.split('.')[0] for m in "
            "sys.modules} & {'pytorch_lightning', 'lightning'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- Lightning's overhead


@pytest.mark.parametrize("name", ["mmt_modality", "tab_transformer"])
def test_plain_pytorch_loop_trains_the_same_weights_as_the_lightning_loop(name):
    # the same training step, optimiser, schedule, clipping and batches: only the loop differs
    profile = load_profile("smoke")
    # on the CPU, where both loops compute in float32 (on a GPU Lightning would mix precisions)
    train_cfg = dataclasses.replace(profile.train, modality_dropout=0.3, aux_loss_weight=0.5,
                                    accelerator="cpu")
    lightning_epoch, plain_epoch = plain_epoch_fn(name, 100, 8, train_cfg, profile.model)
    trained, plain = lightning_epoch().state_dict(), plain_epoch().state_dict()
    assert trained.keys() == plain.keys()
    assert all(torch.equal(trained[k], plain[k]) for k in trained)
    torch.manual_seed(0)
    untrained = build_model(name, synthetic_specs(8), 5, profile.model).state_dict()
    assert any(not torch.equal(untrained[k], plain[k]) for k in untrained)  # it did train
