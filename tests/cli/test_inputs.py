"""A careless user at the command line: bad paths, bad options, bad values, bad labels and
hand-edited runs each end in one clear line and exit status 2 (130 for an interruption),
before any work is done and with nothing written; valid but unusual input is accepted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli

SMOKE = ["--profile", "smoke", "--max-epochs", "1"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A labelled cohort, a labelled held-out folder, a neural model folder and a
    classical one."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bad")
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "cohort"),
                     "--n-samples", "120", "--seed", "1"]) == 0
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / "new"),
                     "--n-samples", "40", "--seed", "2"]) == 0
    assert cli.main(["train", "--data", str(root / "cohort"), "--out", str(root / "run"),
                     *SMOKE]) == 0
    assert cli.main(["train", "--data", str(root / "cohort"), "--out", str(root / "lr"),
                     "--model", "logistic_regression"]) == 0
    return root


def call(args: list[str], capsys) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one command (argparse's own exits included)."""
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def copy(ws: Path, name: str, to: str) -> Path:
    dst = ws / to
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(ws / name, dst)
    return dst


def refuse(*args, **kwargs):
    raise AssertionError("data was read or a model trained before the input was checked")


@pytest.fixture
def no_training(monkeypatch):
    """Training fails the test: the command must stop before it."""
    import cancer_alpha.training as training

    monkeypatch.setattr(training, "fit_neural", refuse)


@pytest.fixture
def no_work(monkeypatch, no_training):
    """Reading data or training fails the test: the command must stop before either."""
    import cancer_alpha.datasets as datasets

    monkeypatch.setattr(datasets, "read_folder", refuse)


def reseal(run: Path) -> Path:
    """Checksums written anew after an edit, as if the model folder had been saved that way:
    the checks behind the checksums (structure, model against config) are then what refuses
    it."""
    from cancer_alpha.training.model_folder import write_checksums

    write_checksums(run)
    return run


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


# --------------------------------------------------------------------------- paths

PATH_CASES = {
    "train-data-missing": (
        lambda ws: ["train", "--data", ws / "nowhere", "--out", ws / "o1", *SMOKE],
        r"--data '.*nowhere': does not exist: expected an existing folder"),
    "train-data-is-a-file": (
        lambda ws: ["train", "--data", ws / "cohort" / "labels.csv", "--out", ws / "o2", *SMOKE],
        r"--data '.*labels\.csv': is a file: expected a folder"),
    "train-out-is-a-file": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws / "new" / "labels.csv",
                    *SMOKE],
        r"--out '.*labels\.csv': is a file: expected a folder to create"),
    "train-out-under-a-file": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws / "plain.txt" / "run",
                    *SMOKE],
        r"--out '.*plain\.txt/run': .*plain\.txt is a file, not a folder"),
    "train-out-is-the-data": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws / "cohort", "--overwrite",
                    *SMOKE],
        r"--out '.*cohort': is the --data folder: an output never replaces an input, even "
        r"with --overwrite"),
    "train-out-contains-the-data": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws, "--overwrite", *SMOKE],
        r"contains the --data folder .*: replacing it would delete the input"),
    "train-out-inside-the-data": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws / "cohort" / "run", *SMOKE],
        r"lies inside the --data folder"),
    "train-out-not-empty": (
        lambda ws: ["train", "--data", ws / "cohort", "--out", ws / "new", *SMOKE],
        r"--out '.*new': exists and is not empty: choose another path, or pass --overwrite"),
    "predict-out-is-a-folder": (
        lambda ws: ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out", ws / "lr"],
        r"--out '.*lr': is a folder: expected the path of a file to write"),
    "predict-out-is-the-labels": (
        lambda ws: ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                    ws / "new" / "labels.csv", "--overwrite"],
        r"--out '.*labels\.csv': lies inside the --data folder"),
    "predict-out-inside-the-model-folder": (
        lambda ws: ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                    ws / "run" / "pred.csv"],
        r"lies inside the --model-dir folder"),
    "predict-out-exists": (
        lambda ws: ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                    ws / "plain.txt"],
        r"--out '.*plain\.txt': exists: choose another path, or pass --overwrite"),
    "predict-out-under-a-file": (
        lambda ws: ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                    ws / "plain.txt" / "p.csv"],
        r"plain\.txt is a file, not a folder"),
    "predict-model-folder-missing": (
        lambda ws: ["predict", "--model-dir", ws / "norun", "--data", ws / "new", "--out",
                    ws / "p.csv"],
        r"--model-dir '.*norun': does not exist"),
    "predict-model-folder-is-a-file": (
        lambda ws: ["predict", "--model-dir", ws / "plain.txt", "--data", ws / "new", "--out",
                    ws / "p.csv"],
        r"--model-dir '.*plain\.txt': is a file: expected a folder"),
    "predict-model-folder-is-a-data-folder": (
        lambda ws: ["predict", "--model-dir", ws / "cohort", "--data", ws / "new", "--out",
                    ws / "p.csv"],
        r"cohort is not a model folder: .*config\.json is missing"),
    "evaluate-out-is-a-folder": (
        lambda ws: ["evaluate", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                    ws / "lr"],
        r"--out '.*lr': is a folder"),
    "evaluate-data-missing": (
        lambda ws: ["evaluate", "--model-dir", ws / "run", "--data", ws / "nodata"],
        r"--data '.*nodata': does not exist"),
    "synthesize-out-is-a-file": (
        lambda ws: ["synthesize", "--profile", "smoke", "--out", ws / "plain.txt"],
        r"--out '.*plain\.txt': is a file: expected a folder to create"),
    "synthesize-out-not-empty": (
        lambda ws: ["synthesize", "--profile", "smoke", "--out", ws / "new"],
        r"exists and is not empty: choose another path, or pass --overwrite to replace it$"),
    "synthesize-out-under-a-file": (
        lambda ws: ["synthesize", "--profile", "smoke", "--out", ws / "plain.txt" / "x" / "y"],
        r"plain\.txt is a file, not a folder"),
    "cv-out-is-the-data": (
        lambda ws: ["cv", "--data", ws / "cohort", "--out", ws / "cohort", "--overwrite"],
        r"is the --data folder"),
    "cv-out-not-empty": (
        lambda ws: ["cv", "--data", ws / "cohort", "--out", ws / "run"],
        r"exists and is not empty"),
}


