"""Property: whatever a folder holds (shapes, values, encodings, ids, labels, metadata), the
reader either returns valid data or raises the project's error; no other exception, and never
a NaN or an infinity where a sample is present. The training rules and the scaling keep the
same promise on whatever the reader accepted.

Hypothesis runs derandomized with a bounded number of examples, so CI is deterministic.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancer_alpha.data import FLOAT32_MAX, KINDS, Standardizer
from cancer_alpha.datasets import check_training_data, drop_constant_features, read_folder
from cancer_alpha.errors import CancerAlphaError, CancerAlphaWarning

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# names: plain, blank, padded, repeated, unicode, with separators or quotes inside
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
