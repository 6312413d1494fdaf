"""The bring-your-own-data folder: write -> read round trips, validation, feature alignment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cancer_alpha import datasets
from cancer_alpha.data import ModalitySpec, MultiOmicsData
from cancer_alpha.datasets import (
    align_features,
    check_training_data,
    drop_constant_features,
    read_folder,
    write_folder,
)
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning


def make_data(n: int = 12, seed: int = 0, labelled: bool = True) -> MultiOmicsData:
    """A small cohort with the three synthetic kinds, positions, and some missing modalities.

    Values span many magnitudes (far outside each kind's range), so the round trips read
    with ``range_check=False``."""
    rng = np.random.default_rng(seed)
    specs = [
        ModalitySpec("methylation", "methylation", 4, (1.5, 20.0, 300.25, 4000.0)),
        ModalitySpec("fragmentomics", "fragmentomics", 3, (100.0, 104.0, 108.0)),
        ModalitySpec("cna", "cna", 5),
    ]
    mask = np.ones((n, 3), dtype=bool)
    mask[1, 0] = mask[4, 2] = mask[7, 1] = mask[7, 2] = False
    # values spanning many magnitudes, so a lossy float format would show
    x = {s.name: rng.normal(size=(n, s.n_features)) * 10.0 ** rng.integers(-9, 9, (n, s.n_features))
         for s in specs}
    for j, s in enumerate(specs):
        x[s.name][~mask[:, j]] = np.nan
    classes = ["healthy", "lung", "breast"]  # not alphabetical: the order must survive
    y = np.arange(n) % 3 if labelled else None
    return MultiOmicsData(specs, x, mask, y, classes if labelled else [],
                          sample_ids=[f"P{i:03d}" for i in range(n)],
                          feature_names={s.name: [f"{s.name[:3]}:{j}" for j in range(s.n_features)]
                                         for s in specs})


def assert_same(a: MultiOmicsData, b: MultiOmicsData) -> None:
    assert a.specs == b.specs  # names, kinds, widths and positions
    assert a.sample_ids == b.sample_ids and a.class_names == b.class_names
    assert a.feature_names == b.feature_names
    np.testing.assert_array_equal(a.mask, b.mask)
    if a.y is None:
        assert b.y is None
    else:
        np.testing.assert_array_equal(a.y, b.y)
    for name in a.modalities:
        # exact: CSV holds each float's shortest round-trip repr, parquet holds the bits
        np.testing.assert_array_equal(a.x[name], b.x[name])


def in_order(data: MultiOmicsData, ids: list[str]) -> MultiOmicsData:
    return data.subset([data.sample_ids.index(s) for s in ids])


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_write_read_round_trip_preserves_everything(tmp_path, fmt):
    data = make_data()
    out = write_folder(data, tmp_path / "cohort", fmt=fmt)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"methylation.{fmt}", f"fragmentomics.{fmt}", f"cna.{fmt}", f"labels.{fmt}",
         "modalities.json"])
    assert_same(data, read_folder(out, range_check=False))


def test_round_trip_without_labels_keeps_samples_in_order_of_first_appearance(tmp_path):
    data = make_data(labelled=False)
    back = read_folder(write_folder(data, tmp_path / "cohort"), labels=False, range_check=False)
    # P001 lacks the first table (methylation): it first appears in the second one
    assert back.sample_ids == [s for s in data.sample_ids if s != "P001"] + ["P001"]
    assert_same(data, in_order(back, data.sample_ids))


def test_absent_sample_reads_as_nan_row_and_false_mask(tmp_path):
    folder = write(tmp_path / "d", {
        "a.csv": "id,f1,f2\ns1,1,2\ns2,3,5\n",
        "b.csv": "id,g1\ns2,7\ns3,8\n",
    })
    data = read_folder(folder)
    assert data.sample_ids == ["s1", "s2", "s3"] and data.y is None
    np.testing.assert_array_equal(data.mask, [[True, False], [True, True], [False, True]])
    assert np.isnan(data.x["b"][0]).all() and np.isnan(data.x["a"][2]).all()
    assert data.x["b"][1, 0] == 7.0 and data.specs[0].kind == "generic"


def test_sample_ids_stay_text(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": "id,f\n007,1\n7,2\n", LABELS: "id,y\n007,u\n7,u\n"})
    assert read_folder(folder).sample_ids == ["007", "7"]


def test_parquet_with_ids_in_the_index_is_read(tmp_path):
    import pandas as pd

    folder = tmp_path / "d"
    folder.mkdir()
    frame = pd.DataFrame({"g1": [0.5, 1.5], "g2": [2.0, -1.0]}, index=pd.Index(["a", "b"]))
    frame.to_parquet(folder / "rna.parquet")  # pandas keeps a non-default index as a column
    data = read_folder(folder)
    assert data.sample_ids == ["a", "b"] and data.feature_names["rna"] == ["g1", "g2"]
    np.testing.assert_array_equal(data.x["rna"], frame.to_numpy())


def test_yaml_metadata_sets_kinds_positions_and_class_order(tmp_path):
    folder = write(tmp_path / "d", {
        "cn.tsv": "id\tc1\tc2\ns1\t2\t3\ns2\t1\t2\ns3\t2\t4\ns4\t3\t2\n",
        "labels.tsv": "id\tclass\ns1\tz\ns2\ta\ns3\tz\ns4\ta\n",
        "modalities.yml": "modalities:\n  cn: {kind: cna, positions: [10, 20.5]}\n"
                          "classes: [z, a]\n",
    })
    data = read_folder(folder)
    assert data.specs == [ModalitySpec("cn", "cna", 2, (10.0, 20.5))]
    assert data.class_names == ["z", "a"] and data.y.tolist() == [0, 1, 0, 1]


def test_write_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    target = tmp_path / "cohort"
    write(target, {"notes.txt": "keep me"})
    with pytest.raises(ValueError, match="not empty.*overwrite=True"):
        write_folder(make_data(), target)
    assert (target / "notes.txt").read_text() == "keep me"
    write_folder(make_data(seed=1), target, overwrite=True)
    assert not (target / "notes.txt").exists()
    assert_same(make_data(seed=1), read_folder(target, range_check=False))
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]  # no temporary sibling left


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def fail_on_second(frame, path, fmt):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        frame.to_csv(path, index=False)  # the first table is written, then the disk fills up

    monkeypatch.setattr(datasets.folder, "_write_frame", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        write_folder(make_data(), tmp_path / "cohort")
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_nan_in_a_present_row(tmp_path):
    data = make_data()
    data.x["cna"][3, 1] = np.nan
    with pytest.raises(ValueError, match="modality 'cna': sample 'P003' is marked present"):
        write_folder(data, tmp_path / "cohort")
    assert not (tmp_path / "cohort").exists()


def test_prediction_folder_is_aligned_to_the_trained_features(tmp_path):
    trained = make_data()
    folder = write_folder(make_data(seed=3, labelled=False), tmp_path / "new")
    # a prediction folder written by other tools: columns in another order, no metadata
    (folder / "modalities.json").unlink()
    table = folder / "methylation.csv"
    rows = [line.split(",") for line in table.read_text().splitlines()]
    table.write_text("\n".join(",".join([r[0], *r[1:][::-1]]) for r in rows) + "\n")
    new = read_folder(folder, labels=False, range_check=False)
    assert new.feature_names["methylation"] == ["met:3", "met:2", "met:1", "met:0"]

    aligned = align_features(new, trained.specs, trained.feature_names)
    assert aligned.specs == trained.specs and aligned.feature_names == trained.feature_names
    expected = make_data(seed=3, labelled=False)
    assert sorted(aligned.sample_ids) == expected.sample_ids
    assert_same(expected, in_order(aligned, expected.sample_ids))


def test_align_names_missing_and_extra_features(tmp_path):
    trained = make_data()
    new = make_data(seed=3, labelled=False)
    new.feature_names["cna"] = ["cna:0", "cna:1", "cna:2", "cna:3", "cna:surplus"]
    with pytest.raises(ValueError, match=r"'cna'.* 1 missing \('cna:4'\), 1 extra "
                                         r"\('cna:surplus'\)"):
        align_features(new, trained.specs, trained.feature_names)


def test_align_makes_an_untrained_modality_an_error_and_a_lacking_one_absent():
    trained = make_data()
    new = make_data(seed=3, labelled=False)
    with pytest.raises(ValueError, match="modality 'methylation' was not seen in training"):
        align_features(new, trained.specs[1:], trained.feature_names)
    aligned = align_features(new.select_modalities(["cna", "methylation"]), trained.specs,
                             trained.feature_names)
    assert aligned.modalities == ["methylation", "fragmentomics", "cna"]
    assert not aligned.mask[:, 1].any() and np.isnan(aligned.x["fragmentomics"]).all()
    np.testing.assert_array_equal(aligned.mask[:, [0, 2]], new.mask[:, [0, 2]])


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
BAD_FOLDERS = {
    "duplicate-sample-id": (
        {"a.csv": "id,f1\ns1,1\ns2,3\ns1,2\n", LABELS: OK_LABELS},
        r"a\.csv: duplicate sample id 's1' in data rows 1 and 3"),
    "duplicate-label-id": (
        {"a.csv": OK_TABLE, LABELS: OK_LABELS + "s2,u\n"},
        r"labels\.csv: duplicate sample id 's2' in data rows 2 and 5"),
    "id-absent-from-labels": (
        {"a.csv": OK_TABLE + "s9,1,1\n", LABELS: OK_LABELS},
        r"a\.csv: sample 's9' \(data row 5\) is absent from labels\.csv"),
    "non-numeric-cell": (
        {"a.csv": "id,f1,f2\ns1,1,2\ns2,3,1e\ns3,2,9\ns4,0,4\n", LABELS: OK_LABELS},
        r"a\.csv: non-numeric value '1e' for sample 's2' \(data row 2\) in column 'f2'"),
    "boolean-cell": (
        {"a.csv": "id,f1,f2\ns1,1,True\ns2,3,False\n"},
        r"a\.csv: non-numeric value .*True.* for sample 's1' \(data row 1\) in column 'f2'"),
    "nan-in-present-row": (
        {"a.csv": "id,f1,f2\ns1,1,2\ns2,,1\ns3,2,9\ns4,0,4\n", LABELS: OK_LABELS},
        r"a\.csv: missing value for sample 's2' \(data row 2\) in column 'f1'.*refused"),
    "infinite-value": (
        {"a.csv": "id,f1,f2\ns1,1,2\ns2,3,inf\n"},
        r"a\.csv: non-finite value inf for sample 's2'"),
    "empty-feature": (
        {"a.csv": "id,f1,blank\ns1,1,\ns2,3,\ns3,2,\ns4,0,\n", LABELS: OK_LABELS},
        r"a\.csv: empty feature\(s\) 'blank'"),
    "duplicate-feature": (
        {"a.csv": "id,f1,f1\ns1,1,2\n"},
        r"a\.csv: feature 'f1' appears twice \(columns 2 and 3\)"),
    "no-feature-columns": (
        {"a.csv": "id\ns1\n"}, r"a\.csv: no feature columns"),
    "modality-without-samples": (
        {"a.csv": OK_TABLE, "b.csv": "id,g1,g2\n", LABELS: OK_LABELS},
        r"b\.csv: the modality has no samples"),
    "unknown-extension": (
        {"a.csv": OK_TABLE, "b.xlsx": "binary"},
        r"b\.xlsx: unknown file extension '\.xlsx'"),
    "unknown-kind": (
        {"a.csv": OK_TABLE, "modalities.json": '{"modalities": {"a": {"kind": "rna"}}}'},
        r"modalities\.json: modality 'a' has kind 'rna': expected one of \['methylation'"),
    "unknown-kind-yaml": (
        {"a.csv": OK_TABLE, "modalities.yml": "modalities:\n  a: protein\n"},
        r"modalities\.yml: modality 'a' has kind 'protein'"),
    "positions-of-wrong-length": (
        {"a.csv": OK_TABLE, "modalities.json": '{"modalities": {"a": {"positions": [1]}}}'},
        r"modalities\.json: modality 'a' has 1 positions for the 2 feature columns of "
        r".*a\.csv"),
    "metadata-modality-without-table": (
        {"a.csv": OK_TABLE, "modalities.json": '{"modalities": {"cna": "cna"}}'},
        r"modalities\.json: modality 'cna' has no table"),
    "label-outside-listed-classes": (
        {"a.csv": OK_TABLE, LABELS: OK_LABELS, "modalities.json": '{"classes": ["u", "x"]}'},
        r"labels\.csv: sample 's2' \(data row 2\) has label 'v', not one of the classes "
        r"\['u', 'x'\]"),
    "labelled-sample-in-no-table": (
        {"a.csv": OK_TABLE, LABELS: OK_LABELS + "s5,u\n"},
        r"labels\.csv: sample 's5' \(data row 5\) has no row in any modality table"),
    "two-tables-for-one-modality": (
        {"a.csv": OK_TABLE, "a.tsv": OK_TABLE.replace(",", "\t")},
        r"two tables for modality 'a', a\.csv and a\.tsv"),
    "labels-only": ({LABELS: OK_LABELS}, r"holds no modality table"),
    "ragged-row": (
        {"a.csv": "id,f1\ns1,1\ns2,3,4\n"}, r"a\.csv: cannot be read as a \.csv table"),
}


@pytest.mark.parametrize("case", list(BAD_FOLDERS))
def test_reader_refuses_a_bad_folder_with_one_clear_message(tmp_path, case):
    files, message = BAD_FOLDERS[case]
    folder = write(tmp_path / "d", files)
    with pytest.raises(CancerAlphaError, match=message):
        read_folder(folder)


def test_reader_refuses_an_empty_or_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"folder .*empty is empty"):
        read_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"path = .*nowhere' is invalid: it is missing"):
        read_folder(tmp_path / "nowhere")


def test_required_labels_must_exist_and_prediction_ignores_them(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": OK_TABLE + "s9,1,1\n"})
    with pytest.raises(ValueError, match="has no labels table"):
        read_folder(folder, labels=True)
    write(folder, {LABELS: OK_LABELS})  # s9 has no label: fine when predicting
    data = read_folder(folder, labels=False)
    assert data.y is None and data.sample_ids[-1] == "s9"


def test_reader_and_rules_refuse_bad_options(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": OK_TABLE})
    with pytest.raises(CancerAlphaError, match=r"labels = 'yes' is invalid"):
        read_folder(folder, labels="yes")
    with pytest.raises(CancerAlphaError, match=r"constant = 'ignore' is invalid"):
        drop_constant_features(read_folder(folder), "ignore")


def test_writer_refuses_bad_format(tmp_path):
    with pytest.raises(ValueError, match=r"fmt = 'xlsx' is invalid"):
        write_folder(make_data(), tmp_path / "c", fmt="xlsx")
