"""What Chapter 6 trains: every variant of the multi-modal transformer with its seeds, what each
ablation compares, and the two difficulties with their cohorts.

Every variant is trained once per seed on the same training cohort (same validation split,
same initialisation seed) and scored on the same held-out samples, so its difference from the
reference model of the same seed is paired."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cancer_alpha.config import Profile, TrainConfig, require
from cancer_alpha.data import ModalitySpec, MultiOmicsData

DEFAULT, EASY = "default", "easy"  # the two difficulties of the headline ablations


@dataclass(frozen=True)
class Variant:
    """One model variant: its architecture (a name of the model registry, which the command line
    reads too), the training recipe's overrides, the difficulty it is trained at, and what is
    measured on it."""

    name: str
    model: str = "mmt_modality"  # an architecture of the model registry (models.MODEL_NAMES)
    train: tuple[tuple[str, Any], ...] = ()  # TrainConfig overrides, as (field, value) pairs
    difficulty: str = DEFAULT
    shuffled_labels: bool = False  # trained on labels permuted at random (negative control)
    untrained: bool = False  # initialised, never trained (negative control)
    subsets: bool = False  # score every subset of modalities
    planted: bool = False  # read the cross-modal attention each locus receives
    seeds: tuple[int, ...] = ()

    def train_config(self, base: TrainConfig) -> TrainConfig:
        """The recipe of this variant: ``base`` with the overrides."""
        return dataclasses.replace(base, **dict(self.train))


def build_variant(variant: Variant, specs: list[ModalitySpec], n_classes: int,
                  profile: Profile, seed: int):
    """The variant's architecture, initialised from ``seed``."""
    import torch

    from cancer_alpha.models import build_model

    torch.manual_seed(seed)
    return build_model(variant.model, specs, n_classes, profile.model)


FOCAL_GAMMA = 2.0  # the focal loss of the loss ablation when the full model trains without it


def loss_variant(profile: Profile, seeds: tuple[int, ...] = ()) -> Variant:
    """The other loss than the full model's: cross-entropy when it trains with focal loss,
    focal loss (gamma 2) when it trains with cross-entropy."""
    if profile.train.focal_gamma > 0:
        return Variant("cross_entropy", train=(("focal_gamma", 0.0),), seeds=seeds)
    return Variant("focal_loss", train=(("focal_gamma", FOCAL_GAMMA),), seeds=seeds)


def dropout_pair(profile: Profile) -> tuple[str, str]:
    """(the variant trained with modality dropout, the one trained on complete samples): one
    of them is the full model, whichever its recipe says."""
    if profile.train.modality_dropout > 0:
        return "full", "no_modality_dropout"
    return "modality_dropout", "full"


def plan(profile: Profile, names: Sequence[str] | None = None) -> list[Variant]:
    """Every variant of the chapter with the seeds it is trained with; ``names`` keeps only
    the variants of those names (at both difficulties)."""
    a = profile.ablation
    seeds = tuple(a.seeds)
    locus = seeds[:a.locus_seeds]
    cap = (("max_epochs", min(a.locus_max_epochs, profile.train.max_epochs)),)
    with_dropout, without = dropout_pair(profile)
    out = []
    for d, tag in ((DEFAULT, ""), (EASY, "@easy")):
        out += [Variant(f"full{tag}", difficulty=d, subsets=d == DEFAULT, seeds=seeds),
                Variant(f"no_cross_attention{tag}", model="mmt_no_cross_attention", difficulty=d,
                        seeds=seeds),
                Variant(f"generic_encoders{tag}", model="mmt_generic_encoders", difficulty=d,
                        seeds=seeds)]
    out.append(loss_variant(profile, seeds))
    out += [Variant(lambda_name(v), train=(("attention_lambda", float(v)),), seeds=seeds)
            for v in a.lambda_grid if not math.isclose(v, profile.train.attention_lambda)]
    out.append(Variant("progressive", train=(("progressive", True),), seeds=seeds))
    if with_dropout == "modality_dropout":
        out.append(Variant("modality_dropout", train=(("modality_dropout", a.modality_dropout),),
                           subsets=True, seeds=seeds))
    else:
        out.append(Variant("no_modality_dropout", train=(("modality_dropout", 0.0),),
                           subsets=True, seeds=seeds))
    out += [Variant("modality_tokens_capped", train=cap, seeds=locus),
            Variant("locus_tokens", model="mmt_locus", train=cap, planted=True, seeds=locus),
            Variant("locus_shuffled_labels", model="mmt_locus", train=cap, planted=True,
                    shuffled_labels=True, seeds=seeds[:1]),
            Variant("locus_untrained", model="mmt_locus", untrained=True, planted=True,
                    seeds=seeds[:1])]
    if names is not None:
        out = [v for v in out if v.name.split("@")[0] in names]
    return out


