"""Chapter 1's readings of the synthetic cohorts: the sizes it quotes, the samples its figures
show, the Bayes ceilings (every subset of modalities, against the effect size, with missing
modalities) and the run record.

They are computed here, so that each has a test and the chapter keeps only its calls, its
display and its glue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cancer_alpha import bayes
from cancer_alpha.config import Profile
from cancer_alpha.synth.cohort import Cohort, World

CURVE_POINTS = 7  # effect sizes of the ceiling curve, from 0 to a signal of 1 at the top fraction
MISSING_RATE = 0.2  # the share of missing modalities whose ceiling the chapter quotes


def cohort_glue(profile: Profile, world: World, train: Cohort, test: Cohort) -> dict[str, int]:
    """The sizes the chapter's prose quotes: samples of both cohorts, loci, fragment-length
    bins, fragments per sample, classes and joint loci."""
    return {"n_train": train.data.n_samples, "n_test": test.data.n_samples,
            "n_loci": profile.cohort.n_loci, "n_fragment_bins": profile.cohort.n_fragment_bins,
            "n_fragments": profile.cohort.n_fragments, "n_classes": world.n_classes,
            "n_joint_loci": len(world.joint_loci)}


def brightest_samples(cohort: Cohort, n_classes: int) -> list[int]:
    """Index of the sample of highest tumour fraction of each cancer class (1 to
    ``n_classes - 1``; class 0 is healthy), the first one where several tie."""
    out = []
    for k in range(1, n_classes):
        members = np.flatnonzero(cohort.y == k)
        if members.size == 0:
            raise ValueError(f"the cohort has no sample of class {k}; every cancer class needs "
                             "one to be shown")
        out.append(int(members[np.argmax(cohort.tumour_fraction[members])]))
    return out


def subset_ceilings(world: World, test: Cohort) -> dict[str, dict[str, Any]]:
    """Bayes accuracy and 95% interval on ``test`` for every subset of modalities
    (:func:`cancer_alpha.bayes.subset_ceilings`)."""
    return bayes.subset_ceilings(bayes.BayesClassifier(world), test.data)


def joint_key(world: World) -> str:
    """The key of all modalities together among the subset ceilings."""
    return "+".join(world.config.modalities)


def chance(world: World) -> float:
    """Accuracy of always naming the most frequent class."""
    return float(np.max(world.class_priors))


def single_ceilings(world: World, ceilings: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Bayes accuracy with each modality alone."""
    return {m: ceilings[m]["accuracy"] for m in world.config.modalities}


def ceiling_points(ceilings: Mapping[str, Mapping[str, Any]]
                   ) -> tuple[dict[str, float], dict[str, Any]]:
    """The subset ceilings as the figure takes them: accuracies and intervals by subset."""
    return ({k: v["accuracy"] for k, v in ceilings.items()},
            {k: v["ci95"] for k, v in ceilings.items()})


def ceiling_glue(world: World, ceilings: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ceilings the prose quotes: all modalities with its interval, the best single
    modality, and chance."""
    joint = ceilings[joint_key(world)]
    singles = single_ceilings(world, ceilings)
    best = max(singles, key=singles.get)
    return {"bayes_joint": joint["accuracy"], "bayes_joint_lo": joint["ci95"][0],
            "bayes_joint_hi": joint["ci95"][1], "best_single_name": best,
            "best_single": singles[best], "chance": chance(world)}


def effect_size_curve(profile: Profile) -> pd.DataFrame:
    """Bayes accuracy, joint and per modality, at :data:`CURVE_POINTS` effect sizes from 0 to
    the size at which the signal at the highest tumour fraction is 1, on
    ``evaluation.curve_samples`` samples drawn with seed ``data_seed + 2`` (a cohort of its
    own, apart from the training and held-out ones)."""
    effect_sizes = np.linspace(0.0, 1.0 / profile.cohort.max_tumour_fraction, CURVE_POINTS)
    return bayes.ceiling_curve(profile.cohort, effect_sizes, profile.evaluation.curve_samples,
                               seed=profile.evaluation.data_seed + 2)


def missing_glue(profile: Profile, rate: float = MISSING_RATE) -> dict[str, float]:
    """The joint Bayes accuracy when each modality is missing with probability ``rate``: the
    profile's world with that rate, on a held-out cohort of the same size and seed."""
    world = World.from_config(profile.replace(cohort={"missing_rate": rate}).cohort)
    test = world.sample(profile.evaluation.test_samples, seed=profile.evaluation.data_seed + 1)
    return {"missing_rate": world.config.missing_rate,
            "bayes_missing": bayes.BayesClassifier(world).score(test.data)}


def record(world: World, train: Cohort, test: Cohort, ceilings: Mapping[str, Mapping[str, Any]],
           curve: pd.DataFrame, missing: Mapping[str, float]) -> dict[str, Any]:
    """Chapter 1's run record: the ceilings (joint, by modality, by subset, with missing
    modalities, against the effect size) and the cohorts' shape."""
    joint = ceilings[joint_key(world)]
    if missing["missing_rate"] != MISSING_RATE:
        raise ValueError(f"the record's key names a missing rate of {MISSING_RATE}, "
                         f"not {missing['missing_rate']}")
    return {
        "bayes_accuracy": joint["accuracy"],
        "bayes_accuracy_ci95": joint["ci95"],
        "bayes_accuracy_by_modality": single_ceilings(world, ceilings),
        "bayes_accuracy_by_subset": ceiling_points(ceilings)[0],
        "bayes_accuracy_missing_20pct": missing["bayes_missing"],
        "ceiling_vs_effect_size": curve.reset_index().to_dict(orient="list"),
        "n_classes": world.n_classes,
        "class_names": world.class_names,
        "class_priors": dict(zip(world.class_names, world.class_priors.tolist(), strict=True)),
        "features_per_modality": {s.name: s.n_features for s in train.data.specs},
        "n_test": test.data.n_samples,
    }