@pytest.mark.parametrize("case", list(PATH_CASES))
def test_a_bad_path_is_refused_before_any_work(ws, capsys, no_work, case):
    (ws / "plain.txt").write_text("not a folder\n")
    make_args, message = PATH_CASES[case]
    before = {p: tree(ws / p) for p in ("cohort", "new", "run")}
    code, out, err = call(make_args(ws), capsys)
    assert code == 2, err
    assert pytest.importorskip("re").search(message, err.strip().splitlines()[-1]), err
    assert err.count("error:") == 1
    for p, content in before.items():
        assert tree(ws / p) == content, f"{p} changed"
    assert not (ws / "p.csv").exists() and not (ws / "o1").exists()


@pytest.mark.parametrize("command", ["train", "predict", "synthesize"])
def test_an_unwritable_parent_is_refused_up_front(ws, capsys, no_work, monkeypatch, command):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # what a read-only folder answers
    args = {"train": ["train", "--data", ws / "cohort", "--out", ws / "ro" / "run", *SMOKE],
            "predict": ["predict", "--model-dir", ws / "run", "--data", ws / "new", "--out",
                        ws / "ro" / "p.csv"],
            "synthesize": ["synthesize", "--profile", "smoke", "--out", ws / "ro" / "c"]}
    code, _, err = call(args[command], capsys)
    assert code == 2 and "cannot write in" in err and "Permission denied" in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_a_read_only_folder_is_refused_for_real(ws, capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, _, err = call(["synthesize", "--profile", "smoke", "--out", ro / "c"], capsys)
    finally:
        ro.chmod(0o700)
    assert code == 2 and "cannot write in" in err


# --------------------------------------------------------------------------- options

OPTION_CASES = {
    "max-epochs-zero": (["train", "--max-epochs", "0"], r"argument --max-epochs: 0 is invalid: "
                                                        r"expected an integer >= 1"),
    "max-epochs-negative": (["train", "--max-epochs", "-3"], r"--max-epochs: -3 is invalid"),
    "max-epochs-text": (["train", "--max-epochs", "ten"], r"--max-epochs: 'ten' is not an "
                                                          r"integer"),
    "n-samples-zero": (["synthesize", "--n-samples", "0"], r"--n-samples: 0 is invalid"),
    "seed-negative": (["train", "--seed", "-1"], r"argument --seed: -1 is invalid: expected a "
                                                 r"seed, an integer in \[0, 4294967295\]"),
    "seed-too-large": (["synthesize", "--seed", str(2**32)], r"--seed: 4294967296 is invalid"),
    "val-fraction-zero": (["train", "--val-fraction", "0"], r"--val-fraction: 0 is invalid: "
                                                            r"expected a fraction in \(0, 1\)"),
    "val-fraction-one": (["cv", "--val-fraction", "1"], r"--val-fraction: 1 is invalid"),
    "val-fraction-nan": (["train", "--val-fraction", "nan"], r"--val-fraction: nan is invalid"),
    "val-fraction-text": (["train", "--val-fraction", "a fifth"], r"is not a number"),
    "unknown-model": (["train", "--model", "gpt"], r"--model: unknown model 'gpt': expected one "
                                                   r"of mmt_modality, .*random_forest"),
    "unknown-model-in-list": (["cv", "--models", "mmt_modality,svm"], r"unknown model 'svm'"),
    "model-listed-twice": (["cv", "--models", "random_forest,random_forest"],
                           r"names a model twice"),
    "empty-model-list": (["cv", "--models", ","], r"expected at least one model name"),
    "one-fold": (["cv", "--folds", "1"], r"--folds: 1 is invalid: expected a number of folds"),
    "seed-listed-twice": (["cv", "--seeds", "0,0"], r"--seeds: '0,0' repeats a seed"),
    "seed-list-text": (["cv", "--seeds", "0,one"], r"--seeds: 'one' is not a seed"),
    "jobs-zero": (["cv", "--jobs", "0"], r"--jobs: 0 is invalid"),
    "unknown-constant-policy": (["train", "--constant", "ignore"],
                                r"--constant: invalid choice: 'ignore'"),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_a_bad_option_names_the_option_and_the_value(ws, capsys, no_work, case):
    extra, message = OPTION_CASES[case]
    base = {"train": ["--data", ws / "cohort", "--out", ws / "never"],
            "cv": ["--data", ws / "cohort", "--out", ws / "never"],
            "synthesize": ["--out", ws / "never"]}[extra[0]]
    code, _, err = call([extra[0], *base, *extra[1:]], capsys)
    assert code == 2
    assert pytest.importorskip("re").search(message, err), err
    assert not (ws / "never").exists()


def test_an_unknown_profile_is_one_clear_error(ws, capsys):
    code, _, err = call(["train", "--data", ws / "cohort", "--out", ws / "never",
                         "--profile", "tiny"], capsys)
    assert code == 2 and "unknown profile 'tiny': expected one of" in err


def test_too_many_folds_for_a_class_names_the_option(ws, capsys):
    code, _, err = call(["cv", "--data", ws / "new", "--out", ws / "never", "--folds", "9",
                         "--models", "logistic_regression"], capsys)
    assert code == 2 and "--folds 9: class" in err and "use --folds" in err


# --------------------------------------------------------------------------- values


def edit_table(folder: Path, name: str, fn) -> None:
    path = folder / f"{name}.csv"
    table = pd.read_csv(path, dtype={"sample_id": str})
    table = fn(table)
    table.to_csv(path, index=False)


def test_a_float32_overflow_at_predict_time_is_refused_with_its_cell(ws, capsys):
    folder = copy(ws, "new", "huge")
    edit_table(folder, "cna", lambda t: t.assign(**{t.columns[3]: [1e39] + [0.0] * (len(t) - 1)}))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "huge.csv"], capsys)
    assert code == 2 and "overflows 32-bit floats" in err and "cna.csv" in err
    assert "data row 1" in err and not (ws / "huge.csv").exists()


