"""Chapter 4's experiments: ablations of the multi-modal transformer as paired differences over
seeds, training with missing modalities scored on every subset of modalities, and cross-modal
attention checked against the loci where the generator planted a joint signal.

Every variant is trained once per seed on the same training cohort (same validation split,
same initialisation seed) and scored on the same held-out samples, so its difference from the
reference model of the same seed is paired.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import Profile, TrainConfig, _require
from .data import ModalitySpec, MultiOmicsData, Standardizer
from .evaluate import attention_by_key, classification_metrics, mean_sd, paired_difference

DEFAULT, EASY = "default", "easy"  # the two difficulties of the headline ablations


@dataclass(frozen=True)
class Variant:
    """One model variant: the architecture switches of the transformer, the training recipe's
    overrides, the difficulty it is trained at, and what is measured on it."""

    name: str
    token_mode: str = "modality"
    cross_attention: bool = True
    generic_encoders: bool = False
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
                  cfg: Profile, seed: int):
    """The variant's multi-modal transformer, initialised from ``seed``."""
    import torch

    from .models import MultiModalTransformer

    torch.manual_seed(seed)
    return MultiModalTransformer(specs, n_classes, cfg.model, token_mode=variant.token_mode,
                                 cross_attention=variant.cross_attention,
                                 generic_encoders=variant.generic_encoders)


def plan(cfg: Profile) -> list[Variant]:
    """Every variant of the chapter with the seeds it is trained with."""
    a = cfg.ablation
    seeds = tuple(a.seeds)
    locus = seeds[:a.locus_seeds]
    cap = (("max_epochs", min(a.locus_max_epochs, cfg.train.max_epochs)),)
    out = []
    for d, tag in ((DEFAULT, ""), (EASY, "@easy")):
        out += [Variant(f"full{tag}", difficulty=d, subsets=d == DEFAULT, seeds=seeds),
                Variant(f"no_cross_attention{tag}", cross_attention=False, difficulty=d,
                        seeds=seeds),
                Variant(f"generic_encoders{tag}", generic_encoders=True, difficulty=d,
                        seeds=seeds)]
    out.append(Variant("cross_entropy", train=(("focal_gamma", 0.0),), seeds=seeds))
    out += [Variant(lambda_name(v), train=(("attention_lambda", float(v)),), seeds=seeds)
            for v in a.lambda_grid if not math.isclose(v, cfg.train.attention_lambda)]
    out.append(Variant("progressive", train=(("progressive", True),), seeds=seeds))
    out.append(Variant("modality_dropout", train=(("modality_dropout", a.modality_dropout),),
                       subsets=True, seeds=seeds))
    out += [Variant("modality_tokens_capped", train=cap, seeds=locus),
            Variant("locus_tokens", token_mode="locus", train=cap, planted=True, seeds=locus),
            Variant("locus_shuffled_labels", token_mode="locus", train=cap, planted=True,
                    shuffled_labels=True, seeds=seeds[:1]),
            Variant("locus_untrained", token_mode="locus", untrained=True, planted=True,
                    seeds=seeds[:1])]
    return out


def lambda_name(value: float) -> str:
    """The name of the variant with attention-sparsity weight ``value``."""
    return f"lambda={value:g}"


# what each ablation compares: variant, reference (the same seeds of both)
def comparisons(cfg: Profile) -> dict[str, tuple[str, str]]:
    """{ablation: (variant, reference)} of the chapter."""
    out = {"no_cross_attention": ("no_cross_attention", "full"),
           "no_cross_attention@easy": ("no_cross_attention@easy", "full@easy"),
           "generic_encoders": ("generic_encoders", "full"),
           "generic_encoders@easy": ("generic_encoders@easy", "full@easy"),
           "cross_entropy": ("cross_entropy", "full")}
    out |= {lambda_name(v): (lambda_name(v), "full") for v in cfg.ablation.lambda_grid
            if not math.isclose(v, cfg.train.attention_lambda)}
    out |= {"progressive": ("progressive", "full"),
            "modality_dropout": ("modality_dropout", "full"),
            "locus_tokens": ("locus_tokens", "modality_tokens_capped")}
    return out


# --------------------------------------------------------------------------- data


@dataclass
class Setting:
    """A difficulty: its training cohort, the held-out samples and the planted loci."""

    effect_size: float
    train: MultiOmicsData
    test: MultiOmicsData
    joint_loci: np.ndarray
    world: Any


