"""Property: whatever a folder holds (shapes, values, encodings, ids, labels, metadata), the
reader either returns valid data or raises the project's error; no other exception, and never
a NaN or an infinity where a sample is present. The training rules and the scaling keep the
same promise on whatever the reader accepted. Run folders keep it too: a run whose files were
swapped, truncated or edited after it was saved is refused, never used to predict.

Hypothesis runs derandomized with a bounded number of examples, so CI is deterministic.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
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


# --------------------------------------------------------------------------- run folders

RUN_SOURCES = {"mmt": ("mmt_modality", 0), "mmt_seed1": ("mmt_modality", 1),
               "fusion": ("early_fusion_mlp", 0), "lr": ("logistic_regression", 0),
               "rf": ("random_forest", 0)}
RUN_CORRUPTIONS = ("swap", "truncate", "flip_byte", "append", "delete", "edit_json")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Valid runs of both families (the same model with two seeds among them), the data they
    predict, and each run's predictions on it."""
    import torch

    from cancer_alpha import cli
    from cancer_alpha.datasets import align_features
    from cancer_alpha.training import load_run

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "80", "--seed", "1"]) == 0
    for name, (model, seed) in RUN_SOURCES.items():
        assert cli.main(["train", "--data", str(root / "cohort"), "--out", str(root / name),
                         "--model", model, "--seed", str(seed), "--profile", "smoke",
                         "--max-epochs", "1"]) == 0
    data = read_folder(root / "cohort", labels=False)
    predictions = {}
    for name in RUN_SOURCES:
        fitted, config = load_run(root / name)
        predictions[name] = fitted.predict_proba(
            align_features(data, fitted.specs, config["feature_names"]))
    return root, data, predictions


def _edit_json(value, path: list[int]):
    """``value`` with one element changed, chosen by ``path`` (draws of integers)."""
    if isinstance(value, dict) and value:
        key = sorted(value)[path[0] % len(value)]
        return {**value, key: _edit_json(value[key], path[1:] or [0])}
    if isinstance(value, list) and value:
        if path[0] % 3 == 0:
            return value[::-1] if value != value[::-1] else value + value[:1]
        i = path[0] % len(value)
        return [*value[:i], _edit_json(value[i], path[1:] or [0]), *value[i + 1:]]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    return 0 if value is None else value


@st.composite
def run_corruptions(draw):
    run = draw(st.sampled_from(sorted(RUN_SOURCES)))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(RUN_CORRUPTIONS))
        steps.append((kind, draw(st.integers(0, 10)), draw(st.sampled_from(sorted(RUN_SOURCES))),
                      draw(st.floats(0, 1, exclude_max=True)),
                      draw(st.lists(st.integers(0, 50), min_size=1, max_size=4)),
                      draw(st.binary(min_size=1, max_size=8))))
    return run, steps


def _corrupt(folder: Path, root: Path, steps) -> None:
    import shutil

    for kind, which, other, where, path, extra in steps:
        files = sorted(p.name for p in folder.iterdir() if p.is_file())
        if not files:
            return
        name = files[which % len(files)]
        target = folder / name
        raw = target.read_bytes()
        if kind == "swap" and (root / other / name).is_file():
            shutil.copyfile(root / other / name, target)
        elif kind == "truncate":
            target.write_bytes(raw[: int(where * len(raw))])
        elif kind == "flip_byte" and raw:
            i = int(where * len(raw))
            target.write_bytes(raw[:i] + bytes([raw[i] ^ 0x55]) + raw[i + 1:])
        elif kind == "append":
            target.write_bytes(raw + extra)
        elif kind == "delete":
            target.unlink()
        elif kind == "edit_json" and name.endswith(".json"):
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            target.write_text(json.dumps(_edit_json(value, path)))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=run_corruptions())
def test_a_corrupted_run_folder_is_refused_or_predicts_exactly_as_saved(runs, case):
    """Swapped (from another run, the same model with another seed among them), truncated,
    edited, extended or deleted files: the run is refused with the project's error, or (when
    the corruption changed nothing, e.g. a file swapped for an identical one) it predicts
    exactly as it did."""
    import shutil

    from cancer_alpha.datasets import align_features
    from cancer_alpha.training import load_run

    root, data, predictions = runs
    name, steps = case
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", CancerAlphaWarning)
        folder = Path(tmp) / "run"
        shutil.copytree(root / name, folder)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        _corrupt(folder, root, steps)
        after = {p.name: p.read_bytes() for p in folder.iterdir()}
        try:
            fitted, config = load_run(folder)
        except CancerAlphaError:
            return
        assert after == before, f"a changed run folder was accepted: {steps}"
        proba = fitted.predict_proba(align_features(data, fitted.specs, config["feature_names"]))
        np.testing.assert_array_equal(proba, predictions[name])