def test_training_on_a_huge_value_stops_before_training(ws, capsys, no_training):
    folder = copy(ws, "cohort", "huge_train")
    edit_table(folder, "fragmentomics",
               lambda t: t.assign(**{t.columns[5]: [1e200] + [0.01] * (len(t) - 1)}))
    code, _, err = call(["train", "--data", folder, "--out", ws / "never", *SMOKE], capsys)
    assert code == 2 and "1e+200" in err and "overflows 32-bit floats" in err


def test_a_value_that_overflows_once_standardised_is_refused(ws):
    from cancer_alpha.datasets import align_features, read_folder
    from cancer_alpha.errors import CancerAlphaError
    from cancer_alpha.training import load_model_folder

    fitted, config = load_model_folder(ws / "run")
    data = align_features(read_folder(ws / "new", labels=False, range_check=False),
                          fitted.specs, config["feature_names"])
    data.x["cna"][0, 0] = 3e38  # finite in float32, but not once divided by a small sd
    with pytest.raises(CancerAlphaError, match=r"modality 'cna': value 3e\+38 of sample .* "
                                               r"not finite once standardised"):
        fitted.predict_proba(data)


def test_methylation_percentages_at_predict_time_are_refused(ws, capsys):
    folder = copy(ws, "new", "percent")
    edit_table(folder, "methylation",
               lambda t: pd.concat([t.iloc[:, :1], t.iloc[:, 1:] * 100], axis=1))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "percent.csv"], capsys)
    assert code == 2 and "methylation.csv" in err and "outside [0, 1]" in err
    assert "percentages? divide them by 100" in err and "--no-range-check" in err
    assert not (ws / "percent.csv").exists()