def settings(cfg: Profile) -> dict[str, Setting]:
    """The default and the easier difficulty, each with the book's standard cohorts (the
    first ``ablation.test_samples`` of the held-out cohort are scored)."""
    from .synth import World

    out = {}
    for name, effect in ((DEFAULT, cfg.cohort.effect_size),
                         (EASY, cfg.ablation.easy_effect_size)):
        c = cfg.replace(cohort={"effect_size": effect})
        world = World.from_config(c.cohort)
        seed = cfg.evaluation.data_seed
        n_test = min(cfg.ablation.test_samples, cfg.evaluation.test_samples)
        out[name] = Setting(float(effect), world.sample(c.cohort.n_samples, seed).data,
                            world.sample(cfg.evaluation.test_samples, seed + 1).data.subset(
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
    _require(not unknown and len(keep) > 0, "ablation", "keep", list(keep),
             f"a non-empty subset of {data.modalities}")
    out = data.subset(np.arange(data.n_samples))
    for m, name in enumerate(data.modalities):
        if name not in keep:
            out.mask[:, m] = False
            out.x[name] = np.full_like(out.x[name], np.nan)
    return out


def subset_accuracy(predict_proba: Callable[[MultiOmicsData], np.ndarray],
                    data: MultiOmicsData) -> dict[str, float]:
    """Accuracy with only each non-empty subset of the modalities observed."""
    return {subset_key(s): float(np.mean(predict_proba(hide_modalities(data, s)).argmax(1)
                                         == data.y))
            for s in modality_subsets(data.modalities)}


def leave_one_out(accuracy: Mapping[str, float], modalities: Sequence[str]) -> dict[str, float]:
    """Importance of each modality: accuracy with all of them minus accuracy without it."""
    every = subset_key(modalities)
    return {m: float(accuracy[every] - accuracy[subset_key([n for n in modalities if n != m])])
            for m in modalities}


# --------------------------------------------------------------------------- attention


def planted_attention_scores(fitted: Any, data: MultiOmicsData, batch_size: int = 64
                             ) -> np.ndarray:
    """Cross-modal attention each genomic locus receives between methylation and copy number:
    per locus, the mean over samples of the weight (summed over layers, heads and queries)
    that copy-number tokens send to the locus's methylation token plus the weight that
    methylation tokens send to its copy-number token. (n_loci,)"""
    import torch

    from .data import to_tensors
    from .models import attention_returned
    from .training import batch_loader

    names = [s.name for s in fitted.specs]
    _require("methylation" in names and "cna" in names, "ablation", "modalities", names,
             "methylation and cna among them")
    meth, cna = names.index("methylation"), names.index("cna")
    n_loci = fitted.specs[meth].n_features
    model = fitted.model.eval()
    received = None
    with torch.no_grad(), attention_returned(model, True):
        for batch in batch_loader(to_tensors(data, fitted.scaler), batch_size):
            out = model(batch["x"], batch["mask"])
            if out.attention is None:
                raise ValueError(f"model {fitted.name!r} returns no attention weights")
            by_key = attention_by_key(out.attention, out.attention_keys, out.token_modality,
                                      len(names))
            # tokens never attend within their modality: the copy-number queries' row holds
            # what methylation tokens receive from them, and the other way round
            part = by_key[cna] + by_key[meth]
            received = part if received is None else received + part
    tm, ti = out.token_modality, out.token_index
    scores = np.zeros(n_loci)
    for m in (meth, cna):
        sel = (tm == m).nonzero().squeeze(1)
        # locus mode gives one token per locus for these two modalities
        scores[ti[sel].numpy()] += received[sel].numpy()
    return scores / data.n_samples


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the loci flagged ``positive`` (ties: 0.5)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    _require(n1 > 0 and n0 > 0, "ablation", "positive", f"{n1} of {n1 + n0}",
             "at least one positive and one negative locus")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auroc_p_value(scores: np.ndarray, positive: np.ndarray, n_permutations: int = 10000,
                  seed: int = 0) -> float:
    """One-sided permutation p-value of the AUROC: the share of random sets of as many loci
    whose AUROC is at least the observed one (the observed set counted once)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n, n1 = len(positive), int(positive.sum())
    ranks = rankdata(scores)
    observed = ranks[positive].sum()
    rng = np.random.default_rng(seed)
    picks = rng.random((n_permutations, n)).argsort(axis=1)[:, :n1]
    null = ranks[picks].sum(axis=1)
    return float((1 + np.sum(null >= observed - 1e-9)) / (n_permutations + 1))


# --------------------------------------------------------------------------- one run


def attention_entropy_of(fitted: Any, data: MultiOmicsData) -> float | None:
    """Mean entropy (nats) of the attention rows on ``data``; None without attention."""
    from .losses import attention_entropy

    values, weights = [], []
    for out in fitted.outputs(data, batch_size=128, attention=True):
        if out.attention is None:
            return None
        w = out.attention.float()
        valid = float((w.sum(dim=-1) > 0.5).sum())
        values.append(float(attention_entropy(w)) * valid)
        weights.append(valid)
    return float(np.sum(values) / max(np.sum(weights), 1.0))


def run_variant(variant: Variant, seed: int, setting: Setting, cfg: Profile) -> dict[str, Any]:
    """Train (or only initialise) one variant with one seed and measure it, on one torch
    thread: as in a worker process, so that results do not depend on ``n_jobs``, and because
    these small models lose more to thread synchronisation than they gain on a shared CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_variant(variant, seed, setting, cfg)
    finally:
        torch.set_num_threads(threads)


def _run_variant(variant: Variant, seed: int, setting: Setting, cfg: Profile) -> dict[str, Any]:
    import time

    from .models.complexity import count_parameters
    from .training import FittedModel, fit_neural

    train = setting.train
    if variant.shuffled_labels:
        train = train.subset(np.arange(train.n_samples))
        train.y = np.random.default_rng(10_000 + seed).permutation(train.y)
    model = build_variant(variant, list(train.specs), train.n_classes, cfg, seed)
    tcfg = variant.train_config(cfg.train)
    t0 = time.perf_counter()
    if variant.untrained:
        fitted = FittedModel(variant.name, model.eval(), Standardizer().fit(train),
                             list(train.specs), list(train.class_names), [], 0, -1, 0.0)
    else:
        fitted = fit_neural(variant.name, train, cfg, seed, train_cfg=tcfg, model=model)
    fit_seconds = time.perf_counter() - t0
    test = setting.test
    proba = fitted.predict_proba(test)
    head = test.subset(np.arange(min(cfg.ablation.attention_samples, test.n_samples)))
    row: dict[str, Any] = {
        "variant": variant.name, "seed": seed, "difficulty": variant.difficulty,
        "metrics": classification_metrics(test.y, proba),
        "fit_seconds": fit_seconds, "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
        "history": fitted.history, "pretrain_history": fitted.pretrain_history,
        "attention_entropy": attention_entropy_of(fitted, head) if variant.cross_attention
        else None,
        "n_parameters": count_parameters(fitted.model),
    }
    row["accuracy"] = row["metrics"]["accuracy"]
    if variant.subsets:
        row["subset_accuracy"] = subset_accuracy(fitted.predict_proba, test)
    if variant.planted:
        row["planted_scores"] = planted_attention_scores(fitted, head)
    return row


def _cost(variant: Variant) -> int:
    """Rough order of a run's cost, to start the longest first."""
    if variant.token_mode == "locus":
        return 0 if not variant.untrained else 3
    return 1 if variant.train_config(TrainConfig()).progressive else 2


def run_all(cfg: Profile, data: Mapping[str, Setting], variants: Sequence[Variant] | None = None,
            n_jobs: int | None = None) -> list[dict[str, Any]]:
    """Every (variant, seed) run, in ``n_jobs`` processes; rows in plan order."""
    from .protocol import run_tasks

    variants = plan(cfg) if variants is None else list(variants)
    # the generator itself stays here: workers need the samples only
    light = {k: dataclasses.replace(v, world=None) for k, v in data.items()}
    tasks = [(v, s, light[v.difficulty], cfg) for v in variants for s in v.seeds]
    return run_tasks(run_variant, tasks, cfg.evaluation.n_jobs if n_jobs is None else n_jobs,
                     cost=lambda t: _cost(t[0]))


# --------------------------------------------------------------------------- summaries


def runs_of(rows: Sequence[Mapping[str, Any]], variant: str) -> dict[int, Mapping[str, Any]]:
    """{seed: row} of one variant."""
    return {r["seed"]: r for r in rows if r["variant"] == variant}


def paired(rows: Sequence[Mapping[str, Any]], variant: str, reference: str,
           key: str = "accuracy") -> dict[str, Any]:
    """Paired difference variant minus reference over their common seeds: mean, 95% t
    interval, in points of accuracy and relative to the reference (%)."""
    a, b = runs_of(rows, variant), runs_of(rows, reference)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise ValueError(f"variants {variant!r} and {reference!r} share no seed")
    va = [a[s][key] for s in seeds]
    vb = [b[s][key] for s in seeds]
    d = paired_difference(va, vb)
    return {"variant": variant, "reference": reference, "n_seeds": len(seeds),
            "variant_accuracy_mean": float(np.mean(va)),
            "reference_accuracy_mean": float(np.mean(vb)),
            "delta_accuracy_mean": d["delta_mean"], "delta_accuracy_ci95": d["delta_ci95"],
            "delta_points_mean": 100 * d["delta_mean"],
            "delta_points_ci95": [100 * x for x in d["delta_ci95"]],
            "relative_percent_mean": 100 * d["relative_mean"],
            "relative_percent_ci95": [100 * x for x in d["relative_ci95"]]}


def ablation_table(rows: Sequence[Mapping[str, Any]], cfg: Profile) -> dict[str, dict[str, Any]]:
    """{ablation: paired difference from its reference} for every ablation of the chapter."""
    return {name: paired(rows, v, ref) for name, (v, ref) in comparisons(cfg).items()}


def lambda_sweep(rows: Sequence[Mapping[str, Any]], cfg: Profile) -> list[dict[str, Any]]:
    """Per attention-sparsity weight: accuracy and attention entropy (mean, sd over seeds)."""
    values = sorted({*cfg.ablation.lambda_grid, cfg.train.attention_lambda})
    out = []
    for v in values:
        name = "full" if math.isclose(v, cfg.train.attention_lambda) else lambda_name(v)
        runs = list(runs_of(rows, name).values())
        acc = mean_sd([r["accuracy"] for r in runs])
        ent = mean_sd([r["attention_entropy"] for r in runs])
        out.append({"lambda": float(v), "variant": name, "n_seeds": len(runs),
                    "accuracy_mean": acc[0], "accuracy_sd": acc[1],
                    "entropy_mean": ent[0], "entropy_sd": ent[1]})
    return out


def seconds_to_loss(history: Sequence[Mapping[str, float]], target: float,
                    offset: float = 0.0) -> float:
    """Training seconds (``offset`` plus the epochs' own) until the validation loss first
    falls to ``target``; infinity if it never does."""
    elapsed = offset
    for row in history:
        elapsed += row["seconds"]
        if row["val_loss"] <= target:
            return elapsed
    return math.inf


def progressive_timing(rows: Sequence[Mapping[str, Any]], reference: str = "full",
                       variant: str = "progressive") -> list[dict[str, float]]:
    """Per seed: wall-clock seconds of end-to-end and progressive training (its pre-training
    included) to reach the same validation loss, the worse of the two runs' best losses."""
    e2e, prog = runs_of(rows, reference), runs_of(rows, variant)
    out = []
    for s in sorted(set(e2e) & set(prog)):
        h_e, h_p = e2e[s]["history"], prog[s]["history"]
        pre = float(sum(r["seconds"] for r in prog[s]["pretrain_history"]))
        target = max(min(r["val_loss"] for r in h_e), min(r["val_loss"] for r in h_p))
        t_e, t_p = seconds_to_loss(h_e, target), seconds_to_loss(h_p, target, pre)
        out.append({"seed": s, "target_val_loss": target, "end_to_end_seconds": t_e,
                    "progressive_seconds": t_p, "pretrain_seconds": pre,
                    "relative_change": t_p / t_e - 1.0,
                    "end_to_end_total_seconds": float(sum(r["seconds"] for r in h_e)),
                    "progressive_total_seconds": pre + float(sum(r["seconds"] for r in h_p))})
    return out


def subset_table(rows: Sequence[Mapping[str, Any]], ceilings: Mapping[str, Mapping[str, Any]],
                 variants: Sequence[str] = ("modality_dropout", "full")
                 ) -> dict[str, dict[str, float]]:
    """{subset: {"model": mean accuracy of the dropout-trained model, "model_sd",
    "without_dropout": the same for the model trained on complete samples, "bayes"}}."""
    runs = {v: list(runs_of(rows, v).values()) for v in variants}
    out = {}
    for key, ceiling in ceilings.items():
        acc = mean_sd([r["subset_accuracy"][key] for r in runs[variants[0]]])
        ref = [r["subset_accuracy"][key] for r in runs[variants[1]]]
        out[key] = {"model": acc[0], "model_sd": acc[1],
                    "without_dropout": float(np.mean(ref)),
                    "bayes": float(ceiling["accuracy"])}
    return out


def planted_summary(rows: Sequence[Mapping[str, Any]], joint_loci: np.ndarray,
                    groups: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Per group of runs (trained, shuffled labels, untrained): AUROC of per-locus attention
    for planted versus other loci (per run and its mean), and the permutation p-value of the
    mean scores."""
    groups = groups or {"trained": "locus_tokens", "shuffled": "locus_shuffled_labels",
                        "untrained": "locus_untrained"}
    out = {}
    for group, variant in groups.items():
        runs = list(runs_of(rows, variant).values())
        n_loci = len(runs[0]["planted_scores"])
        positive = np.isin(np.arange(n_loci), joint_loci)
        per_run = [auroc(r["planted_scores"], positive) for r in runs]
        mean_scores = np.mean([r["planted_scores"] for r in runs], axis=0)
        out[group] = {"auroc": float(np.mean(per_run)), "auroc_runs": per_run,
                      "auroc_of_mean_scores": auroc(mean_scores, positive),
                      "p_value": auroc_p_value(mean_scores, positive),
                      "scores": mean_scores.tolist(), "n_runs": len(runs)}
    return out


def relative_verdict(ci: Sequence[float], stated: float, n: int) -> tuple[str, str]:
    """Verdict on a claimed relative change (``stated`` %, negative = a loss) from the 95%
    interval of the measured one over ``n`` seeds: reproduced when the interval excludes 0 on
    the stated side and contains the stated value; partly when it excludes 0 on that side
    only; not testable with fewer than 2 seeds (no interval)."""
    if n < 2:
        return "not testable here", f"{n} seed gives no confidence interval"
    lo, hi = ci
    same_side = hi < 0 if stated < 0 else lo > 0
    if same_side and lo <= stated <= hi:
        return "reproduced", "the 95% interval excludes 0 and contains the stated value"
    if same_side:
        return "partly", "a change in the stated direction, but the 95% interval excludes " \
                         "the stated size"
    opposite = lo > 0 if stated < 0 else hi < 0
    if opposite:
        return "not reproduced", "a significant change in the opposite direction (the 95% " \
                                 "interval excludes 0 on the other side)"
    return "not reproduced", "the 95% interval does not exclude 0 on the stated side"


def two_difficulty_verdict(default: Mapping[str, Any], easy: Mapping[str, Any], stated: float
                           ) -> tuple[str, str, str]:
    """Verdict on a claimed relative change measured at the default and at the easier
    difficulty (paired differences as from :func:`paired`): the default difficulty's
    :func:`relative_verdict`, raised to partly when only the easier difficulty shows the
    stated direction. Returns (verdict, why at the default difficulty, easy verdict)."""
    verdict, why = relative_verdict(default["relative_percent_ci95"], stated,
                                    default["n_seeds"])
    easy_verdict, _ = relative_verdict(easy["relative_percent_ci95"], stated, easy["n_seeds"])
    if verdict == "not reproduced" and easy_verdict in ("reproduced", "partly"):
        verdict = "partly"
    return verdict, why, easy_verdict


def planted_verdict(summary: Mapping[str, Mapping[str, Any]], alpha: float = 0.05
                    ) -> tuple[str, str]:
    """Verdict on "attention reveals the interaction" from :func:`planted_summary`:
    reproduced when the trained model's planted loci score significantly higher (permutation
    p < ``alpha``) and neither control's do; partly when a control's do too (the attention
    pattern is not owed to learning the labels)."""
    trained = summary["trained"]["p_value"] < alpha
    controls = [g for g in summary if g != "trained" and summary[g]["p_value"] < alpha]
    if trained and not controls:
        return "reproduced", f"planted loci receive more attention (p < {alpha}), controls not"
    if trained:
        return "partly", (f"planted loci receive more attention (p < {alpha}), but so they do "
                          f"in the control(s) {', '.join(controls)}")
    return "not reproduced", f"planted loci do not receive more attention (p >= {alpha})"
