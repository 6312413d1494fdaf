"""Settings for cohorts, models, training and experiments, and loading a profile.

The dataclass defaults ARE the paper-scale settings (1000 samples, 110 features per modality,
up to 50 epochs, 5 seeds); ``profiles/<name>.yml`` overrides them section by section. This
module imports nothing heavy: the command line and the notebooks' first cell load it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

MODALITIES: tuple[str, ...] = ("methylation", "fragmentomics", "cna")
# "not judged": a profile too small for its measurements to judge any claim (the smoke profile)
VERDICTS: tuple[str, ...] = ("reproduced", "partly", "not reproduced", "not testable here",
                            "not judged")


# --------------------------------------------------------------------------- constraints
# Every setting of every section has an entry in its class's ``constraints``, written right
# after the fields it constrains (a test checks that every field has one): what values it
# accepts, in words a reader of the error message understands. Rules that tie several
# settings together (n_heads divides d_model, priors sum to 1) are written out in the
# section's ``__post_init__`` with :func:`require`, which gives the same message format.


def require(ok: bool, where: str, name: str, value: Any, expected: str) -> None:
    """Raise the project's one error message format for a bad value unless ``ok``:
    ``{where}.{name} = {value!r} is invalid: expected {expected}``."""
    if not ok:
        raise ValueError(f"{where}.{name} = {value!r} is invalid: expected {expected}")


# the models package of earlier revisions imports this name; the benchmarks load those models
# beside the current ones to print old/new ratios (--compare-reference)
_require = require




def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, int | float)


@dataclass(frozen=True)
class Interval:
    """A number of type ``kind`` (int, or float which admits ints) between ``low`` and ``high``
    (None: unbounded), ``closed`` on "both" sides, "left", "right" or "neither"."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    text: str | None = None  # the wording of the error message, when the default is unclear

    def allows(self, value: Any) -> bool:
        if not _is_number(value, self.kind):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and not (value >= self.low if left else value > self.low):
            return False
        return self.high is None or (value <= self.high if right else value < self.high)

    def __str__(self) -> str:
        if self.text:
            return self.text
        noun = "an integer" if self.kind is int else "a number"
        if self.kind is int and self.low == 1 and self.high is None:
            return "a positive integer"
        if self.low is not None and self.high is not None:
            lo = "[" if self.closed in ("both", "left") else "("
            hi = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {lo}{self.low:g}, {self.high:g}{hi}"
        if self.low is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.high is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        return noun


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def allows(self, value: Any) -> bool:
        return any(value == v and type(value) is type(v) for v in self.values)

    def __str__(self) -> str:
        quoted = [repr(v) for v in self.values]
        return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


@dataclass(frozen=True)
class ListOf:
    """A list (or tuple) of at least ``min_len`` items, each allowed by ``item``, optionally
    distinct."""

    item: Any
    min_len: int = 1
    distinct: bool = False
    text: str | None = None

    def allows(self, value: Any) -> bool:
        if not isinstance(value, list | tuple) or len(value) < self.min_len:
            return False
        if self.distinct and len(set(value)) != len(value):
            return False
        return all(self.item.allows(v) for v in value)

    def __str__(self) -> str:
        if self.text:
            return self.text
        many = "a non-empty list of" if self.min_len == 1 else f"a list of at least {self.min_len}"
        return f"{many} {'distinct ' if self.distinct else ''}values, each {self.item}"


@dataclass(frozen=True)
class MappingOf:
    """A mapping whose keys are strings and whose values are allowed by ``item``."""

    item: Any
    text: str | None = None

    def allows(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and self.item.allows(v) for k, v in value.items())

    def __str__(self) -> str:
        return self.text or f"a mapping of names to values, each {self.item}"


@dataclass(frozen=True)
class Kind:
    """A value of one of these Python types (``None`` for the value None)."""

    types: tuple[type | None, ...]
    text: str

    def allows(self, value: Any) -> bool:
        return any(value is None if t is None else
                   isinstance(value, t) and not (t is int and isinstance(value, bool))
                   for t in self.types)

    def __str__(self) -> str:
        return self.text


