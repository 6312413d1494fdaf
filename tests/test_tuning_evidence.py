"""What Chapter 3 states of its budget, computed by cancer_alpha.tuning: the models tuned, the
pruning share in words and the glued budget."""

from types import SimpleNamespace

from cancer_alpha import tuning


def test_only_models_with_a_search_space_are_tuned_in_the_comparisons_order(smoke):
    models = tuning.tuned_models(smoke)
    assert models == [m for m in smoke.evaluation.models if m in tuning.SEARCH_SPACES]
    assert set(models) <= set(tuning.SEARCH_SPACES) and models


def test_the_pruning_share_in_words():
    assert [tuning.share_word(k) for k in (2, 3, 4, 5)] == ["half", "third", "quarter", "1/5"]


def test_the_budget_glue_states_trials_folds_and_pruning(smoke):
    g = tuning.budget_glue(smoke, 120, 6)
    t = smoke.tuning
    assert (g["n_trials"], g["inner_folds"], g["n_train"], g["n_models"]) == (
        t.n_trials, t.inner_folds, 120, 6)
    assert g["prune_share"] == tuning.share_word(t.prune_reduction_factor)
    assert g["prune_min_words"].startswith(f"{t.prune_min_epochs} epoch")
    assert list(g) == ["n_trials", "inner_folds", "locus_trials", "locus_inner_folds",
                       "prune_min_words", "prune_factor", "prune_share", "sensitivity_trials",
                       "n_train", "n_models"]


def _study(n_trials, n_pruned, inner_folds, best_value, settings, note="", trials=()):
    return SimpleNamespace(n_trials=n_trials, n_pruned=n_pruned, inner_folds=inner_folds,
                           best_value=best_value, best_settings=settings, note=note,
                           trials=list(trials))


def test_the_study_table_and_totals():
    studies = {"a": _study(10, 3, 3, 0.51234, {}), "b": _study(0, 0, None, 0.0, {},
                                                              note="not tuned")}
    table = tuning.study_table(studies)
    assert table.loc["a"].tolist() == [10, 3, 3, "0.5123", "equal"]
    assert table.loc["b"].tolist() == [0, 0, "—", "—", "not tuned"]
    assert tuning.study_totals(studies) == {"n_trials_total": 10, "n_pruned": 3}


def test_the_top_setting_or_why_there_is_none():
    assert tuning.top_setting({"train.lr": 0.7, "model.d_model": 0.3}) == "train.lr"
    assert tuning.top_setting(None).startswith("not measured")
    assert tuning.top_setting({}).startswith("not measured")


def test_the_budget_comparison_says_which_longer_study_found_better_settings():
    best = {"train": {"lr": 1e-3}}
    studies = {"a": _study(8, 0, 3, 0.50, best), "b": _study(8, 0, 3, 0.60, best)}
    extended = {"a": _study(16, 2, 3, 0.50, best, trials=[SimpleNamespace(number=0, value=0.5)]),
                "b": _study(16, 1, 3, 0.55, {"train": {"lr": 3e-3}},
                            trials=[SimpleNamespace(number=0, value=0.6),
                                    SimpleNamespace(number=1, value=0.55)])}
    table, words = tuning.budget_comparison(studies, extended, {"x": "a", "y": "b"}, 8, 16)
    assert list(table.columns) == ["role", "8 trials", "16 trials", "best trial", "pruned",
                                   "same settings"]
    assert table["same settings"].tolist() == [True, False]
    assert table["best trial"].tolist() == [1, 2]
    assert words.startswith("b found better settings after trial 8;")
    same = {"a": extended["a"]}
    _, words = tuning.budget_comparison(studies, same, {"x": "a"}, 8, 16)
    assert words == "the best settings of every one of them were found within the first 8 trials."


def test_the_chosen_settings_sit_beside_the_published_recipe(smoke):
    studies = {"mmt_modality": _study(8, 0, 3, 0.5, {"train": {"lr": 0.01},
                                                     "model": {"d_model": 64}}),
               "random_forest": _study(8, 0, 3, 0.5, {"estimator": {"n_estimators": 50}})}
    table, neural = tuning.chosen_settings(smoke, studies, ["mmt_modality", "random_forest"])
    assert neural == ["mmt_modality"]
    assert list(table.index) == ["model.d_model", "train.lr"]
    assert table.loc["train.lr"].tolist() == [smoke.train.lr, 0.01]
    assert table.loc["model.d_model", "published recipe"] == smoke.model.d_model
