"""Was the machine quiet? A check around each block of timings.

A timing taken while other work shares the CPU is longer than the code's own cost, and
nothing in one number says by how much. A block of timings is checked for three signs of
disturbance, each against a named tolerance:

1. **The machine's rate, probed.** A float32 matrix multiply (:data:`PROBE_SIZE` square, the
   best of :data:`PROBE_REPEATS` products) just before and just after the block. The block is
   disturbed when its lower probe falls more than :data:`PEAK_TOLERANCE` below the best probe
   of the run, the block's own two included: so also when its before and after disagree.
2. **The spread of its own repeats.** Median over low quantile
   (:data:`cancer_alpha.profiling.meters.LOW_QUANTILE`) above :data:`SPREAD_TOLERANCE`: most
   repeats were slowed by something that spared the fastest.
3. **Other processes' CPU time.** During the block (probes included), the CPU time other
   processes used on the CPUs this process may run on (Linux ``/proc/stat``, less this
   process's own CPU time and that of its reaped children; time a hypervisor gave to other
   machines counts as other processes') above :data:`FOREIGN_TOLERANCE` of the CPU time there
   was. This catches a load that lasts the whole run, which the probes (as slow after as
   before) and the spread (every repeat as slow) can miss. Where ``/proc/stat`` is not
   available, or lists CPUs this process may use only under a quota, this sign is missing or
   diluted and the probes remain.

A disturbed block's report says which tolerance it exceeded; the claim rules then give "not
judged" (:func:`cancer_alpha.claims.for_machine`). Memory peaks are counts of bytes, not
times: a busy machine slows their measurement down but does not change them, and they need
no such check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cancer_alpha.profiling.meters import _device, _sync, low_quantile, matmul_peak_gflops
from cancer_alpha.profiling.reports import QuietnessReport

PROBE_SIZE = 1024
"""Matrix size of the probe: one float32 product is 2.1 GFLOP, about 15 ms on 2 cores of a
144 GFLOP/s CPU. A product that outlasts several scheduler time slices cannot slip between
other processes' slices, as a 512 product (about 2 ms) often does."""

PROBE_REPEATS = 4
"""Timed products of one probe (after one untimed): the best of 4 is steady on a quiet machine,
where a probe costs about 0.1 s (a few times that on a busy one)."""

PEAK_TOLERANCE = 0.25
"""A block is disturbed when its lower probe is more than this fraction below the best probe of
the run. The best of a few products repeats within a few percent on a quiet machine; one
competing busy process per core takes half of the rate or more."""

SPREAD_TOLERANCE = 1.5
"""A block is disturbed when the median of one of its repeated timings exceeds the low quantile
by more than this factor. Repeats of one computation agree within 10-30% (single calls of a
millisecond or two vary most), even beside a steady load; a load that comes and goes, slowing
most repeats but sparing the fastest, shows beyond it."""

FOREIGN_TOLERANCE = 0.25
"""A block is disturbed when other processes used more than this share of the CPU time of the
CPUs it could run on. A quiet desktop's background uses a few percent; one busy process on a
2-core machine uses 50%. The models time with as many threads as there are cores, so every
busy core of another process delays them."""


PROBE_WARMUP_S = 0.5
"""Seconds of untimed products before a probe. A CPU that idled, even for a second or two
between blocks, runs its first products slower: on a 2-core AMD EPYC, probes taken after 2 s
of idling ranged from 129 to 199 GFLOP/s (two rounds of six), enough for a quiet block to read
as disturbed; after 0.5 s of products they ranged from 187 to 202."""


def _warm_up(seconds: float, device: str | torch.device | None) -> None:
    """Run :data:`PROBE_SIZE` square products for at least ``seconds``."""
    dev = _device(device, "probe_gflops")
    a = torch.ones(PROBE_SIZE, PROBE_SIZE, device=dev)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a
        _sync(dev)


def probe_gflops(device: str | torch.device | None = None) -> float:
    """The probe of the machine's rate: best float32 GFLOP/s of :data:`PROBE_SIZE` square
    products over :data:`PROBE_REPEATS`, with torch's current number of threads, after
    :data:`PROBE_WARMUP_S` of untimed products."""
    _warm_up(PROBE_WARMUP_S, device)
    return matmul_peak_gflops(size=PROBE_SIZE, dtype="float32", repeats=PROBE_REPEATS,
                              device=device)


# ----------------------------------------------------------------------- other processes


@dataclass(frozen=True)
class CpuSample:
    """CPU time since boot of the CPUs this process may run on, and this process's own."""

    busy_s: float  # all processes, the system and other machines (steal), summed over CPUs
    total_s: float  # busy and idle: the CPU time there was
    own_s: float  # this process and its reaped children


def cpu_sample() -> CpuSample | None:
    """The CPU times now, from ``/proc/stat`` and ``os.times``; None where there is no
    ``/proc/stat``."""
    try:
        with open("/proc/stat") as f:
            lines = f.readlines()
    except OSError:
        return None
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    busy = total = 0
    for line in lines:
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue  # the "cpu" line sums all CPUs, allowed or not
        if allowed is not None and int(name[3:]) not in allowed:
            continue
        # user nice system idle iowait irq softirq steal (guest time is inside user and nice)
        user, nice, system, idle, iowait, irq, softirq, steal = [
            int(x) for x in (fields + ["0"] * 8)[:8]]
        b = user + nice + system + irq + softirq + steal
        busy += b
        total += b + idle + iowait
    if total == 0:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    t = os.times()
    return CpuSample(busy / hz, total / hz, t.user + t.system + t.children_user + t.children_system)


