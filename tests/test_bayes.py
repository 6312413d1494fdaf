"""The exact Bayes classifier: exactness, optimality against trained models, ceilings by modality
subset, marginalisation of missing modalities and errors."""

import dataclasses
import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from cancer_alpha.bayes import (
    BayesClassifier,
    bayes_accuracy,
    ceiling_curve,
    subset_ceilings,
)
from cancer_alpha.config import MODALITIES, CohortConfig
from cancer_alpha.evaluate import wilson_ci95
from cancer_alpha.synth import World
from cancer_alpha.synth.methylation import beta_logpdf, beta_parameters

SMALL = CohortConfig(n_loci=40, n_fragment_bins=40, n_fragments=1000)
SUBSETS = [s for r in (1, 2) for s in itertools.combinations(MODALITIES, r)]


def _paired_margin(better: np.ndarray, worse: np.ndarray) -> float:
    """Mean of the per-sample difference in correctness, in paired standard errors."""
    d = better.astype(float) - worse.astype(float)
    return d.mean() / max(d.std(ddof=1) / np.sqrt(len(d)), 1e-12)


@pytest.fixture(scope="module")
def world() -> World:
    return World.from_config(SMALL)


@pytest.fixture(scope="module")
def cohort(world):
    return world.sample(1500, seed=4)


def test_bayes_posteriors_sum_to_one_and_lie_in_the_unit_interval(world, cohort):
    clf = BayesClassifier(world)
    data = cohort.data.subset(np.arange(500))
    for subset in (None, *SUBSETS):
        p = clf.predict_proba(data, subset)
        assert p.shape == (500, 5) and np.isfinite(p).all()
        assert p.min() >= 0 and p.max() <= 1
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def _brute_force_log_joint(world: World, data) -> np.ndarray:
    """log p(k, x_obs) by enumerating every copy-number path of every chromosome."""
    meth, frag, cna, cfg = world.methylation, world.fragments, world.cna, world.config
    col = {m: i for i, m in enumerate(data.modalities)}
    n, k_all = data.n_samples, world.n_classes
    levels = world.fraction_levels
    n_lv = len(levels)
    out = np.zeros((n, k_all))
    for k in range(k_all):
        ks = np.full(n_lv, k)
        o_m, o_f, o_c = (data.mask[:, col[m]].astype(float)[:, None] for m in MODALITIES)
        xm = np.nan_to_num(data.x["methylation"], nan=0.5)
        xc = np.nan_to_num(data.x["cna"], nan=0.0)
        counts = np.rint(np.nan_to_num(data.x["fragmentomics"]) * cfg.n_fragments)
        total = np.zeros((n, n_lv))
        for lv in range(n_lv):  # fragments: the multinomial of each level
            total[:, lv] += o_f[:, 0] * frag.log_likelihood(counts, np.full(n, k),
                                                           np.full(n, levels[lv]))
        free = np.setdiff1d(np.arange(cfg.n_loci), world.joint_loci)
        a, b = beta_parameters(meth.mean(ks, levels, np.full((n_lv, cfg.n_loci), 2)),
                               meth.precision)
        total += o_m * beta_logpdf(xm[:, None, free], a[None, :, free], b[None, :, free]).sum(-1)
        for c in range(22):
            loci = cna.loci_of(c)
            u = cna.chain_of[k, c]
            paths = []
            for seq in itertools.product(range(4), repeat=len(loci)):
                p = cna.startprob[u][seq[0]] * np.prod(
                    [cna.transmat[u][s, t] for s, t in zip(seq[:-1], seq[1:], strict=True)])
                if p == 0:
                    continue
                copy = np.full((n_lv, cfg.n_loci), 2)
                copy[:, loci] = np.array(seq) + 1
                mu = cna.emission_mean(levels)[:, np.array(seq)]  # (L, J_c)
                lp = np.log(p) + o_c * stats.norm.logpdf(
                    xc[:, None, loci], mu[None], cna.noise_sd).sum(-1)
                joint = np.intersect1d(loci, world.joint_loci)
                if joint.size:
                    a, b = beta_parameters(meth.mean(ks, levels, copy), meth.precision)
                    lp += o_m * beta_logpdf(xm[:, None, joint], a[None, :, joint],
                                            b[None, :, joint]).sum(-1)
                paths.append(lp)
            total += logsumexp(np.stack(paths), axis=0)
        with np.errstate(divide="ignore"):
            log_w = np.log(world.fraction_prior[k])
        out[:, k] = np.log(world.class_priors[k]) + logsumexp(total + log_w, axis=1)
    return out


def test_log_joint_equals_brute_force_enumeration_of_the_hidden_states():
    # few loci (at most 2 per chromosome) and coarse tumour-fraction levels keep the
    # enumeration small; joint loci and missing modalities are both present
    cfg = CohortConfig(n_loci=26, n_fragment_bins=20, n_joint_loci=4, missing_rate=0.3,
                       tumour_fraction_resolution=0.05, effect_size=1.0, world_seed=3)
    world = World.from_config(cfg)
    data = world.sample(40, seed=5).data
    assert not data.mask.all()
    expected = _brute_force_log_joint(world, data)
    got = BayesClassifier(world).log_joint(data)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-9)


