"""What a data set must satisfy beyond being well formed, and what deserves a warning.

Reading (:func:`~cancer_alpha.datasets.read_folder`) accepts any well-formed folder. Values
are judged against the kind of their modality here (:func:`check_value_ranges`); training
has rules of its own (:func:`check_training_data`, :func:`drop_constant_features`) that a
test set need not meet; and kinds declared against the data's columns are doubted
(:func:`kind_warnings`). What a trained model's results deserve a warning about (a model that
predicts one class, early stopping that kept the first epoch) is
:mod:`cancer_alpha.training.diagnostics`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from cancer_alpha.data import (
    KIND_INFO,
    SPECIFIC_ENCODER_KINDS,
    ModalitySpec,
    MultiOmicsData,
    train_val_split,
)
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning, DataFolderError

CONSTANT_POLICIES: tuple[str, ...] = ("error", "drop", "keep")

# beta values written with a few decimals may stray by rounding
_TOLERANCE = 1e-6
# fewer columns than this cannot be a histogram or a genome profile worth a convolution
MIN_ORDERED_FEATURES = 8


def _preview(items: Sequence[object], k: int = 5) -> str:
    shown = ", ".join(repr(s) for s in items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def origin(data: MultiOmicsData, name: str) -> str:
    """Where the modality ``name`` of ``data`` was read from, for messages."""
    return data.sources.get(name, f"modality {name!r}")


def check_value_ranges(data: MultiOmicsData) -> None:
    """Refuse (strict kinds) or warn about values outside the range of their modality's kind.

    Methylation betas must lie in [0, 1] and fragment proportions be >= 0 (an error: no other
    reading is plausible); copy-number log2 ratios beyond [-8, 8] get a warning (absolute copy
    numbers are standardised like any feature, so a user may mean them).
    """
    for m, spec in enumerate(data.specs):
        info = KIND_INFO[spec.kind]
        if info.low == -np.inf and info.high == np.inf:
            continue
        present = np.flatnonzero(data.mask[:, m])
        values = data.x[spec.name][present]
        out = (values < info.low - _TOLERANCE) | (values > info.high + _TOLERANCE)
        if not out.any():
            continue
        i, j = (int(v) for v in np.argwhere(out)[0])
        share = out.mean()
        lo, hi = float(values.min()), float(values.max())
        message = (
            f"{origin(data, spec.name)}: value {values[i, j]:.6g} for sample "
            f"{data.sample_ids[present[i]]!r} in column "
            f"{data.feature_names[spec.name][j]!r} is outside [{info.low:g}, {info.high:g}] "
            f"({share:.1%} of the values, which span [{lo:.4g}, {hi:.4g}]): kind "
            f"{spec.kind!r} expects {info.values}")
        if spec.kind == "methylation" and hi <= 100 + _TOLERANCE and lo >= -_TOLERANCE:
            message += "; percentages? divide them by 100"
        message += (". Declare the modality 'generic' in modalities.json if these values are "
                    "right, or pass --no-range-check (range_check=False) to accept them")
        if info.strict:
            raise DataFolderError(message)
        warnings.warn(message, CancerAlphaWarning, stacklevel=2)


def drop_constant_features(data: MultiOmicsData, policy: str = "error"
                           ) -> tuple[MultiOmicsData, dict[str, list[str]]]:
    """Apply a constant-feature policy to training data: the data and the features dropped.

    A feature with the same value in every sample that has its modality carries no
    information and often betrays a broken export: ``"error"`` refuses it, ``"drop"`` removes
    it (the model folder records the names, and they are dropped again from data it
    predicts), ``"keep"`` keeps it (scaled by 1). Constancy means something from two present
    samples on.
    """
    if policy not in CONSTANT_POLICIES:
        raise CancerAlphaError(f"constant = {policy!r} is invalid: expected one of "
                               f"{list(CONSTANT_POLICIES)}")
    dropped: dict[str, list[str]] = {}
    if policy == "keep":
        return data, dropped
    specs, x, names = [], {}, {}
    for m, spec in enumerate(data.specs):
        rows = data.x[spec.name][data.mask[:, m]]
        const = (np.ptp(rows, axis=0) == 0) if len(rows) >= 2 else np.zeros(spec.n_features,
                                                                                bool)
        feats = list(data.feature_names[spec.name])
        if const.any():
            bad = [f for f, c in zip(feats, const, strict=True) if c]
            if policy == "error":
                raise DataFolderError(
                    f"{origin(data, spec.name)}: constant feature(s) {_preview(bad)} (the same "
                    f"value in all {len(rows)} samples that have modality {spec.name!r}): they "
                    "carry no information; remove them, or pass --constant drop to drop them "
                    "(the model folder records them to drop them again when predicting) or "
                    "--constant keep to keep them (constant='drop' / 'keep' from Python)")
            if const.all():
                raise DataFolderError(f"{origin(data, spec.name)}: every feature of modality "
                                      f"{spec.name!r} is constant: nothing is left after "
                                      "dropping them")
            dropped[spec.name] = bad
        keep = ~const
        pos = None if spec.positions is None else tuple(np.asarray(spec.positions)[keep].tolist())
        specs.append(ModalitySpec(spec.name, spec.kind, int(keep.sum()), pos))
        x[spec.name] = data.x[spec.name][:, keep]
        names[spec.name] = [f for f, k in zip(feats, keep, strict=True) if k]
    if not dropped:
        return data, dropped
    return MultiOmicsData(specs, x, data.mask.copy(), data.y, list(data.class_names),
                          list(data.sample_ids), names, dict(data.sources)), dropped


def check_training_data(data: MultiOmicsData, *, val_fraction: float | None = 0.2,
                        seed: int = 0, where: str = "the data") -> None:
    """Refuse data a model cannot be trained on; warn about declared classes no sample has.

    Training needs labels and at least two classes with samples. With ``val_fraction`` (the
    early-stopping hold-out of a neural model), every modality must keep a sample outside the
    hold-out of ``seed``, where its scaling is fitted.
    """
    if data.y is None:
        raise DataFolderError(f"{where}: no labels: training needs labels.csv (sample id, "
                              "class name)")
    counts = np.bincount(data.y, minlength=data.n_classes)
    present = [c for c, k in zip(data.class_names, counts, strict=True) if k > 0]
    absent = [c for c, k in zip(data.class_names, counts, strict=True) if k == 0]
    if len(present) < 2:
        raise DataFolderError(
            f"{where}: every labelled sample has class {present[0]!r} ({data.n_samples} "
            "samples): training needs at least two classes with samples"
            + (f"; the metadata also lists {_preview(absent)}, which no sample has"
               if absent else ""))
    if absent:
        warnings.warn(f"{where}: classes {_preview(absent)} are listed in the metadata but no "
                      "sample has them: the model keeps an output for each, which it never "
                      "learns to predict", CancerAlphaWarning, stacklevel=2)
    single = [c for c, k in zip(data.class_names, counts, strict=True) if k == 1]
    if single:
        warnings.warn(f"{where}: class(es) {_preview(single)} have a single sample: the model "
                      "sees one example of each and no score can be measured for them",
                      CancerAlphaWarning, stacklevel=2)
    if val_fraction is None:
        return
    tr, va = train_val_split(data.y, val_fraction, seed)
    for m, spec in enumerate(data.specs):
        if not data.mask[tr, m].any():
            have = np.flatnonzero(data.mask[:, m])
            raise DataFolderError(
                f"{origin(data, spec.name)}: modality {spec.name!r} is present in "
                f"{len(have)} sample(s) ({_preview([data.sample_ids[i] for i in have])}), all "
                "in the early-stopping hold-out: its scaling could not be fitted; add "
                "samples with this modality or remove its table")
    held = np.bincount(data.y[va], minlength=data.n_classes)
    short = [c for c, k, h in zip(data.class_names, counts, held, strict=True) if k and not h]
    if short:
        warnings.warn(f"{where}: the early-stopping hold-out ({len(va)} of {data.n_samples} "
                      f"samples, val_fraction {val_fraction:g}) holds no sample of "
                      f"{_preview(short)}: stopping is judged without them",
                      CancerAlphaWarning, stacklevel=2)


def kind_warnings(specs: Sequence[ModalitySpec]) -> list[str]:
    """Doubts about kinds whose encoder reads the column order (convolutions along it)."""
    out = []
    for spec in specs:
        if spec.kind not in SPECIFIC_ENCODER_KINDS:
            continue
        what = ("fragment-length histogram" if spec.kind == "fragmentomics"
                else "copy-number profile along the genome")
        if spec.n_features < MIN_ORDERED_FEATURES:
            out.append(
                f"modality {spec.name!r} is declared {spec.kind!r} but has only "
                f"{spec.n_features} columns: its encoder convolves along the columns as a "
                f"{what}; unrelated summary columns belong to kind 'generic'")
        elif spec.positions is not None and np.any(np.diff(spec.positions) < 0):
            out.append(
                f"modality {spec.name!r} ({spec.kind}): positions are not in increasing order, "
                f"but its encoder convolves along the columns as a {what}: order the columns "
                "by position")
    return out

