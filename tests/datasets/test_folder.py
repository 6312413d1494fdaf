"""The data folder reader and writer (datasets.folder): valid folders read back what was
written, malformed ones are refused with the project's error naming the file, the row and the
column, unusual but valid input is read correctly, and data read for prediction is aligned to
the features a model was trained on."""

from __future__ import annotations

import json
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancer_alpha import datasets
from cancer_alpha.data import (
    FLOAT32_MAX,
    KINDS,
    ModalitySpec,
    MultiOmicsData,
    Standardizer,
)
from cancer_alpha.datasets import (
    align_features,
    check_training_data,
    drop_constant_features,
    read_folder,
    write_folder,
)
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning, DataFolderError
from tests.tiny_models import tiny_data as make

OK_LABELS = "id,y\ns1,u\ns2,v\ns3,u\ns4,v\n"


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
    "semicolon-labels": ({"a.csv": TABLE, "labels.csv": OK_LABELS.replace(",", ";")},
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
    "classes-a-string": ({"a.csv": TABLE, "labels.csv": OK_LABELS,
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
    "integer-classes-in-yaml": ({"a.csv": TABLE, "labels.csv": OK_LABELS.replace("u", "1")
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


LABELS = "labels.csv"


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


SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


odd_names = st.sampled_from(["s1", " s1", "s2 ", "", "  ", "NA", "007", "7", "é", "e\u0301",
                             "患者", "a,b", "a;b", "a\tb", '"q"', "\ufeffs1", "x\ny"])


bad_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "1e39", "-1e39", "1e400", "3.4e38",
                     "1,5", "50%", "abc", "True", "0x1F", " 1 ", '"2"', "1e-320", "-0",
                     "-5", "120"]),
)


labels = st.sampled_from(["u", "v", "w", "u ", " v", "", "U", "lung", "lung ", "1", "0"])


MUTATIONS = ("cell", "header", "id", "ragged", "separator", "encoding", "label", "label_id",
             "metadata_json", "metadata_kind", "metadata_positions", "metadata_classes",
             "drop_table", "drop_row")


@st.composite
def folders(draw) -> dict[str, bytes]:
    """A valid folder (one to three tables of kind-appropriate values, labels, metadata),
    then none to three mutations of the kinds a careless export makes."""
    n = draw(st.integers(1, 8))
    ids = [f"s{i}" for i in range(n)]
    kinds = {"a": "methylation", "b": "fragmentomics", "c": "cna", "d": "generic"}
    names = draw(st.lists(st.sampled_from(sorted(kinds)), min_size=1, max_size=3, unique=True))
    grids: dict[str, list[list[str]]] = {}
    for m in names:
        p = draw(st.integers(1, 4))
        low, high = {"a": (0, 1), "b": (0, 1), "c": (-3, 3), "d": (-1e6, 1e6)}[m]
        grid = [["id", *[f"{m}{j}" for j in range(p)]]]
        keep = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=n, unique=True))
        for sid in keep:
            values = draw(st.lists(st.floats(low, high), min_size=p, max_size=p))
            grid.append([sid, *[repr(v) for v in values]])
        grids[m] = grid
    labelled = draw(st.booleans())
    present = sorted({r[0] for g in grids.values() for r in g[1:]})
    label_rows = [[sid, draw(st.sampled_from(["u", "v", "w"]))] for sid in present]
    meta: dict = {"modalities": {m: {"kind": kinds[m]} for m in names}}
    if draw(st.booleans()):
        meta["classes"] = ["u", "v", "w"]
    for m in names:
        if draw(st.integers(0, 3)) == 0:
            meta["modalities"][m]["positions"] = list(range(len(grids[m][0]) - 1))
    seps = {m: "," for m in names}
    encoding = "utf-8"
    meta_text = None

    count = draw(st.sampled_from([1, 2, 3, 0, 1, 2]))  # a quarter of the folders stay valid
    for mutation in [draw(st.sampled_from(MUTATIONS)) for _ in range(count)]:
        m = draw(st.sampled_from(sorted(grids)))
        grid = grids[m]
        if mutation == "cell" and len(grid) > 1 and len(grid[0]) > 1:
            i, j = draw(st.integers(1, len(grid) - 1)), draw(st.integers(1, len(grid[0]) - 1))
            grid[i][j] = draw(bad_cells)
        elif mutation == "header":
            grid[0][draw(st.integers(0, len(grid[0]) - 1))] = draw(odd_names)
        elif mutation == "id" and len(grid) > 1:
            grid[draw(st.integers(1, len(grid) - 1))][0] = draw(odd_names)
        elif mutation == "ragged" and len(grid) > 1:
            row = grid[draw(st.integers(1, len(grid) - 1))]
            row.append("1") if draw(st.booleans()) else row.pop()
        elif mutation == "separator":
            seps[m] = draw(st.sampled_from([";", "\t", "|"]))
        elif mutation == "encoding":
            encoding = draw(st.sampled_from(["utf-8-sig", "latin-1", "utf-16"]))
        elif mutation == "label" and label_rows:
            label_rows[draw(st.integers(0, len(label_rows) - 1))][1] = draw(labels)
        elif mutation == "label_id" and label_rows:
            label_rows[draw(st.integers(0, len(label_rows) - 1))][0] = draw(odd_names)
        elif mutation == "metadata_json":
            meta_text = draw(st.sampled_from(["", "{", "[]", "null", '{"modalities": 3}',
                                              '{"modalities": {}, "modalities": {}}',
                                              '{"extra": 1}', "\u00e9"]))
        elif mutation == "metadata_kind":
            meta["modalities"][m]["kind"] = draw(st.sampled_from(
                [*KINDS, "rna", 3, None, " cna ", ["cna"]]))
        elif mutation == "metadata_positions":
            meta["modalities"][m]["positions"] = draw(st.lists(
                st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                          st.just("1")), max_size=5))
        elif mutation == "metadata_classes":
            meta["classes"] = draw(st.one_of(st.lists(labels, max_size=4), st.just("u,v")))
        elif mutation == "drop_table" and len(grids) > 1:
            grids.pop(m)
        elif mutation == "drop_row" and len(grid) > 1:
            grid.pop(draw(st.integers(1, len(grid) - 1)))

    def encode(text: str) -> bytes:
        return text.encode(encoding, errors="replace")

    files = {}
    for m, grid in grids.items():
        ext = ".tsv" if seps[m] == "\t" and draw(st.booleans()) else ".csv"
        files[m + ext] = encode("\n".join(seps[m].join(r) for r in grid) + "\n")
    if labelled:
        files["labels.csv"] = encode("id,class\n" + "".join(f"{a},{b}\n" for a, b in label_rows))
    if meta_text is not None or draw(st.booleans()):
        files["modalities.json"] = encode(meta_text if meta_text is not None
                                          else json.dumps(meta))
    return files