def test_bayes_beats_logistic_regression_and_gradient_boosting():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    world = World.from_config(CohortConfig(n_loci=22, n_fragment_bins=22))
    train, test = world.sample(20000, seed=1), world.sample(5000, seed=2)
    bayes = BayesClassifier(world).predict(test.data) == test.y
    models = {
        "logistic_regression": make_pipeline(StandardScaler(),
                                             LogisticRegression(max_iter=2000)),
        "gradient_boosting": HistGradientBoostingClassifier(random_state=0),
    }
    for name, model in models.items():
        with threadpool_limits(1):  # OpenMP threads thrash on a busy 2-core machine
            model.fit(train.data.flat(), train.y)
            hit = model.predict(test.data.flat()) == test.y
        # a trained model can beat the ceiling on a finite test set only by chance:
        # allow 3 paired standard errors (false failure about 1 in 1000)
        assert _paired_margin(bayes, hit) > -3, name
        assert hit.mean() > 0.6, name  # the models learn: the comparison is not vacuous


def test_single_modality_and_pair_ceilings_do_not_exceed_the_joint_ceiling(world, cohort):
    clf = BayesClassifier(world)
    joint = clf.predict(cohort.data) == cohort.y
    for subset in SUBSETS:
        part = clf.predict(cohort.data, subset) == cohort.y
        # same samples: the joint posterior can lose to a subset only by chance, by at most
        # 3 paired standard errors
        assert _paired_margin(joint, part) > -3, subset
    assert joint.mean() > max((clf.predict(cohort.data, [m]) == cohort.y).mean()
                              for m in MODALITIES)


def test_default_difficulty_lies_in_the_target_band():
    world = World.from_config(CohortConfig())
    c = world.sample(2000, seed=1)
    table = subset_ceilings(BayesClassifier(world), c.data)
    joint = table["+".join(MODALITIES)]["accuracy"]
    singles = {m: table[m]["accuracy"] for m in MODALITIES}
    # 2000 samples: standard error 0.007 around the 0.889 measured on 10,000 at this setting
    assert 0.85 < joint < 0.92
    assert max(singles.values()) < joint - 0.05  # the best single modality is clearly lower
    assert min(singles.values()) > max(world.class_priors) + 0.1  # every modality informs


def test_zero_effect_size_predicts_the_majority_class():
    world = World.from_config(dataclasses.replace(SMALL, effect_size=0.0))
    c = world.sample(500, seed=2)
    clf = BayesClassifier(world)
    np.testing.assert_allclose(clf.predict_proba(c.data), np.tile(world.class_priors, (500, 1)),
                               rtol=0, atol=1e-12)
    assert (clf.predict(c.data) == 0).all()
    assert clf.score(c.data) == np.mean(c.y == np.argmax(world.class_priors))


def test_masking_a_modality_equals_leaving_it_out(world, cohort):
    clf = BayesClassifier(world)
    data = cohort.data.subset(np.arange(400))
    rng = np.random.default_rng(0)
    for i, m in enumerate(data.modalities):
        others = [o for o in data.modalities if o != m]
        hidden = rng.random(400) < 0.5
        masked = dataclasses.replace(data, x=dict(data.x), mask=data.mask.copy())
        masked.x[m] = np.where(hidden[:, None], np.nan, data.x[m])
        masked.mask[hidden, i] = False
        got = clf.predict_proba(masked)
        np.testing.assert_allclose(got[hidden], clf.predict_proba(data, others)[hidden],
                                   rtol=0, atol=1e-12)
        np.testing.assert_allclose(got[~hidden], clf.predict_proba(data)[~hidden],
                                   rtol=0, atol=1e-12)


def test_bayes_accuracy_comes_with_a_wilson_interval(world):
    acc, (lo, hi) = bayes_accuracy(world, 800, seed=9, modalities=["methylation"])
    c = world.sample(800, seed=9)
    assert acc == BayesClassifier(world).score(c.data, modalities=["methylation"])
    assert lo < acc < hi
    np.testing.assert_allclose(wilson_ci95(50, 100), (0.4038315, 0.5961685), atol=1e-6)


def test_subset_ceilings_cover_every_subset_with_its_interval(world, cohort):
    data = cohort.data.subset(np.arange(300))
    clf = BayesClassifier(world)
    table = subset_ceilings(clf, data)
    assert list(table) == ["methylation", "fragmentomics", "cna", "methylation+fragmentomics",
                           "methylation+cna", "fragmentomics+cna",
                           "methylation+fragmentomics+cna"]
    for key, row in table.items():
        subset = key.split("+")
        assert row["accuracy"] == clf.score(data, modalities=subset)
        assert row["ci95"] == wilson_ci95(round(row["accuracy"] * 300), 300)


