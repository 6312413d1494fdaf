"""The rules a data set must meet to be trained on (datasets.checks): constant features,
classes with too few samples, kinds read in column order."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cancer_alpha.data import ModalitySpec
from cancer_alpha.datasets import (
    align_features,
    check_training_data,
    drop_constant_features,
    read_folder,
)
from cancer_alpha.datasets.checks import kind_warnings
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning


def test_kinds_read_in_column_order_are_doubted_when_few_or_unordered():
    messages = kind_warnings([ModalitySpec("f", "fragmentomics", 4),
                              ModalitySpec("c", "cna", 10, tuple(range(10, 0, -1))),
                              ModalitySpec("m", "methylation", 3)])
    assert len(messages) == 2
    assert "only 4 columns" in messages[0] and "not in increasing order" in messages[1]


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_constant_features_refused_dropped_or_kept_at_training_only(tmp_path):
    folder = write(tmp_path / "d", {
        "a.csv": "id,f1,flat,f2\ns1,1,5,2\ns2,3,5,1\ns3,2,5,9\ns4,0,5,4\n",
        "labels.csv": "id,y\ns1,u\ns2,v\ns3,u\ns4,v\n",
        "modalities.json": json.dumps({"modalities": {"a": {"positions": [1, 2, 3]}}}),
    })
    data = read_folder(folder)  # reading judges form, not the training rules
    assert data.specs[0].n_features == 3
    with pytest.raises(CancerAlphaError, match=r"a\.csv: constant feature\(s\) 'flat'.*"
                                               r"--constant drop"):
        drop_constant_features(data, "error")
    dropped, names = drop_constant_features(data, "drop")
    assert names == {"a": ["flat"]} and dropped.feature_names["a"] == ["f1", "f2"]
    assert dropped.specs[0].positions == (1.0, 3.0)
    np.testing.assert_array_equal(dropped.x["a"][:, 1], [2, 1, 9, 4])
    assert drop_constant_features(data, "keep")[0].specs[0].n_features == 3
    write(folder, {"a.csv": "id,flat\ns1,5\ns2,5\ns3,5\ns4,5\n", "modalities.json": "{}"})
    with pytest.raises(CancerAlphaError, match="every feature of modality 'a' is constant"):
        drop_constant_features(read_folder(folder), "drop")


def test_dropped_features_are_dropped_again_when_aligning(tmp_path):
    folder = write(tmp_path / "d", {
        "a.csv": "id,f1,flat,f2\ns1,1,5,2\ns2,3,5,1\ns3,2,5,9\ns4,0,5,4\n"})
    train, dropped = drop_constant_features(read_folder(folder), "drop")
    new = read_folder(folder, labels=False)
    aligned = align_features(new, train.specs, train.feature_names, dropped=dropped)
    assert aligned.feature_names["a"] == ["f1", "f2"]
    # a prediction folder without the dropped column is just as good
    write(folder, {"a.csv": "id,f2,f1\ns1,2,1\n"})
    aligned = align_features(read_folder(folder), train.specs, train.feature_names,
                             dropped=dropped)
    np.testing.assert_array_equal(aligned.x["a"], [[1.0, 2.0]])


def test_a_class_with_one_sample_is_read_but_warned_about_for_training(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": OK_TABLE, LABELS: "id,y\ns1,u\ns2,v\ns3,u\ns4,w\n"})
    data = read_folder(folder)  # a test set may hold a class once
    assert data.class_names == ["u", "v", "w"]
    with pytest.warns(CancerAlphaWarning) as seen:
        check_training_data(data, val_fraction=0.5)
    messages = [str(w.message) for w in seen]
    assert any("'v', 'w' have a single sample" in m for m in messages)
    assert any("hold-out (1 of 4 samples, val_fraction 0.5) holds no sample of 'v', 'w'" in m
               for m in messages)


def test_training_needs_two_classes_present(tmp_path):
    folder = write(tmp_path / "d", {
        "a.csv": OK_TABLE, LABELS: "id,y\ns1,u\ns2,u\ns3,u\ns4,u\n",
        "modalities.json": '{"classes": ["u", "v", "w"]}'})
    data = read_folder(folder)
    with pytest.raises(CancerAlphaError, match=r"every labelled sample has class 'u'.*"
                                               r"at least two classes.*lists 'v', 'w'"):
        check_training_data(data)


def test_declared_classes_without_samples_are_reported(tmp_path):
    folder = write(tmp_path / "d", {
        "a.csv": OK_TABLE, LABELS: OK_LABELS, "modalities.json": '{"classes": ["u", "v", "w"]}'})
    with pytest.warns(CancerAlphaWarning, match=r"classes 'w' are listed .* no sample has"):
        check_training_data(read_folder(folder), val_fraction=0.5)


LABELS = "labels.csv"


OK_LABELS = "id,y\ns1,u\ns2,v\ns3,u\ns4,v\n"


OK_TABLE = "id,f1,f2\ns1,1,2\ns2,3,1\ns3,2,9\ns4,0,4\n"
