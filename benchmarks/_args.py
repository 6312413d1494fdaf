"""The command-line arguments every benchmark shares: the profile and the torch threads."""

import argparse
import os


def parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--profile`` and ``--threads``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--profile", default="paper", help="settings of this profile (default: paper)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: torch's choice); 1 steadies timings on a "
                   "machine other work shares")
    return p


def parse(p: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parsed arguments; ``--threads`` is applied before torch loads, so that spawned
    measurement processes inherit it."""
    args = p.parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    return args
