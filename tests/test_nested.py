"""`cv --tune`, the nested protocol: every model tuned inside each outer fold on its training
part alone. A spy on every fit and every score finds no held-out sample used while tuning;
an interrupted run keeps its finished folds and resumes to the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from cancer_alpha import cli, config, nested, protocol, synth, training, tuning
from cancer_alpha.partial import PartialRun

TINY = config.load_profile("smoke").replace(
    cohort={"n_samples": 90, "n_loci": 24, "n_fragment_bins": 24},
    model={"d_model": 16, "n_heads": 2, "n_layers": 1},
    train={"max_epochs": 1, "batch_size": 32},
    tuning={"n_trials": 2, "startup_trials": 2, "inner_folds": 2, "prune_min_epochs": 1,
            "locus_trials": 0},
)
MODELS = ["logistic_regression", "early_fusion_mlp"]


@pytest.fixture(scope="module")
def cohort():
    torch.set_num_threads(1)
    return synth.World.from_config(TINY.cohort).sample(90, seed=0).data


def test_no_held_out_sample_is_fitted_or_scored_while_tuning(cohort, monkeypatch):
    everyone = set(cohort.sample_ids)
    state = {"forbidden": None}
    log = []  # (phase, what, sample ids)

    def note(what, data):
        ids = frozenset(data.sample_ids)
        log.append(("tuning" if state["forbidden"] is not None else "outer", what, ids))
        if state["forbidden"] is not None:
            assert not ids & state["forbidden"], f"a held-out sample was used to {what}"

    real_tune, real_baseline = tuning.tune, protocol.fit_baseline
    real_neural, real_proba = training.fit_neural, protocol.Trained.predict_proba

    def spy_tune(data, *args, **kwargs):
        state["forbidden"] = everyone - set(data.sample_ids)  # the outer fold's held-out part
        assert state["forbidden"], "tuning saw every sample"
        try:
            return real_tune(data, *args, **kwargs)
        finally:
            state["forbidden"] = None

    def spy_baseline(name, train, *args, **kwargs):
        note("fit classical", train)
        return real_baseline(name, train, *args, **kwargs)

    def spy_neural(name, train, *args, **kwargs):
        note("fit neural", train)
        return real_neural(name, train, *args, **kwargs)

    def spy_proba(self, data):
        note("score", data)
        return real_proba(self, data)

    monkeypatch.setattr(tuning, "tune", spy_tune)
    monkeypatch.setattr(protocol, "fit_baseline", spy_baseline)
    monkeypatch.setattr(training, "fit_neural", spy_neural)
    monkeypatch.setattr(protocol.Trained, "predict_proba", spy_proba)
    result = nested.nested_cross_validate(cohort, TINY, MODELS, seeds=[0], n_folds=3)

    during = [e for e in log if e[0] == "tuning"]
    # in each of 3 outer folds: two trials of each model, each on one or two inner folds (the
    # pruner may stop a trial, classical or neural, after its first inner fold)
    assert 3 * 2 <= len([e for e in during if e[1] == "fit classical"]) <= 3 * 2 * 2
    assert len([e for e in during if e[1] == "fit neural"]) >= 3 * 2
    assert len([e for e in during if e[1] == "score"]) >= 3 * 2 * 2
    splits = protocol.stratified_folds(cohort.y, 3, 0)
    outer = {e[2] for e in log if e[0] == "outer"}
    for tr, te in splits:
        train_ids = frozenset(cohort.sample_ids[i] for i in tr)
        test_ids = frozenset(cohort.sample_ids[i] for i in te)
        assert train_ids in outer and test_ids in outer  # tuned fits: train part, then test
    assert len(result.tuned) == len(result.published) == 3 * len(MODELS)
    assert {f.recipe for f in result.tuned} == {"tuned"}
    assert set(result.chosen) == {"s0-f0", "s0-f1", "s0-f2"}
    for record in result.chosen.values():
        assert set(record["settings"]) == set(MODELS)
        assert record["studies"]["logistic_regression"]["n_trials"] == 2


def test_the_ablations_take_the_transformers_tuned_settings():
    assert nested.studied_models(["mmt_no_cross_attention", "logistic_regression"]) == [
        "mmt_modality", "logistic_regression"]
    assert nested.studied_models(["voting_ensemble"])[:3] == list(tuning.ENSEMBLE_MEMBERS)


def test_an_interrupted_nested_run_keeps_its_folds_and_resumes_to_the_same_numbers(
        cohort, tmp_path, monkeypatch):
    models = ["logistic_regression"]
    whole = nested.nested_cross_validate(cohort, TINY, models, seeds=[0], n_folds=3)

    identity = {"what": "test"}
    partial = PartialRun.open(tmp_path / "cv", identity, overwrite=False, command="cv")
    real_fit_one = nested.fit_one
    calls = {"tune": 0, "fit": 0}

    def stop_on_second_tuned_fit(*args, **kwargs):
        calls["fit"] += 1
        if calls["fit"] == 2:
            raise KeyboardInterrupt
        return real_fit_one(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(nested, "fit_one", stop_on_second_tuned_fit)
        with pytest.raises(KeyboardInterrupt):
            nested.nested_cross_validate(cohort, TINY, models, seeds=[0], n_folds=3,
                                         partial=partial)
    kept = partial.fits()
    assert len([f for f in kept.values() if f.recipe == "published"]) == 3
    assert len([f for f in kept.values() if f.recipe == "tuned"]) == 1
    assert "4 finished fits" in partial.kept()

    real_tune = tuning.tune

    def count_tune(*args, **kwargs):
        calls["tune"] += 1
        return real_tune(*args, **kwargs)

    monkeypatch.setattr(tuning, "tune", count_tune)
    again = PartialRun.open(tmp_path / "cv", identity, overwrite=False, command="cv")
    resumed = nested.nested_cross_validate(cohort, TINY, models, seeds=[0], n_folds=3,
                                           partial=again)
    assert calls["tune"] == 1  # folds 0 and 1 were tuned before the interruption
    for a, b in zip(whole.tuned + whole.published, resumed.tuned + resumed.published,
                    strict=True):
        assert (a.model, a.seed, a.fold, a.recipe) == (b.model, b.seed, b.fold, b.recipe)
        assert a.metrics["cv"]["accuracy"] == b.metrics["cv"]["accuracy"]
        np.testing.assert_allclose(a.proba["cv"], b.proba["cv"], rtol=0, atol=1e-12)


def test_a_partial_folder_of_other_options_is_refused_not_mixed(tmp_path):
    first = PartialRun.open(tmp_path / "cv", {"folds": 5}, overwrite=False, command="cv")
    first.save("chosen-s0-f0", {"settings": {}})  # a finished outer fold
    with pytest.raises(Exception, match=r"other folds: rerun that command to resume it"):
        PartialRun.open(tmp_path / "cv", {"folds": 3}, overwrite=False, command="cv")
    PartialRun.open(tmp_path / "cv", {"folds": 3}, overwrite=True, command="cv")


def test_cv_tune_prints_the_tuned_beside_the_published_recipe(tmp_path, capsys):
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(tmp_path / "data"),
                     "--n-samples", "90", "--seed", "4"]) == 0
    out = tmp_path / "cv"
    capsys.readouterr()
    assert cli.main(["cv", "--data", str(tmp_path / "data"), "--models", "logistic_regression",
                     "--folds", "2", "--tune", "--profile", "smoke", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.index("published recipe:") < printed.index("tuned (tuned inside each outer")
    assert "side by side" in printed and "change (points) [95% CI]" in printed
    side = pd.read_csv(out / "recipes.csv", index_col="model")
    fits = pd.read_csv(out / "fits.csv")
    for recipe, column in (("published", "published_accuracy_mean"),
                           ("tuned", "tuned_accuracy_mean")):
        mine = fits[fits["recipe"] == recipe]
        assert len(mine) == 2
        assert side.loc["logistic_regression", column] == pytest.approx(mine["accuracy"].mean())
    pivot = fits.pivot_table(index="fold", columns="recipe", values="accuracy")
    assert side.loc["logistic_regression", "change_points"] == pytest.approx(
        100 * (pivot["tuned"] - pivot["published"]).mean())
    chosen = json.loads((out / "tuned_settings.json").read_text())
    assert set(chosen) == {"s0-f0", "s0-f1"}
    assert sorted(p.name for p in (out / "studies").iterdir()) == [
        "s0-f0-logistic_regression.db", "s0-f1-logistic_regression.db"]
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["recipes"] == ["published recipe", "tuned"]
    assert not (tmp_path / ".cv.partial").exists()


def test_cv_tune_refuses_what_the_inner_folds_cannot_split(tmp_path, capsys):
    assert cli.main(["synthesize", "--profile", "smoke", "--out", str(tmp_path / "data"),
                     "--n-samples", "60", "--seed", "4"]) == 0
    labels = pd.read_csv(tmp_path / "data" / "labels.csv")
    labels.loc[labels["label"] == "liver", "label"] = "lung"
    labels.loc[:1, "label"] = "liver"  # two samples: an outer training part holds one
    labels.to_csv(tmp_path / "data" / "labels.csv", index=False)
    capsys.readouterr()
    code = cli.main(["cv", "--data", str(tmp_path / "data"), "--models", "logistic_regression",
                     "--folds", "2", "--tune", "--profile", "smoke", "--out",
                     str(tmp_path / "cv")])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "cv").exists()
    assert "inner folds" in err and "--folds" in err


def test_a_partial_folder_that_kept_nothing_is_not_in_the_way(tmp_path):
    empty = PartialRun.open(tmp_path / "cv", {"folds": 5}, overwrite=False, command="cv")
    assert empty.kept_or_remove() == "" and not empty.path.exists()
    PartialRun.open(tmp_path / "cv", {"folds": 5}, overwrite=False, command="cv")
    again = PartialRun.open(tmp_path / "cv", {"folds": 3}, overwrite=False, command="cv")
    assert again.identity == {"folds": 3}
