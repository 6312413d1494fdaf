"""The command line round trip: synthesize -> train -> predict -> evaluate, and its errors."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli
from cancer_alpha.datasets import align_features, read_folder
from cancer_alpha.evaluate import classification_metrics
from cancer_alpha.training import load_run


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "200", "--seed", "1"]) == 0
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "new"),
                     "--n-samples", "60", "--seed", "2"]) == 0
    assert cli.main(["train", "--data", str(root / "cohort"), "--model", "mmt_modality",
                     "--out", str(root / "run"), "--profile", "smoke", "--max-epochs", "2"]) == 0
    return root


def test_train_writes_a_complete_run(workspace):
    run = workspace / "run"
    assert {p.name for p in run.iterdir()} == {"model.pt", "config.json", "preprocessing.json",
                                               "metrics.json", "history.json"}
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["validation"]["accuracy"] <= 1.0 and metrics["n_validation"] == 40


def test_predictions_match_the_in_process_model(workspace, capsys):
    out = workspace / "pred.csv"
    assert cli.main(["predict", "--run", str(workspace / "run"), "--data",
                     str(workspace / "new"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    fitted, config = load_run(workspace / "run")
    data = align_features(read_folder(workspace / "new", labels=False), fitted.specs,
                          config["feature_names"])
    expected = fitted.predict_proba(data)
    assert list(table["sample_id"]) == data.sample_ids
    got = table[[f"p_{c}" for c in fitted.class_names]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)  # the CSV keeps 6 significant digits
    assert list(table["predicted"]) == [fitted.class_names[k] for k in expected.argmax(axis=1)]


def test_evaluate_prints_the_metrics_of_the_labelled_folder(workspace, capsys):
    assert cli.main(["evaluate", "--run", str(workspace / "run"), "--data",
                     str(workspace / "new")]) == 0
    printed = json.loads(capsys.readouterr().out)
    fitted, config = load_run(workspace / "run")
    data = align_features(read_folder(workspace / "new"), fitted.specs, config["feature_names"])
    ref = classification_metrics(data.y, fitted.predict_proba(data))
    assert printed["accuracy"] == pytest.approx(ref["accuracy"]) and printed["n_samples"] == 60


def test_predict_with_a_modality_missing_for_some_and_all_samples(workspace):
    folder = workspace / "partial"
    shutil.copytree(workspace / "new", folder)
    (folder / "labels.csv").unlink()
    (folder / "cna.csv").unlink()  # no sample has copy number
    meta = json.loads((folder / "modalities.json").read_text())
    meta["modalities"].pop("cna")
    (folder / "modalities.json").write_text(json.dumps(meta))
    meth = pd.read_csv(folder / "methylation.csv")
    meth.iloc[10:].to_csv(folder / "methylation.csv", index=False)  # 10 lack methylation too
    out = workspace / "partial.csv"
    assert cli.main(["predict", "--run", str(workspace / "run"), "--data", str(folder),
                     "--out", str(out)]) == 0
    table = pd.read_csv(out)
    probs = table.filter(like="p_").to_numpy()
    assert len(table) == 60 and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (table["modalities"] == "fragmentomics").sum() == 10


def test_a_truncated_checkpoint_is_one_clear_error(workspace, capsys):
    bad = workspace / "truncated"
    shutil.copytree(workspace / "run", bad)
    data = (bad / "model.pt").read_bytes()
    (bad / "model.pt").write_bytes(data[: len(data) // 3])
    assert cli.main(["predict", "--run", str(bad), "--data", str(workspace / "new"),
                     "--out", str(workspace / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "is not a readable checkpoint" in err and "Traceback" not in err
    assert not (workspace / "x.csv").exists()


def test_weights_of_another_model_are_refused(workspace, capsys):
    other = workspace / "other"
    assert cli.main(["train", "--data", str(workspace / "cohort"), "--model",
                     "early_fusion_mlp", "--out", str(other), "--profile", "smoke",
                     "--max-epochs", "1"]) == 0
    mixed = workspace / "mixed"
    shutil.copytree(workspace / "run", mixed)
    shutil.copy(other / "model.pt", mixed / "model.pt")
    assert cli.main(["evaluate", "--run", str(mixed), "--data", str(workspace / "new")]) == 2
    assert "does not fit model 'mmt_modality'" in capsys.readouterr().err


def test_data_with_other_features_is_refused_by_name(workspace, capsys):
    folder = workspace / "renamed"
    shutil.copytree(workspace / "new", folder)
    meth = pd.read_csv(folder / "methylation.csv")
    meth.rename(columns={meth.columns[1]: "cg_unknown"}).to_csv(folder / "methylation.csv",
                                                                 index=False)
    assert cli.main(["evaluate", "--run", str(workspace / "run"), "--data", str(folder)]) == 2
    assert "cg_unknown" in capsys.readouterr().err


def test_unknown_model_lists_the_valid_names(workspace, capsys):
    assert cli.main(["train", "--data", str(workspace / "cohort"), "--model", "gpt",
                     "--out", str(workspace / "never")]) == 2
    assert "unknown model 'gpt'" in capsys.readouterr().err
    assert not (workspace / "never").exists()
