"""Your own data tuned with the book's protocol (`tune --data`), the settings used by `train
--tuned` and `cv --tuned`, and studies that are never lost: merged, replaced only with
--overwrite (which names what it replaces), and resumed after an interruption."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
import torch

from cancer_alpha import cli, config, tuning, tuning_folder
from cancer_alpha.datasets import read_folder
from cancer_alpha.training import load_model_folder


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("tuned")
    for name, n, seed in (("cohort", 120, 1), ("other", 90, 3)):
        assert cli.main(["synthesize", "--profile", "smoke", "--out", str(root / name),
                         "--n-samples", str(n), "--seed", str(seed)]) == 0
    assert cli.main(["tune", "--data", str(root / "cohort"), "--out", str(root / "tuned"),
                     "--profile", "smoke", "--models", "logistic_regression"]) == 0
    return root


def run(args, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def stored(folder, name="tuning"):
    storage = f"sqlite:///{folder / f'{name}.db'}"
    return {s.study_name: len(optuna.load_study(study_name=s.study_name,
                                                storage=storage).trials)
            for s in optuna.get_all_study_summaries(storage)}


def test_tune_data_writes_the_chosen_settings_and_every_trial(ws):
    folder = ws / "tuned"
    summary = json.loads((folder / "tuning.json").read_text())
    assert list(summary) == ["logistic_regression"]
    assert summary["logistic_regression"]["n_trials"] == 2  # smoke: real_data_trials
    assert set(summary["logistic_regression"]["best_params"]) == {"estimator"}
    assert stored(folder) == {"logistic_regression": 2}
    about = json.loads((folder / "about.json").read_text())
    data = read_folder(ws / "cohort")
    assert about["data_fingerprint"] == tuning_folder.data_fingerprint(data)
    assert about["sample_ids"] == data.sample_ids and about["profile"] == "smoke"
    assert not (folder / ".partial").exists()  # finished studies leave nothing under way


def test_train_tuned_fits_the_model_with_the_tuned_settings(ws, capsys):
    code, _, err = run(["train", "--data", ws / "cohort", "--model", "logistic_regression",
                        "--tuned", ws / "tuned", "--out", ws / "lr_tuned",
                        "--profile", "smoke"], capsys)
    assert code == 0 and "warning" not in err
    tuned_c = json.loads((ws / "tuned" / "tuning.json").read_text())[
        "logistic_regression"]["best_params"]["estimator"]["C"]
    fitted, config = load_model_folder(ws / "lr_tuned")
    assert fitted.model[-1][-1].C == pytest.approx(tuned_c)
    assert config["tuned"] == {"from": str(ws / "tuned"),
                               "settings": {"estimator": {"C": tuned_c}}}


def test_train_tuned_for_a_model_not_tuned_there_names_the_models_that_are(ws, capsys):
    code, _, err = run(["train", "--data", ws / "cohort", "--model", "random_forest",
                        "--tuned", ws / "tuned", "--out", ws / "never"], capsys)
    assert code == 2 and not (ws / "never").exists()
    assert "holds no study of 'random_forest'" in err and "logistic_regression" in err


def test_cv_tuned_on_the_same_samples_warns_that_the_scores_are_optimistic(ws, capsys):
    code, out, err = run(["cv", "--data", ws / "cohort", "--models", "logistic_regression",
                          "--folds", "2", "--tuned", ws / "tuned", "--out", ws / "cv_tuned",
                          "--profile", "smoke"], capsys)
    assert code == 0 and "tuned (settings from" in out
    assert "tuned on 120 of these 120 samples" in err and "optimistic" in err
    fits = (ws / "cv_tuned" / "fits.csv").read_text()
    assert fits.count(",tuned,") == 2


def test_a_second_model_is_merged_and_the_first_study_kept(ws, capsys):
    folder = ws / "merged"
    for model in ("logistic_regression", "random_forest"):
        code, _, _ = run(["tune", "--data", ws / "cohort", "--out", folder, "--profile",
                          "smoke", "--models", model], capsys)
        assert code == 0
    assert list(json.loads((folder / "tuning.json").read_text())) == [
        "logistic_regression", "random_forest"]
    assert stored(folder) == {"logistic_regression": 2, "random_forest": 2}


def test_the_synthetic_studies_of_a_results_folder_are_merged_too(tmp_path, capsys):
    for model in ("logistic_regression", "random_forest"):
        code, _, _ = run(["tune", "--profile", "smoke", "--models", model, "--results",
                          tmp_path], capsys)
        assert code == 0
    summary = tuning.load("smoke", results_dir=tmp_path)
    assert list(summary) == ["logistic_regression", "random_forest"]
    assert stored(tmp_path / "smoke" / "tuning", "synthetic") == {
        "logistic_regression": 2, "random_forest": 2}


def test_retuning_a_model_needs_overwrite_which_names_the_study_it_replaces(ws, capsys,
                                                                          monkeypatch):
    folder = ws / "again"
    assert run(["tune", "--data", ws / "cohort", "--out", folder, "--profile", "smoke",
                "--models", "logistic_regression"], capsys)[0] == 0
    before = (folder / "tuning.json").read_text()
    import cancer_alpha.datasets as datasets

    def refuse(*args, **kwargs):
        raise AssertionError("data was read before the options were checked")

    with monkeypatch.context() as m:
        m.setattr(datasets, "read_folder", refuse)
        code, _, err = run(["tune", "--data", ws / "cohort", "--out", folder, "--profile",
                            "smoke", "--models", "logistic_regression", "--trials", "3"],
                           capsys)
    assert code == 2 and "already holds the study of logistic_regression (2 trials" in err
    assert "--overwrite" in err and (folder / "tuning.json").read_text() == before
    code, _, err = run(["tune", "--data", ws / "cohort", "--out", folder, "--profile", "smoke",
                        "--models", "logistic_regression", "--trials", "3", "--overwrite"],
                       capsys)
    assert code == 0
    assert "replaced the earlier study of logistic_regression (2 trials, best log-loss" in err
    assert json.loads((folder / "tuning.json").read_text())[
        "logistic_regression"]["n_trials"] == 3
    assert stored(folder) == {"logistic_regression": 3}


def test_studies_of_other_data_are_not_mixed_in(ws, capsys):
    folder = ws / "mixed"
    assert run(["tune", "--data", ws / "cohort", "--out", folder, "--profile", "smoke",
                "--models", "logistic_regression"], capsys)[0] == 0
    code, _, err = run(["tune", "--data", ws / "other", "--out", folder, "--profile", "smoke",
                        "--models", "random_forest"], capsys)
    assert code == 2 and "holds studies tuned with other data" in err
    assert list(json.loads((folder / "tuning.json").read_text())) == ["logistic_regression"]
    code, _, err = run(["tune", "--data", ws / "other", "--out", folder, "--profile", "smoke",
                        "--models", "random_forest", "--overwrite"], capsys)
    assert code == 0 and "replaced the earlier study of logistic_regression" in err
    assert list(json.loads((folder / "tuning.json").read_text())) == ["random_forest"]


def test_a_folder_that_is_no_tuning_folder_is_refused_as_out(ws, tmp_path, capsys):
    (tmp_path / "results.csv").write_text("a,b\n")
    code, _, err = run(["tune", "--data", ws / "cohort", "--out", tmp_path, "--models",
                        "logistic_regression"], capsys)
    assert code == 2 and "holds 'results.csv', which is no part of a tuning folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_an_interrupted_study_keeps_its_trials_and_a_rerun_resumes_it(ws, monkeypatch):
    data = read_folder(ws / "cohort")
    profile = tuning_folder.with_trials(
        tuning.real_data_budget(config.load_profile("smoke")), 4)
    folder = ws / "resumed"
    seen = []

    def stop_after_two(self, study, trial):
        seen.append(trial.params)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(tuning_folder.StudyProgress, "__call__", stop_after_two)
        with pytest.raises(KeyboardInterrupt):
            tuning_folder.tune_into(folder, "tuning", data, profile, ["logistic_regression"])
    assert not (folder / "tuning.json").exists()  # nothing that looks finished
    assert sum(tuning_folder.kept_trials(folder).values()) == 2
    said = []
    done = tuning_folder.tune_into(folder, "tuning", data, profile, ["logistic_regression"],
                                   say=said.append, progress=False)
    assert done.resumed == {"logistic_regression": 2}
    assert "resuming the study of logistic_regression: 2 of 4 trials" in said[0]
    trials = done.studies["logistic_regression"].trials
    assert len(trials) == 4 and [t.params for t in trials[:2]] == seen
    # the resumed sampler does not draw the first trials' settings again
    assert len({json.dumps(t.params) for t in trials}) == 4
    assert not (folder / ".partial").exists()


def test_a_study_resumed_from_its_storage_equals_its_trials_so_far(ws, tmp_path):
    data = read_folder(ws / "cohort")
    smoke = config.load_profile("smoke")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = tuning.run_study("logistic_regression", data, smoke, n_trials=2, inner_folds=2,
                             storage=storage)
    again = tuning.run_study("logistic_regression", data, smoke, n_trials=2, inner_folds=2,
                             storage=storage)  # nothing left to do
    assert again.n_trials == 2 and again.best_value == first.best_value
    more = tuning.run_study("logistic_regression", data, smoke, n_trials=3, inner_folds=2,
                            storage=storage)
    assert more.n_trials == 3 and more.best_value <= first.best_value
    assert np.isfinite(more.best_value)


def test_train_tuned_builds_the_neural_model_with_its_tuned_settings(ws, capsys):
    folder = ws / "tuned_mmt"
    assert run(["tune", "--data", ws / "cohort", "--out", folder, "--profile", "smoke",
                "--models", "mmt_modality"], capsys)[0] == 0
    best = json.loads((folder / "tuning.json").read_text())["mmt_modality"]["best_params"]
    code, _, _ = run(["train", "--data", ws / "cohort", "--tuned", folder, "--out",
                      ws / "mmt_tuned", "--profile", "smoke", "--max-epochs", "1"], capsys)
    assert code == 0
    config_ = json.loads((ws / "mmt_tuned" / "config.json").read_text())
    assert config_["tuned"]["settings"] == best
    for key, value in best["model"].items():
        assert config_["model_config"][key] == value
    assert config_["model_config"]["d_model"] % config_["model_config"]["n_heads"] == 0


def test_counting_kept_trials_reads_a_storage_without_writing_to_it(tmp_path):
    # a command creating its storage while another process counts the kept trials: the
    # count must not create tables of its own (that broke the command's setup)
    partial = tmp_path / tuning_folder.PARTIAL
    partial.mkdir()
    being_created = partial / "study-mmt_modality-0.db"
    being_created.touch()
    assert tuning_folder.kept_trials(tmp_path) == {being_created.name: 0}
    assert being_created.stat().st_size == 0

    # a storage with finished trials: the count is Optuna's own (complete and pruned)
    kept = partial / "study-logistic_regression-0.db"
    study = optuna.create_study(study_name="logistic_regression",
                                storage=f"sqlite:///{kept}")
    study.optimize(lambda t: t.suggest_float("c", 0, 1), n_trials=3)
    running = study.ask()  # left running, as an interruption leaves a trial: not counted
    assert running.number == 3
    counted = tuning_folder.kept_trials(tmp_path)[kept.name]
    assert counted == 3 == tuning_folder.stored_trials(f"sqlite:///{kept}", "logistic_regression")
