"""What Chapter 3 states of its budget, computed by cancer_alpha.tuning: the models tuned, the
pruning share in words and the glued budget."""

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
