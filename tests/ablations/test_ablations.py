"""Chapter 6's experiments: the ablated variants, missing-modality evaluation, attention
against planted loci, paired differences, progressive timing and the ablation settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from cancer_alpha import ablations, bayes, interpret
from cancer_alpha.config import AblationConfig, Profile, profile_from_dict
from cancer_alpha.data import Standardizer
from cancer_alpha.models.attention import CrossModalAttention
from cancer_alpha.models.encoders import MLPEncoder
from cancer_alpha.synth import World
from cancer_alpha.training import FittedModel, fit_neural


def tiny_profile(**ablation) -> Profile:
    return profile_from_dict({
        "cohort": {"n_samples": 150, "n_loci": 30, "n_fragment_bins": 24, "n_fragments": 500},
        "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "dropout": 0.0},
        "train": {"max_epochs": 1, "batch_size": 32, "warmup_epochs": 0, "patience": 1,
                  "pretrain_epochs": 1},
        "evaluation": {"test_samples": 60},
        "ablation": {"seeds": [0, 1], "test_samples": 60, "lambda_grid": [0.0],
                     "locus_seeds": 1, "locus_max_epochs": 1, "attention_samples": 20,
                     **ablation},
    }, name="tiny")


@pytest.fixture(scope="module")
def cfg() -> Profile:
    return tiny_profile()


@pytest.fixture(scope="module")
def world(cfg) -> World:
    return World.from_config(cfg.cohort)


def variant(cfg: Profile, name: str) -> ablations.Variant:
    return next(v for v in ablations.plan(cfg) if v.name == name)


def batch(world: World, n: int = 8):
    data = world.sample(n, seed=3).data
    scaler = Standardizer().fit(data)
    x = {k: torch.from_numpy(v) for k, v in scaler.transform(data).items()}
    return data, x, torch.from_numpy(data.mask.copy())


# --------------------------------------------------------------------------- the variants


@pytest.mark.parametrize("name", ["no_cross_attention", "no_cross_attention@easy"])
def test_variant_without_cross_attention_has_no_fusion_parameters_and_no_attention(
        cfg, world, name):
    full = ablations.build_variant(variant(cfg, "full"), world.specs(), 5, cfg, seed=0)
    ablated = ablations.build_variant(variant(cfg, name), world.specs(), 5, cfg, seed=0)
    assert any(n.startswith("fusion.") for n, _ in full.named_parameters())
    assert not any(n.startswith("fusion.") for n, _ in ablated.named_parameters())
    assert not any(isinstance(m, CrossModalAttention) for m in ablated.modules())
    _, x, mask = batch(world)
    assert full.eval()(x, mask).attention is not None
    assert ablated.eval()(x, mask).attention is None


@pytest.mark.parametrize("name", ["generic_encoders", "generic_encoders@easy"])
def test_generic_encoder_variant_gives_every_modality_the_same_mlp_class(cfg, world, name):
    full = ablations.build_variant(variant(cfg, "full"), world.specs(), 5, cfg, seed=0)
    ablated = ablations.build_variant(variant(cfg, name), world.specs(), 5, cfg, seed=0)
    assert {type(e) for e in ablated.encoders.values()} == {MLPEncoder}
    assert not any(isinstance(m, nn.Conv1d | nn.GRU) for m in ablated.modules())
    assert len({type(e) for e in full.encoders.values()}) == 3  # one design per modality
    assert any(isinstance(m, CrossModalAttention) for m in ablated.modules())


def test_plan_pairs_every_ablation_with_a_reference_trained_on_the_same_seeds(cfg):
    seeds = {v.name: set(v.seeds) for v in ablations.plan(cfg)}
    for v, ref in ablations.comparisons(cfg).values():
        assert seeds[v] and seeds[v] <= seeds[ref]
    assert seeds["locus_tokens"] == {0}  # capped at locus_seeds = 1
    by_name = {v.name: v for v in ablations.plan(cfg)}
    assert by_name["cross_entropy"].train_config(cfg.train).focal_gamma == 0.0
    assert by_name["locus_tokens"].train_config(cfg.train).max_epochs == 1
    assert by_name["full@easy"].difficulty == ablations.EASY


# --------------------------------------------------------------------------- missing modalities


def test_subset_evaluation_covers_exactly_the_seven_non_empty_subsets(cfg, world):
    data = world.sample(40, seed=5).data
    seen = []

    def predict(d):
        seen.append(tuple(d.mask[0]))
        # a missing modality must arrive masked and as NaN, never as values
        for m, name in enumerate(d.modalities):
            assert np.isnan(d.x[name][~d.mask[:, m]]).all()
            assert np.isfinite(d.x[name][d.mask[:, m]]).all()
        return np.tile(np.eye(d.n_classes)[0], (d.n_samples, 1))

    acc = ablations.subset_accuracy(predict, data)
    assert len(acc) == 7 and len(set(seen)) == 7 and (False, False, False) not in seen
    assert list(acc) == list(bayes.subset_ceilings(bayes.BayesClassifier(world), data))
    majority = float(np.mean(data.y == 0))
    assert all(v == pytest.approx(majority) for v in acc.values())


def test_hide_modalities_rejects_an_unknown_or_empty_subset(world):
    data = world.sample(5, seed=1).data
    with pytest.raises(ValueError, match="ablation.keep"):
        ablations.hide_modalities(data, ["rna"])
    with pytest.raises(ValueError, match="ablation.keep"):
        ablations.hide_modalities(data, [])


def test_modality_dropout_training_never_yields_nan_on_any_subset(world):
    cfg = tiny_profile().replace(train={"modality_dropout": 0.9, "max_epochs": 2})
    train = world.sample(120, seed=0).data
    fitted = fit_neural("mmt_modality", train, cfg, seed=0)
    assert all(math.isfinite(h["train_loss"]) for h in fitted.history)
    test = world.sample(30, seed=9).data
    for subset in ablations.modality_subsets(test.modalities):
        proba = fitted.predict_proba(ablations.hide_modalities(test, subset))
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_leave_one_out_is_accuracy_with_all_minus_accuracy_without(world):
    acc = {"methylation+fragmentomics+cna": 0.9, "fragmentomics+cna": 0.7,
           "methylation+cna": 0.85, "methylation+fragmentomics": 0.88}
    out = ablations.leave_one_out(acc, ["methylation", "fragmentomics", "cna"])
    assert out == pytest.approx({"methylation": 0.2, "fragmentomics": 0.05, "cna": 0.02})


# --------------------------------------------------------------------------- planted attention


def test_auroc_matches_scikit_learn_and_its_extremes():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=50)
    positive = np.zeros(50, bool)
    positive[[3, 7, 11, 30]] = True
    assert interpret.auroc(scores, positive) == pytest.approx(roc_auc_score(positive, scores))
    assert interpret.auroc(positive.astype(float), positive) == 1.0
    assert interpret.auroc(-positive.astype(float), positive) == 0.0
    # perfect separation of 4 of 50 loci: p = 1 / C(50, 4) exactly, resolved by 2000 draws
    # only down to 1 / 2001
    assert interpret.auroc_p_value(positive.astype(float), positive, 2000) == 1 / 2001
    assert interpret.auroc_p_value(-positive.astype(float), positive, 2000) == 1.0


def test_untrained_locus_model_attention_is_unrelated_to_the_planted_loci():
    cfg = tiny_profile().replace(cohort={"n_loci": 100, "n_joint_loci": 20})
    world = World.from_config(cfg.cohort)
    data = world.sample(40, seed=2).data
    v = variant(cfg, "locus_untrained")
    model = ablations.build_variant(v, world.specs(), world.n_classes, cfg, seed=0)
    fitted = FittedModel(v.name, model.eval(), Standardizer().fit(data), world.specs(),
                         world.class_names, [], 0, -1, 0.0)
    scores = interpret.planted_attention_scores(fitted, data)
    assert scores.shape == (100,) and (scores > 0).all()
    assert scores.std() > 0.05 * scores.mean()  # scores differ: an AUROC of 0.5 is not a tie
    positive = np.isin(np.arange(100), world.joint_loci)
    # Under no relation the AUROC of 20 positives among 100 loci has sd
    # sqrt((n1 + n0 + 1) / (12 n1 n0)) = 0.073; 0.25 is about 3.4 sd. The value is
    # deterministic (fixed seeds): the test fails if the score or the AUROC ever favours the
    # planted loci without training (e.g. an index that leaks the planted positions).
    assert abs(interpret.auroc(scores, positive) - 0.5) < 0.25


# --------------------------------------------------------------------------- paired summaries


def test_paired_difference_is_variant_minus_reference_on_common_seeds():
    rows = [{"variant": "full", "seed": s, "accuracy": a} for s, a in
            [(0, 0.80), (1, 0.82), (2, 0.84), (9, 0.5)]]
    rows += [{"variant": "v", "seed": s, "accuracy": a} for s, a in
             [(0, 0.70), (1, 0.74), (2, 0.72)]]
    p = ablations.paired(rows, "v", "full")
    assert p["n_seeds"] == 3
    assert p["delta_accuracy_mean"] == pytest.approx(-0.10)
    # differences -0.10, -0.08, -0.12: sd 0.02, t(0.975, 2) = 4.303
    half = 4.302652729911275 * 0.02 / math.sqrt(3)
    assert p["delta_accuracy_ci95"] == pytest.approx([-0.10 - half, -0.10 + half])
    assert p["delta_points_mean"] == pytest.approx(-10.0)
    rel = np.mean([-0.10 / 0.80, -0.08 / 0.82, -0.12 / 0.84])
    assert p["relative_percent_mean"] == pytest.approx(100 * rel)


def test_progressive_timing_counts_pretraining_to_a_loss_both_reach():
    e2e = [{"seconds": 2.0, "val_loss": v} for v in (1.0, 0.6, 0.5, 0.55)]
    prog = [{"seconds": 1.0, "val_loss": v} for v in (0.7, 0.58, 0.6)]
    rows = [{"variant": "full", "seed": 0, "history": e2e, "pretrain_history": []},
            {"variant": "progressive", "seed": 0, "history": prog,
             "pretrain_history": [{"seconds": 1.5}]}]
    (t,) = ablations.progressive_timing(rows)
    assert t["target_val_loss"] == 0.58  # the worse of the best losses 0.5 and 0.58
    assert t["end_to_end_seconds"] == 6.0  # 0.5 <= 0.58 first at the third epoch
    assert t["progressive_seconds"] == 1.5 + 2.0
    assert t["relative_change"] == pytest.approx(3.5 / 6.0 - 1.0)
    assert ablations.seconds_to_loss(e2e, 0.1) == math.inf


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize("field, value, message", [
    ("seeds", (), "ablation.seeds"),
    ("seeds", (1, 1), "ablation.seeds"),
    ("locus_seeds", 6, "ablation.locus_seeds"),
    ("lambda_grid", (-0.1,), "ablation.lambda_grid"),
    ("modality_dropout", 1.0, "ablation.modality_dropout"),
    ("easy_effect_size", 0, "ablation.easy_effect_size"),
    ("test_samples", 0, "ablation.test_samples"),
])
def test_ablation_settings_reject_bad_values_naming_them(field, value, message):
    with pytest.raises(ValueError, match=message):
        AblationConfig(**{field: value})


def test_profiles_carry_the_ablation_section():
    from cancer_alpha.config import load_profile

    assert load_profile("paper").ablation == AblationConfig()
    smoke = load_profile("smoke").ablation
    assert smoke.seeds == (0,) and smoke.locus_max_epochs == 1


def test_prediction_keeps_no_attention_weights_unless_asked(world, cfg):
    # locus mode holds about a megabyte of weights per sample: predicting a large cohort with
    # them kept exhausted the memory of a paper-scale run
    data = world.sample(20, seed=4).data
    v = variant(cfg, "locus_untrained")
    model = ablations.build_variant(v, world.specs(), world.n_classes, cfg, seed=0)
    fitted = FittedModel(v.name, model.eval(), Standardizer().fit(data), world.specs(),
                         world.class_names, [], 0, -1, 0.0)
    assert all(o.attention is None for o in fitted.outputs(data, batch_size=8))
    assert all(o.attention is not None
               for o in fitted.outputs(data, batch_size=8, attention=True))
    assert model.return_attention is True  # the model's own setting is restored
    proba = fitted.predict_proba(data)
    assert proba.shape == (20, world.n_classes) and np.allclose(proba.sum(axis=1), 1.0)


def test_the_positive_control_scores_every_model_beside_an_exact_ceiling():
    from cancer_alpha.ablations import control_reading, interaction_profile, positive_control

    profile = tiny_profile(control_samples=120, control_joint_loci=8, seeds=[0, 1],
                           control_seeds=1, test_samples=200)
    cohort = interaction_profile(profile).cohort
    assert cohort.signal == "interaction" and cohort.n_joint_loci == 8
    assert cohort.effect_size * cohort.max_tumour_fraction == pytest.approx(1.0)
    result = positive_control(profile, ["logistic_regression", "early_fusion_mlp"], [0])
    # each single modality leaves the exact posterior at the prior (float rounding only)
    assert max(result.single_modality_information.values()) < 1e-9
    assert result.pair_ceilings["methylation+cna"] == pytest.approx(result.ceiling)
    assert result.ceiling > result.chance + 0.1
    assert result.recipes == ["published"] and result.reverts == {}  # no tuned settings given
    table = result.table()
    assert list(table.index) == ["logistic_regression", "early_fusion_mlp"]
    assert (table["n_runs"] == 1).all() and result.n_train == 120 and result.n_test == 200
    assert "of 2 models closed at least 50%" in control_reading(result)
    with pytest.raises(ValueError, match="ran no recipe 'tuned'; it ran published"):
        result.table("tuned")


def test_the_control_runs_the_tuned_transformer_with_each_setting_put_back_alone():
    from cancer_alpha.ablations import positive_control, revert_table
    from cancer_alpha.ablations.control import recipe_settings

    profile = tiny_profile(control_samples=60, control_joint_loci=8, seeds=[0, 1],
                           control_seeds=2, test_samples=60)
    tuned = {"mmt_modality": {"train": {"lr": 0.003, "batch_size": 32},  # batch as published
                              "model": {"dropout": 0.4}},
             "logistic_regression": {"model": {"C": 0.5}}}
    models = ["logistic_regression", "mmt_no_cross_attention", "mmt_modality"]
    # the additive control takes the late fusion's settings, and nothing when it has none
    late = {"train": {"lr": 0.002}}
    assert recipe_settings(profile, ["additive_fusion"], {"late_fusion": late}
                           )[0]["tuned"] == {"additive_fusion": late}
    assert recipe_settings(profile, ["additive_fusion"], tuned)[0]["tuned"] == {}
    recipes, reverts = recipe_settings(profile, models, tuned)
    # the ablation takes the transformer's settings; a setting equal to the published one
    # (batch_size) gets no revert
    assert recipes["tuned"]["mmt_no_cross_attention"] is tuned["mmt_modality"]
    assert set(reverts) == {"tuned, train.lr as published", "tuned, model.dropout as published"}
    back = recipes["tuned, model.dropout as published"]["mmt_modality"]
    assert back["model"]["dropout"] == profile.model.dropout and back["train"]["lr"] == 0.003
    assert reverts["tuned, train.lr as published"] == {
        "setting": "train.lr", "tuned": 0.003, "published": profile.train.lr}
    result = positive_control(profile, models[1:], [0, 1], settings=tuned)
    counts = {(r["recipe"], r["model"]) for r in result.rows}
    # both seeds for the two recipes, the first seed only for a revert, the transformer only
    assert sum(r["recipe"] == "tuned" for r in result.rows) == 4
    assert [r["seed"] for r in result.rows if "as published" in r["recipe"]] == [0, 0]
    assert ("tuned, train.lr as published", "mmt_no_cross_attention") not in counts
    table = revert_table(result)
    assert list(table.index) == ["train.lr", "model.dropout"]
    assert (table["n_runs"] == 1).all() and table.loc["model.dropout", "tuned"] == "0.4"
    assert set(result.best_epochs()) == set(result.recipes)


def _control(acc: dict[tuple[str, str], float], reverts=None):
    from cancer_alpha.ablations import ControlResult

    rows = [{"recipe": r, "model": m, "seed": 0, "accuracy": a, "best_epoch": 1,
             "fit_seconds": 1.0} for (r, m), a in acc.items()]
    return ControlResult(0.9, 0.5, {}, {}, rows, 100, 100, reverts or {})


def test_the_control_reading_follows_the_numbers():
    from cancer_alpha.ablations import control_reading

    acc = {("published", "logistic_regression"): 0.5, ("published", "mmt_modality"): 0.85,
           ("published", "mmt_no_cross_attention"): 0.6}
    words = control_reading(_control(acc))
    assert "1 of 3 models" in words and "(mmt_modality)" in words
    assert "It learns the interaction" in words
    acc[("published", "mmt_modality")] = 0.55
    assert "It does not learn the interaction" in control_reading(_control(acc))
    # the additive models must stay near chance (under a tenth of the way to the ceiling)
    assert "The additive model (logistic_regression 0.500) stayed near chance" in words
    acc[("published", "additive_fusion")] = 0.56
    words = control_reading(_control(acc))
    assert "additive_fusion did not stay near chance" in words and "generator" in words
    acc[("published", "additive_fusion")] = 0.53
    assert "(logistic_regression 0.500, additive_fusion 0.530) stayed near chance" in \
        control_reading(_control(acc))


def test_the_control_reading_names_the_tuned_settings_that_block_the_transformer():
    from cancer_alpha.ablations import control_reading

    acc = {("published", "mmt_modality"): 0.85, ("tuned", "mmt_modality"): 0.5,
           ("tuned, model.dropout as published", "mmt_modality"): 0.8,
           ("tuned, train.lr as published", "mmt_modality"): 0.52}
    reverts = {"tuned, model.dropout as published": {"setting": "model.dropout",
                                                     "tuned": 0.44, "published": 0.1},
               "tuned, train.lr as published": {"setting": "train.lr", "tuned": 0.002,
                                                "published": 0.001}}
    words = control_reading(_control(acc, reverts))
    assert "With its settings tuned on the book's world it reached 0.500 (0% " in words
    assert "1 of its 2 tuned settings" in words
    assert "model.dropout (0.44 tuned, 0.1 published: 0.800)" in words
    assert "train.lr" not in words.split("alone:")[1]
    assert words.endswith("chose settings under which the transformer learns no interaction "
                          "here.")
    acc[("tuned, model.dropout as published", "mmt_modality")] = 0.5
    words = control_reading(_control(acc, reverts))
    assert "None of its 2 tuned settings" in words and "block it together" in words
    # when the published transformer does not learn it either, no setting is blamed
    acc[("published", "mmt_modality")] = 0.5
    words = control_reading(_control(acc, reverts))
    assert "let it learn the interaction." in words
    assert "block it" not in words and "chose settings" not in words
