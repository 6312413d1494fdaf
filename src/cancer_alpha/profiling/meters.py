"""Meters: time, inference latency, memory and throughput of any callable, and the device they
ran on.

Every measurement returns a small report dataclass with ``to_dict()`` for the results files.
Memory is in MB (10^6 bytes) and times in seconds or milliseconds, as each field's name says.

Which time to judge: every timing is repeated, and the reports give the minimum, a low
quantile (:data:`LOW_QUANTILE`) and the median of the repeats. Other work on the machine only
ever adds time to a call, so the fast end of the repeats estimates what the code itself costs,
and the median what it cost on this machine at that moment; ``timeit`` advises the minimum for
the same reason. The figures that claims are judged on are the low quantile (``low_s``,
``single_low_ms``) and, where the repeats are whole passes over many samples, the fastest pass
(``batched_ms_per_sample``). The median stays beside them, and their ratio (``spread``) is one
of the signs that a block was disturbed (:mod:`cancer_alpha.profiling.quietness`). Ratios of
two codes are timed interleaved (:func:`time_interleaved`), so that both see the same machine.

What the memory numbers count:

- ``rss_peak_mb``: the process resident-set high-water mark (``VmHWM``) during the call minus
  the resident set just before it, both from ``/proc/self/status``. It is everything the
  process took from the operating system: tensors, Python objects, libraries paged in on first
  use. Memory that the C allocator already held from earlier work is reused without showing
  here, so the honest figure for one configuration comes from a fresh process
  (``run_in_subprocess``).
- ``tensor_peak_mb``: on the CPU, the peak total size of the tensor storages that torch
  operators created during the call and that were alive at the same time (tracked by a
  ``TorchDispatchMode``; storages are released when torch frees them, so activations kept for
  the backward pass count until the backward pass frees them). It does not count tensors that
  existed before the call, scratch buffers internal to one kernel, or memory outside torch.
  For a training step it equals the CPU allocator's own peak as ``torch.profiler`` records it;
  a fused inference kernel (``nn.TransformerEncoderLayer``'s fast path) hides its
  intermediates from it, and the RSS figure is then the one to read. Tracking costs a Python
  call per operator (about twice the run time of small-operator code): time in another run.
  On a GPU, ``torch.cuda.max_memory_allocated`` above what was allocated before the call.

Importing this module imports torch but not pytorch_lightning.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import time
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from cancer_alpha.config import require
from cancer_alpha.profiling.reports import (
    MB,
    InterleavedReport,
    LatencyReport,
    MemoryReport,
    TimingReport,
)


def _device(device: str | torch.device | None, where: str) -> torch.device:
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        dev = None
    require(dev is not None and dev.type in ("cpu", "cuda"), where, "device", device,
             "'cpu', 'cuda' or 'cuda:<index>'")
    assert dev is not None
    if dev.type == "cuda":
        require(torch.cuda.is_available(), where, "device", device,
                 "'cpu' (no CUDA device is available)")
    return dev


def _sync(dev: torch.device) -> None:
    # CUDA kernels run asynchronously: a clock read without a sync times only the launch
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _cpu_model() -> str:
    from cancer_alpha.reference import cpu_model  # light: the manifest's reading of the CPU

    return cpu_model()


def device_label(device: str | torch.device | None = None) -> str:
    """The device a measurement ran on, in words (default: CUDA if available, else the CPU)."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = _device(device, "device_label")
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    n = torch.get_num_threads()
    return f"cpu: {_cpu_model()}, {n} thread{'' if n == 1 else 's'}"


LOW_QUANTILE = 0.1
"""The quantile of repeated timings that claims are judged on, taken as an observed time (the
``lower`` method): the minimum for up to 10 repeats, the 10th percentile of hundreds. Over a
few repeats the minimum is the best estimate of the undisturbed cost; over hundreds of calls
the minimum is one lucky call (timer granularity, a cache left hot), while the 10th percentile
is as free of interference and does not rest on one call. On a quiet machine the calls of a
fixed computation vary by a few percent, so it differs little from the median there."""


