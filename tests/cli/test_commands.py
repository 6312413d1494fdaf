"""The command line round trip: synthesize -> train -> cv -> evaluate -> predict, and what a
researcher's data needs from it (every model by name, classical models, reports, warnings)."""

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli
from cancer_alpha.datasets import align_features, read_folder
from cancer_alpha.evaluate import classification_metrics
from cancer_alpha.training import load_model_folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("cli")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "200", "--seed", "1"]) == 0
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "new"),
                     "--n-samples", "60", "--seed", "2"]) == 0
    # no --model: the documented default
    assert cli.main(["train", "--data", str(root / "cohort"), "--out", str(root / "run"),
                     "--profile", "smoke", "--max-epochs", "2"]) == 0
    assert cli.main(["train", "--data", str(root / "cohort"), "--model", "logistic_regression",
                     "--out", str(root / "lr"), "--profile", "smoke"]) == 0
    return root


def strict_json(path):
    """JSON as the standard defines it: a bare NaN or Infinity fails the test."""
    def refuse(name):
        raise AssertionError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_train_writes_a_complete_model_folder_with_the_default_model(workspace):
    run = workspace / "run"
    assert {p.name for p in run.iterdir()} == {"model.pt", "config.json", "preprocessing.json",
                                               "metrics.json", "history.json",
                                               "checksums.sha256"}
    config = strict_json(run / "config.json")
    assert config["model"] == cli.DEFAULT_MODEL == "mmt_modality"
    assert config["preprocessing"] == {"constant": "error", "dropped_features": {},
                                       "range_check": True}
    metrics = strict_json(run / "metrics.json")
    assert 0.0 <= metrics["validation"]["accuracy"] <= 1.0 and metrics["n_validation"] == 40
    assert "optimistic" in metrics["validation_role"]
    assert set(metrics["validation"]["per_class"]) == set(config["class_names"])


def test_a_classical_model_folder_is_saved_without_pickle_and_predicts_like_the_pipeline(workspace):
    run = workspace / "lr"
    assert {p.name for p in run.iterdir()} == {"model.skops", "config.json",
                                               "preprocessing.json", "metrics.json",
                                               "history.json", "checksums.sha256"}
    assert strict_json(run / "config.json")["family"] == "classical"
    fitted, config = load_model_folder(run)
    data = align_features(read_folder(workspace / "new", labels=False), fitted.specs,
                          config["feature_names"])
    from cancer_alpha import baselines

    ref = baselines.fit_baseline("logistic_regression", read_folder(workspace / "cohort"))
    np.testing.assert_allclose(fitted.predict_proba(data),
                               baselines.predict_proba(ref, data, 5), atol=1e-10)
    assert "refitted on all samples" in strict_json(run / "metrics.json")["validation_role"]


