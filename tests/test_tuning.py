"""Tuning: every search space yields models that train, studies see training data only, and
the tuned settings come back as they were saved."""

from __future__ import annotations

import numpy as np
import pytest

from cancer_alpha import config, protocol, synth, tuning
from cancer_alpha.baselines import BASELINES

TINY = config.load_profile("smoke").replace(
    cohort={"n_samples": 120, "n_loci": 24, "n_fragment_bins": 24},
    model={"d_model": 16, "n_heads": 2, "n_layers": 1, "n_latents": 4, "tab_token_dim": 8},
    train={"max_epochs": 1, "batch_size": 32, "pretrain_epochs": 1},
    tuning={"n_trials": 2, "startup_trials": 2, "inner_folds": 2, "locus_trials": 1,
            "prune_min_epochs": 1, "sensitivity_trials": 4},
)


@pytest.fixture(scope="module")
def cohorts():
    world = synth.World.from_config(TINY.cohort)
    return world.sample(120, seed=0).data, world.sample(60, seed=1).data


def _rows(data):
    """One key per sample: the bytes of its methylation values."""
    return {row.tobytes() for row in np.ascontiguousarray(data.x["methylation"])}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(tuning.SEARCH_SPACES))
def test_every_sampled_configuration_builds_and_trains(name, cohorts):
    import optuna

    train, test = cohorts
    space = tuning.SEARCH_SPACES[name]
    sampler = optuna.samplers.RandomSampler(seed=1)
    study = optuna.create_study(sampler=sampler)
    for _ in range(3 if space else 1):  # three random points of the space
        trial = study.ask()
        drawn = tuning.settings_of({f"{p.section}.{p.name}": p.suggest(trial) for p in space})
        if name == "voting_ensemble":
            drawn = {m: {} for m in tuning.ENSEMBLE_MEMBERS}
        proba = tuning.fit_predict(name, train, test, TINY, drawn, seed=0)
        assert proba.shape == (test.n_samples, train.n_classes)
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        study.tell(trial, 0.0)
    if name not in BASELINES and space:
        # the width of every drawn model is divisible by its heads (apply() sees to it)
        settings = tuning.settings_of({"model.d_model": 32})
        p = protocol.apply_settings(TINY, settings)
        assert p.model.d_model % p.model.n_heads == 0


@pytest.mark.slow
def test_the_held_out_cohort_is_never_seen_while_tuning(cohorts, monkeypatch):
    train, held_out = cohorts
    seen_train, seen_eval = [], []
    real = tuning.fit_predict

    def spy(name, fit_on, evaluate_on, *args, **kwargs):
        seen_train.append(_rows(fit_on))
        seen_eval.append(_rows(evaluate_on))
        assert not _rows(fit_on) & _rows(evaluate_on)  # an inner fold never scores its own
        return real(name, fit_on, evaluate_on, *args, **kwargs)

    monkeypatch.setattr(tuning, "fit_predict", spy)
    results = tuning.tune(train, TINY, ["logistic_regression", "early_fusion_mlp"], n_jobs=1)
    assert seen_train and seen_eval
    allowed, forbidden = _rows(train), _rows(held_out)
    for rows in seen_train + seen_eval:
        assert rows <= allowed and not rows & forbidden
    assert {r.n_trials for r in results.values()} == {TINY.tuning.n_trials}  # equal budget


