"""The comparison protocol: deterministic fits, paired folds, a negative control at chance."""

import numpy as np
import pytest

from cancer_alpha import config, protocol
from cancer_alpha.data import ModalitySpec, MultiOmicsData


def learnable(n=240, seed=0):
    """Three modalities; class k shifts feature k of the first modality by 4 sd."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    specs = [ModalitySpec("methylation", "methylation", 6), ModalitySpec("fragmentomics",
             "fragmentomics", 8), ModalitySpec("cna", "cna", 6)]
    x = {s.name: rng.normal(size=(n, s.n_features)) for s in specs}
    x["methylation"][np.arange(n), y] += 4.0
    mask = np.ones((n, 3), bool)
    return MultiOmicsData(specs, x, mask, y, ["a", "b", "c"])


def tiny_profile(**train):
    return config.profile_from_dict({
        "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "n_latents": 4, "conv_channels": 8},
        "train": {"max_epochs": 15, "batch_size": 32, "patience": 5, "warmup_epochs": 1,
                  **train},
    }, name="test")


def test_a_fixed_seed_reproduces_a_training_run_exactly():
    data, cfg = learnable(), tiny_profile()
    a = protocol.fit_one("mmt_modality", data, {"self": data}, cfg, seed=3)
    b = protocol.fit_one("mmt_modality", data, {"self": data}, cfg, seed=3)
    assert a.metrics == b.metrics and a.epochs == b.epochs
    np.testing.assert_array_equal(a.proba["self"], b.proba["self"])
    c = protocol.fit_one("mmt_modality", data, {"self": data}, cfg, seed=4)
    assert not np.array_equal(a.proba["self"], c.proba["self"])  # the seed matters


def test_shuffled_labels_score_at_chance_where_real_labels_are_learnable():
    data, test = learnable(n=400, seed=0), learnable(n=600, seed=1)
    cfg = tiny_profile(max_epochs=30, patience=10)
    shuffled = data.subset(np.arange(data.n_samples))
    shuffled.y = np.random.default_rng(5).permutation(data.y)
    models = ["logistic_regression", "early_fusion_mlp"]
    real = protocol.cross_validate(data, cfg, models, evals={"test": test}, seeds=[0],
                                   n_folds=2, n_jobs=1)
    null = protocol.cross_validate(shuffled, cfg, models, evals={"test": test}, seeds=[0],
                                   n_folds=2, n_jobs=1)
    majority = np.bincount(test.y).max() / len(test.y)
    for f in real:
        # 0.15 above the majority rate is ~7 binomial sd on 600 test samples: clearly learnt
        assert f.metrics["test"]["accuracy"] > majority + 0.15, f.model
    for f in null:
        # 600 test samples: a chance-level model stays within ~4 sd (0.08) of the majority rate
        # (it may predict the majority class or spread its guesses; both are chance)
        assert f.metrics["test"]["accuracy"] < majority + 0.08, f.model
    # one null run's AUC is widely spread here (sd ~0.08 over shuffles: with features this
    # informative, any weight fitted to noise ranks the test classes well or badly), so the
    # AUC is checked on the mean of 12 shuffles: sd ~0.025, and 0.08 is over 3 sd
    aucs = []
    for s in range(12):
        shuffled.y = np.random.default_rng(100 + s).permutation(data.y)
        fit = protocol.fit_one("logistic_regression", shuffled, {"test": test}, cfg, seed=0)
        aucs.append(fit.metrics["test"]["roc_auc_macro"])
    assert abs(np.mean(aucs) - 0.5) < 0.08


def test_every_model_sees_the_same_folds_of_a_seed():
    data, cfg = learnable(), tiny_profile(max_epochs=1)
    fits = protocol.cross_validate(data, cfg, ["logistic_regression", "early_fusion_mlp"],
                                   seeds=[0, 1], n_folds=3, n_jobs=1, keep_proba=True)
    assert len(fits) == 2 * 3 * 2
    for seed in (0, 1):
        for fold in range(3):
            pair = [f for f in fits if f.seed == seed and f.fold == fold]
            assert len(pair) == 2
            assert pair[0].proba["cv"].shape == pair[1].proba["cv"].shape


def test_parallel_fits_equal_serial_fits():
    data, cfg = learnable(), tiny_profile(max_epochs=3)
    kw = dict(seeds=[0], n_folds=2, keep_proba=True)
    serial = protocol.cross_validate(data, cfg, ["early_fusion_mlp"], n_jobs=1, **kw)
    parallel = protocol.cross_validate(data, cfg, ["early_fusion_mlp"], n_jobs=2, **kw)
    for s, p in zip(serial, parallel, strict=True):
        np.testing.assert_allclose(s.proba["cv"], p.proba["cv"], rtol=0, atol=1e-6)


def test_summary_reports_mean_sd_and_run_count():
    data, cfg = learnable(), tiny_profile(max_epochs=1)
    fits = protocol.cross_validate(data, cfg, ["logistic_regression"], seeds=[0, 1],
                                   n_folds=2, n_jobs=1)
    row = protocol.summary(fits, "cv")["logistic_regression"]
    accs = [f.metrics["cv"]["accuracy"] for f in fits]
    assert row["n_runs"] == 4
    assert row["accuracy_mean"] == pytest.approx(np.mean(accs))
    assert row["accuracy_sd"] == pytest.approx(np.std(accs, ddof=1))


def test_max_runs_caps_a_model_and_spreads_its_runs_over_seeds():
    data = learnable()
    cfg = tiny_profile(max_epochs=1).replace(evaluation={"max_runs": {"early_fusion_mlp": 2}})
    fits = protocol.cross_validate(data, cfg, ["logistic_regression", "early_fusion_mlp"],
                                   seeds=[0, 1], n_folds=3, n_jobs=1)
    capped = [f for f in fits if f.model == "early_fusion_mlp"]
    assert [(f.seed, f.fold) for f in capped] == [(0, 0), (1, 0)]
    assert len([f for f in fits if f.model == "logistic_regression"]) == 6
    # the slow (neural, capped) model runs first, but fits come back in the order asked for
    assert [f.model for f in fits] == ["logistic_regression"] * 6 + ["early_fusion_mlp"] * 2


def test_neural_analysis_keeps_embedding_clustering_and_attention_shares():
    from cancer_alpha.interpret import NeuralAnalysis, attention_shares

    data, test, cfg = learnable(), learnable(n=100, seed=1), tiny_profile(max_epochs=2)
    fit = protocol.fit_one("mmt_modality", data, {"test": test}, cfg, seed=0,
                           analyse=NeuralAnalysis(n=60))
    assert fit.extras["embedding"].shape == (60, 16)
    assert set(fit.extras["clustering"]) == {"silhouette", "kmeans_ari"}
    shares = fit.extras["attention_shares"]
    assert list(shares) == ["methylation", "fragmentomics", "cna"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert attention_shares([fit]) == {"mmt_modality": {k: [v] for k, v in shares.items()}}
    mlp = protocol.fit_one("early_fusion_mlp", data, {"test": test}, cfg, seed=0,
                           analyse=NeuralAnalysis(n=60))
    assert "attention_shares" not in mlp.extras  # no attention weights, no shares


def test_the_slope_per_doubling_is_the_points_gained_per_doubling():
    assert protocol.slope_per_doubling([1000, 2000, 4000], [0.70, 0.72, 0.74]) == \
        pytest.approx(2.0)
    with pytest.raises(ValueError, match="at least 2 points"):
        protocol.slope_per_doubling([1000], [0.7])


def test_reading_a_curve_where_one_model_stops_early():
    import pandas as pd

    rows = []
    for n, accs in [(1000, {"a": .60, "b": .70, "c": .65}), (2000, {"a": .68, "b": .72, "c": .70}),
                    (4000, {"a": .74, "b": .73, "c": .72}), (8000, {"a": .78, "b": .74})]:
        rows += [{"model": m, "n_train": n, "accuracy": v, "seed": 0} for m, v in accs.items()]
    reading = protocol.read_curve(pd.DataFrame(rows), 0.9, "a")
    facts = reading.facts
    # a is behind b up to 2000 and ahead from 4000 on; c stops at 4000 (a compute cap)
    assert facts["overtakes"] == {"b": 4000, "c": 4000}
    assert facts["largest_of_each"] == {"a": 8000, "b": 8000, "c": 4000}
    assert facts["gaps_to_ceiling_points"]["c"] == pytest.approx(18.0)  # at its own largest
    assert facts["slope_points_per_doubling"]["a"] == pytest.approx(5.0)
    assert facts["slope_sizes"]["c"] == [1000, 2000, 4000]
    assert "fitted up to 4,000" in reading.words and "still climbing" in reading.words
    # never overtaking is said with the distance at the largest size both reach
    never = protocol.read_curve(pd.DataFrame([r for r in rows if r["model"] != "a"]), 0.9, "c")
    assert never.facts["overtakes"] == {"b": None}
    assert "does not overtake b (1.0 points behind at 4,000)" in never.words


def test_the_rules_are_compared_in_words_from_the_numbers():
    gains = {"mlp": {"refit": 1.5, "refit_cost": 1.9, "bagged": 4.0, "bagged_cost": 5.5},
             "mmt": {"refit": 0.7, "refit_cost": 1.4, "bagged": 0.2, "bagged_cost": 5.0}}
    words = protocol.rules_words(gains)
    assert "+1.5 points for mlp (at 1.9 times" in words
    assert "For mlp bagging gains more than the refit" in words and "For mlp and" not in words
    gains["mlp"]["bagged"] = 1.0
    assert "no more than the refit for any" in protocol.rules_words(gains)