def test_no_range_check_accepts_them_with_a_scale_warning(ws, capsys):
    folder = copy(ws, "new", "percent_ok")
    edit_table(folder, "methylation",
               lambda t: pd.concat([t.iloc[:, :1], t.iloc[:, 1:] * 100], axis=1))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "percent_ok.csv", "--no-range-check"], capsys)
    assert code == 0
    assert "warning:" in err and "training standard deviations" in err


def test_generic_data_on_another_scale_is_warned_about(ws, capsys):
    folder = copy(ws, "new", "generic_scale")
    meta = json.loads((folder / "modalities.json").read_text())
    meta["modalities"]["cna"]["kind"] = "fragmentomics"  # the trained kind applies, with a word
    (folder / "modalities.json").write_text(json.dumps(meta))
    edit_table(folder, "cna", lambda t: pd.concat([t.iloc[:, :1], t.iloc[:, 1:] * 1000], axis=1))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "gs.csv", "--no-range-check"], capsys)
    assert code == 0
    assert "declared 'fragmentomics' here but was trained as 'cna'" in err
    assert "training standard deviations" in err


def test_negative_fragment_proportions_are_refused_in_training(ws, capsys):
    folder = copy(ws, "cohort", "negfrag")
    edit_table(folder, "fragmentomics", lambda t: t.assign(**{t.columns[2]: -t[t.columns[2]]}))
    code, _, err = call(["train", "--data", folder, "--out", ws / "never", *SMOKE], capsys)
    assert code == 2 and "fragmentomics.csv" in err and "outside [0, inf]" in err


def test_a_missing_feature_column_is_named_against_the_model(ws, capsys):
    folder = copy(ws, "new", "missing_col")
    dropped = []
    edit_table(folder, "methylation",
               lambda t: (dropped.append(t.columns[7]), t.drop(columns=t.columns[7]))[1])
    (folder / "modalities.json").unlink()  # positions of another tool are no concern here
    code, _, err = call(["evaluate", "--model-dir", ws / "run", "--data", folder], capsys)
    assert code == 2 and "methylation.csv: the feature columns" in err
    assert f"1 missing ('{dropped[0]}')" in err and "positions" not in err


def test_an_extra_feature_column_is_named_even_with_stale_positions(ws, capsys):
    folder = copy(ws, "new", "extra_col")
    edit_table(folder, "cna", lambda t: t.assign(bonus=1.0))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "x.csv"], capsys)
    assert code == 2 and "1 extra ('bonus')" in err and "positions" not in err


def test_a_modality_unknown_to_the_model_is_refused(ws, capsys):
    folder = copy(ws, "new", "rna")
    (folder / "rna.csv").write_text("id,g\n" + "".join(
        f"{s},1\n" for s in pd.read_csv(folder / "labels.csv")["sample_id"]))
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "x.csv"], capsys)
    assert code == 2 and "rna.csv: modality 'rna' was not seen in training" in err


def test_a_semicolon_separated_csv_names_the_separator(ws, capsys):
    folder = copy(ws, "new", "semicolon")
    table = pd.read_csv(folder / "cna.csv")
    table.to_csv(folder / "cna.csv", sep=";", index=False)
    code, _, err = call(["predict", "--model-dir", ws / "run", "--data", folder, "--out",
                         ws / "x.csv"], capsys)
    assert code == 2 and "cna.csv: no feature columns" in err
    assert "separated by semicolons" in err and "separated by commas" in err


# --------------------------------------------------------------------------- labels


def test_a_label_with_a_trailing_space_is_one_class_with_a_warning(ws, capsys):
    folder = copy(ws, "cohort", "spaces")
    labels = pd.read_csv(folder / "labels.csv")
    lung = labels.index[labels["label"] == "lung"]
    labels.loc[lung[::2], "label"] = "lung "  # half of them, as a spreadsheet may leave it
    labels.to_csv(folder / "labels.csv", index=False)
    code, _, err = call(["train", "--data", folder, "--out", ws / "spaces_run",
                         "--model", "logistic_regression"], capsys)
    assert code == 0, err
    assert "labels 'lung', 'lung ' differ only by surrounding whitespace" in err
    config = json.loads((ws / "spaces_run" / "config.json").read_text())
    assert config["class_names"] == ["healthy", "lung", "colorectal", "breast", "liver"]


