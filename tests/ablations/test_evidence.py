"""The evidence Chapter 6 records, computed by cancer_alpha.ablations.evidence: the recipe that
differs, the shown table, the glued deltas, C07's and C09's readings, the subset shares,
leave-one-modality-out points, the published-recipe verdicts and the run record's keys."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cancer_alpha import config
from cancer_alpha.ablations import evidence


def _row(points, lo, hi, rel=0.0):
    return {"n_seeds": 3, "reference_accuracy_mean": 0.8, "variant_accuracy_mean": 0.79,
            "delta_points_mean": points, "delta_points_ci95": [lo, hi],
            "relative_percent_mean": rel, "relative_percent_ci95": [rel - 1, rel + 1]}


def _runs(variant, accuracies, seconds=None):
    return [{"variant": variant, "seed": s, "accuracy": a, "epochs": 3, "best_epoch": 1,
             "fit_seconds": 1.0 + s, "attention_entropy": 0.5, "n_parameters": 10,
             "history": [{"seconds": x} for x in (seconds or [1.0, 1.0])]}
            for s, a in enumerate(accuracies)]


def test_the_recipe_table_keeps_only_the_settings_that_differ():
    published = config.profile_from_dict({}, name="test")
    tuned = published.replace(train={"lr": published.train.lr * 2})
    table = evidence.recipe_table(published, tuned)
    assert list(table.index) == ["lr"]
    assert table.iloc[0, 1] == 2 * table.iloc[0, 0]


def test_fit_seconds_are_averaged_per_variant_in_the_order_of_the_runs():
    rows = _runs("full", [0.8, 0.7]) + _runs("generic", [0.6])
    assert evidence.fit_seconds(rows).to_dict() == {"full": 1.5, "generic": 1.0}


def test_the_shown_table_writes_the_intervals_out():
    shown = evidence.shown_table({"a": _row(-1.25, -3.0, 0.5, rel=2.0)})
    assert list(shown.columns) == evidence.SHOWN
    assert shown.loc["a", "delta_points_ci95"] == "[-3.0, 0.5]"
    assert shown.loc["a", "relative_percent_ci95"] == "[1.0, 3.0]"


def test_delta_glue_names_points_interval_and_relative_change():
    row = _row(-1.5, -2.0, -1.0, rel=-2.5)
    assert evidence.delta_glue("c08", row) == {"c08_points": -1.5, "c08_lo": -2.0, "c08_hi": -1.0}
    assert evidence.delta_glue("c08", row, relative=True)["c08_rel"] == -2.5


def test_the_control_glue_takes_the_largest_single_modality_information():
    control = SimpleNamespace(single_modality_information={"cna": 1e-9, "methylation": 3e-9},
                              chance=0.5, ceiling=0.97, n_train=200, n_test=100)
    g = evidence.control_glue(control, [0, 1], 12)
    assert g["control_info"] == 3e-9 and g["control_loci"] == 12
    assert g["control_seeds_words"] == "2 seeds" and g["control_ceiling"] == 0.97


def test_the_encoder_gain_is_relative_to_the_generic_encoders():
    rows = (_runs("full", [0.9, 0.8, 0.85]) + _runs("generic_encoders", [0.8, 0.8, 0.85])
            + _runs("full@easy", [0.9, 0.9]) + _runs("generic_encoders@easy", [0.9, 0.9]))
    gain, gain_easy, glue = evidence.encoder_gain(rows)
    assert gain["reference"] == "generic_encoders" and gain["n_seeds"] == 3
    assert glue["c09_gain"] == pytest.approx(gain["relative_percent_mean"]) and glue["c09_gain"] > 0
    assert glue["c09_gain_lo"] < glue["c09_gain"] < glue["c09_gain_hi"]
    assert gain_easy["delta_points_mean"] == 0.0


def test_the_loss_change_in_words():
    assert evidence.loss_change_words("cross_entropy", 2.0).startswith("Cross-entropy")
    assert evidence.loss_change_words("focal", 2.0) == "Focal loss (γ = 2) instead of cross-entropy"
    assert evidence.loss_change_words("focal") == (
        f"Focal loss (γ = {evidence.FOCAL_GAMMA:g}) instead of cross-entropy")


def test_the_time_change_leaves_out_the_seeds_that_never_reached_the_target():
    timing = pd.DataFrame({"relative_change": [-0.2, np.inf, -0.4, np.nan]})
    change, n = evidence.time_change(timing)
    assert n == 2 and change["mean"] == pytest.approx(-0.3)
    lo, hi = change["ci95"]
    assert lo < -0.3 < hi


def test_subset_shares_find_the_worst_subset():
    subsets = {"a": {"model": 0.4, "bayes": 0.8}, "a+b": {"model": 0.9, "bayes": 1.0},
               "b": {"model": 0.6, "bayes": 0.75}}
    assert evidence.subset_shares(subsets, "a+b") == (0.9, 0.5, "a")
    assert evidence.share_glue(subsets, "a+b") == {"share_all": 0.9, "share_worst": 0.5,
                                                   "worst_subset": "a"}


def test_leave_one_out_points_for_the_model_and_the_bayes_classifier():
    subsets = {"methylation+cna": {"model": 0.9, "bayes": 0.95},
               "methylation": {"model": 0.7, "bayes": 0.8},
               "cna": {"model": 0.6, "bayes": 0.6}}
    model, bayes = evidence.leave_one_out_points(subsets, ["methylation", "cna"])
    assert model == pytest.approx({"methylation": 30.0, "cna": 20.0})
    assert bayes == pytest.approx({"methylation": 35.0, "cna": 15.0})


def test_the_planted_table_has_one_row_per_group():
    planted = {g: {"auroc": a, "auroc_of_mean_scores": a, "p_value": 0.1, "n_runs": 2,
                   "auroc_runs": [a, a]} for g, a in (("trained", 0.7), ("untrained", 0.5))}
    t = evidence.planted_table(planted)
    assert list(t.index) == ["trained", "untrained"] and list(t.columns) == list(
        evidence.PLANTED_SHOWN)


def test_the_published_side_sets_the_two_recipes_beside_each_other():
    pub = {"no_cross_attention": _row(-1.0, -2, 0, rel=-1.2)}
    tuned = {"no_cross_attention": _row(0.5, -1, 2, rel=0.6), "other": _row(1, 0, 2)}
    side = evidence.published_side(pub, tuned)
    assert list(side.index) == ["no_cross_attention"]
    assert side.loc["no_cross_attention"].tolist() == [-1.0, 0.5, -1.2, 0.6]


def test_rule_verdicts_read_each_judged_claim():
    judged = {"C08": {"id": "C08", "rule_verdict": "refuted", "verdict": "not reproduced"},
              "C09": {"id": "C09", "rule_verdict": "supported", "verdict": "reproduced"}}
    assert evidence.rule_verdicts(judged) == {"C08": "refuted", "C09": "supported"}


def test_verdict_changes_say_where_the_published_recipe_agrees():
    published = {"C08": SimpleNamespace(verdict="refuted"),
                 "C09": SimpleNamespace(verdict="supported")}
    text = evidence.verdict_changes(published, {"C08": "refuted", "C09": "refuted"})
    assert text.splitlines() == [
        "- C08: refuted with the tuned full model, refuted with the published recipe (the same)",
        "- C09: refuted with the tuned full model, supported with the published recipe"]


def test_the_run_record_keeps_its_keys_in_order():
    default = SimpleNamespace(joint_loci=np.array([1, 2]), effect_size=1.0,
                              test=SimpleNamespace(modalities=["a", "b"]))
    easy = SimpleNamespace(effect_size=2.0)
    s = evidence.Setting(None, {"mmt_modality": {"train": {}}}, None,
                         {evidence.DEFAULT: default, evidence.EASY: easy},
                         {"a+b": {"accuracy": 0.9}}, 0.99)
    from cancer_alpha.ablations import ControlResult

    control = ControlResult(1.0, 0.5, {}, {}, [
        {"recipe": "published", "model": "m", "seed": 0, "accuracy": 0.7, "best_epoch": 2,
         "fit_seconds": 1.0}], 10, 5)
    rows = _runs("full", [0.8])
    rec = evidence.record(
        s, control=control, control_seeds=[0], control_words="w", table={},
        published_table={}, verdicts={}, gain={}, gain_easy={},
        sweep=[], timing=pd.DataFrame({"seed": [0], "x": [1]}).set_index("seed"),
        subsets={}, lomo=({}, {}), planted={"trained": {"auroc": 0.6, "auroc_runs": [0.6],
                                                       "auroc_of_mean_scores": 0.6,
                                                       "p_value": 0.2, "n_runs": 1}},
        rows=rows)
    assert list(rec) == [
        "ablation_reference", "positive_control", "full_model_settings", "ablations",
        "ablations_published_recipe", "published_recipe_verdicts", "c09_gain_over_generic",
        "lambda_sweep", "progressive_timing", "subset_accuracy",
        "leave_one_modality_out_points", "attention_planted_auroc", "attention_planted",
        "joint_loci", "bayes_accuracy", "effect_sizes", "runs"]
    assert rec["bayes_accuracy"] == {"default": 0.9, "easy": 0.99}
    assert set(rec["runs"][0]) == set(evidence.RUN_KEYS)  # the history is not recorded
    assert rec["progressive_timing"] == {"seed": [0], "x": [1]}
    pc = rec["positive_control"]
    assert list(pc["models"]) == ["published"] and pc["models"]["published"]["m"]["n_runs"] == 1
    assert pc["best_epochs"] == {"published": {"m": [2]}} and pc["reverts"] == {}


def test_pair_glue_joins_the_delta_glue_of_several_ablations():
    table = {"a": _row(-1.0, -2.0, 0.0, rel=-1.5), "a@easy": _row(0.5, 0.0, 1.0, rel=0.7)}
    g = evidence.pair_glue(table, {"c08": "a", "c08e": "a@easy"}, relative=True)
    assert list(g) == ["c08_points", "c08_lo", "c08_hi", "c08_rel",
                       "c08e_points", "c08e_lo", "c08e_hi", "c08e_rel"]
    assert (g["c08_rel"], g["c08e_points"]) == (-1.5, 0.5)
    assert "c08_rel" not in evidence.pair_glue(table, {"c08": "a"})


def test_the_notes_of_c08_c09_and_c10():
    easy = SimpleNamespace(effect_size=1.234)
    assert evidence.difficulty_note(easy, "it learns.") == (
        "easier difficulty: effect size 1.23; positive control: it learns.")
    planted = {"trained": {"n_runs": 2.0}}
    assert evidence.c10_note(1, planted, "w") == (
        "locus-token model capped at 1 epoch, 2 seeds; positive control: w")


def test_the_dropout_rate_is_the_full_models_own_when_it_trains_with_dropout():
    profile = SimpleNamespace(train=SimpleNamespace(modality_dropout=0.3),
                              ablation=SimpleNamespace(modality_dropout=0.2))
    assert evidence.dropout_rate(profile, ("full", "no_dropout")) == 0.3
    assert evidence.dropout_rate(profile, ("modality_dropout", "full")) == 0.2


def test_the_planted_glue_has_every_groups_auroc_and_the_trained_p_value():
    planted = {"trained": {"auroc": 0.7, "p_value": 0.04}, "shuffled": {"auroc": 0.5},
               "untrained": {"auroc": 0.52}}
    assert evidence.planted_glue(planted) == {"auroc_trained": 0.7, "auroc_shuffled": 0.5,
                                              "auroc_untrained": 0.52, "auroc_p": 0.04}