POSITIVE_INT = Interval(int, 1)
NON_NEGATIVE_INT = Interval(int, 0)
POSITIVE = Interval(float, 0, closed="neither")
NON_NEGATIVE = Interval(float, 0)
PROBABILITY = Interval(float, 0, 1, text="a probability in [0, 1]")
PROBABILITY_BELOW_1 = Interval(float, 0, 1, closed="left", text="a probability in [0, 1)")
FLAG = Options((True, False))
NAME = Kind((str,), "a string")
SEEDS = ListOf(NON_NEGATIVE_INT, distinct=True, text="a non-empty list of distinct integers >= 0")



def check_params(section: str, values: Any) -> None:
    """Check every setting of a section (a dataclass instance or a mapping) against
    :data:`PARAMETER_CONSTRAINTS`; the first bad one raises, naming it."""
    table = PARAMETER_CONSTRAINTS[section]
    items = (values.items() if isinstance(values, Mapping)
             else ((f.name, getattr(values, f.name)) for f in fields(values)))
    for name, value in items:
        constraint = table[name]
        require(constraint.allows(value), section, name, value, str(constraint))


@dataclass(frozen=True)
class CohortConfig:
    """The synthetic cohort: its size, its classes and how hard it is."""

    n_samples: int = 1000
    n_loci: int = 110  # CpG regions = copy-number bins: one genomic locus each
    n_fragment_bins: int = 110  # fragment-length histogram bins (4 bp wide)
    n_fragments: int = 2000  # cfDNA fragments counted per sample
    class_names: tuple[str, ...] = ("healthy", "lung", "colorectal", "breast", "liver")
    class_priors: tuple[float, ...] = (0.40, 0.20, 0.16, 0.14, 0.10)
    # Scales every tumour-derived deviation from normal (0 = no signal). The default was chosen
    # once, by rule: on the grid 0.40, 0.45, ..., 0.60 the value whose joint Bayes accuracy at
    # these defaults (10,000 held-out samples, seed 1) is closest to 0.885, the middle of the
    # target band [0.85, 0.92]; the best single modality is then about 10 points lower.
    effect_size: float = 0.5
    missing_rate: float = 0.0  # probability that a sample lacks a given modality (MCAR)
    modalities: tuple[str, ...] = MODALITIES
    n_joint_loci: int = 8  # loci where copy number shifts methylation (cross-modal signal)
    # "full": the book's world. "interaction": the positive control of cross-modal attention,
    # two cancer classes that differ only in the sign of the methylation x copy-number coupling
    # at the joint loci (see synth.cohort); each modality alone carries no information
    signal: str = "full"
    world_seed: int = 20250722  # draws the generator's own parameters, not the samples
    # Tumour fraction of a cancer sample: a discretised Beta prior on {r, 2r, ..., max} per class
    # (the first class is healthy: fraction 0 exactly). effect_size * max_tumour_fraction <= 1.
    tumour_fraction_resolution: float = 0.01
    max_tumour_fraction: float = 0.6

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "n_samples": POSITIVE_INT,
        "n_loci": Interval(int, 22, text="an integer >= 22 (one per autosome)"),
        "n_fragment_bins": POSITIVE_INT,
        "n_fragments": POSITIVE_INT,
        "class_names": ListOf(NAME, min_len=2, distinct=True,
                              text="at least 2 classes with distinct names"),
        "class_priors": ListOf(PROBABILITY, min_len=2, text="probabilities, one per class"),
        "effect_size": NON_NEGATIVE,
        "missing_rate": PROBABILITY_BELOW_1,
        "modalities": ListOf(Options(MODALITIES), distinct=True,
                             text=f"a non-empty subset of {list(MODALITIES)}"),
        "n_joint_loci": NON_NEGATIVE_INT,
        "signal": Options(("full", "interaction")),
        "world_seed": NON_NEGATIVE_INT,
        "tumour_fraction_resolution": Interval(float, 0, 1, closed="right"),
        "max_tumour_fraction": Interval(float, 0, 1, closed="right"),
    }

    def __post_init__(self) -> None:
        s = "cohort"
        check_params(s, self)
        require(len(self.class_priors) == len(self.class_names), s, "class_priors",
                self.class_priors, f"{len(self.class_names)} values, one per class")
        require(abs(sum(self.class_priors) - 1.0) < 1e-6, s, "class_priors",
                self.class_priors, "values summing to 1")
        require(self.n_joint_loci <= self.n_loci, s, "n_joint_loci", self.n_joint_loci,
                f"an integer in [0, n_loci={self.n_loci}]")
        r, fmax = self.tumour_fraction_resolution, self.max_tumour_fraction
        require(r <= fmax and abs(fmax / r - round(fmax / r)) < 1e-6, s, "max_tumour_fraction",
                fmax, f"a multiple of tumour_fraction_resolution={r} in [{r}, 1]")
        require(self.signal == "full" or len(self.class_names) == 2, s, "class_names",
                self.class_names, "two classes when signal is 'interaction' (one per sign of "
                "the coupling)")
        require(self.signal == "full" or self.n_joint_loci > 0, s, "n_joint_loci",
                self.n_joint_loci, "at least 1 when signal is 'interaction'")
        require(self.effect_size * fmax <= 1 + 1e-12, s, "effect_size", self.effect_size,
                f"a number <= 1 / max_tumour_fraction = {1 / fmax:.6g} (a mixture weight "
                "effect_size * tumour fraction above 1 is impossible)")

    @property
    def strongest_effect_size(self) -> float:
        """The largest effect size the generator allows, 1 / max_tumour_fraction: a tumour at
        the largest fraction then shows its full signal (the strongest signal of Chapter 4,
        not the easier difficulty of the ablations, ``ablation.easy_effect_size``)."""
        return 1.0 / self.max_tumour_fraction


