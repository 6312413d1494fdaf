"""Model folders (training.model_folder): each file is in the folder's checksums, a folder
whose files were swapped, truncated or edited after it was saved is refused, never used to
predict, and a saved folder holds JSON without bare NaNs."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cancer_alpha import cli
from cancer_alpha.datasets import (
    align_features,
    read_folder,
)
from cancer_alpha.errors import (
    CancerAlphaError,
    CancerAlphaWarning,
    ModelFolderError,
)
from cancer_alpha.training.model_folder import CHECKSUMS, load_model_folder, write_checksums
from tests.tiny_models import tiny_data as make


def test_a_saved_model_folder_writes_null_with_a_reason_for_nan_metrics(tmp_path):
    from cancer_alpha.baselines import fit_baseline_model
    from cancer_alpha.training.model_folder import save_model_folder

    rng = np.random.default_rng(0)
    data = make(n=20, x={"a": rng.normal(size=(20, 2))}, mask=np.ones((20, 1), bool),
                y=np.arange(20) % 2, sample_ids=[f"s{i}" for i in range(20)])
    fitted = fit_baseline_model("logistic_regression", data)
    save_model_folder(fitted, tmp_path / "run", metrics={"validation": {"roc_auc": float("nan")}})
    text = (tmp_path / "run" / "metrics.json").read_text()
    assert "NaN" not in text
    assert json.loads(text)["validation"] == {"roc_auc": None,
                                              "roc_auc_undefined": "not defined for these data"}


FOLDER_SOURCES = {"mmt": ("mmt_modality", 0), "mmt_seed1": ("mmt_modality", 1),
               "fusion": ("early_fusion_mlp", 0), "lr": ("logistic_regression", 0),
               "rf": ("random_forest", 0)}


RUN_CORRUPTIONS = ("swap", "truncate", "flip_byte", "append", "delete", "edit_json")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Valid model folders of both families (the same model with two seeds among them), the
    data they predict, and each folder's predictions on it."""
    import torch

    from cancer_alpha import cli
    from cancer_alpha.datasets import align_features
    from cancer_alpha.training import load_model_folder

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("model_folders")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "80", "--seed", "1"]) == 0
    for name, (model, seed) in FOLDER_SOURCES.items():
        assert cli.main(["train", "--data", str(root / "cohort"), "--out", str(root / name),
                         "--model", model, "--seed", str(seed), "--profile", "smoke",
                         "--max-epochs", "1"]) == 0
    data = read_folder(root / "cohort", labels=False)
    predictions = {}
    for name in FOLDER_SOURCES:
        fitted, config = load_model_folder(root / name)
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
    folder = draw(st.sampled_from(sorted(FOLDER_SOURCES)))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(RUN_CORRUPTIONS))
        steps.append((kind, draw(st.integers(0, 10)), draw(st.sampled_from(sorted(FOLDER_SOURCES))),
                      draw(st.floats(0, 1, exclude_max=True)),
                      draw(st.lists(st.integers(0, 50), min_size=1, max_size=4)),
                      draw(st.binary(min_size=1, max_size=8))))
    return folder, steps


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
def test_a_corrupted_model_folder_is_refused_or_predicts_exactly_as_saved(folders, case):
    """Swapped (from another folder, the same model with another seed among them), truncated,
    edited, extended or deleted files: the folder is refused with the project's error, or (when
    the corruption changed nothing, e.g. a file swapped for an identical one) it predicts
    exactly as it did."""
    import shutil

    from cancer_alpha.datasets import align_features
    from cancer_alpha.training import load_model_folder

    root, data, predictions = folders
    name, steps = case
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", CancerAlphaWarning)
        folder = Path(tmp) / "run"
        shutil.copytree(root / name, folder)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        _corrupt(folder, root, steps)
        after = {p.name: p.read_bytes() for p in folder.iterdir()}
        try:
            fitted, config = load_model_folder(folder)
        except CancerAlphaError:
            return
        assert after == before, f"a changed model folder was accepted: {steps}"
        proba = fitted.predict_proba(align_features(data, fitted.specs, config["feature_names"]))
        np.testing.assert_array_equal(proba, predictions[name])


SMOKE = ["--profile", "smoke", "--max-epochs", "1"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A five-class cohort, a three-class copy of it, and model folders of both families
    on them."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("model_folders")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "120", "--seed", "1"]) == 0
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "new"),
                     "--n-samples", "40", "--seed", "2"]) == 0
    three = root / "three"
    shutil.copytree(root / "cohort", three)
    labels = pd.read_csv(three / "labels.csv")
    labels["label"] = labels["label"].where(labels["label"].isin(["healthy", "lung"]), "other")
    labels.to_csv(three / "labels.csv", index=False)
    meta = json.loads((three / "modalities.json").read_text())
    meta["classes"] = ["healthy", "lung", "other"]
    (three / "modalities.json").write_text(json.dumps(meta))
    for name, data, model in (("lr", "cohort", "logistic_regression"),
                              ("rf", "cohort", "random_forest"),
                              ("lr3", "three", "logistic_regression"),
                              ("mmt", "cohort", "mmt_modality")):
        assert cli.main(["train", "--data", str(root / data), "--out", str(root / name),
                         "--model", model, *SMOKE]) == 0
    return root