def test_a_folder_of_one_class_is_refused_for_training(ws, capsys):
    folder = copy(ws, "cohort", "one_class")
    labels = pd.read_csv(folder / "labels.csv")
    labels["label"] = "lung"
    labels.to_csv(folder / "labels.csv", index=False)
    code, _, err = call(["train", "--data", folder, "--out", ws / "never", *SMOKE], capsys)
    assert code == 2 and "every labelled sample has class 'lung'" in err
    assert "at least two classes" in err and "'healthy'" in err


def test_declared_classes_without_samples_are_reported_at_training(ws, capsys):
    folder = copy(ws, "cohort", "absent_class")
    labels = pd.read_csv(folder / "labels.csv")
    keep = labels["label"] != "liver"
    labels[keep].to_csv(folder / "labels.csv", index=False)
    for name in ("methylation", "fragmentomics", "cna"):
        edit_table(folder, name, lambda t: t[t["sample_id"].isin(labels[keep]["sample_id"])])
    code, _, err = call(["train", "--data", folder, "--out", ws / "absent_run",
                         "--model", "logistic_regression"], capsys)
    assert code == 0 and "classes 'liver' are listed in the metadata but no sample has them" in err


def test_an_unseen_class_at_evaluation_is_refused(ws, capsys):
    folder = copy(ws, "new", "unseen")
    labels = pd.read_csv(folder / "labels.csv")
    labels.loc[0, "label"] = "pancreas"
    labels.to_csv(folder / "labels.csv", index=False)
    meta = json.loads((folder / "modalities.json").read_text())
    meta.pop("classes")
    (folder / "modalities.json").write_text(json.dumps(meta))
    code, _, err = call(["evaluate", "--model-dir", ws / "run", "--data", folder], capsys)
    assert code == 2 and "classes ['pancreas'] were not seen in training" in err


def test_a_listed_class_no_sample_has_does_not_stop_evaluation(ws, capsys):
    folder = copy(ws, "new", "extra_listed_class")
    meta = json.loads((folder / "modalities.json").read_text())
    meta["classes"] = [*meta["classes"], "pancreas"]
    (folder / "modalities.json").write_text(json.dumps(meta))
    code, out, err = call(["evaluate", "--model-dir", ws / "run", "--data", folder], capsys)
    assert code == 0, err
    assert "pancreas" not in out  # the report is over the run's classes


# --------------------------------------------------------------------------- rules


def test_evaluate_accepts_a_single_sample_class_and_a_constant_column(ws, capsys):
    folder = copy(ws, "new", "small_test")
    labels = pd.read_csv(folder / "labels.csv")
    liver = labels.index[labels["label"] == "liver"]
    labels = labels.drop(index=liver[1:])
    labels.to_csv(folder / "labels.csv", index=False)
    for name in ("methylation", "fragmentomics", "cna"):
        edit_table(folder, name, lambda t: t[t["sample_id"].isin(labels["sample_id"])])
    edit_table(folder, "cna", lambda t: t.assign(**{t.columns[4]: 0.25}))
    code, out, err = call(["evaluate", "--model-dir", ws / "run", "--data", folder], capsys)
    assert code == 0, err
    assert "liver" in out and "confusion matrix" in out