@pytest.mark.slow
def test_tuned_settings_are_read_back_as_saved(cohorts, tmp_path):
    train, _ = cohorts
    models = ["logistic_regression", "random_forest", "gradient_boosting", "voting_ensemble",
              "mmt_modality", "mmt_locus"]
    results = tuning.tune(train, TINY, models, n_jobs=1)
    tuning.save(results, "tiny", results_dir=tmp_path)
    summary = tuning.load("tiny", results_dir=tmp_path)
    assert list(summary) == models
    settings = tuning.tuned_settings(summary)
    for m in models:
        assert settings[m] == results[m].best_settings
        assert summary[m]["n_trials"] == results[m].n_trials
        assert summary[m]["n_pruned"] <= summary[m]["n_trials"]
        assert np.isfinite(summary[m]["best_value"])
    # the ensemble is its members' tuned settings; the locus model has a study of its own
    assert settings["voting_ensemble"] == {k: settings[k] for k in tuning.ENSEMBLE_MEMBERS}
    assert summary["mmt_locus"]["n_trials"] == TINY.tuning.locus_trials
    assert summary["voting_ensemble"]["n_trials"] == 0 and summary["mmt_locus"]["note"]
    profile = protocol.apply_settings(TINY, settings["mmt_modality"])
    for section in ("train", "model"):
        for key, value in settings["mmt_modality"].get(section, {}).items():
            assert getattr(getattr(profile, section), key) == value
    study = tuning.load_study("tiny", "mmt_modality", results_dir=tmp_path)
    assert len(study.trials) == TINY.tuning.n_trials


def test_a_study_is_reproducible(cohorts):
    train, _ = cohorts
    a = tuning.run_study("logistic_regression", train, TINY, n_trials=3, inner_folds=2)
    b = tuning.run_study("logistic_regression", train, TINY, n_trials=3, inner_folds=2)
    assert a.best_settings == b.best_settings and a.best_value == b.best_value


def test_missing_tuning_results_name_the_chapter_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the tuning chapter"):
        tuning.load("tiny", results_dir=tmp_path)


def test_a_model_needs_the_studies_it_builds_on(cohorts):
    train, _ = cohorts
    inheriting = TINY.replace(tuning={"locus_trials": 0})
    with pytest.raises(ValueError, match=r"needs the studies of \['mmt_modality'\]"):
        tuning.tune(train, inheriting, ["mmt_locus"])
    with pytest.raises(ValueError, match=r"needs the studies of"):
        tuning.tune(train, TINY, ["voting_ensemble"])
    with pytest.raises(ValueError, match="have no search space"):
        tuning.tune(train, TINY, ["gpt"])


