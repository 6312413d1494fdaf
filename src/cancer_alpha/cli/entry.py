"""`main`: parse, run the command, and turn what stops it into one line and an exit status:
bad input 2 (``--debug`` shows the traceback), an interruption 130 (Ctrl-C) or 143 (SIGTERM),
an error of the system 1."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .interrupt import Interrupt, interrupted
from .parser import build_parser

EXIT_BAD_INPUT = 2


@contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """The project's warnings as ``cancer-alpha CMD: warning: ...`` lines on stderr."""
    import warnings

    from ..errors import CancerAlphaWarning

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CancerAlphaWarning):
            print(f"cancer-alpha {command}: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("default", CancerAlphaWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    from ..errors import CancerAlphaError

    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"cancer-alpha {args.command}"
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    Interrupt.reset()
    for s in previous:
        signal.signal(s, Interrupt.handler)
    try:
        with _warnings_as_lines(args.command):
            return args.func(args)
    except KeyboardInterrupt:
        return interrupted(prefix)
    except SystemExit as exc:
        if Interrupt.signum is not None and exc.code != 0:
            return interrupted(prefix)
        raise
    except (CancerAlphaError, ValueError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prefix}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"{prefix}: internal error: {type(exc).__name__}: {exc} (rerun with --debug for "
              "the traceback)", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