def assert_valid(data) -> None:
    """What every reader output promises."""
    assert data.n_samples >= 1 and data.mask.any(axis=1).all()
    assert len(set(data.sample_ids)) == data.n_samples
    assert all(s and s == s.strip() for s in data.sample_ids)
    assert len(set(data.class_names)) == len(data.class_names)
    for m, spec in enumerate(data.specs):
        assert spec.kind in KINDS
        assert spec.positions is None or len(spec.positions) == spec.n_features
        names = data.feature_names[spec.name]
        assert len(names) == spec.n_features == len(set(names)) and all(names)
        present = data.x[spec.name][data.mask[:, m]]
        assert np.isfinite(present).all() and (np.abs(present) <= FLOAT32_MAX).all()
        assert np.isnan(data.x[spec.name][~data.mask[:, m]]).all()
    if data.y is not None:
        assert data.y.shape == (data.n_samples,)
        assert ((data.y >= 0) & (data.y < data.n_classes)).all()


def read_everything(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", CancerAlphaWarning)
        folder = Path(tmp)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        try:
            data = read_folder(folder)
        except CancerAlphaError:
            return
        assert_valid(data)
        for policy in ("error", "drop", "keep"):
            try:
                kept, _ = drop_constant_features(data, policy)
            except CancerAlphaError:
                continue
            assert_valid(kept)
            if kept.y is not None:
                try:
                    check_training_data(kept, val_fraction=0.5)
                except CancerAlphaError:
                    pass
            z = Standardizer().fit(kept).transform(kept)
            assert all(np.isfinite(v).all() for v in z.values())


@SETTINGS
@given(folders())
def test_any_folder_reads_as_valid_data_or_raises_the_project_error(files):
    read_everything(files)


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from(["a.csv", "a.tsv", "a.parquet",
                                                 "labels.csv", "modalities.json",
                                                 "modalities.yml"]))
def test_arbitrary_bytes_in_any_file_raise_the_project_error_or_read(content, name):
    files = {name: content}
    if name.startswith(("labels", "modalities")):
        files["a.csv"] = b"id,f\ns1,1\ns2,2\n"
    read_everything(files)
