"""Chapter 1's readings of the cohorts: the sizes it quotes, the samples it shows, the ceilings
it glues and records, and their errors."""

import numpy as np
import pandas as pd
import pytest

from cancer_alpha import bayes
from cancer_alpha.synth import World, evidence, standard_cohorts


@pytest.fixture(scope="module")
def chapter(smoke):
    world = World.from_config(smoke.cohort)
    train, test = standard_cohorts(smoke)
    return world, train, test, evidence.subset_ceilings(world, test)


def test_cohort_glue_quotes_the_profile_and_the_cohorts(smoke, chapter):
    world, train, test, _ = chapter
    glue = evidence.cohort_glue(smoke, world, train, test)
    assert glue == {"n_train": smoke.cohort.n_samples, "n_test": smoke.evaluation.test_samples,
                    "n_loci": smoke.cohort.n_loci,
                    "n_fragment_bins": smoke.cohort.n_fragment_bins,
                    "n_fragments": smoke.cohort.n_fragments, "n_classes": world.n_classes,
                    "n_joint_loci": len(world.joint_loci)}


def test_brightest_samples_take_the_highest_tumour_fraction_of_each_cancer_class(chapter):
    world, train, _, _ = chapter
    show = evidence.brightest_samples(train, world.n_classes)
    assert len(show) == world.n_classes - 1
    for k, i in enumerate(show, start=1):
        assert train.y[i] == k
        assert train.tumour_fraction[i] == train.tumour_fraction[train.y == k].max()


def test_brightest_samples_name_a_class_without_samples(chapter):
    world, train, _, _ = chapter
    with pytest.raises(ValueError, match=f"no sample of class {world.n_classes}"):
        evidence.brightest_samples(train, world.n_classes + 1)


def test_ceiling_glue_reads_the_joint_ceiling_the_best_single_and_chance(chapter):
    world, _, _, ceilings = chapter
    glue = evidence.ceiling_glue(world, ceilings)
    joint = ceilings["+".join(world.config.modalities)]
    assert (glue["bayes_joint"], [glue["bayes_joint_lo"], glue["bayes_joint_hi"]]) == \
        (joint["accuracy"], list(joint["ci95"]))
    singles = {m: ceilings[m]["accuracy"] for m in world.config.modalities}
    assert glue["best_single"] == max(singles.values())
    assert singles[glue["best_single_name"]] == glue["best_single"]
    assert glue["chance"] == pytest.approx(world.class_priors.max())
    accuracy, ci95 = evidence.ceiling_points(ceilings)
    assert set(accuracy) == set(ci95) == set(ceilings)
    # the Bayes classifier of all modalities is at least as good as any one alone in
    # expectation; on one finite cohort a few samples may go the other way, hence 0.02
    assert glue["bayes_joint"] >= glue["best_single"] - 0.02


def test_effect_size_curve_spans_no_signal_to_full_signal(smoke):
    curve = evidence.effect_size_curve(smoke)
    assert len(curve) == evidence.CURVE_POINTS
    assert curve.index[0] == 0.0
    assert curve.index[-1] == pytest.approx(1.0 / smoke.cohort.max_tumour_fraction)
    assert list(curve.columns) == ["joint", *smoke.cohort.modalities]
    # more signal, a higher ceiling: the first point has none and the last the most; the
    # same latent samples are redrawn at each size, so the comparison is not noise
    assert curve["joint"].iloc[-1] > curve["joint"].iloc[0]


def test_missing_glue_scores_the_same_cohort_size_with_missing_modalities(smoke):
    missing = evidence.missing_glue(smoke)
    assert missing["missing_rate"] == evidence.MISSING_RATE
    world = World.from_config(smoke.replace(cohort={"missing_rate": 0.2}).cohort)
    test = world.sample(smoke.evaluation.test_samples, seed=smoke.evaluation.data_seed + 1)
    assert not test.data.mask.all()
    assert missing["bayes_missing"] == bayes.BayesClassifier(world).score(test.data)


def test_record_keys_and_its_missing_rate(chapter):
    world, train, test, ceilings = chapter
    curve = pd.DataFrame({"joint": [0.5, 0.9]}, index=pd.Index([0.0, 1.0], name="effect_size"))
    rec = evidence.record(world, train, test, ceilings, curve,
                          {"missing_rate": 0.2, "bayes_missing": 0.7})
    assert rec["bayes_accuracy_missing_20pct"] == 0.7
    assert rec["ceiling_vs_effect_size"] == {"effect_size": [0.0, 1.0], "joint": [0.5, 0.9]}
    assert rec["bayes_accuracy_by_subset"] == evidence.ceiling_points(ceilings)[0]
    assert sum(rec["class_priors"].values()) == pytest.approx(1.0)
    assert rec["n_test"] == test.data.n_samples
    assert np.isclose(rec["bayes_accuracy"], evidence.ceiling_glue(world, ceilings)["bayes_joint"])
    with pytest.raises(ValueError, match="missing rate of 0.2, not 0.3"):
        evidence.record(world, train, test, ceilings, curve,
                        {"missing_rate": 0.3, "bayes_missing": 0.7})