def test_evaluate_on_one_class_writes_null_auc_with_a_reason(ws, capsys):
    folder = copy(ws, "new", "only_healthy")
    labels = pd.read_csv(folder / "labels.csv")
    labels = labels[labels["label"] == "healthy"]
    labels.to_csv(folder / "labels.csv", index=False)
    for name in ("methylation", "fragmentomics", "cna"):
        edit_table(folder, name, lambda t: t[t["sample_id"].isin(labels["sample_id"])])
    code, out, err = call(["evaluate", "--model-dir", ws / "lr", "--data", folder, "--out",
                           ws / "only_healthy.json"], capsys)
    assert code == 0, err
    report = json.loads((ws / "only_healthy.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"bare {c} in JSON"))
    assert report["roc_auc"] is None
    assert report["roc_auc_undefined"] == "only one class ('healthy') in the labels"
    assert "undefined (only one class" in out


def test_a_constant_column_is_refused_dropped_and_dropped_again(ws, capsys):
    folder = copy(ws, "cohort", "constant")
    edit_table(folder, "cna", lambda t: t.assign(**{t.columns[3]: 0.0}))
    code, _, err = call(["train", "--data", folder, "--out", ws / "never",
                         "--model", "logistic_regression"], capsys)
    assert code == 2 and "constant feature(s)" in err and "--constant drop" in err
    code, _, err = call(["train", "--data", folder, "--out", ws / "dropped_run",
                         "--model", "logistic_regression", "--constant", "drop"], capsys)
    assert code == 0, err
    config = json.loads((ws / "dropped_run" / "config.json").read_text())
    column = pd.read_csv(folder / "cna.csv").columns[3]
    assert config["preprocessing"]["dropped_features"] == {"cna": [column]}
    assert column not in config["feature_names"]["cna"]
    # the held-out folder still has the column: prediction drops it again
    code, _, err = call(["predict", "--model-dir", ws / "dropped_run", "--data", ws / "new",
                         "--out", ws / "dropped.csv"], capsys)
    assert code == 0, err


def test_a_tiny_synthesized_folder_trains(ws, capsys):
    code, _, err = call(["synthesize", "--profile", "smoke", "--out", ws / "tiny",
                         "--n-samples", "12", "--seed", "0"], capsys)
    assert code == 0
    code, _, err = call(["train", "--data", ws / "tiny", "--out", ws / "tiny_run", *SMOKE],
                        capsys)
    assert code == 0, err
    assert (ws / "tiny_run" / "model.pt").is_file()


def test_synthesize_says_when_train_would_refuse_its_folder(ws, capsys):
    code, _, err = call(["synthesize", "--profile", "smoke", "--out", ws / "three",
                         "--n-samples", "3", "--seed", "0"], capsys)
    assert code == 0 and (ws / "three" / "labels.csv").is_file()
    assert "drew fewer than 2 samples of" in err
    assert "`train` will refuse this folder as it stands" in err


def test_a_modality_present_only_in_the_hold_out_is_refused(ws, capsys):
    from cancer_alpha.data import train_val_split

    folder = copy(ws, "cohort", "rare_modality")
    labels = pd.read_csv(folder / "labels.csv")
    index = {c: k for k, c in enumerate(["healthy", "lung", "colorectal", "breast", "liver"])}
    _, va = train_val_split(labels["label"].map(index).to_numpy(), 0.2, 0)
    held = set(labels["sample_id"].iloc[va[:2]])
    (folder / "rna.csv").write_text("id,g1,g2\n" + "".join(f"{s},{i},{2 * i}\n"
                                                         for i, s in enumerate(held)))
    code, _, err = call(["train", "--data", folder, "--out", ws / "never", *SMOKE], capsys)
    assert code == 2 and "rna.csv: modality 'rna' is present in 2 sample(s)" in err
    assert "early-stopping hold-out" in err


def test_convolved_kinds_with_few_columns_are_warned_about(ws, capsys):
    folder = ws / "summary_cols"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    ids = [f"p{i}" for i in range(40)]
    pd.DataFrame(rng.random((40, 4)), index=pd.Index(ids, name="id"),
                 columns=["mean", "sd", "short", "long"]).to_csv(folder / "frag.csv")
    pd.DataFrame({"id": ids, "y": ["a", "b"] * 20}).to_csv(folder / "labels.csv", index=False)
    (folder / "modalities.json").write_text('{"modalities": {"frag": "fragmentomics"}}')
    code, _, err = call(["train", "--data", folder, "--out", ws / "summary_run",
                         "--model", "logistic_regression"], capsys)
    assert code == 0
    assert "declared 'fragmentomics' but has only 4 columns" in err
    assert "kind 'generic'" in err


def test_generic_encoders_on_data_without_specific_kinds_says_so(ws, capsys, no_training):
    folder = copy(ws, "cohort", "no_specific")
    meta = json.loads((folder / "modalities.json").read_text())
    for m in ("fragmentomics", "cna"):
        meta["modalities"][m]["kind"] = "generic"
    (folder / "modalities.json").write_text(json.dumps(meta))
    code, _, err = call(["train", "--data", folder, "--out", ws / "never", "--model",
                         "mmt_generic_encoders", *SMOKE], capsys)
    assert "mmt_generic_encoders is the same network as mmt_modality here" in err
    assert code == 1 and "AssertionError" in err  # stopped by the fixture at training


# --------------------------------------------------------------------------- runs

RUN_EDITS = {
    "config-without-specs": (lambda c: c.pop("specs"), r"config\.json has no 'specs'"),
    "unknown-model-key": (lambda c: c.update(model="mmt_quantum"),
                          r"unknown model 'mmt_quantum'"),
    "unknown-model-config-key": (lambda c: c["model_config"].update(depth=3),
                                 r"model_config does not build model"),
    "bad-model-config-value": (lambda c: c["model_config"].update(d_model=-1),
                               r"model_config does not build model"),
    "wrong-format": (lambda c: c.update(format="other/2"), r"format 'other/2'"),
    "unknown-kind": (lambda c: c["specs"][0].update(kind="rna"), r"specs\[0\] is not a modality"),
    "specs-not-a-list": (lambda c: c.update(specs={"a": 1}), r"'specs' is not a list"),
    "one-class": (lambda c: c.update(class_names=["healthy"]), r"at least 2 distinct names"),
    "feature-names-short": (lambda c: c["feature_names"]["cna"].pop(),
                            r"feature_names\['cna'\] must list the 40 features"),
    "bad-family": (lambda c: c.update(family="quantum"), r"family 'quantum'"),
    "bad-dropped-features": (lambda c: c.update(preprocessing={"dropped_features": [1]}),
                             r"dropped_features must map"),
}


@pytest.mark.parametrize("case", list(RUN_EDITS))
def test_a_hand_edited_model_folder_is_reported_as_malformed(ws, capsys, case):
    edit, message = RUN_EDITS[case]
    run = copy(ws, "run", f"edited_{case}")
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))
    reseal(run)
    code, _, err = call(["evaluate", "--model-dir", run, "--data", ws / "new"], capsys)
    assert code == 2
    assert "is not a valid model folder" in err
    assert pytest.importorskip("re").search(message, err), err