def test_log_loss_is_the_mean_negative_log_probability_of_the_truth():
    proba = np.array([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    y = np.array([0, 1, 0])
    expected = -(np.log(0.5) + np.log(0.1) + np.log(1e-15)) / 3
    assert tuning.log_loss(y, proba) == pytest.approx(expected)


def test_the_tune_command_writes_the_settings_the_chapters_read(tmp_path, capsys):
    from cancer_alpha import cli

    code = cli.main(["tune", "--profile", "smoke", "--models", "logistic_regression",
                     "--trials", "2", "--results", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "logistic_regression" in out and "synthetic.json" in out
    summary = tuning.load("smoke", results_dir=tmp_path)
    assert summary["logistic_regression"]["n_trials"] == 2
    assert (tmp_path / "smoke" / "tuning" / "synthetic.db").is_file()


def test_one_pruner_for_every_model_and_the_same_number_of_trials(cohorts, monkeypatch):
    """The budget is equal: every study gets the same trials and the same successive-halving
    pruner, classical models included (they report once per inner fold)."""
    import optuna

    train, _ = cohorts
    made = []
    real = tuning.make_pruner

    def spy(profile):
        made.append(real(profile))
        return made[-1]

    monkeypatch.setattr(tuning, "make_pruner", spy)
    reported = {}
    real_report = optuna.trial.Trial.report

    def report(self, value, step):
        reported.setdefault(self.study.study_name, []).append(step)
        return real_report(self, value, step)

    monkeypatch.setattr(optuna.trial.Trial, "report", report)
    profile = TINY.replace(tuning={"n_trials": 3, "startup_trials": 2})
    results = tuning.tune(train, profile, ["logistic_regression", "early_fusion_mlp"], n_jobs=1)
    assert {r.n_trials for r in results.values()} == {3}
    assert len(made) == 2 and all(isinstance(p, optuna.pruners.SuccessiveHalvingPruner)
                                  for p in made)
    assert {vars(p)["_min_resource"] for p in made} == {profile.tuning.prune_min_epochs}
    # both models report progress to the pruner on the scale of epochs: the classical one at
    # the end of its first inner fold (a fold counts as max_epochs + 1)
    per_fold = profile.train.max_epochs + 1
    assert per_fold - 1 in reported["logistic_regression"]
    assert per_fold - 1 in reported["early_fusion_mlp"]


def test_the_first_trials_of_a_continued_study_are_the_shorter_study(cohorts):
    train, _ = cohorts
    short = tuning.run_study("logistic_regression", train, TINY, n_trials=3, inner_folds=2)
    longer = tuning.extend(short, train, TINY, 6)
    assert longer.n_trials == 6 and longer.best_value <= short.best_value
    head = tuning.truncate(longer, 3)
    assert head.best_settings == short.best_settings and head.best_value == short.best_value
    curve = tuning.best_so_far(longer)
    assert len(curve) == 6
    assert all(b <= a for a, b in zip(curve[:-1], curve[1:], strict=True) if a == a)
    assert curve[-1] == longer.best_value
    assert curve[tuning.best_trial_number(longer) - 1] == longer.best_value
    with pytest.raises(ValueError, match="expected at least 6"):
        tuning.extend(longer, train, TINY, 4)


def test_the_budget_check_picks_the_transformer_and_the_best_of_each_family():
    def result(model, value, trials=12):
        return tuning.StudyResult(model, {}, value, trials, 0, 0.0, 3)

    results = {m: result(m, v) for m, v in [
        ("logistic_regression", 0.9), ("random_forest", 0.7), ("gradient_boosting", 0.8),
        ("early_fusion_mlp", 0.6), ("perceiver_io", 0.65), ("mmt_modality", 0.95),
        ("sklearn_mlp", 0.5)]}
    results["voting_ensemble"] = result("voting_ensemble", 0.1, trials=0)  # no search
    roles = tuning.sensitivity_models(results)
    assert roles == {"transformer": "mmt_modality", "best neural": "early_fusion_mlp",
                     "best classical": "random_forest"}


def test_chapter_3_reads_its_studies_back_and_records_them(cohorts, tmp_path):
    train, _ = cohorts
    models = [*tuning.ENSEMBLE_MEMBERS, "voting_ensemble"]
    studies = tuning.tune(train, TINY, models)
    tuning.save(studies, "tiny", "synthetic", tmp_path)
    loaded = tuning.load_studies(studies, "tiny", "synthetic", tmp_path)
    assert list(loaded) == list(tuning.ENSEMBLE_MEMBERS)  # the ensemble ran no trials
    assert [len(s.trials) for s in loaded.values()] == [TINY.tuning.n_trials] * len(loaded)
    importance = tuning.importances_by_model(loaded, seed=0)
    assert importance == tuning.importances_by_model(loaded, seed=0)  # seeded, so repeatable
    for m, found in importance.items():
        assert found == tuning.importances(loaded[m], seed=0)
    seconds = tuning.study_seconds(studies)
    assert seconds.name == "seconds" and seconds["random_forest"] == \
        studies["random_forest"].wall_seconds
    classical = tuning.classical_settings(studies, models, neural=[])
    assert list(classical.index) == list(tuning.ENSEMBLE_MEMBERS)
    roles = {"classical": "logistic_regression"}
    extended = {"logistic_regression": studies["logistic_regression"]}
    rec = tuning.record(studies, extended, roles, 4, importance)
    assert list(rec) == ["tuning", "budget_sensitivity", "importances", "search_space"]
    assert rec["tuning"]["random_forest"] == studies["random_forest"].summary()
    assert rec["budget_sensitivity"]["trials"] == 4 and rec["budget_sensitivity"]["roles"] == roles
    curve = rec["budget_sensitivity"]["best_so_far"]["logistic_regression"]
    assert len(curve) == TINY.tuning.n_trials and curve == sorted(curve, reverse=True)