@dataclass(frozen=True)
class ModelConfig:
    """Width and depth of the neural models; the Cancer Alpha paper's preset is d_model=512,
    8 heads (:data:`PRESETS`)."""

    d_model: int = 128  # the MMT paper's 128-dimensional modality representation (claim C01)
    n_heads: int = 4
    n_layers: int = 2
    ff_mult: int = 2
    dropout: float = 0.1
    token_mode: str = "modality"  # "modality": one token per modality; "locus": one per feature
    n_bins: int = 8  # TabTransformer: quantile bins that turn a continuous feature into a token
    n_latents: int = 32  # Perceiver IO: size of the latent array
    tab_token_dim: int = 32  # TabTransformer: width of a column token (32 in Huang et al. 2020)
    tab_dim_head: int = 16  # TabTransformer: width of a head; heads x width = the token width
    perceiver_width_divisor: int = 2  # Perceiver IO tokens and latents are d_model / 2 wide
    conv_channels: int = 32  # channels of the fragmentomics and copy-number convolutions
    cna_stride: int = 4  # copy-number bins per recurrent step: 110 bins -> a GRU over 28 steps
    fragment_pool: int = 4  # fragment-length bins per token in locus mode: 110 -> 28 tokens

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "d_model": POSITIVE_INT,
        "n_heads": POSITIVE_INT,
        "n_layers": POSITIVE_INT,
        "ff_mult": POSITIVE_INT,
        "dropout": PROBABILITY_BELOW_1,
        "token_mode": Options(("modality", "locus")),
        "n_bins": POSITIVE_INT,
        "n_latents": POSITIVE_INT,
        "tab_token_dim": POSITIVE_INT,
        "tab_dim_head": POSITIVE_INT,
        "perceiver_width_divisor": POSITIVE_INT,
        "conv_channels": POSITIVE_INT,
        "cna_stride": POSITIVE_INT,
        "fragment_pool": POSITIVE_INT,
    }

    def __post_init__(self) -> None:
        s = "model"
        check_params(s, self)
        require(self.d_model % self.n_heads == 0, s, "d_model", self.d_model,
                f"a multiple of n_heads={self.n_heads}")


PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},  # the defaults above
    "cancer_alpha": {"d_model": 512, "n_heads": 8},  # the Cancer Alpha paper: 8 heads, 512 wide
}


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (the MMT paper's section 2.3, the Cancer Alpha paper's training
    strategy)."""

    max_epochs: int = 50
    batch_size: int = 64
    eval_batch_size: int = 512  # validation and prediction batches (no gradients kept)
    lr: float = 1e-3
    weight_decay: float = 1e-2  # decoupled (AdamW): shrinks weights apart from the gradient
    # an L2 penalty on every weight matrix, added to each training batch's loss as
    # scikit-learn's MLPClassifier adds its ``alpha``: l2 * sum(W**2) / (2 * batch size).
    # Unlike weight_decay it passes through Adam's per-weight scaling, so it regularises as
    # strongly as scikit-learn's penalty does. Validation losses leave it out
    l2: float = 0.0
    warmup_epochs: int = 3
    gradient_clip: float = 1.0
    patience: int = 10  # early stopping on validation loss
    focal_gamma: float = 2.0  # 0 gives cross-entropy
    attention_lambda: float = 1e-3  # weight of the attention-entropy regulariser
    modality_dropout: float = 0.0  # probability of hiding a modality of a training sample
    aux_loss_weight: float = 0.0  # weight of the per-modality auxiliary heads' loss
    progressive: bool = False  # pre-train each encoder with its own head, then fine-tune jointly
    pretrain_epochs: int = 10
    val_fraction: float = 0.2  # of the training fold, for early stopping
    # what a neural model finally learns from: "refit" trains a fresh model on the whole
    # training data for as many epochs as early stopping chose on the split above, so that it
    # sees every training sample as the scikit-learn models do; "hold_out" keeps the
    # early-stopped model, which never learned from the validation part (the former protocol)
    full_data: str = "refit"
    # an epoch (the unit of early stopping, patience, warm-up and the schedule) covers at most
    # this many training samples, drawn afresh each epoch (0: a whole pass). At the book's
    # 800 samples nothing changes; on the training-size curve's 100,000 it bounds a fit's cost
    # to that of 16,000 samples per epoch while every sample still gets drawn
    epoch_samples: int = 16000
    accelerator: str = "auto"
    precision: str = "auto"  # "auto": 16-mixed on a GPU, 32-true on the CPU
    devices: int | str | tuple = 1
    strategy: str = "auto"
    num_threads: int = 0  # torch intra-op threads; 0 leaves torch's default

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "max_epochs": POSITIVE_INT,
        "batch_size": POSITIVE_INT,
        "eval_batch_size": POSITIVE_INT,
        "lr": POSITIVE,
        "weight_decay": NON_NEGATIVE,
        "l2": NON_NEGATIVE,
        "warmup_epochs": NON_NEGATIVE_INT,
        "gradient_clip": POSITIVE,
        "patience": POSITIVE_INT,
        "focal_gamma": NON_NEGATIVE,
        "attention_lambda": NON_NEGATIVE,
        "modality_dropout": PROBABILITY_BELOW_1,
        "aux_loss_weight": NON_NEGATIVE,
        "progressive": FLAG,
        "pretrain_epochs": POSITIVE_INT,
        "val_fraction": Interval(float, 0, 1, closed="neither", text="a fraction in (0, 1)"),
        "full_data": Options(("refit", "hold_out")),
        "epoch_samples": NON_NEGATIVE_INT,
        "accelerator": NAME,
        "precision": Options(("auto", "32-true", "16-mixed", "bf16-mixed", "64-true")),
        "devices": Kind((int, str, list, tuple), "an integer, 'auto' or a list of devices"),
        "strategy": NAME,
        "num_threads": NON_NEGATIVE_INT,
    }

    def __post_init__(self) -> None:
        check_params("train", self)


@dataclass(frozen=True)
class EvaluationConfig:
    """The experimental protocol shared by the chapters that train models."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    n_folds: int = 5
    data_seed: int = 0  # draws the training cohort; the held-out cohort uses data_seed + 1
    test_samples: int = 10000  # held-out cohort: Bayes ceilings (Ch. 1) and test scores (Ch. 3)
    curve_samples: int = 2000  # samples per point of curves such as ceiling vs difficulty
    # accuracy against training-set size: the sizes, how many seeds each (the first
    # ``curve_seeds`` of ``seeds``), and the size above which only the first seed runs
    curve_sizes: tuple[int, ...] = (250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000,
                                    100000)
    curve_seeds: int = 3
    curve_all_seeds_up_to: int = 2000
    # the models followed along the curve, each with its tuned settings
    curve_models: tuple[str, ...] = ("mmt_modality", "early_fusion_mlp", "voting_ensemble",
                                     "gradient_boosting", "logistic_regression")
    # the largest training size of a model whose fits cost too much above it (a compute cap,
    # stated beside the curve): the voting ensemble's forest of 300 trees takes about 3
    # minutes of one core at 16,000 samples and about 25 at 100,000; gradient boosting, one
    # of its members, goes on to the end
    curve_max_size: Mapping[str, int] = field(
        default_factory=lambda: {"voting_ensemble": 16000})
    # seeds of the comparison of what neural models learn from (hold-out, refit, bagging)
    rule_seeds: int = 3
    models: tuple[str, ...] = (
        "logistic_regression", "random_forest", "gradient_boosting", "voting_ensemble",
        "sklearn_mlp", "early_fusion_mlp", "late_fusion", "tab_transformer", "perceiver_io",
        "mmt_modality", "mmt_locus",
    )
    n_jobs: int = 1  # worker processes for independent fits (folds x seeds)
    # at most this many (seed, fold) runs of the named models, taken one fold per seed first:
    # a compute cap for models too slow to train folds x seeds times; tables show n_runs
    max_runs: Mapping[str, int] = field(default_factory=dict)
    # the models of the real-data chapter (None: the same as ``models``); a subset of them
    real_data_models: tuple[str, ...] | None = None
    # held-out samples a trained model is analysed on (embeddings, clustering, attention
    # shares, permutation importance): the first ones of the held-out cohort
    analysis_samples: int = 2000
    importance_repeats: int = 3  # shuffles per feature of the permutation importance
    # whether the chapters judge the papers' claims at this scale; a profile too small to say
    # anything (smoke) records "not judged" beside the rule's own verdict
    judge_claims: bool = True

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "seeds": ListOf(Kind((int,), "an integer"), distinct=True,
                        text="a non-empty list of integers"),
        "n_folds": Interval(int, 2),
        "data_seed": NON_NEGATIVE_INT,
        "test_samples": POSITIVE_INT,
        "curve_samples": POSITIVE_INT,
        "curve_sizes": ListOf(Interval(int, 20), min_len=2, text="at least 2 integers >= 20"),
        "curve_seeds": POSITIVE_INT,
        "curve_all_seeds_up_to": POSITIVE_INT,
        "curve_models": ListOf(NAME, distinct=True,
                               text="a non-empty list of distinct model names"),
        "rule_seeds": POSITIVE_INT,
        "curve_max_size": MappingOf(POSITIVE_INT, text="a mapping of model name to the "
                                    "largest training size it is fitted at"),
        "models": ListOf(NAME, distinct=True, text="a non-empty list of distinct model names"),
        "n_jobs": POSITIVE_INT,
        "max_runs": MappingOf(POSITIVE_INT, text="a mapping of model name to an integer >= 1"),
        "real_data_models": Kind((tuple, list, None), "a non-empty subset of evaluation.models"),
        "analysis_samples": POSITIVE_INT,
        "importance_repeats": POSITIVE_INT,
        "judge_claims": FLAG,
    }

    def __post_init__(self) -> None:
        s = "evaluation"
        check_params(s, self)
        unknown = [k for k in self.max_runs if k not in self.models]
        require(not unknown, s, "max_runs", dict(self.max_runs),
                f"model names among evaluation.models {list(self.models)} "
                f"(unknown: {unknown})")
        if self.real_data_models is not None:
            unknown = [k for k in self.real_data_models if k not in self.models]
            require(len(self.real_data_models) > 0 and not unknown, s, "real_data_models",
                    list(self.real_data_models),
                    f"a non-empty subset of evaluation.models {list(self.models)}")
        unknown = [k for k in self.curve_max_size if k not in self.curve_models]
        require(not unknown, s, "curve_max_size", dict(self.curve_max_size),
                f"model names among evaluation.curve_models {list(self.curve_models)} "
                f"(unknown: {unknown})")
        unknown = [k for k in self.curve_models if k not in self.models]
        require(not unknown, s, "curve_models", list(self.curve_models),
                f"model names among evaluation.models {list(self.models)} (unknown: {unknown})")


