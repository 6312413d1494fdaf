"""A whole modality missing when predicting: models with masks predict with it masked and say
what Chapter 6 measured it costs; a model that cannot do without it refuses clearly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli

SMOKE = ["--profile", "smoke", "--max-epochs", "1"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("missing")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "120", "--seed", "1"]) == 0
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "new"),
                     "--n-samples", "30", "--seed", "2"]) == 0
    # a training folder in which a third of the samples lack copy number
    gappy = root / "gappy"
    shutil.copytree(root / "cohort", gappy)
    cna = pd.read_csv(gappy / "cna.csv")
    cna.iloc[::3].to_csv(gappy / "cna.csv", index=False)
    # the held-out folder without its copy-number table, still listed in modalities.json
    without = root / "without_cna"
    shutil.copytree(root / "new", without)
    (without / "cna.csv").unlink()
    assert "cna" in json.loads((without / "modalities.json").read_text())["modalities"]
    for name, data, model in (("mmt", "cohort", "mmt_modality"),
                              ("lr", "cohort", "logistic_regression"),
                              ("lr_gappy", "gappy", "logistic_regression")):
        assert cli.main(["train", "--data", str(root / data), "--out", str(root / name),
                         "--model", model, *SMOKE]) == 0
    return root


def run(args, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_neural_model_predicts_with_the_absent_modality_masked(ws, capsys, monkeypatch,
                                                               tmp_path):
    monkeypatch.setenv("CANCER_ALPHA_RESULTS", str(tmp_path))  # no Chapter 6 record there
    out = ws / "masked.csv"
    code, _, err = run(["predict", "--model-dir", ws / "mmt", "--data", ws / "without_cna",
                        "--out", out, "--overwrite"], capsys)
    assert code == 0
    assert "warning: modality 'cna' is absent from every sample" in err
    assert "predicting with it masked" in err
    assert "Chapter 6 measures" in err and "--only 06" in err
    table = pd.read_csv(out)
    assert len(table) == 30 and set(table["modalities"]) == {"methylation+fragmentomics"}
    assert np.isfinite(table.filter(like="p_").to_numpy()).all()


def test_the_warning_gives_the_accuracy_chapter_5_measured_for_the_remaining_subset(
        ws, capsys, monkeypatch, tmp_path):
    record = tmp_path / "smoke" / "06_ablations.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"metrics": {"subset_accuracy": {
        "methylation+fragmentomics": {"model": 0.6125, "bayes": 0.7},
        "methylation+fragmentomics+cna": {"model": 0.8375, "bayes": 0.9}}}}))
    monkeypatch.setenv("CANCER_ALPHA_RESULTS", str(tmp_path))
    code, out, err = run(["evaluate", "--model-dir", ws / "mmt", "--data", ws / "without_cna"],
                         capsys)
    assert code == 0 and "accuracy" in out
    assert ("Chapter 6 measured accuracy 0.613 with only methylation+fragmentomics observed "
            "against 0.838 with every modality") in err
    assert "profile 'smoke'" in err


def test_a_classical_model_that_never_saw_the_modality_missing_refuses(ws, capsys):
    out = ws / "refused.csv"
    code, _, err = run(["predict", "--model-dir", ws / "lr", "--data", ws / "without_cna", "--out",
                        out], capsys)
    assert code == 2 and not out.exists()
    assert "modality 'cna' is absent from every sample" in err
    assert "cannot predict without it" in err and "never saw a training sample" in err


def test_a_classical_model_trained_with_the_modality_missing_imputes_it(ws, capsys):
    out = ws / "imputed.csv"
    code, _, err = run(["predict", "--model-dir", ws / "lr_gappy", "--data", ws / "without_cna",
                        "--out", out], capsys)
    assert code == 0 and len(pd.read_csv(out)) == 30
    assert "imputes it as it learned to" in err


def test_a_folder_without_a_listed_table_is_still_refused_for_training(ws, capsys):
    folder = ws / "train_without_cna"
    shutil.copytree(ws / "without_cna", folder, dirs_exist_ok=True)
    shutil.copy(ws / "cohort" / "labels.csv", folder / "labels.csv")
    code, _, err = run(["train", "--data", folder, "--out", ws / "never", *SMOKE], capsys)
    assert code == 2 and "modality 'cna' has no table" in err
    assert not (ws / "never").exists()


def test_a_model_not_of_the_synthetic_world_says_the_cost_is_unknown(ws, capsys, tmp_path):
    folder = tmp_path / "renamed"
    shutil.copytree(ws / "cohort", folder)
    (folder / "cna.csv").rename(folder / "copy_number.csv")
    meta = json.loads((folder / "modalities.json").read_text())
    meta["modalities"]["copy_number"] = meta["modalities"].pop("cna")
    (folder / "modalities.json").write_text(json.dumps(meta))
    assert cli.main(["train", "--data", str(folder), "--out", str(tmp_path / "run"),
                     *SMOKE]) == 0
    predict_on = tmp_path / "no_copy_number"
    shutil.copytree(folder, predict_on)
    (predict_on / "copy_number.csv").unlink()
    (predict_on / "labels.csv").unlink()
    code, _, err = run(["predict", "--model-dir", tmp_path / "run", "--data", predict_on, "--out",
                        tmp_path / "p.csv"], capsys)
    assert code == 0 and "what it costs on this data is not known here" in err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 120