def foreign_cpu_share(before: CpuSample | None, after: CpuSample | None) -> float | None:
    """Share of the CPU time between two samples that other processes used, in [0, 1]; None
    without both samples or without time between them."""
    if before is None or after is None or after.total_s <= before.total_s:
        return None
    foreign = (after.busy_s - before.busy_s) - (after.own_s - before.own_s)
    return min(max(foreign / (after.total_s - before.total_s), 0.0), 1.0)


# ----------------------------------------------------------------------- the rule


def spread_of(timings: Any) -> float:
    """Median over low quantile of repeated timings: a report with a ``spread`` (timing,
    latency, interleaved) or a sequence of seconds."""
    if hasattr(timings, "spread"):
        return float(timings.spread)
    values = np.asarray(timings, dtype=float)
    low = low_quantile(values)
    return float(np.median(values)) / low if low > 0 else 1.0


def assess(block: str, *, peak_before: float | None = None, peak_after: float | None = None,
           peak_best: float | None = None, spread: float | None = None,
           foreign_share: float | None = None, seconds: float = 0.0) -> QuietnessReport:
    """Whether a block was disturbed, from its probes (and the best of the run), the spread of
    its repeats and other processes' share of the CPU; a sign not measured (None) is not
    held against it. At a tolerance exactly, the block counts as quiet."""
    reasons = []
    probes = [p for p in (peak_before, peak_after) if p is not None]
    best = max([*probes, *([] if peak_best is None else [peak_best])], default=None)
    drop = None
    if probes and best:
        drop = 1.0 - min(probes) / best
        if drop > PEAK_TOLERANCE:
            where = ("before and after disagree" if len(probes) == 2 and best == max(probes)
                     else "below the best probe of the run")
            reasons.append(f"matmul probe {min(probes):.1f} GFLOP/s, {100 * drop:.0f}% "
                           f"below {best:.1f} ({where}, tolerance "
                           f"{100 * PEAK_TOLERANCE:.0f}%)")
    if spread is not None and spread > SPREAD_TOLERANCE:
        reasons.append(f"repeats' median {spread:.2f} times their low quantile (tolerance "
                       f"{SPREAD_TOLERANCE:g})")
    if foreign_share is not None and foreign_share > FOREIGN_TOLERANCE:
        reasons.append(f"other processes used {100 * foreign_share:.0f}% of the CPU time "
                       f"(tolerance {100 * FOREIGN_TOLERANCE:.0f}%)")
    return QuietnessReport(
        block=block, peak_before_gflops=peak_before, peak_after_gflops=peak_after,
        peak_best_gflops=best, peak_drop=drop, spread=spread, foreign_share=foreign_share,
        seconds=seconds, disturbed=bool(reasons), reason="; ".join(reasons),
    )


def timings_check(block: str, groups: Sequence[Sequence[float]]) -> QuietnessReport:
    """The quietness of a block known only from its timings (no probes, no CPU times):
    ``groups`` of repeated timings of one and the same computation, such as the epochs of
    several training runs of one model on data of one size. Its spread is the largest median
    of a group over the lowest low quantile of all groups, so a group timed on a busier
    machine than the others shows even when its own repeats agree."""
    groups = [list(g) for g in groups if len(g)]
    if not groups:
        return assess(block)
    low = min(low_quantile(g) for g in groups)
    spread = max(float(np.median(g)) for g in groups) / low if low > 0 else 1.0
    return assess(block, spread=spread, seconds=float(sum(map(sum, groups))))


# ----------------------------------------------------------------------- around a block


@dataclass
class Block:
    """A block of timings being checked; its ``report`` is set when the block ends."""

    name: str
    spread: float | None = None
    report: QuietnessReport | None = None

    def timings(self, *measured: Any) -> None:
        """Note repeated timings measured in this block (reports or sequences of seconds, each
        of one computation): the block's spread is the largest of theirs."""
        for m in measured:
            s = spread_of(m)
            self.spread = s if self.spread is None else max(self.spread, s)


class QuietnessMonitor:
    """The quietness checks of one run's timing blocks, in the order they ran.

    ``with monitor.block("inference latency") as block: ...`` probes the machine's rate before
    and after the block, samples the CPU times around it, and sets ``block.report`` on exit
    (also appended to ``monitor.reports``). ``probe`` and ``sampler`` replace the matmul probe
    and ``/proc/stat`` (tests).
    """

    def __init__(self, device: str | torch.device | None = None,
                 probe: Callable[[], float | None] | None = None,
                 sampler: Callable[[], CpuSample | None] = cpu_sample) -> None:
        self._probe = probe or (lambda: probe_gflops(device))
        self._sampler = sampler
        self.best: float | None = None  # the best probe so far
        self.reports: list[QuietnessReport] = []

    @contextmanager
    def block(self, name: str) -> Iterator[Block]:
        """Check the block of timings run inside the ``with`` statement."""
        start = time.perf_counter()
        first = self._sampler()
        before = self._probe()
        block = Block(name)
        yield block
        after = self._probe()
        last = self._sampler()
        probes = [p for p in (self.best, before, after) if p is not None]
        self.best = max(probes, default=None)
        block.report = assess(name, peak_before=before, peak_after=after, peak_best=self.best,
                              spread=block.spread, foreign_share=foreign_cpu_share(first, last),
                              seconds=time.perf_counter() - start)
        self.reports.append(block.report)

    @property
    def disturbed(self) -> list[QuietnessReport]:
        """The reports of the disturbed blocks."""
        return [r for r in self.reports if r.disturbed]