@dataclass(frozen=True)
class ProfilingConfig:
    """Grids of the compute-profiling chapter."""

    sequence_lengths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    dataset_sizes: tuple[int, ...] = (100, 300, 1000, 3000, 10000)
    repeats: int = 3
    latency_samples: int = 200
    memory_batch: int = 16  # batch of the training step whose memory is measured
    # features per modality of the measurements that judge the papers' claims (C05, C06,
    # C13 and the Lightning overhead): the papers' configuration, 110 features per modality
    claim_features: int = 110
    overhead_samples: int = 640  # samples of the epoch timed under Lightning and plain PyTorch

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "sequence_lengths": ListOf(POSITIVE_INT, min_len=2,
                                   text="at least 2 positive integers"),
        "dataset_sizes": ListOf(POSITIVE_INT, min_len=2, text="at least 2 positive integers"),
        "repeats": POSITIVE_INT,
        "latency_samples": POSITIVE_INT,
        "memory_batch": POSITIVE_INT,
        "claim_features": POSITIVE_INT,
        "overhead_samples": POSITIVE_INT,
    }

    def __post_init__(self) -> None:
        check_params("profiling", self)


@dataclass(frozen=True)
class AblationConfig:
    """Chapter 6: ablations, missing modalities and attention checked against planted truth."""

    # paired seeds: every variant is trained once per seed on the same split, so its
    # difference from the full model is paired
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    # held-out samples scored per fit (the first ones of the standard held-out cohort): the
    # differences are paired on the same samples, and prediction on all 10,000 cost as much
    # as the fit itself
    test_samples: int = 2000
    # the "easier" difficulty of the two headline ablations (C08, C09): its joint Bayes
    # ceiling is about 0.95 against about 0.89 at the default effect size (Chapter 1)
    easy_effect_size: float = 0.8
    # attention-sparsity weights swept beside the default train.attention_lambda (1e-3):
    # larger ones, up to a weight that makes attention rows nearly one-hot
    lambda_grid: tuple[float, ...] = (0.1, 1.0)
    # probability of hiding each modality of a training sample (missing-modality training)
    modality_dropout: float = 0.3
    # locus tokens cost about 20x the modality model per step on a CPU: only this many of
    # the seeds, each capped at locus_max_epochs (the modality model it is compared with is
    # capped the same way); the chapter states the cap
    locus_seeds: int = 2
    locus_max_epochs: int = 3
    # held-out samples whose attention weights are read (locus mode: large weight arrays)
    attention_samples: int = 500
    # the positive control (ablations.control): training samples of the interaction world,
    # its joint loci (24 of the 110 loci give it an exact Bayes ceiling of about 0.94 at the
    # largest effect size), the models trained on it and their seeds
    control_samples: int = 4000
    control_joint_loci: int = 24
    control_models: tuple[str, ...] = ("logistic_regression", "additive_fusion", "late_fusion",
                                       "early_fusion_mlp", "sklearn_mlp",
                                       "mmt_no_cross_attention", "mmt_modality")
    control_seeds: int = 2

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "seeds": SEEDS,
        "test_samples": POSITIVE_INT,
        "easy_effect_size": POSITIVE,
        "lambda_grid": ListOf(NON_NEGATIVE, text="a non-empty list of numbers >= 0"),
        "modality_dropout": PROBABILITY_BELOW_1,
        "locus_seeds": POSITIVE_INT,
        "locus_max_epochs": POSITIVE_INT,
        "attention_samples": POSITIVE_INT,
        "control_samples": Interval(int, 20, text="an integer >= 20"),
        "control_joint_loci": POSITIVE_INT,
        "control_models": ListOf(NAME, distinct=True,
                                 text="a non-empty list of distinct model names"),
        "control_seeds": POSITIVE_INT,
    }

    def __post_init__(self) -> None:
        s = "ablation"
        check_params(s, self)
        require(self.locus_seeds <= len(self.seeds), s, "locus_seeds", self.locus_seeds,
                f"at most the number of seeds ({len(self.seeds)})")
        require(self.control_seeds <= len(self.seeds), s, "control_seeds", self.control_seeds,
                f"at most the number of seeds ({len(self.seeds)})")


