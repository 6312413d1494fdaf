"""The ``cancer-alpha`` command. Heavy libraries are imported inside each command, so that
``cancer-alpha --help`` answers at once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EPILOG = """\
examples:
  cancer-alpha reproduce --profile smoke --book     execute every chapter, render the book
  cancer-alpha reproduce --profile paper --only 01,03
"""


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import reproduce

    reproduce(args.profile, only=args.only, book=args.book,
              execute_notebooks=not args.no_execute)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cancer-alpha",
        description="Multi-modal cancer classification from genomic data: the executable book "
                    "and its command-line tools.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "reproduce", help="execute chapters with papermill at a profile; optionally build the book",
        description="Convert each chapter (notebooks/NN_*.py) with jupytext, execute it with "
                    "papermill using profiles/PROFILE.yml as parameters (run records go to "
                    "results/PROFILE/), and with --book render build/PROFILE/book with "
                    "jupyter-book -W.",
    )
    p.add_argument("--profile", default="paper",
                   help="profile name, a file in profiles/ (smoke, paper, large; default paper)")
    p.add_argument("--only", metavar="NN[,NN...]",
                   help="comma-separated chapter numbers or names, e.g. 01,03 (default: all)")
    p.add_argument("--book", action="store_true", help="render the HTML book afterwards")
    p.add_argument("--no-execute", action="store_true",
                   help="render the book from notebooks executed earlier, executing nothing")
    p.set_defaults(func=_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"cancer-alpha {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
