"""Malformed data folders read from Python: each is refused with the project's error, whose
message names the file, the row and the column; valid but unusual input is read correctly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cancer_alpha.data import ModalitySpec, MultiOmicsData, Standardizer, train_val_split
from cancer_alpha.datasets import read_folder, write_folder
from cancer_alpha.datasets.checks import kind_warnings
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning, DataFolderError
from cancer_alpha.training.diagnostics import (
    collapse_warning,
    first_epoch_warning,
    generic_encoders_note,
)

LABELS = "id,y\ns1,u\ns2,v\ns3,u\ns4,v\n"
TABLE = "id,f1,f2\ns1,1,2\ns2,3,1\ns3,2,9\ns4,0,4\n"
BETAS = "id,c1,c2\ns1,0.1,0.2\ns2,0.3,0.9\ns3,0.5,0.4\ns4,0.0,1.0\n"


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def kind(name: str, of: str = "a") -> str:
    return json.dumps({"modalities": {of: name}})


BAD = {
    # separators and encodings
    "semicolons-in-csv": ({"a.csv": TABLE.replace(",", ";")},
                          r"a\.csv: no feature columns.*separated by semicolons, but a \.csv "
                          r"file is separated by commas: save it with commas"),
    "tabs-in-csv": ({"a.csv": TABLE.replace(",", "\t")},
                    r"a\.csv: no feature columns.*separated by tabs.*rename it to a\.tsv"),
    "commas-in-tsv": ({"a.tsv": TABLE}, r"a\.tsv: no feature columns.*separated by commas.*"
                                        r"rename it to a\.csv"),
    "semicolon-labels": ({"a.csv": TABLE, "labels.csv": LABELS.replace(",", ";")},
                         r"labels\.csv: 1 columns .*expected exactly 2.*semicolons"),
    "latin-1": ({"a.csv": "id,f\u00e9\ns1,1\ns2,2\n".encode("latin-1")},
                r"a\.csv: not UTF-8 text \(byte 0xe9 on line 1\): save the table as UTF-8"),
    "utf-16": ({"a.csv": TABLE.encode("utf-16")}, r"a\.csv: not UTF-8 text"),
    "binary-garbage": ({"a.csv": bytes(range(256)) * 4}, r"a\.csv: (not UTF-8|cannot be read)"),
    "empty-file": ({"a.csv": ""}, r"a\.csv: the file is empty: expected a header row"),
    "decimal-comma": ({"a.tsv": "id\tf\ns1\t0,5\ns2\t1,5\n"},
                      r"non-numeric value '0,5' .*a decimal comma\? write decimals with a point"),
    "percent-sign": ({"a.csv": "id,f\ns1,50%\ns2,20%\n"},
                     r"non-numeric value '50%' .*a percentage\? write the number alone"),
    # values
    "float32-overflow": ({"a.csv": "id,f1,f2\ns1,1,2\ns2,1e39,1\n"},
                         r"a\.csv: value 1e\+39 for sample 's2' \(data row 2\) in column 'f1' "
                         r"overflows 32-bit floats"),
    "negative-float32-overflow": ({"a.csv": "id,f1\ns1,-4e38\ns2,1\n"}, r"overflows 32-bit"),
    "double-overflow": ({"a.csv": "id,f1\ns1,1e400\ns2,1\n"}, r"non-finite value inf for "
                                                              r"sample 's1'"),
    "nan-text": ({"a.csv": "id,f1\ns1,NaN\ns2,1\n"}, r"missing value for sample 's1'"),
    "short-row": ({"a.csv": "id,f1,f2\ns1,1\ns2,1,2\n"}, r"missing value for sample 's1' "
                                                         r"\(data row 1\) in column 'f2'"),
    "methylation-percent": ({"m.csv": BETAS.replace("0.9", "90"), "modalities.json":
                             kind("methylation", "m")},
                            r"m\.csv: value 90 for sample 's2' in column 'c2' is outside "
                            r"\[0, 1\].*percentages\? divide them by 100"),
    "methylation-negative": ({"m.csv": BETAS.replace("0.1", "-0.1"), "modalities.json":
                              kind("methylation", "m")}, r"value -0\.1 .* outside \[0, 1\]"),
    "fragments-negative": ({"f.csv": BETAS.replace("0.5", "-2"), "modalities.json":
                            kind("fragmentomics", "f")},
                           r"f\.csv: value -2 .*outside \[0, inf\].*fragment-length histogram"),
    # names and ids
    "id-repeated-after-strip": ({"a.csv": "id,f\ns1,1\n s1 ,2\n"},
                                r"duplicate sample id 's1' in data rows 1 and 2"),
    "feature-repeated-after-strip": ({"a.csv": "id,f, f\ns1,1,2\n"},
                                     r"feature 'f' appears twice \(columns 2 and 3\)"),
    "blank-feature-name": ({"a.csv": "id,f,  \ns1,1,2\n"}, r"column 3 has an empty feature name"),
    "blank-id": ({"a.csv": "id,f\ns1,1\n  ,2\n"}, r"data row 2 has no sample id"),
    "no-extension-name": ({".csv": TABLE, "b.csv": TABLE}, None),  # hidden: ignored, valid
    "subfolder": ({"a.csv": TABLE, "extra/x.csv": TABLE},
                  r"extra: unexpected folder inside the data folder"),
    # labels
    "labels-three-columns": ({"a.csv": TABLE, "labels.csv": "id,y,z\ns1,u,1\n"},
                             r"labels\.csv: 3 columns \['id', 'y', 'z'\]: expected exactly 2"),
    "labels-header-only": ({"a.csv": TABLE, "labels.csv": "id,y\n"},
                           r"labels\.csv: no labelled samples"),
    "blank-label": ({"a.csv": TABLE, "labels.csv": "id,y\ns1,u\ns2,  \ns3,u\ns4,v\n"},
                    r"labels\.csv: sample 's2' \(data row 2\) has no label"),
    # metadata
    "metadata-folder": ({"a.csv": TABLE, "modalities.json/x": "{}"},
                        r"modalities\.json: unexpected folder"),
    "metadata-latin-1": ({"a.csv": TABLE, "modalities.json": '{"classes": ["\u00e9"]}'
                          .encode("latin-1")}, r"modalities\.json: not UTF-8 text"),
    "metadata-duplicate-key": ({"a.csv": TABLE, "modalities.json":
                                '{"modalities": {"a": "cna", "a": "generic"}}'},
                               r"modalities\.json: key 'a' appears twice"),
    "metadata-deep": ({"a.csv": TABLE, "modalities.json": "[" * 100000 + "]" * 100000},
                      r"modalities\.json: (not valid JSON|expected a mapping)"),
    "metadata-list": ({"a.csv": TABLE, "modalities.json": "[1]"},
                      r"expected a mapping with keys 'modalities' and 'classes', got list"),
    "metadata-unknown-key": ({"a.csv": TABLE, "modalities.json": '{"kinds": {}}'},
                             r"unknown key 'kinds'"),
    "positions-nan": ({"a.csv": TABLE, "modalities.json":
                       '{"modalities": {"a": {"positions": [1, NaN]}}}'},
                      r"positions must be a list of finite numbers"),
    "positions-huge-int": ({"a.csv": TABLE, "modalities.json":
                            '{"modalities": {"a": {"positions": [1, 1' + "0" * 400 + ']}}}'},
                           r"positions must be a list of finite numbers"),
    "positions-strings": ({"a.csv": TABLE, "modalities.yml":
                           "modalities:\n  a: {positions: [1e3, 2e3]}\n"},
                          r"positions must be a list of finite numbers"),
    "kind-a-list": ({"a.csv": TABLE, "modalities.json": '{"modalities": {"a": {"kind": ["cna"]}}}'},
                    r"modality 'a' has kind \['cna'\]"),
    "classes-a-string": ({"a.csv": TABLE, "labels.csv": LABELS,
                          "modalities.json": '{"classes": "u,v"}'},
                         r"'classes' = 'u,v': expected a list of distinct"),
    "classes-repeat-after-strip": ({"a.csv": TABLE, "modalities.json":
                                    '{"classes": ["u", "u "]}'}, r"expected a list of distinct"),
    "yaml-invalid": ({"a.csv": TABLE, "modalities.yml": "modalities: [a: b\n"},
                     r"modalities\.yml: not valid YAML"),
    # parquet
    "parquet-garbage": ({"a.parquet": b"PAR1 definitely not parquet"},
                        r"a\.parquet: cannot be read as a \.parquet table"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_malformed_folder_is_refused_by_the_project_error(tmp_path, case):
    files, message = BAD[case]
    folder = tmp_path / "d"
    for name, content in files.items():
        write((folder / name).parent, {Path(name).name: content})
    if message is None:
        assert read_folder(folder).n_samples == 4
        return
    with pytest.raises(DataFolderError) as err:
        read_folder(folder)
    assert re.search(message, str(err.value)), str(err.value)
    assert "Traceback" not in str(err.value)


def test_a_parquet_date_column_is_not_a_measurement(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame({"id": ["a", "b"], "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                  "g": [1.0, 2.0]}).to_parquet(folder / "x.parquet")
    with pytest.raises(DataFolderError, match=r"x\.parquet: non-numeric value .*2024-01-01.* "
                                              r"in column 'when'"):
        read_folder(folder)


def test_copy_number_out_of_range_is_a_warning_not_an_error(tmp_path):
    folder = write(tmp_path / "d", {"c.csv": "id,b1,b2\ns1,0.1,12\ns2,-0.2,0\n",
                                    "modalities.json": kind("cna", "c")})
    with pytest.warns(CancerAlphaWarning, match=r"c\.csv: value 12 .* outside \[-8, 8\] .*"
                                                r"log2 ratios"):
        data = read_folder(folder)
    assert data.x["c"][0, 1] == 12.0
    assert read_folder(folder, range_check=False).x["c"][0, 1] == 12.0


def test_range_check_false_accepts_percentages(tmp_path):
    folder = write(tmp_path / "d", {"m.csv": BETAS.replace("0.9", "90"),
                                    "modalities.json": kind("methylation", "m")})
    assert read_folder(folder, range_check=False).x["m"].max() == 90.0


VALID = {
    "bom": ({"a.csv": "\ufeff" + TABLE}, lambda d: d.feature_names["a"] == ["f1", "f2"]),
    "crlf": ({"a.csv": TABLE.replace("\n", "\r\n")}, lambda d: d.x["a"][3, 1] == 4.0),
    "na-as-sample-id": ({"a.csv": "id,f\nNA,1\nnull,2\n"},
                        lambda d: d.sample_ids == ["NA", "null"]),
    "unicode-ids": ({"a.csv": "id,f\n\u00e9l\u00e8ve,1\n\u60a3\u8005,2\n"},
                    lambda d: d.sample_ids == ["\u00e9l\u00e8ve", "\u60a3\u8005"]),
    "nfd-id-matches-nfc-label": ({"a.csv": "id,f\ne\u0301,1\nx,2\n",
                                  "labels.csv": "id,y\n\u00e9,u\nx,v\n"},
                                 lambda d: d.sample_ids == ["\u00e9", "x"]),
    "spaces-around-names": ({"a.csv": " id , f1 ,f2\n s1 ,1,2\ns2 , 3, 4\n"},
                            lambda d: d.sample_ids == ["s1", "s2"]
                            and d.feature_names["a"] == ["f1", "f2"]),
    "quoted-numbers": ({"a.csv": 'id,f\ns1,"1.5"\ns2,"2"\n'}, lambda d: d.x["a"][0, 0] == 1.5),
    "integer-classes-in-yaml": ({"a.csv": TABLE, "labels.csv": LABELS.replace("u", "1")
                                 .replace("v", "0"), "modalities.yml": "classes: [0, 1]\n"},
                                lambda d: d.class_names == ["0", "1"]
                                and d.y.tolist() == [1, 0, 1, 0]),
    "json-with-bom": ({"a.csv": TABLE, "modalities.json": "\ufeff" + kind("fragmentomics")},
                      lambda d: d.specs[0].kind == "fragmentomics"),
    "kind-with-spaces": ({"a.csv": TABLE, "modalities.json": kind(" fragmentomics ")},
                         lambda d: d.specs[0].kind == "fragmentomics"),
    "one-sample": ({"a.csv": "id,f\ns1,1\n"}, lambda d: d.n_samples == 1),
    "largest-float32": ({"a.csv": "id,f\ns1,3.4e38\ns2,-3.4e38\n"},
                        lambda d: d.x["a"][0, 0] == 3.4e38),
}


@pytest.mark.parametrize("case", list(VALID))
def test_unusual_but_valid_input_is_read_correctly(tmp_path, case):
    files, check = VALID[case]
    data = read_folder(write(tmp_path / "d", files))
    assert check(data)


def test_stripping_labels_merges_classes_with_a_warning(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": TABLE,
                                    "labels.csv": "id,y\ns1,lung\ns2,lung \ns3,u\ns4, u\n"})
    with pytest.warns(CancerAlphaWarning, match=r"labels 'lung', 'lung ' differ only by "
                                                r"surrounding whitespace.*\(2 such classes\)"):
        data = read_folder(folder)
    assert data.class_names == ["lung", "u"] and data.y.tolist() == [0, 0, 1, 1]


def test_labels_differing_in_case_are_kept_apart_with_a_warning(tmp_path):
    folder = write(tmp_path / "d", {"a.csv": TABLE,
                                    "labels.csv": "id,y\ns1,Lung\ns2,lung\ns3,Lung\ns4,lung\n"})
    with pytest.warns(CancerAlphaWarning, match=r"'Lung', 'lung' differ only in letter case"):
        assert read_folder(folder).n_classes == 2


# --------------------------------------------------------------------------- writer


def make(n=4, **kw) -> MultiOmicsData:
    specs = [ModalitySpec("a", "generic", 2)]
    base = dict(specs=specs, x={"a": np.arange(n * 2, dtype=float).reshape(n, 2)},
                mask=np.ones((n, 1), bool), y=np.arange(n) % 2, class_names=["u", "v"],
                sample_ids=[f"s{i}" for i in range(n)], feature_names={"a": ["f1", "f2"]})
    base.update(kw)
    return MultiOmicsData(**base)


@pytest.mark.parametrize("change, message", [
    ({"sample_ids": ["s0", "s1", "s2", " s3"]}, r"sample id ' s3' is empty, repeated or has "
                                                r"surrounding whitespace"),
    ({"feature_names": {"a": ["f1", "f1"]}}, r"feature names must be distinct"),
    ({"class_names": ["u", "v "]}, r"class names \['u', 'v '\]"),
    ({"x": {"a": np.array([[1.0, 2.0], [1e39, 0], [0, 0], [1, 1]])}},
     r"sample 's1' is marked present but has missing, non-finite or float32-overflowing"),
    ({"specs": [ModalitySpec("labels", "generic", 2)], "feature_names": {"labels": ["a", "b"]},
      "x": {"labels": np.zeros((4, 2))}}, r"modality name 'labels' cannot be a file name"),
])
def test_writer_refuses_what_the_reader_would_read_differently(tmp_path, change, message):
    with pytest.raises(DataFolderError, match=message):
        write_folder(make(**change), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_writer_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(CancerAlphaError, match=r"a part of it is a file"):
        write_folder(make(), tmp_path / "f" / "out")


# --------------------------------------------------------------------------- data rules


def test_small_data_fall_back_to_a_per_class_hold_out():
    y = np.array([0] * 5 + [1] * 3 + [2] * 2 + [3] + [4])
    tr, va = train_val_split(y, 0.2, seed=0)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(12))
    assert np.bincount(y[va], minlength=5).tolist() == [1, 1, 1, 0, 0]
    assert set(y[tr]) == {0, 1, 2, 3, 4}  # single-sample classes stay in training
    with pytest.raises(CancerAlphaError, match=r"each of the 3 samples has a class of its own"):
        train_val_split(np.array([0, 1, 2]), 0.2, seed=0)
    with pytest.raises(CancerAlphaError, match=r"val_fraction = 1.5 is invalid"):
        train_val_split(y, 1.5, seed=0)


def test_the_usual_split_is_unchanged_by_the_fallback():
    from sklearn.model_selection import train_test_split

    y = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va = train_val_split(y, 0.2, seed=3)
    ref = train_test_split(np.arange(100), test_size=0.2, random_state=3, stratify=y)
    assert va.tolist() == sorted(ref[1].tolist())


def test_scaling_refuses_a_value_that_overflows_float32_once_standardised():
    d = make(x={"a": np.array([[0.0, 1.0], [1e-3, 1.0], [2e-3, 1.0], [3e-3, 1.0]])})
    scaler = Standardizer().fit(d)
    d.x["a"][2, 0] = 1e36
    with pytest.raises(CancerAlphaError, match=r"modality 'a': value 1e\+36 of sample 's2' in "
                                               r"column 'f1' is not finite once standardised"):
        scaler.transform(d)


def test_too_many_folds_is_the_project_error():
    from cancer_alpha.data import stratified_folds

    with pytest.raises(CancerAlphaError, match=r"smallest class has 2 samples"):
        stratified_folds(np.array([0] * 10 + [1] * 2), 5, seed=0)
    with pytest.raises(CancerAlphaError, match=r"n_folds = True is invalid"):
        stratified_folds(np.array([0, 1] * 5), True, seed=0)


# --------------------------------------------------------------------------- warnings


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


def test_generic_encoders_equal_the_modality_model_bit_for_bit_without_specific_kinds():
    import torch

    from cancer_alpha.config import ModelConfig
    from cancer_alpha.models import build_model

    specs = [ModalitySpec("m", "methylation", 10), ModalitySpec("g", "generic", 5)]
    cfg = ModelConfig(d_model=16, n_heads=2, n_layers=1)
    torch.manual_seed(0)
    a = build_model("mmt_modality", specs, 3, cfg).state_dict()
    torch.manual_seed(0)
    b = build_model("mmt_generic_encoders", specs, 3, cfg).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_kinds_read_in_column_order_are_doubted_when_few_or_unordered():
    messages = kind_warnings([ModalitySpec("f", "fragmentomics", 4),
                              ModalitySpec("c", "cna", 10, tuple(range(10, 0, -1))),
                              ModalitySpec("m", "methylation", 3)])
    assert len(messages) == 2
    assert "only 4 columns" in messages[0] and "not in increasing order" in messages[1]


# --------------------------------------------------------------------------- JSON


def test_metrics_never_hold_a_bare_nan():
    from cancer_alpha.evaluate import classification_report, json_safe

    report = classification_report(np.zeros(4, int), np.full((4, 2), 0.5), ["a", "b"])
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["roc_auc"] is None
    assert "only one class ('a')" in report["roc_auc_undefined"]
    assert json_safe({"x": float("inf"), "y": [np.float32("nan")]}) == {
        "x": None, "x_undefined": "not defined for these data", "y": [None]}


def test_a_saved_run_writes_null_with_a_reason_for_nan_metrics(tmp_path):
    from cancer_alpha.baselines import fit_baseline_model
    from cancer_alpha.training.runs import save_run

    rng = np.random.default_rng(0)
    data = make(n=20, x={"a": rng.normal(size=(20, 2))}, mask=np.ones((20, 1), bool),
                y=np.arange(20) % 2, sample_ids=[f"s{i}" for i in range(20)])
    fitted = fit_baseline_model("logistic_regression", data)
    save_run(fitted, tmp_path / "run", metrics={"validation": {"roc_auc": float("nan")}})
    text = (tmp_path / "run" / "metrics.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["validation"] == {"roc_auc": None,
                                              "roc_auc_undefined": "not defined for these data"}


def test_a_table_without_its_header_row_is_refused(tmp_path):
    """Without a header, the first sample's values would become the feature names and that
    sample would silently lose the modality."""
    (tmp_path / "a.csv").write_text("s1,0.53,0.12,0.77\ns2,0.10,0.20,0.30\ns3,0.4,0.5,0.6\n")
    with pytest.raises(DataFolderError, match=r"a\.csv: the first row \('s1', '0\.53', "
                                              r"'0\.12', '0\.77'\) reads as measurements, "
                                              r"not feature names.*Add a header row"):
        read_folder(tmp_path)


@pytest.mark.parametrize("header", ["id,1,2,3", "id,0.5,1.5,2.5", "id,100,75,50",
                                    "id,cg01,cg02,cg03"])
def test_numbered_feature_names_are_still_a_header(tmp_path, header):
    """Fragment lengths, genome bins and positions make numeric names: whole numbers, or
    numbers increasing along the row, are names, not measurements."""
    (tmp_path / "a.csv").write_text(header + "\ns1,0.53,0.12,0.77\ns2,0.1,0.2,0.3\n")
    data = read_folder(tmp_path)
    assert data.feature_names["a"] == header.split(",")[1:] and data.n_samples == 2


def test_the_positions_error_names_the_file_the_modality_and_both_fixes(tmp_path):
    (tmp_path / "cna.csv").write_text("id,b1,b2,b3\ns1,0.1,0.2,0.3\n")
    (tmp_path / "modalities.json").write_text(
        '{"modalities": {"cna": {"kind": "cna", "positions": [1.5, 2.5]}}}')
    with pytest.raises(DataFolderError) as err:
        read_folder(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'modalities.json'}: modality 'cna' has 2 positions")
    assert f"the 3 feature columns of {tmp_path / 'cna.csv'}" in message
    assert "one position per feature column (3 numbers, in the order of the columns" in message
    assert "or drop its 'positions'" in message