@dataclass(frozen=True)
class TuningConfig:
    """The hyper-parameter search that gives every model the same budget: the same number of
    trials, each scored by the mean validation log-loss over inner folds of training data."""

    n_trials: int = 12  # trials per model (TPE); the same for every model of a chapter
    startup_trials: int = 5  # random trials before TPE models the search space
    inner_folds: int = 3  # stratified folds of the training data that score a trial
    seed: int = 0  # the sampler's seed and the inner folds' shuffle
    # pruning: successive halving over the resource "epochs trained" (a classical model
    # reports once per inner fold, at the resource of a fold's worth of epochs, so the same
    # pruner judges every model): at min epochs, then min x factor, min x factor^2, ..., a
    # trial goes on only if it is among the best 1/factor of the trials that reached that rung
    prune_min_epochs: int = 3
    prune_reduction_factor: int = 3
    # budget sensitivity (Chapter 3): the studies of the transformer, the best neural and the
    # best classical model are continued to this many trials; their first n_trials are the
    # studies every model gets
    sensitivity_trials: int = 48
    # the locus-token transformer's own study: the same trials and search space as every
    # neural model (successive halving keeps it affordable), on this many inner folds
    locus_trials: int = 12
    locus_inner_folds: int = 2
    # the real data sets of Chapter 8: every model the same number of trials there too (their
    # training splits hold a few hundred samples, but up to 600 features per sample)
    real_data_trials: int = 6

    # what each setting above accepts, in the words of the error message (check_params)
    constraints: ClassVar[dict[str, Any]] = {
        "n_trials": POSITIVE_INT,
        "startup_trials": POSITIVE_INT,
        "inner_folds": Interval(int, 2),
        "seed": NON_NEGATIVE_INT,
        "prune_min_epochs": POSITIVE_INT,
        "prune_reduction_factor": Interval(int, 2, text="an integer >= 2"),
        "sensitivity_trials": NON_NEGATIVE_INT,
        "locus_trials": NON_NEGATIVE_INT,
        "locus_inner_folds": Interval(int, 2),
        "real_data_trials": POSITIVE_INT,
    }

    def __post_init__(self) -> None:
        s = "tuning"
        check_params(s, self)
        require(self.startup_trials <= self.n_trials, s, "startup_trials", self.startup_trials,
                f"at most n_trials={self.n_trials}")