def lambda_name(value: float) -> str:
    """The name of the variant with attention-sparsity weight ``value``."""
    return f"lambda={value:g}"


# what each ablation compares: variant, reference (the same seeds of both)
def comparisons(profile: Profile) -> dict[str, tuple[str, str]]:
    """{ablation: (variant, reference)} of the chapter."""
    loss = loss_variant(profile).name
    with_dropout, without = dropout_pair(profile)
    out = {"no_cross_attention": ("no_cross_attention", "full"),
           "no_cross_attention@easy": ("no_cross_attention@easy", "full@easy"),
           "generic_encoders": ("generic_encoders", "full"),
           "generic_encoders@easy": ("generic_encoders@easy", "full@easy"),
           loss: (loss, "full")}
    out |= {lambda_name(v): (lambda_name(v), "full") for v in profile.ablation.lambda_grid
            if not math.isclose(v, profile.train.attention_lambda)}
    # modality dropout as the change from training on complete samples, whichever is the full
    # model
    out |= {"progressive": ("progressive", "full"),
            "modality_dropout": (with_dropout, without),
            "locus_tokens": ("locus_tokens", "modality_tokens_capped")}
    return out


@dataclass
class DifficultyData:
    """A difficulty: its training cohort, the held-out samples and the planted loci."""

    effect_size: float
    train: MultiOmicsData
    test: MultiOmicsData
    joint_loci: np.ndarray
    world: Any


def difficulty_data(profile: Profile) -> dict[str, DifficultyData]:
    """The default and the easier difficulty, each with the book's standard cohorts (the
    first ``ablation.test_samples`` of the held-out cohort are scored)."""
    from cancer_alpha.synth import World

    out = {}
    for name, effect in ((DEFAULT, profile.cohort.effect_size),
                         (EASY, profile.ablation.easy_effect_size)):
        c = profile.replace(cohort={"effect_size": effect})
        world = World.from_config(c.cohort)
        seed = profile.evaluation.data_seed
        n_test = min(profile.ablation.test_samples, profile.evaluation.test_samples)
        out[name] = DifficultyData(float(effect), world.sample(c.cohort.n_samples, seed).data,
                            world.sample(profile.evaluation.test_samples, seed + 1).data.subset(
                                np.arange(n_test)), np.asarray(world.joint_loci), world)
    return out


def modality_subsets(modalities: Sequence[str]) -> list[tuple[str, ...]]:
    """Every non-empty subset of ``modalities``, singles first (Chapter 1's order)."""
    return [s for r in range(1, len(modalities) + 1)
            for s in itertools.combinations(modalities, r)]


def subset_key(subset: Sequence[str]) -> str:
    """``("methylation", "cna")`` -> ``"methylation+cna"``."""
    return "+".join(subset)


def hide_modalities(data: MultiOmicsData, keep: Sequence[str]) -> MultiOmicsData:
    """A copy of ``data`` in which only the modalities ``keep`` are observed: the others are
    masked and their values NaN, as a sample that lacks them is stored."""
    unknown = [m for m in keep if m not in data.modalities]
    require(not unknown and len(keep) > 0, "ablation", "keep", list(keep),
             f"a non-empty subset of {data.modalities}")
    out = data.subset(np.arange(data.n_samples))
    for m, name in enumerate(data.modalities):
        if name not in keep:
            out.mask[:, m] = False
            out.x[name] = np.full_like(out.x[name], np.nan)
    return out