def test_predictions_match_the_in_process_model(workspace):
    out = workspace / "pred.csv"
    assert cli.main(["predict", "--model-dir", str(workspace / "run"), "--data",
                     str(workspace / "new"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    fitted, config = load_model_folder(workspace / "run")
    data = align_features(read_folder(workspace / "new", labels=False), fitted.specs,
                          config["feature_names"])
    expected = fitted.predict_proba(data)
    assert list(table["sample_id"]) == data.sample_ids
    got = table[[f"p_{c}" for c in fitted.class_names]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)  # the CSV keeps 6 significant digits
    assert list(table["predicted"]) == [fitted.class_names[k] for k in expected.argmax(axis=1)]


def test_the_old_run_option_still_predicts_with_a_one_line_deprecation_warning(workspace,
                                                                               capsys):
    """``--run`` (the name of --model-dir before model folders were called so) is accepted for
    existing scripts, says once which name to use, and predicts what --model-dir predicts."""
    new, old = workspace / "pred_model_dir.csv", workspace / "pred_run.csv"
    assert cli.main(["predict", "--model-dir", str(workspace / "run"), "--data",
                     str(workspace / "new"), "--out", str(new)]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert cli.main(["predict", "--run", str(workspace / "run"), "--data",
                     str(workspace / "new"), "--out", str(old)]) == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "deprecated" in line]
    assert warning == ["cancer-alpha predict: warning: --run is deprecated, use --model-dir "
                       "(same meaning)"]
    assert old.read_text() == new.read_text()
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    shown = capsys.readouterr().out
    assert "--model-dir DIR" in shown and "--run" not in shown  # the old name is not advertised
    with pytest.raises(SystemExit):
        cli.main(["predict", "--run", str(workspace / "run"), "--model-dir",
                  str(workspace / "run"), "--data", str(workspace / "new"), "--out", str(old),
                  "--overwrite"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_evaluate_prints_a_report_and_writes_strict_json(workspace, capsys):
    out = workspace / "eval.json"
    assert cli.main(["evaluate", "--model-dir", str(workspace / "run"), "--data",
                     str(workspace / "new"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ROC AUC (macro one-vs-rest)" in printed
    assert "confusion matrix (rows: true class, columns: predicted)" in printed
    report = strict_json(out)
    fitted, config = load_model_folder(workspace / "run")
    data = align_features(read_folder(workspace / "new"), fitted.specs, config["feature_names"])
    ref = classification_metrics(data.y, fitted.predict_proba(data))
    assert report["accuracy"] == pytest.approx(ref["accuracy"]) and report["n_samples"] == 60
    assert report["roc_auc"] == pytest.approx(ref["roc_auc_macro"])
    counts = np.array(report["confusion_matrix"]["counts"])
    assert counts.sum() == 60 and np.trace(counts) == round(ref["accuracy"] * 60)
    assert [report["per_class"][c]["support"] for c in fitted.class_names] == \
        np.bincount(data.y, minlength=5).tolist()


def test_binary_auc_is_named_binary(workspace, capsys):
    folder = workspace / "binary"
    shutil.copytree(workspace / "cohort", folder)
    labels = pd.read_csv(folder / "labels.csv")
    labels["label"] = np.where(labels["label"] == "healthy", "healthy", "cancer")
    labels.to_csv(folder / "labels.csv", index=False)
    meta = json.loads((folder / "modalities.json").read_text())
    meta["classes"] = ["healthy", "cancer"]
    (folder / "modalities.json").write_text(json.dumps(meta))
    assert cli.main(["train", "--data", str(folder), "--model", "logistic_regression",
                     "--out", str(workspace / "binary_run")]) == 0
    assert "ROC AUC (binary, positive class 'cancer')" in capsys.readouterr().out
    report = strict_json(workspace / "binary_run" / "metrics.json")["validation"]
    assert report["roc_auc_average"] == "binary" and report["roc_auc_positive_class"] == "cancer"


def test_cv_runs_the_protocol_and_writes_the_comparison(workspace, capsys):
    out = workspace / "cv"
    assert cli.main(["cv", "--data", str(workspace / "cohort"), "--models",
                     "logistic_regression,random_forest", "--folds", "2", "--seeds", "0,1",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "± " in printed and "AUC 95% CI" in printed and "n_runs" in printed
    assert {p.name for p in out.iterdir()} == {"comparison.csv", "comparison.json",
                                               "fits.csv", "table.txt"}
    assert not (workspace / ".cv.partial").exists()  # the kept fits go once the output is in
    fits = pd.read_csv(out / "fits.csv")
    assert len(fits) == 8 and set(fits["model"]) == {"logistic_regression", "random_forest"}
    table = pd.read_csv(out / "comparison.csv", index_col="model")
    assert table.loc["random_forest", "n_runs"] == 4
    lr = fits[fits["model"] == "logistic_regression"]
    assert table.loc["logistic_regression", "accuracy_mean"] == pytest.approx(
        lr["accuracy"].mean())
    # paired on the same (seed, fold): the difference is the mean of per-split differences
    pivot = fits.pivot_table(index=["seed", "fold"], columns="model", values="accuracy")
    assert table.loc["random_forest", "accuracy_delta"] == pytest.approx(
        (pivot["random_forest"] - pivot["logistic_regression"]).mean())
    summary = strict_json(out / "comparison.json")
    assert summary["reference"] == "logistic_regression" and summary["folds"] == 2


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
    assert cli.main(["predict", "--model-dir", str(workspace / "run"), "--data", str(folder),
                     "--out", str(out)]) == 0
    table = pd.read_csv(out)
    probs = table.filter(like="p_").to_numpy()
    assert len(table) == 60 and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (table["modalities"] == "fragmentomics").sum() == 10


def test_every_model_of_the_book_is_reachable_by_name():
    from cancer_alpha import models
    from cancer_alpha.baselines import BASELINES
    from cancer_alpha.model_names import BASELINE_MODELS, NEURAL_MODELS

    assert tuple(NEURAL_MODELS) == models.MODEL_NAMES
    assert set(models._BUILDERS) == set(NEURAL_MODELS)  # a builder for every name
    assert tuple(BASELINE_MODELS) == BASELINES


HEAVY = ("torch", "sklearn", "lightning", "pytorch_lightning", "optuna", "matplotlib", "pandas",
         "scipy")


@pytest.mark.parametrize("command", [None, "reproduce", "tune", "synthesize", "train", "cv",
                                     "predict", "evaluate", "publish", "verify"])
def test_every_help_imports_no_heavy_library(command):
    argv = ["--help"] if command is None else [command, "--help"]
    code = ("import sys, contextlib, io\n"
            "from cancer_alpha.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({argv!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_help_is_fast_and_imports_nothing_heavy():
    code = ("import sys, cancer_alpha.cli as c\n"
            "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'pandas', 'sklearn', 'pytorch_lightning', 'numpy') "
            "if m in sys.modules]\nprint('HEAVY', heavy)")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr
    assert time.perf_counter() - t0 < 10
    assert "cv" in done.stdout and "Your own data" in done.stdout