SECTIONS: dict[str, type] = {
    "cohort": CohortConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "evaluation": EvaluationConfig,
    "profiling": ProfilingConfig,
    "ablation": AblationConfig,
    "tuning": TuningConfig,
}

# every section's constraints by section name (each stands in its class, beside its fields)
PARAMETER_CONSTRAINTS: dict[str, dict[str, Any]] = {
    name: cls.constraints for name, cls in SECTIONS.items()}


@dataclass(frozen=True)
class Profile:
    """A named, complete set of settings: what one run of the book uses."""

    name: str = "paper"
    cohort: CohortConfig = field(default_factory=CohortConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    profiling: ProfilingConfig = field(default_factory=ProfilingConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples as lists), as stored in run records."""
        from .safe_write import jsonable

        return jsonable(dataclasses.asdict(self))

    def replace(self, **sections: Mapping[str, Any]) -> Profile:
        """A copy with some settings of some sections replaced, validated."""
        updated = {
            name: _build_section(name, {**dataclasses.asdict(getattr(self, name)), **values})
            for name, values in sections.items()
            if _known_section(name)
        }
        return dataclasses.replace(self, **updated)


def _known_section(name: str) -> bool:
    if name not in SECTIONS:
        raise ValueError(f"unknown profile section {name!r}: expected one of {sorted(SECTIONS)}")
    return True


def _build_section(section: str, values: Mapping[str, Any]) -> Any:
    cls = SECTIONS[section]
    if not isinstance(values, Mapping):
        raise ValueError(f"profile section {section!r} must be a mapping, got {values!r}")
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(
            f"unknown setting {section}.{unknown[0]}: expected one of {sorted(allowed)}"
        )
    coerced = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**coerced)


def profile_from_dict(data: Mapping[str, Any], *, name: str | None = None) -> Profile:
    """Build a validated profile from a nested mapping such as a parsed profile YAML."""
    data = dict(data)
    pname = data.pop("profile", None) or name or "custom"
    if not isinstance(pname, str) or not pname:
        raise ValueError(f"profile name must be a non-empty string, got {pname!r}")
    sections = {key: _build_section(key, value) for key, value in data.items()
                if _known_section(key)}
    return Profile(name=pname, **sections)


def project_root() -> Path:
    """The checkout holding ``profiles/``, ``_toc.yml`` and ``pyproject.toml``:
    CANCER_ALPHA_ROOT, cwd or the source. (A staged book under build/ holds copies of the
    first two, but not the chapters' sources: it is not a root.)"""
    env = os.environ.get("CANCER_ALPHA_ROOT")
    candidates = [Path(env)] if env else []
    cwd = Path.cwd().resolve()
    candidates += [cwd, *cwd.parents, Path(__file__).resolve().parents[2]]
    for c in candidates:
        if ((c / "profiles").is_dir() and (c / "_toc.yml").is_file()
                and (c / "pyproject.toml").is_file()):
            return c
    raise FileNotFoundError(
        "cannot find the project root (a folder with profiles/, _toc.yml and pyproject.toml): "
        "run from the "
        "checkout or set CANCER_ALPHA_ROOT"
    )


def available_profiles() -> list[str]:
    """Names of the profiles shipped in ``profiles/``."""
    return sorted(p.stem for p in (project_root() / "profiles").glob("*.yml"))


def profile_path(name: str) -> Path:
    """Path of a named profile, or a clear error listing the valid names."""
    path = project_root() / "profiles" / f"{name}.yml"
    if not path.is_file():
        raise ValueError(f"unknown profile {name!r}: expected one of {available_profiles()}")
    return path


def read_profile_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw mapping stored in a profile YAML file."""
    import yaml

    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValueError(f"profile {path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on "
                         f"line {line}): expected a YAML file of settings, saved as UTF-8 "
                         "text") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a profile must be a mapping of sections, got {type(data)}")
    return data


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """Load ``profiles/<name>.yml`` (or a YAML file path) into a validated Profile."""
    p = Path(name_or_path)
    if p.suffix in (".yml", ".yaml") or p.is_file():
        if not p.is_file():
            raise FileNotFoundError(f"profile file {p} does not exist")
        return profile_from_dict(read_profile_file(p), name=p.stem)
    return profile_from_dict(read_profile_file(profile_path(str(name_or_path))),
                             name=str(name_or_path))


def from_parameters(profile: str = "paper",
                    overrides: Mapping[str, Any] | None = None) -> Profile:
    """The settings of a notebook run: ``profile`` (a name in ``profiles/`` or the path of a
    YAML file) with optional ``overrides`` on top, as papermill injects them
    (``-p profile paper -y 'overrides: {train: {max_epochs: 5}}'``). ``overrides`` holds
    sections as a profile file does (``{"train": {"max_epochs": 5}}``), dotted settings
    (``{"train.max_epochs": 5}``) or both; empty sections change nothing."""
    base = load_profile(profile)
    return base.replace(**nested_overrides(overrides or {}))


def nested_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``overrides`` as sections of settings: ``{"train.max_epochs": 5}`` and
    ``{"train": {"max_epochs": 5}}`` both give ``{"train": {"max_epochs": 5}}``; empty
    sections are dropped."""
    if not isinstance(overrides, Mapping):
        raise ValueError(f"overrides must be a mapping of sections or dotted settings, got "
                         f"{overrides!r}")
    out: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        section, dot, setting = str(key).partition(".")
        if dot:
            if not setting or "." in setting:
                raise ValueError(f"override {key!r}: expected 'section.setting', e.g. "
                                 "'train.max_epochs'")
            out.setdefault(section, {})[setting] = value
        elif value:
            if not isinstance(value, Mapping):
                raise ValueError(f"profile section {section!r} must be a mapping, got {value!r}")
            out.setdefault(section, {}).update(value)
    return out