RUN_FILE_DAMAGE = {
    "config-not-json": ("config.json", b"{model: 1", r"config\.json is not valid JSON"),
    "config-a-list": ("config.json", b"[1, 2]", r"config\.json does not hold a JSON object"),
    "config-not-utf8": ("config.json", "{\"é\": 1}".encode("latin-1"), r"not valid JSON"),
    "preprocessing-missing": ("preprocessing.json", None, r"preprocessing\.json is missing"),
    "preprocessing-wrong-shape": ("preprocessing.json",
                                  b'{"mean": {"cna": [0]}, "scale": {"cna": [1]}}',
                                  r"preprocessing\.json is not the scaling"),
    "history-not-a-list": ("history.json", b'{"epoch": 1}', r"history\.json does not hold"),
    "weights-missing": ("model.pt", None, r"model\.pt is missing"),
    "weights-truncated": ("model.pt", "truncate", r"is not a readable checkpoint"),
}


@pytest.mark.parametrize("case", list(RUN_FILE_DAMAGE))
def test_a_damaged_model_folder_file_is_one_clear_error(ws, capsys, case):
    name, content, message = RUN_FILE_DAMAGE[case]
    run = copy(ws, "run", f"damaged_{case}")
    if content is None:
        (run / name).unlink()
    elif content == "truncate":
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: len(data) // 3])
    else:
        (run / name).write_bytes(content)
    reseal(run)
    code, _, err = call(["predict", "--model-dir", run, "--data", ws / "new", "--out",
                         ws / f"{case}.csv"], capsys)
    assert code == 2 and pytest.importorskip("re").search(message, err), err
    assert not (ws / f"{case}.csv").exists()


def test_weights_of_another_model_are_refused(ws, capsys):
    mixed = copy(ws, "run", "mixed")
    other = ws / "other"
    assert cli.main(["train", "--data", str(ws / "cohort"), "--model", "early_fusion_mlp",
                     "--out", str(other), *SMOKE]) == 0
    shutil.copy(other / "model.pt", mixed / "model.pt")
    code, _, err = call(["evaluate", "--model-dir", mixed, "--data", ws / "new"], capsys)
    assert code == 2 and "model.pt was changed after the folder was saved" in err
    code, _, err = call(["evaluate", "--model-dir", reseal(mixed), "--data", ws / "new"], capsys)
    assert code == 2 and "model.pt and config.json disagree on the model" in err
    assert "'early_fusion_mlp'" in err and "'mmt_modality'" in err


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/cancer_alpha_pwned",))