def test_ceiling_curve_starts_at_the_majority_share_and_rises_with_effect_size():
    cfg = dataclasses.replace(SMALL, n_loci=22, n_fragment_bins=22)
    curve = ceiling_curve(cfg, [0.0, 0.5, 1.5], n_samples=600, seed=3)
    y = World.from_config(cfg).sample(600, seed=3).y  # the same latent samples at every row
    assert list(curve.columns) == ["joint", *MODALITIES]
    assert curve.index.name == "effect_size" and list(curve.index) == [0.0, 0.5, 1.5]
    np.testing.assert_allclose(curve.loc[0.0], np.mean(y == 0))
    # 600 samples: each step up is over 10 standard errors, far beyond sampling noise
    assert (curve.diff().iloc[1:] > 0.05).all().all()


def test_bad_inputs_raise_one_clear_error(world, cohort):
    clf = BayesClassifier(world)
    data = cohort.data.subset(np.arange(20))
    for bad in (["rna"], [], ["cna", "cna"]):
        with pytest.raises(ValueError, match=r"modalities = .* is invalid: expected a non-empty"):
            clf.predict_proba(data, bad)
    other = World.from_config(dataclasses.replace(SMALL, n_loci=30)).sample(5, seed=0)
    with pytest.raises(ValueError, match=r"data\.x\['methylation'\] has 30 features: expected 40"):
        clf.predict(other.data)
    broken = dataclasses.replace(data, x={**data.x, "cna": data.x["cna"].copy()})
    broken.x["cna"][3, 2] = np.nan
    with pytest.raises(ValueError, match=r"data\.x\['cna'\] has non-finite values"):
        clf.predict(broken)
    broken.x["cna"][3, 2] = 0.0
    broken.x["methylation"] = data.x["methylation"] + 1
    with pytest.raises(ValueError, match=r"outside \(0, 1\)"):
        clf.predict(broken)
    with pytest.raises(ValueError, match=r"y = None is invalid"):
        clf.score(dataclasses.replace(data, y=None))
    with pytest.raises(ValueError, match=r"chunk_size = 0 is invalid"):
        BayesClassifier(world, chunk_size=0)


INTERACTION = CohortConfig(n_loci=40, n_fragment_bins=40, n_fragments=1000, signal="interaction",
                           class_names=("coupled", "anti-coupled"), class_priors=(0.5, 0.5),
                           n_joint_loci=16, effect_size=1 / 0.6)


@pytest.fixture(scope="module")
def interaction_world() -> World:
    return World.from_config(INTERACTION)


def test_no_single_modality_of_the_interaction_world_carries_information(interaction_world):
    """The positive control: each modality alone, and every pair but methylation with copy
    number, leaves the exact posterior at the prior for every sample; the pair that carries
    the interaction does not."""
    data = interaction_world.sample(600, seed=3).data
    bayes = BayesClassifier(interaction_world)
    prior = np.asarray(INTERACTION.class_priors)
    for subset in ([m] for m in MODALITIES):
        # exactly the prior up to float rounding of sums over hundreds of terms
        np.testing.assert_allclose(bayes.predict_proba(data, subset), np.tile(prior, (600, 1)),
                                   atol=1e-9, err_msg=str(subset))
    for subset in (["methylation", "fragmentomics"], ["fragmentomics", "cna"]):
        np.testing.assert_allclose(bayes.predict_proba(data, subset), np.tile(prior, (600, 1)),
                                   atol=1e-9, err_msg=str(subset))
    joint = bayes.predict_proba(data, ["methylation", "cna"])
    assert np.abs(joint - prior).max() > 0.4  # the interaction is there, and strong


def test_the_interaction_worlds_posterior_is_exact_and_its_ceiling_holds_by_sampling():
    # exact: the brute-force enumeration of the hidden states agrees
    cfg = dataclasses.replace(INTERACTION, n_loci=26, n_fragment_bins=20, n_joint_loci=4,
                              tumour_fraction_resolution=0.05, effect_size=1.0, world_seed=3,
                              max_tumour_fraction=0.6)
    small = World.from_config(cfg)
    data = small.sample(40, seed=5).data
    np.testing.assert_allclose(BayesClassifier(small).log_joint(data),
                               _brute_force_log_joint(small, data), rtol=1e-11, atol=1e-9)
    # by sampling: the Bayes classifier's accuracy on fresh samples equals its own expected
    # accuracy, the mean of the largest posterior, within 4 binomial standard errors (false
    # failure about 1 in 15,000)
    world = World.from_config(INTERACTION)
    test = world.sample(3000, seed=8).data
    proba = BayesClassifier(world).predict_proba(test)
    accuracy = float(np.mean(proba.argmax(axis=1) == test.y))
    expected = float(proba.max(axis=1).mean())
    se = np.sqrt(expected * (1 - expected) / test.n_samples)
    assert abs(accuracy - expected) < 4 * se
    assert accuracy > 0.8  # a ceiling far above chance: the control can tell models apart


def test_the_interaction_world_is_refused_with_other_than_two_classes():
    with pytest.raises(ValueError, match=r"cohort.class_names = .* two classes when signal"):
        CohortConfig(signal="interaction")
    with pytest.raises(ValueError, match=r"cohort.signal = 'xor' is invalid"):
        CohortConfig(signal="xor")
