"""Steps shared by the commands: warnings, the profile with its overrides, reading and
checking a training folder, tuned settings, probabilities, a JSON record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .paths import input_folder


def warn(message: str) -> None:
    import warnings

    from ..errors import CancerAlphaWarning

    warnings.warn(message, CancerAlphaWarning, stacklevel=2)


def say(message: str) -> None:
    print(message, file=sys.stderr)


def args_profile(args: argparse.Namespace, **train: Any):
    from ..config import load_profile

    profile = load_profile(args.profile)
    changes = {k: v for k, v in train.items() if v is not None}
    return profile.replace(train=changes) if changes else profile


def rarest_class(data) -> tuple[str, int]:
    """The class with the fewest samples among those that have any, and its count."""
    import numpy as np

    counts = np.bincount(data.y, minlength=data.n_classes)
    smallest = int(counts[counts > 0].min())
    return data.class_names[int(np.flatnonzero(counts == smallest)[0])], smallest


def read_training_data(args: argparse.Namespace, *, val_fraction: float | None, seed: int):
    from ..datasets import check_training_data, drop_constant_features, read_folder
    from ..datasets.checks import kind_warnings

    data = read_folder(args.data, labels=True, range_check=not args.no_range_check)
    data, dropped = drop_constant_features(data, args.constant)
    for m, names in dropped.items():
        print(f"dropped {len(names)} constant feature(s) of {m!r}: "
              + ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""), file=sys.stderr)
    check_training_data(data, val_fraction=val_fraction, seed=seed, where=str(args.data))
    for message in kind_warnings(data.specs):
        warn(message)
    counts = [int((data.y == k).sum()) for k in range(data.n_classes)]
    print(f"{data.n_samples} samples; classes "
          + ", ".join(f"{c} ({n})" for c, n in zip(data.class_names, counts, strict=True))
          + "; modalities "
          + ", ".join(f"{s.name} ({s.kind}, {s.n_features})" for s in data.specs),
          file=sys.stderr)
    return data, dropped


def tuned_folder(args: argparse.Namespace, inputs: dict[str, Path]) -> Any:
    """The tuning folder of ``--tuned``, read and checked before any data is."""
    if getattr(args, "tuned", None) is None:
        return None
    from ..tuning_folder import read_tuning_folder

    folder = input_folder(args.tuned, "--tuned")
    inputs["--tuned"] = folder
    return read_tuning_folder(folder)


def tuned_notes(tuned: Any, data: Any, profile: Any) -> None:
    """Warnings when tuned settings meet other data or another profile than they were tuned
    with (they still apply: settings of the same models)."""
    from ..tuning_folder import data_fingerprint

    about = tuned.about
    if about.get("profile") not in (None, profile.name):
        warn(f"--tuned {str(tuned.path)!r}: the settings were tuned with profile "
              f"{about['profile']!r}, and the rest of the recipe comes from profile "
              f"{profile.name!r} (pass --profile {about['profile']} to match)")
    if about.get("data_fingerprint") not in (None, data_fingerprint(data)):
        warn(f"--tuned {str(tuned.path)!r}: the settings were tuned on another data folder "
              f"({about.get('data')!r}, {about.get('n_samples')} samples)")


def probabilities(fitted: Any, data: Any) -> Any:
    import numpy as np

    from ..errors import CancerAlphaError

    proba = fitted.predict_proba(data)
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise CancerAlphaError(f"the model gave non-finite probabilities for sample "
                               f"{data.sample_ids[i]!r} ({int(bad.sum())} samples): its input "
                               "values are out of the range the model can compute with")
    return proba


def write_json(path: Path, value: Any) -> None:
    from ..results import atomic_write_text
    from ..safe_write import json_text

    atomic_write_text(path, json_text(value, indent=2, explain=True))