def low_quantile(values: Any) -> float:
    """The :data:`LOW_QUANTILE` quantile of ``values``, as one of the observed values."""
    return float(np.quantile(np.asarray(values, dtype=float), LOW_QUANTILE, method="lower"))


def _count(where: str, name: str, value: Any, minimum: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    require(ok, where, name, value, f"an integer >= {minimum}")


def time_callable(
    fn: Callable[..., Any],
    *args: Any,
    repeats: int = 5,
    warmup: int = 1,
    device: str | torch.device | None = None,
    **kwargs: Any,
) -> TimingReport:
    """Wall-clock seconds of ``fn(*args, **kwargs)`` over ``repeats`` calls after ``warmup``
    (judge ``low_s``: see the module doc)."""
    _count("time_callable", "repeats", repeats, 1)
    _count("time_callable", "warmup", warmup, 0)
    dev = _device(device, "time_callable")
    for _ in range(warmup):
        fn(*args, **kwargs)
    seconds = [_seconds(dev, fn, *args, **kwargs) for _ in range(repeats)]
    return _timing(str(dev), warmup, seconds)


def _seconds(dev: torch.device, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> float:
    _sync(dev)
    start = time.perf_counter()
    fn(*args, **kwargs)
    _sync(dev)
    return time.perf_counter() - start


def _timing(device: str, warmup: int, seconds: list[float]) -> TimingReport:
    return TimingReport(
        device=device, repeats=len(seconds), warmup=warmup, seconds=tuple(seconds),
        median_s=float(np.median(seconds)), min_s=min(seconds), max_s=max(seconds),
        low_s=low_quantile(seconds),
    )


def time_interleaved(
    fns: Mapping[str, Callable[[], Any]],
    repeats: int = 5,
    warmup: int = 1,
    device: str | torch.device | None = None,
) -> InterleavedReport:
    """Wall-clock seconds of each callable of ``fns`` (name -> callable), timed in turn: A, B,
    B, A, A, B, ... (the order reversed every round), ``repeats`` rounds after ``warmup``.

    A load that comes and goes then hits every arm alike instead of one arm's whole series.
    The ratio of the first two arms is the median over rounds of their ratio within a round
    (both timed under the same conditions); the ratio of their low quantiles is beside it.
    """
    where = "time_interleaved"
    require(isinstance(fns, Mapping) and len(fns) >= 2 and all(map(callable, fns.values())),
             where, "fns", fns, "a mapping of at least two names to callables")
    _count(where, "repeats", repeats, 1)
    _count(where, "warmup", warmup, 0)
    dev = _device(device, where)
    names, calls = list(fns), list(fns.values())
    for _ in range(warmup):
        for fn in calls:
            fn()
    seconds: list[list[float]] = [[] for _ in calls]
    for r in range(repeats):
        for i in (range(len(calls)) if r % 2 == 0 else reversed(range(len(calls)))):
            seconds[i].append(_seconds(dev, calls[i]))
    arms = tuple(_timing(str(dev), warmup, s) for s in seconds)
    rounds = tuple(a / b if b > 0 else math.inf for a, b in zip(seconds[0], seconds[1],
                                                                strict=True))
    return InterleavedReport(
        names=tuple(names), arms=arms, rounds=repeats, ratio=float(np.median(rounds)),
        round_ratios=rounds,
        ratio_of_lows=arms[0].low_s / arms[1].low_s if arms[1].low_s > 0 else math.inf,
    )


def _call(model: Callable[..., Any], batch: Any) -> Any:
    return model(*batch) if isinstance(batch, tuple) else model(batch)


def inference_latency(
    model: Callable[..., Any],
    make_batch: Callable[[int], Any],
    batch_size: int = 256,
    n_samples: int = 200,
    warmup: int = 10,
    device: str | torch.device | None = None,
    batch_repeats: int = 5,
) -> LatencyReport:
    """Batched ms per sample and single-sample latency percentiles of ``model`` in inference.

    ``make_batch(k)`` returns the input for k samples, already on the device; a tuple is
    unpacked into positional arguments. Inputs are built before the clock starts. The batched
    phase times ``batch_repeats`` passes over ceil(n_samples / batch_size) full batches (the
    fastest pass is the figure to judge, the median pass is beside it), the single-sample
    phase n_samples calls; each phase first makes ``warmup`` untimed calls of its own shape.
    The device defaults to that of the model's parameters.
    """
    where = "inference_latency"
    _count(where, "batch_size", batch_size, 1)
    _count(where, "n_samples", n_samples, 1)
    _count(where, "warmup", warmup, 0)
    _count(where, "batch_repeats", batch_repeats, 1)
    if device is None and isinstance(model, torch.nn.Module):
        device = next((p.device for p in model.parameters()), None)
    dev = _device(device, where)

    n_batches = math.ceil(n_samples / batch_size)
    batches = [make_batch(batch_size) for _ in range(n_batches)]
    singles = [make_batch(1) for _ in range(n_samples)]
    warm_batch, warm_single = make_batch(batch_size), make_batch(1)

    def one_pass() -> None:
        for batch in batches:
            _call(model, batch)

    was_training = isinstance(model, torch.nn.Module) and model.training
    if isinstance(model, torch.nn.Module):
        model.eval()
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                _call(model, warm_batch)
            passes = [_seconds(dev, one_pass) for _ in range(batch_repeats)]
            for _ in range(warmup):
                _call(model, warm_single)
            single_ms = [_seconds(dev, _call, model, x) * 1e3 for x in singles]
    finally:
        if was_training:
            model.train()  # type: ignore[union-attr]

    n_timed = n_batches * batch_size
    fastest = min(passes)
    return LatencyReport(
        device=str(dev), batch_size=batch_size, n_batches=n_batches, n_samples=n_samples,
        warmup=warmup, batch_repeats=batch_repeats,
        batched_ms_per_sample=fastest * 1e3 / n_timed,
        batched_median_ms_per_sample=float(np.median(passes)) * 1e3 / n_timed,
        batched_samples_per_s=n_timed / fastest if fastest > 0 else math.inf,
        single_low_ms=low_quantile(single_ms),
        single_min_ms=min(single_ms),
        single_p50_ms=float(np.percentile(single_ms, 50)),
        single_p99_ms=float(np.percentile(single_ms, 99)),
        single_mean_ms=float(np.mean(single_ms)),
        single_max_ms=max(single_ms),
        single_ms=tuple(single_ms),
    )


def _proc_status() -> dict[str, float] | None:
    """VmRSS and VmHWM of this process in MB, or None where /proc is not available."""
    try:
        with open("/proc/self/status") as f:
            lines = f.readlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) * 1024 / MB  # the kernel writes kB = KiB
    return out if len(out) == 2 else None


def _reset_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _LiveTensorBytes(TorchDispatchMode):
    """Counts the bytes of CPU tensor storages created by operators while active, and their peak."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[int, int] = {}  # id of a live storage -> its bytes
        self.refs: dict[int, weakref.ref] = {}  # a weak reference calls back only while alive
        self.current = 0
        self.peak = 0

    def _released(self, key: int) -> None:
        self.refs.pop(key, None)
        self.current -= self.sizes.pop(key, 0)

    def _track(self, t: torch.Tensor, fresh: bool) -> None:
        if t.device.type != "cpu":
            return
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):  # sparse and other storage-less layouts
            return
        key, nbytes = id(storage), storage.nbytes()
        if key in self.sizes:  # an out= or resize_ op may have grown a storage we track
            self.current += nbytes - self.sizes[key]
            self.sizes[key] = nbytes
        elif fresh:
            # torch keeps one Python storage object per live storage, so this reference dies
            # exactly when torch frees the memory (activations saved for backward included)
            self.refs[key] = weakref.ref(storage, lambda _, k=key: self._released(k))
            self.sizes[key] = nbytes
            self.current += nbytes
        self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        # outputs without alias annotation are new storages; views and in-place results are not
        schema = getattr(func, "_schema", None)
        fresh = schema is not None and all(r.alias_info is None for r in schema.returns)
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self._track(t, fresh)
        return out


def peak_memory(
    fn: Callable[..., Any],
    *args: Any,
    device: str | torch.device | None = "cpu",
    **kwargs: Any,
) -> MemoryReport:
    """Peak memory of ``fn(*args, **kwargs)`` above the state just before it (see module doc)."""
    dev = _device(device, "peak_memory")
    if dev.type == "cpu":
        # the first dispatch mode of a process imports ~800 modules (about 75 MB of RSS):
        # pay that before the baseline, not inside the measurement
        with _LiveTensorBytes():
            torch.zeros(1).add_(1)
    gc.collect()  # garbage freed during the call would hide part of its peak
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        cuda_before = torch.cuda.memory_allocated(dev)
    reset = _reset_high_water_mark()
    before = _proc_status()
    # without a reset, an older and higher high-water mark can hide this call's peak
    rss_exact = before is not None and (reset or before["VmHWM"] <= before["VmRSS"])

    if dev.type == "cuda":
        fn(*args, **kwargs)
        torch.cuda.synchronize(dev)
        tensor_peak = torch.cuda.max_memory_allocated(dev) - cuda_before
        tensor_retained = torch.cuda.memory_allocated(dev) - cuda_before
        source = "torch.cuda.max_memory_allocated"
    else:
        with _LiveTensorBytes() as tracker:
            fn(*args, **kwargs)
        tensor_peak, tensor_retained = tracker.peak, tracker.current
        source = "live CPU tensor storages created by torch operators"
    after = _proc_status()

    rss_peak = None
    if before is not None and after is not None:
        rss_peak = max(after["VmHWM"] - before["VmRSS"], 0.0)
    return MemoryReport(
        device=str(dev),
        tensor_peak_mb=tensor_peak / MB,
        tensor_retained_mb=tensor_retained / MB,
        rss_peak_mb=rss_peak,
        rss_before_mb=None if before is None else before["VmRSS"],
        rss_exact=rss_exact,
        tensor_source=source,
    )


def run_in_subprocess(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` run in a fresh spawned Python process; its result or its error.

    A fresh process has no high-water mark and no allocator cache from earlier work. ``fn``,
    its arguments and its result must pickle: a function defined at the top level of an
    importable module (not in a notebook), e.g. ``run_in_subprocess(peak_memory, step, model_cfg)``.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def achieved_gflops(flops: float, seconds: float) -> float:
    """Throughput in GFLOP/s of ``flops`` floating-point operations done in ``seconds``."""
    require(isinstance(flops, int | float) and flops >= 0 and math.isfinite(flops),
             "achieved_gflops", "flops", flops, "a finite number >= 0")
    require(isinstance(seconds, int | float) and seconds > 0 and math.isfinite(seconds),
             "achieved_gflops", "seconds", seconds, "a finite number > 0")
    return flops / seconds / 1e9


def matmul_peak_gflops(
    size: int = 2048,
    dtype: str | torch.dtype = "float32",
    repeats: int = 5,
    device: str | torch.device | None = None,
) -> float:
    """Best GFLOP/s of ``torch.matmul`` on two size x size matrices (2 size^3 flops a call)."""
    where = "matmul_peak_gflops"
    _count(where, "size", size, 1)
    _count(where, "repeats", repeats, 1)
    dt = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    require(isinstance(dt, torch.dtype) and dt.is_floating_point, where, "dtype", dtype,
             "a floating-point torch dtype such as 'float32' or 'bfloat16'")
    dev = _device(device, where)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device=dev, dtype=dt)
    b = torch.randn(size, size, generator=generator).to(device=dev, dtype=dt)
    timing = time_callable(torch.matmul, a, b, repeats=repeats, warmup=1, device=dev)
    return achieved_gflops(2.0 * size**3, timing.min_s)
