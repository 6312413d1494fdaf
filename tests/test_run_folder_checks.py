"""A run folder cannot contradict itself: every file is checksummed when the run is saved, and
the model file describes itself, so a file edited or swapped afterwards (another valid model,
reversed classes, renamed features, another modality) is refused with an error naming both
sides, never used to write predictions."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli
from cancer_alpha.datasets import align_features, read_folder
from cancer_alpha.errors import CancerAlphaWarning, RunFolderError
from cancer_alpha.training.runs import CHECKSUMS, load_run, write_checksums

SMOKE = ["--profile", "smoke", "--max-epochs", "1"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A five-class cohort, a three-class copy of it, and runs of both families on them."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
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


def predict(ws: Path, run: Path, capsys) -> tuple[int, str]:
    out = ws / f"{run.name}.csv"
    out.unlink(missing_ok=True)
    capsys.readouterr()
    code = cli.main(["predict", "--run", str(run), "--data", str(ws / "new"), "--out",
                     str(out)])
    err = capsys.readouterr().err
    assert code != 2 or not out.exists()  # a refusal writes no predictions
    return code, err


def test_every_file_of_a_run_is_in_its_checksums_as_sha256sum_writes_them(ws):
    for run in ("lr", "mmt"):
        folder = ws / run
        lines = (folder / CHECKSUMS).read_text().splitlines()
        listed = {line.split("  ")[1]: line.split("  ")[0] for line in lines}
        assert set(listed) == {p.name for p in folder.iterdir()} - {CHECKSUMS}
        for name, digest in listed.items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_a_random_forest_in_a_logistic_regression_run_is_refused(ws, capsys):
    run = copy(ws, "lr", "lr_with_rf")
    shutil.copy(ws / "rf" / "model.skops", run / "model.skops")
    code, err = predict(ws, run, capsys)
    assert code == 2 and "model.skops was changed after the run was saved" in err
    write_checksums(run)  # even with checksums that agree, the model itself is checked
    code, err = predict(ws, run, capsys)
    assert code == 2 and "holds another estimator than config.json's model" in err
    assert "RandomForestClassifier" in err and "LogisticRegression" in err


def test_a_three_class_model_in_a_five_class_run_is_refused(ws, capsys):
    run = copy(ws, "lr", "five_with_three")
    shutil.copy(ws / "lr3" / "model.skops", run / "model.skops")
    write_checksums(run)
    code, err = predict(ws, run, capsys)
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
    run = copy(ws, family, f"{family}_{case}")
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))
    code, err = predict(ws, run, capsys)
    assert code == 2 and "config.json was changed after the run was saved" in err
    write_checksums(run)
    code, err = predict(ws, run, capsys)
    assert code == 2 and message in err, err


def test_a_removed_or_added_model_file_is_refused(ws, capsys):
    run = copy(ws, "mmt", "mmt_plus_skops")
    shutil.copy(ws / "lr" / "model.skops", run / "model.skops")
    code, err = predict(ws, run, capsys)
    assert code == 2 and "model.skops was added after the run was saved" in err
    (run / "model.skops").unlink()
    (run / "notes.txt").write_text("trained on Tuesday")  # a file of the user's may sit beside
    code, _ = predict(ws, run, capsys)
    assert code == 0
    (run / CHECKSUMS).unlink()
    code, err = predict(ws, run, capsys)
    assert code == 2 and "checksums.sha256 is missing" in err


def test_a_run_of_the_earlier_format_still_predicts_with_a_warning(ws):
    """Runs saved before checksums (format 1: bare weights, no description) are read, and
    say that they cannot be checked."""
    run = copy(ws, "mmt", "mmt_format_1")
    config = json.loads((run / "config.json").read_text())
    config["format"] = "cancer-alpha-run/1"
    (run / "config.json").write_text(json.dumps(config))
    state = torch.load(run / "model.pt", weights_only=True)
    torch.save(state["state_dict"], run / "model.pt")
    (run / CHECKSUMS).unlink()
    with pytest.warns(CancerAlphaWarning, match="cannot be checked"):
        old, _ = load_run(run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new, config = load_run(ws / "mmt")
    data = align_features(read_folder(ws / "new", labels=False), new.specs,
                          config["feature_names"])
    np.testing.assert_array_equal(old.predict_proba(data), new.predict_proba(data))


def test_checksums_of_a_run_cannot_be_dodged_by_declaring_the_earlier_format(ws):
    run = copy(ws, "lr", "lr_claims_format_1")
    config = json.loads((run / "config.json").read_text())
    config["format"] = "cancer-alpha-run/1"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(RunFolderError, match="config.json was changed"):
        load_run(run)