def copy(ws: Path, name: str, to: str) -> Path:
    dst = ws / to
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(ws / name, dst)
    return dst


def predict(ws: Path, folder: Path, capsys) -> tuple[int, str]:
    out = ws / f"{folder.name}.csv"
    out.unlink(missing_ok=True)
    capsys.readouterr()
    code = cli.main(["predict", "--model-dir", str(folder), "--data", str(ws / "new"), "--out",
                     str(out)])
    err = capsys.readouterr().err
    assert code != 2 or not out.exists()  # a refusal writes no predictions
    return code, err


def test_every_file_of_a_model_folder_is_in_its_checksums_as_sha256sum_writes_them(ws):
    for name in ("lr", "mmt"):
        folder = ws / name
        lines = (folder / CHECKSUMS).read_text().splitlines()
        listed = {line.split("  ")[1]: line.split("  ")[0] for line in lines}
        assert set(listed) == {p.name for p in folder.iterdir()} - {CHECKSUMS}
        for name, digest in listed.items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_a_random_forest_in_a_logistic_regression_model_folder_is_refused(ws, capsys):
    folder = copy(ws, "lr", "lr_with_rf")
    shutil.copy(ws / "rf" / "model.skops", folder / "model.skops")
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "model.skops was changed after the folder was saved" in err
    write_checksums(folder)  # even with checksums that agree, the model itself is checked
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "holds another estimator than config.json's model" in err
    assert "RandomForestClassifier" in err and "LogisticRegression" in err


def test_a_three_class_model_in_a_five_class_model_folder_is_refused(ws, capsys):
    folder = copy(ws, "lr", "five_with_three")
    shutil.copy(ws / "lr3" / "model.skops", folder / "model.skops")
    write_checksums(folder)
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "disagree on the classes and their order" in err
    assert "['healthy', 'lung', 'other']" in err and "'liver'" in err


EDITS = {
    "reversed-classes": (lambda c: c["class_names"].reverse(),
                         "disagree on the classes and their order"),
    "renamed-feature": (lambda c: c["feature_names"]["cna"].__setitem__(0, "chr1:0"),
                        "disagree on the feature names of modality 'cna'"),
    "another-kind": (lambda c: c["specs"][2].update(kind="generic"),
                     "disagree on the modalities"),
    "another-model": (lambda c: c.update(model="random_forest"),
                      "holds another estimator"),
}


@pytest.mark.parametrize("family", ["lr", "mmt"])
@pytest.mark.parametrize("case", list(EDITS))
def test_a_config_edited_after_training_is_refused_naming_both_sides(ws, capsys, family, case):
    edit, message = EDITS[case]
    if family == "mmt" and case == "another-model":
        edit, message = (lambda c: c.update(model="mmt_no_cross_attention"),
                         "disagree on the model")
    folder = copy(ws, family, f"{family}_{case}")
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "config.json was changed after the folder was saved" in err
    write_checksums(folder)
    code, err = predict(ws, folder, capsys)
    assert code == 2 and message in err, err


def test_a_removed_or_added_model_file_is_refused(ws, capsys):
    folder = copy(ws, "mmt", "mmt_plus_skops")
    shutil.copy(ws / "lr" / "model.skops", folder / "model.skops")
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "model.skops was added after the folder was saved" in err
    (folder / "model.skops").unlink()
    (folder / "notes.txt").write_text("trained on Tuesday")  # a file of the user's may sit beside
    code, _ = predict(ws, folder, capsys)
    assert code == 0
    (folder / CHECKSUMS).unlink()
    code, err = predict(ws, folder, capsys)
    assert code == 2 and "checksums.sha256 is missing" in err


def test_a_model_folder_of_the_earlier_format_still_predicts_with_a_warning(ws):
    """Model folders saved before checksums (format 1: bare weights, no description) are
    read, and say that they cannot be checked; the format name written is still the one
    earlier versions read."""
    folder = copy(ws, "mmt", "mmt_format_1")
    config = json.loads((folder / "config.json").read_text())
    config["format"] = "cancer-alpha-run/1"
    (folder / "config.json").write_text(json.dumps(config))
    state = torch.load(folder / "model.pt", weights_only=True)
    torch.save(state["state_dict"], folder / "model.pt")
    (folder / CHECKSUMS).unlink()
    with pytest.warns(CancerAlphaWarning, match="cannot be checked"):
        old, _ = load_model_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new, config = load_model_folder(ws / "mmt")
    assert config["format"] == "cancer-alpha-run/2"
    data = align_features(read_folder(ws / "new", labels=False), new.specs,
                          config["feature_names"])
    np.testing.assert_array_equal(old.predict_proba(data), new.predict_proba(data))


def test_checksums_of_a_model_folder_cannot_be_dodged_by_declaring_the_earlier_format(ws):
    folder = copy(ws, "lr", "lr_claims_format_1")
    config = json.loads((folder / "config.json").read_text())
    config["format"] = "cancer-alpha-run/1"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match="config.json was changed"):
        load_model_folder(folder)
