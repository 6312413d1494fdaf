"""Settings for fast inference that the models apply themselves, so that every caller
(``FittedModel.outputs``, the latency benchmarks) benefits without calling anything.

A single sample runs on one torch thread: none of its operations is large enough to split
(a few thousand elements each), so a second thread only adds a synchronisation per operation,
and on a CPU shared with other work each of those waits for a descheduled thread (a
single-sample prediction measured 1.6 ms on one thread and 9.5 ms on two, on a loaded 2-core
machine). Large batches keep torch's thread setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

# inference batches up to this size run on one thread
ONE_THREAD_MAX_BATCH = 16


@contextmanager
def one_thread() -> Iterator[None]:
    """Within the block torch uses one intra-op thread; its setting comes back afterwards.
    The setting is per process: another Python thread running torch meanwhile shares it."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def small_inference(batch_size: int) -> bool:
    """Whether a forward pass of ``batch_size`` samples is inference (no gradients) small
    enough to run on one thread."""
    return (not torch.is_grad_enabled() and batch_size <= ONE_THREAD_MAX_BATCH
            and torch.get_num_threads() > 1)
