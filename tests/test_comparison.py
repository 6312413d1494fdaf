"""The evidence Chapters 4 and 5 record, computed by cancer_alpha.comparison: the standings,
the fold sizes, the subset table, convergence, the Bayes misses, clustering and attention
readings, the negative control's labels, the training-size curve, Chapter 4's table read back
by Chapter 5, and the run records' keys."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cancer_alpha import comparison, protocol
from cancer_alpha.data import ModalitySpec, MultiOmicsData


def _table(acc, sd=0.02, n_runs=4):
    cols = {"accuracy_mean": acc, "accuracy_sd": {m: sd for m in acc},
            "n_runs": {m: n_runs for m in acc}}
    return pd.DataFrame(cols)


PUB = _table({"logistic_regression": 0.80, "random_forest": 0.78, "mmt_modality": 0.70,
              "early_fusion_mlp": 0.75, "sklearn_mlp": 0.74})
TUNED = _table({"logistic_regression": 0.82, "random_forest": 0.85, "mmt_modality": 0.80,
                "early_fusion_mlp": 0.79, "sklearn_mlp": 0.79})
TABLES = {comparison.PUBLISHED: PUB, comparison.TUNED: TUNED}


def test_chance_is_the_share_of_the_most_frequent_class():
    assert comparison.chance_level(np.array([0, 0, 0, 1, 2, 2])) == 0.5


def test_fold_sizes_of_five_folds_with_a_fifth_held_out():
    assert comparison.fold_sizes(1000, 5, 0.2) == (800, 640)
    assert comparison.fold_sizes(240, 3, 0.25) == (160, 120)


def test_standings_glue_the_best_models_and_the_transformers_gap():
    st = comparison.standings(TABLES, ceiling=0.9)
    g = st.glue
    assert g["best_model_pub"] == "logistic_regression" and g["best_model_tuned"] == "random_forest"
    assert g["best_neural_tuned"] == "mmt_modality" and g["mmt_rank_tuned"] == 3
    assert g["n_models"] == 5 and g["best_classical_tuned"] == "random_forest"
    assert g["best_neural_gap"] == pytest.approx(10.0)
    assert st.transformer_gap == g["mmt_classical_gap"] == pytest.approx(5.0)
    assert g["mmt_acc_pub"] == 0.70 and g["mmt_acc_tuned"] == 0.80
    assert {f"{k}_{r}" for k in ("best_model", "best_acc", "best_neural", "best_neural_acc",
                                 "mmt_rank", "mmt_minus_lr") for r in ("pub", "tuned")} <= set(g)
    assert st.changes_markdown().startswith("- ") and len(st.changes()) >= 1


def test_mlp_versus_sklearn_compares_both_recipes_side_by_side():
    mlp, mlp_pub, words, table = comparison.mlp_versus_sklearn(TABLES)
    assert mlp.delta_points == pytest.approx(0.0) and "matches sklearn_mlp" in words
    assert words.endswith(".") and "with tuned settings" in words
    assert table.shape == (2, 6)  # two models, three columns per recipe


@pytest.mark.parametrize(("losses", "says"), [
    ((0.65, 0.67), "better on the quantity it was tuned for and worse in held-out accuracy"),
    ((0.70, 0.67), "reached 0.700 against 0.670."),
])
def test_mlp_versus_sklearn_sets_the_tuning_objective_beside_the_held_out_accuracy(losses,
                                                                                     says):
    tuned = _table({"early_fusion_mlp": 0.79, "sklearn_mlp": 0.81}, sd=0.002, n_runs=10)
    studies = {"early_fusion_mlp": {"best_value": losses[0]},
               "sklearn_mlp": {"best_value": losses[1]}}
    _, _, words, table = comparison.mlp_versus_sklearn(
        {comparison.PUBLISHED: PUB, comparison.TUNED: tuned}, studies=studies)
    assert "loses to sklearn_mlp" in words and says in words
    assert table[(comparison.TUNED, "inner_log_loss")].tolist() == list(losses)


def test_the_subset_table_keeps_the_order_of_the_subsets_and_the_share_of_the_ceiling():
    scores = [{"subset": s, "model": m, "accuracy": a} for s, m, a in [
        ("cna", "mmt_modality", 0.4), ("cna", "random_forest", 0.5),
        ("methylation", "mmt_modality", 0.6), ("methylation", "random_forest", 0.6),
        ("methylation+cna", "mmt_modality", 0.7), ("methylation+cna", "random_forest", 0.8)]]
    ceilings = {"cna": {"accuracy": 0.5}, "methylation": {"accuracy": 0.8},
                "methylation+cna": {"accuracy": 0.875}}
    subsets = [["methylation"], ["cna"], ["methylation", "cna"]]
    table = comparison.subset_table(scores, ceilings, subsets)
    assert list(table.index) == ["methylation", "cna", "methylation+cna"]
    assert table[comparison.SHARE].tolist() == pytest.approx([0.75, 0.8, 0.8])
    assert table[comparison.SHARE].idxmin() == "methylation"


def _fit(model, seed, fold, best_epoch=None, epochs=None, **kw):
    return protocol.Fit(model, seed, fold, 1.0, {}, best_epoch=best_epoch, epochs=epochs, **kw)


def test_convergence_reads_the_transformers_epochs_and_the_runs_early_stopping_ended():
    fits = [_fit("mmt_modality", 0, i, best_epoch=b, epochs=e)
            for i, (b, e) in enumerate([(4, 10), (9, 20), (14, 20), (5, 12)])]
    fits.append(_fit("logistic_regression", 0, 0))
    tuned = [_fit("mmt_modality", 0, i, best_epoch=b, epochs=20) for i, b in enumerate([1, 3])]
    c = comparison.convergence(fits, tuned, PUB, max_epochs=20)
    assert c.transformer_epochs.tolist() == [5, 10, 15, 6] and c.stopped == 0.5
    assert c.accuracy_sd == 0.02 and c.tuned_median == 3.0
    assert c.glue() == {"c02_tuned_median": 3.0, "c02_median": 8.0, "c02_min": 5,
                        "c02_max": 15, "c02_stopped": 50.0, "c02_sd": 2.0}
    assert set(c.epochs) == {"mmt_modality"}


def test_the_first_run_is_the_first_fold_of_the_seed():
    fits = [_fit("a", 1, 1), _fit("a", 0, 0), _fit("b", 1, 0), _fit("a", 1, 0)]
    assert comparison.first_run(fits, "a", 1) is fits[3]


def test_bayes_misses_count_the_cancers_called_healthy():
    y = np.array([0, 0, 1, 1, 2, 2, 1])
    pred = np.array([0, 1, 0, 1, 0, 2, 1])
    tf = np.array([0, 0, 0.01, 0.3, 0.02, 0.5, 0.1])
    m = comparison.bayes_misses(y, pred, tf)
    assert m["bayes_missed_share"] == pytest.approx(100 * 2 / 3)
    assert m["missed_fraction"] == pytest.approx(0.015)
    assert m["found_fraction"] == pytest.approx(0.3)
    assert np.isnan(comparison.bayes_misses(y, y, tf)["missed_fraction"])


def test_clustering_glue_and_c11_read_the_rows_of_the_table():
    clusters = pd.DataFrame({"kmeans_ari_mean": [0.6, 0.2, 0.9], "kmeans_ari_sd": [0.1, 0, 0],
                             "silhouette_mean": [0.3, 0.1, 0.5]},
                            index=["mmt_modality", "raw features", "Bayes posterior"])
    assert comparison.clustering_glue(clusters) == {"ari_mmt": 0.6, "ari_raw": 0.2,
                                                    "ari_bayes": 0.9, "sil_mmt": 0.3}
    assert comparison.c11_inputs(clusters) == (0.6, 0.1, 0.3, 0.2)


def test_attention_shares_in_percent_with_their_sd():
    stats = comparison.share_stats({"m": {"cna": [0.2, 0.4], "rna": [0.5]}})
    assert stats["m"]["cna"] == pytest.approx([30.0, 100 * np.std([0.2, 0.4], ddof=1)])
    assert stats["m"]["rna"] == [50.0, 0.0]
    table = comparison.share_table(stats)
    assert table.loc["m", "rna"] == "50.0 ± 0.0" and table.loc["m", "cna"] == "30.0 ± 14.1"


def test_top_modalities_counts_the_modalities_of_the_most_important_features():
    importance = {"modality": np.array(["cna", "rna", "cna", "rna", "cna"]),
                  "importance_mean": np.array([0.5, 0.4, 0.3, 0.0, 0.9])}
    assert comparison.top_modalities(importance, 3) == "cna 2, rna 1"
    assert comparison.top_modalities(importance, 5) == "cna 3, rna 2"


def test_shuffled_labels_are_a_permutation_that_leaves_the_data_alone():
    rng = np.random.default_rng(0)
    specs = [ModalitySpec("cna", "cna", 3)]
    y = np.repeat([0, 1, 2], 10)
    data = MultiOmicsData(specs, {"cna": rng.normal(size=(30, 3))}, np.ones((30, 1), bool), y,
                          ["a", "b", "c"])
    shuffled = comparison.shuffle_labels(data)
    assert sorted(shuffled.y) == sorted(y) and not np.array_equal(shuffled.y, y)
    np.testing.assert_array_equal(data.y, y)  # the original keeps its labels
    np.testing.assert_array_equal(shuffled.x["cna"], data.x["cna"])
    np.testing.assert_array_equal(comparison.shuffle_labels(data).y, shuffled.y)


CURVE = pd.DataFrame({"n_train": [100, 100, 100, 400, 400, 1600],
                      "model": ["a", "a", "b", "a", "b", "a"],
                      "seed": [0, 1, 0, 0, 0, 0],
                      "accuracy": [0.5, 0.7, 0.4, 0.8, 0.6, 0.9]})


def test_the_curve_glue_names_its_models_caps_and_sizes():
    g = comparison.curve_glue(CURVE, ["a", "b", "c"], {"b": 400}, 3, 400)
    assert g["curve_model_words"] == "a, b and c"
    assert g["curve_cap_words"].startswith("A compute cap: b is fitted up to 400 samples only")
    assert (g["curve_small"], g["curve_large"]) == (100, 1600)
    assert (g["curve_seeds"], g["curve_all_seeds_up_to"]) == (3, 400)
    assert comparison.curve_glue(CURVE, ["a", "b"], {}, 1, 0)["curve_cap_words"] == (
        "Every model is fitted at every size.")


def test_the_curve_glue_says_from_which_size_an_epoch_is_not_a_whole_pass():
    words = comparison.curve_glue(CURVE, ["a"], {}, 1, 0, epoch_samples=400)["curve_epoch_words"]
    assert "at most 400 training samples" in words and "at 1,600 samples and above" in words
    for cap in (0, 1600):  # no cap, or one no size exceeds
        assert comparison.curve_glue(CURVE, ["a"], {}, 1, 0, epoch_samples=cap)[
            "curve_epoch_words"] == "An epoch is a whole pass over the training samples."


def test_the_profile_curve_glue_reads_the_curve_design_from_the_profile(smoke):
    ev = smoke.evaluation
    assert comparison.profile_curve_glue(CURVE, smoke) == comparison.curve_glue(
        CURVE, ev.curve_models, dict(ev.curve_max_size), ev.curve_seeds,
        ev.curve_all_seeds_up_to, smoke.train.epoch_samples)


def test_the_budget_glue_states_both_trial_counts_and_the_reading(smoke):
    budget = pd.DataFrame({"a": [1]})
    budget.attrs["words"] = "no change"
    assert comparison.budget_glue(smoke, budget) == {
        "sensitivity_trials": smoke.tuning.sensitivity_trials,
        "n_trials": smoke.tuning.n_trials, "budget_words": "no change"}


def test_fit_seconds_subset_and_control_glue():
    tables = {r: t.assign(fit_seconds_mean=s) for (r, t), s in zip(TABLES.items(), (1.0, 2.0),
                                                                   strict=True)}
    seconds = comparison.fit_seconds(tables)
    assert list(seconds.columns) == [comparison.PUBLISHED, comparison.TUNED]
    assert seconds.loc["mmt_modality"].tolist() == [1.0, 2.0]
    subsets = pd.DataFrame({comparison.SHARE: [0.9, 0.6]}, index=["methylation", "cna"])
    assert comparison.subset_glue(subsets, "cna") == {"worst_subset": "cna", "worst_share": 0.6}
    assert comparison.control_glue(TUNED, 0.25) == {"control_acc": 0.85, "chance": 0.25}


def test_the_curve_table_averages_the_seeds_and_counts_them():
    t = comparison.curve_table(CURVE, 0.95)
    assert t.loc[100, "a"] == pytest.approx(0.6) and np.isnan(t.loc[1600, "b"])
    assert t["seeds"].tolist() == [2, 1, 1] and (t["Bayes ceiling"] == 0.95).all()


def test_the_run_record_keeps_its_keys_in_order():
    tables = {r: t.assign(f1_macro_mean=0.5, roc_auc_macro_mean=0.6, ece_mean=0.1,
                          fit_seconds_mean=1.0, share_of_ceiling=0.9, cv_accuracy_mean=0.8)
              for r, t in TABLES.items()}
    st = comparison.standings(tables, 0.9)
    setting = SimpleNamespace(ceiling=0.9, ceiling_ci=(0.88, 0.92))
    c02 = comparison.Convergence({"mmt_modality": [3]}, np.array([3]), 0.0, 0.01, 3.0)
    versus = protocol.Versus(0.0, 1.0, "matches")
    rec = comparison.record(
        setting, tables, st, subsets=pd.DataFrame({"x": [1.0]}, index=["cna"]),
        convergence=c02, clusters=pd.DataFrame({"kmeans_ari_mean": [0.5]}, index=["m"]),
        shares={"m": {"cna": [0.2, 0.3]}},
        control=pd.DataFrame({"accuracy_mean": [0.3]}, index=["m"]),
        mlp=versus, mlp_pub=versus, strongest=comparison.Strongest(2.0, 0.99, 0.98))
    assert list(rec) == [
        "bayes_accuracy", "bayes_accuracy_ci95", "models", "models_tuned", "share_of_ceiling",
        "cv_accuracy", "changed_conclusions", "transformer_vs_best_classical_points",
        "modality_subsets", "epochs_to_best", "clustering", "attention_shares",
        "permuted_label_accuracy", "mlp_vs_sklearn", "strongest_signal"]
    assert set(rec["models"]["mmt_modality"]) == set(comparison.RECORD_KEYS)
    assert rec["strongest_signal"] == {"effect_size": 2.0, "bayes_accuracy": 0.99,
                                       comparison.ENSEMBLE: 0.98}
    assert rec["transformer_vs_best_classical_points"] == pytest.approx(5.0)


def test_the_strongest_signal_glues_the_ensemble_at_both_difficulties():
    tables = {r: pd.concat([t, _table({comparison.ENSEMBLE: a})])
              for (r, t), a in zip(TABLES.items(), (0.81, 0.84), strict=True)}
    strongest = comparison.Strongest(2.5, 0.991, 0.985)
    assert strongest.glue(tables) == {"ensemble_acc": 0.84, "ensemble_acc_pub": 0.81,
                                      "strongest_effect": 2.5, "strongest_ceiling": 0.991,
                                      "strongest_ensemble": 0.985}
    assert strongest.note(0.9) == ("Bayes ceiling 0.900 at the default difficulty; at effect "
                                   "size 2.50 the ceiling is 0.991 and the ensemble reaches "
                                   "0.985")


def test_the_embedding_map_is_the_t_sne_of_the_first_runs_representation(monkeypatch):
    emb = np.arange(12, dtype=float).reshape(4, 3)
    fits = [_fit("mmt_modality", 1, 0, extras={"embedding": -emb}),
            _fit("mmt_modality", 0, 0, extras={"embedding": emb})]
    s = SimpleNamespace(profile=SimpleNamespace(evaluation=SimpleNamespace(seeds=[0, 1])),
                        test=SimpleNamespace(y=np.array([2, 1, 0, 1, 2, 2])))
    seen = {}
    monkeypatch.setattr(comparison.evaluate, "tsne",
                        lambda x, seed: seen.setdefault("x", x)[:, :2] + seed)
    coords, labels = comparison.embedding_map(s, fits)
    assert seen["x"] is emb and coords.shape == (4, 2)
    assert labels.tolist() == [2, 1, 0, 1]  # the classes of the samples embedded


def test_chapter_5s_record_keeps_its_keys_in_order():
    budget = pd.DataFrame({"accuracy": [0.8]}, index=["a"])
    budget.attrs["ranking_changed"] = True
    rec = comparison.checks_record(rules=pd.DataFrame({"rule": ["refit"]}),
                                   gains={"m": {"refit": 1.0}}, budget=budget, curve=CURVE,
                                   reading=SimpleNamespace(facts={"f": 1}))
    assert list(rec) == ["full_data_rules", "full_data_gains", "budget_sensitivity",
                         "budget_ranking_changed", "training_size_curve",
                         "training_size_reading"]
    assert rec["budget_ranking_changed"] is True and rec["training_size_reading"] == {"f": 1}
    assert rec["training_size_curve"]["n_train"] == CURVE["n_train"].tolist()


def test_chapter_5_reads_chapter_4s_tuned_table_back_from_its_record(tmp_path):
    models = {m: {k: 0.5 + i / 10 for k in comparison.RECORD_KEYS}
              for i, m in enumerate(["logistic_regression", "mmt_modality"])}
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "04_training.json").write_text(json.dumps(
        {"metrics": {"models_tuned": models, "models": {}}}))
    table = comparison.recorded_table("tiny", str(tmp_path))
    assert list(table.columns) == comparison.RECORD_KEYS
    assert table.loc["mmt_modality", "accuracy_mean"] == pytest.approx(0.6)
    with pytest.raises(FileNotFoundError, match=r"--profile other --only 04"):
        comparison.recorded_table("other", str(tmp_path))


def test_the_curve_summary_gives_the_best_model_and_the_transformer_against_the_ceiling():
    reading = protocol.read_curve(CURVE, 0.95, "a")
    words = comparison.curve_summary(reading)
    assert words == ("at 1,600 training samples the best model, a, is 5.0 points below the "
                     "Bayes ceiling; a is 5.0 points below it.")
    reading = protocol.read_curve(CURVE, 0.95, "b")
    assert comparison.curve_summary(reading).endswith("b is 35.0 points below it at 400.")
