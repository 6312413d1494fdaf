"""Diagnostics of a trained model and its predictions: what is legal but suspicious (a model
that predicts one class, early stopping that kept the first epoch, prediction data on another
scale than the training data, a model that is another one under its name), put into words
for a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cancer_alpha.data import SPECIFIC_ENCODER_KINDS, ModalitySpec, MultiOmicsData, Standardizer
from cancer_alpha.datasets.checks import origin

# median |z| of a prediction set on the training scale above which the scales differ
SHIFT_Z = 10.0
# share of predictions in one class above which a model is said to predict one class
COLLAPSE_SHARE = 0.95


def generic_encoders_note(model: str, specs: Sequence[ModalitySpec]) -> str | None:
    """Why ``mmt_generic_encoders`` is ``mmt_modality`` itself for these modalities, if it is."""
    if model != "mmt_generic_encoders":
        return None
    if any(s.kind in SPECIFIC_ENCODER_KINDS for s in specs):
        return None
    return ("mmt_generic_encoders is the same network as mmt_modality here: only "
            f"{' and '.join(SPECIFIC_ENCODER_KINDS)} modalities have encoders of their own "
            "(methylation and generic ones use the same MLP), and these data have none")


def scale_shift_warning(data: MultiOmicsData, scaler: Standardizer) -> list[str]:
    """Modalities whose values sit far from the training distribution (another scale?)."""
    out = []
    for m, spec in enumerate(data.specs):
        rows = data.mask[:, m]
        if not rows.any() or spec.name not in scaler.mean:
            continue
        z = np.abs((data.x[spec.name][rows] - scaler.mean[spec.name]) / scaler.scale[spec.name])
        med = float(np.median(z))
        if med > SHIFT_Z:
            out.append(
                f"{origin(data, spec.name)}: values of modality {spec.name!r} sit a median "
                f"{med:.3g} training standard deviations from the training means: were they "
                "measured and scaled as the training data were (e.g. betas, not percentages)?")
    return out


def collapse_warning(pred: np.ndarray, class_names: Sequence[str],
                     y: np.ndarray | None = None, what: str = "the model") -> str | None:
    """Say so when (nearly) every prediction is one class, unless the labels are so too."""
    pred = np.asarray(pred)
    if len(pred) < 10:
        return None
    counts = np.bincount(pred, minlength=len(class_names))
    k = int(counts.argmax())
    share = counts[k] / len(pred)
    if share < COLLAPSE_SHARE:
        return None
    if y is not None:
        true_share = float(np.bincount(np.asarray(y), minlength=len(class_names)).max()
                           / len(y))
        if true_share >= COLLAPSE_SHARE:
            return None
        truth = f" (the largest class holds {true_share:.0%} of the labels)"
    else:
        truth = ""
    return (f"{what} predicts {class_names[k]!r} for {share:.0%} of {len(pred)} samples"
            f"{truth}: it has probably collapsed onto one class; try more epochs, another "
            "seed or model, and compare models with `cancer-alpha cv`")


def first_epoch_warning(best_epoch: int | None, epochs: int | None) -> str | None:
    """Say so when early stopping kept the weights of the first epoch of several."""
    if best_epoch is None or epochs is None or epochs < 2 or best_epoch != 0:
        return None
    return (f"early stopping kept the weights of epoch 1 of {epochs}: the hold-out loss never "
            "improved after the first epoch, so the saved model is barely trained (the "
            "learning rate may be too high for these data, or the hold-out too small: see "
            "--val-fraction)")
