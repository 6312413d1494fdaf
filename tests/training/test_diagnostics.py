"""Diagnostics of a trained model (training.diagnostics): collapse onto one class, a best
epoch that was the first, generic encoders standing in for specific ones."""

from __future__ import annotations

import numpy as np

from cancer_alpha.data import ModalitySpec
from cancer_alpha.training.diagnostics import (
    collapse_warning,
    first_epoch_warning,
    generic_encoders_note,
)


def test_collapse_is_reported_unless_the_labels_are_one_class_too():
    names = ["a", "b", "c"]
    pred = np.zeros(40, int)
    assert "predicts 'a' for 100% of 40 samples" in collapse_warning(pred, names)
    y = np.repeat([0, 1], 20)
    assert "largest class holds 50%" in collapse_warning(pred, names, y)
    assert collapse_warning(pred, names, np.zeros(40, int)) is None
    assert collapse_warning(np.repeat([0, 1], 20), names, y) is None
    assert collapse_warning(np.zeros(5, int), names) is None  # too few to judge


def test_first_epoch_is_reported_when_later_ones_ran():
    assert "epoch 1 of 12" in first_epoch_warning(0, 12)
    assert first_epoch_warning(3, 12) is None and first_epoch_warning(0, 1) is None


def test_generic_encoders_note_names_the_kinds_that_have_encoders():
    generic = [ModalitySpec("m", "methylation", 10), ModalitySpec("g", "generic", 5)]
    note = generic_encoders_note("mmt_generic_encoders", generic)
    assert "same network as mmt_modality" in note and "fragmentomics and cna" in note
    assert generic_encoders_note("mmt_generic_encoders",
                                 [*generic, ModalitySpec("c", "cna", 40)]) is None
    assert generic_encoders_note("mmt_modality", generic) is None
