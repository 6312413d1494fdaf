"""`synthesize`: a synthetic cohort written as a data folder."""

from __future__ import annotations

import argparse
from typing import Any

from .options import add_out, add_overwrite, add_profile, add_seed, positive_int
from .paths import output_folder
from .steps import warn


def _synthesize(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import load_profile
    from ..datasets import write_folder
    from ..synth import synthesize

    out = output_folder(args.out, "--out", overwrite=args.overwrite)
    profile = load_profile(args.profile)
    n = profile.cohort.n_samples if args.n_samples is None else args.n_samples
    cohort = synthesize(profile.cohort, n_samples=n, seed=args.seed)
    counts = np.bincount(cohort.y, minlength=len(cohort.class_names))
    _warn_if_untrainable(cohort.data, counts, n)
    write_folder(cohort.data, out, fmt=args.format, overwrite=args.overwrite)
    shown = ", ".join(f"{c}: {int(k)}" for c, k in zip(cohort.class_names, counts, strict=True))
    print(f"wrote {n} synthetic samples ({shown}) to {out}")
    return 0


def _warn_if_untrainable(data: Any, counts: Any, n: int) -> None:
    """Say what `train` will make of a synthesized folder, before it is written."""
    from ..datasets import check_training_data, drop_constant_features
    from ..errors import CancerAlphaError

    few = [c for c, k in zip(data.class_names, counts, strict=True) if k < 2]
    if few:
        warn(f"{n} samples drew fewer than 2 samples of {', '.join(map(repr, few))}: no "
              "score can be measured for such a class; draw more samples for a useful "
              "training set")
    import warnings

    from ..errors import CancerAlphaWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CancerAlphaWarning)  # said once above
            check_training_data(data, val_fraction=None)
            drop_constant_features(data, "error")
    except CancerAlphaError as exc:
        warn(f"`train` will refuse this folder as it stands: {exc}")


def add_synthesize(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("synthesize", parents=[common],
                       help="write a synthetic cohort as a data folder",
                       description="Draw a synthetic cohort (Chapter 1's generator, at a "
                                   "profile's cohort settings) and write it in the data-folder "
                                   "format that train, cv, predict and evaluate read.")
    add_profile(p, help="profile whose cohort settings to use (default paper)")
    add_out(p, help="folder to create")
    p.add_argument("--n-samples", type=positive_int,
                   help="number of samples (default: the profile's)")
    add_seed(p, help="sample seed (default 0)")
    p.add_argument("--format", default="csv", choices=["csv", "tsv", "parquet"])
    add_overwrite(p)
    p.set_defaults(func=_synthesize)