def test_a_malicious_pickle_in_place_of_weights_is_refused(ws, capsys):
    run = copy(ws, "run", "pickled")
    torch.save({"x": Exploit()}, run / "model.pt")
    reseal(run)
    code, _, err = call(["evaluate", "--model-dir", run, "--data", ws / "new"], capsys)
    assert code == 2 and "is not a readable checkpoint" in err
    assert not Path("/tmp/cancer_alpha_pwned").exists()


class Shady:
    """A callable of no library: skops must not build it from a model folder."""

    def __call__(self, x):
        return x


def test_a_classical_model_folder_with_an_untrusted_type_is_refused(ws, capsys):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    run = copy(ws, "lr", "untrusted")
    sio.dump(make_pipeline(FunctionTransformer(Shady())), run / "model.skops")
    reseal(run)
    code, _, err = call(["evaluate", "--model-dir", run, "--data", ws / "new"], capsys)
    assert code == 2 and "holds types this project never saves" in err and "Shady" in err


def test_a_classical_model_folder_holding_no_classifier_is_refused(ws, capsys):
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    run = copy(ws, "lr", "scaler_only")
    sio.dump(make_pipeline(StandardScaler()), run / "model.skops")
    reseal(run)
    code, _, err = call(["evaluate", "--model-dir", run, "--data", ws / "new"], capsys)
    assert code == 2 and "not a fitted classifier" in err


def test_a_truncated_classical_model_folder_is_refused(ws, capsys):
    run = copy(ws, "lr", "truncated_lr")
    data = (run / "model.skops").read_bytes()
    (run / "model.skops").write_bytes(data[:100])
    reseal(run)
    code, _, err = call(["evaluate", "--model-dir", run, "--data", ws / "new"], capsys)
    assert code == 2 and "is not a readable skops file" in err


# --------------------------------------------------------------------------- exits


def test_ctrl_c_during_training_exits_130_with_a_message_and_writes_nothing(
        ws, capsys, monkeypatch):
    from cancer_alpha.training import EpochProgress

    def interrupt(self, trainer, module):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, as the terminal sends it

    monkeypatch.setattr(EpochProgress, "on_train_epoch_end", interrupt)
    handler = signal.getsignal(signal.SIGINT)
    code, _, err = call(["train", "--data", ws / "cohort", "--out", ws / "interrupted",
                         *SMOKE], capsys)
    assert code == 130 and "interrupted; nothing was written" in err
    assert not (ws / "interrupted").exists()
    assert not [p for p in ws.iterdir() if p.name.startswith(".interrupted")]
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C works again afterwards


def test_ctrl_c_outside_training_exits_130(ws, capsys, monkeypatch):
    import cancer_alpha.synth as synth

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "synthesize", interrupt)
    code, _, err = call(["synthesize", "--profile", "smoke", "--out", ws / "never"], capsys)
    assert code == 130 and "interrupted" in err and not (ws / "never").exists()


def test_debug_shows_the_traceback(ws):
    from cancer_alpha.errors import OptionError

    with pytest.raises(OptionError, match="does not exist"):
        cli.main(["train", "--data", str(ws / "nowhere"), "--out", str(ws / "never"),
                  "--debug"])


def test_an_unexpected_failure_is_one_line_and_exit_1(ws, capsys, monkeypatch):
    import cancer_alpha.synth as synth

    def broken(*args, **kwargs):
        raise RuntimeError("generator exploded")

    monkeypatch.setattr(synth, "synthesize", broken)
    code, _, err = call(["synthesize", "--profile", "smoke", "--out", ws / "never"], capsys)
    assert code == 1 and "internal error: RuntimeError: generator exploded" in err
    assert "--debug" in err


def test_the_installed_command_exits_2_without_a_traceback(ws, tmp_path):
    import subprocess

    exe = Path(sys.executable).with_name("cancer-alpha")
    done = subprocess.run([str(exe), "train", "--data", str(tmp_path / "nowhere"), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("cancer-alpha train: error: --data")


def test_publish_from_a_verification_takes_no_out_folder(ws, capsys):
    code, _, err = call(["publish", "--profile", "smoke", "--from-verification", "--out",
                         ws / "elsewhere"], capsys)
    assert code == 2 and "--out: a verification updates the reference in place" in err
    assert not (ws / "elsewhere").exists()


def test_leaving_chapters_outdated_needs_a_publication_from_a_verification(ws, capsys):
    code, _, err = call(["publish", "--profile", "smoke", "--leave-outdated", "--out",
                         ws / "elsewhere"], capsys)
    assert code == 2 and "--leave-outdated: only a publication --from-verification" in err
    assert not (ws / "elsewhere").exists()
