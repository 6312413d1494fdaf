"""Interruptions: the signal that stopped a command, the work it keeps for a rerun, and the
exit status that says which signal it was."""

from __future__ import annotations

import sys
from typing import Any

EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM), as a scheduler stopping the job sends it


class Interrupt:
    """The signal that stopped the command (Ctrl-C's SIGINT, or SIGTERM as schedulers such as
    Slurm and Kubernetes send it), and what the command keeps for a rerun. Lightning turns
    the KeyboardInterrupt of a fit into ``SystemExit(1)``, so the signal itself is noted."""

    signum: int | None = None
    kept: Any = None  # () -> str: the work kept for a rerun, in words ('' for none)

    @classmethod
    def reset(cls) -> None:
        cls.signum, cls.kept = None, None

    @classmethod
    def handler(cls, signum: int, frame: Any) -> None:
        if cls.signum is None:
            cls.signum = signum
            raise KeyboardInterrupt


def _stop_workers() -> None:
    """End the worker processes of parallel fits at once (joblib's loky executor), rather
    than leave them running after the command."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:
        try:
            executor.shutdown(wait=False, kill_workers=True)
        except Exception:  # already broken by the interruption: nothing left to stop
            pass


def interrupted(prefix: str) -> int:
    import signal

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    _stop_workers()
    try:
        kept = Interrupt.kept() if Interrupt.kept is not None else ""
    except Exception:  # reporting must not hide the interruption
        kept = ""
    what = (f"kept {kept}: run the same command again to resume" if kept
            else "nothing was written")
    print(f"{prefix}: interrupted; {what}", file=sys.stderr)
    return EXIT_TERMINATED if Interrupt.signum == signal.SIGTERM else EXIT_INTERRUPTED
