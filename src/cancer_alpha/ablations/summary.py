"""Chapter 6's summaries of its runs: paired differences, the attention-sparsity sweep, time to a
common validation loss, accuracy per subset of modalities and attention at the planted loci."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cancer_alpha.ablations.plan import comparisons, lambda_name, subset_key
from cancer_alpha.config import Profile
from cancer_alpha.evaluate import (
    mean_sd,
    paired_difference,
)
from cancer_alpha.interpret import auroc, auroc_p_value


def leave_one_out(accuracy: Mapping[str, float], modalities: Sequence[str]) -> dict[str, float]:
    """Importance of each modality: accuracy with all of them minus accuracy without it."""
    every = subset_key(modalities)
    return {m: float(accuracy[every] - accuracy[subset_key([n for n in modalities if n != m])])
            for m in modalities}


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


def ablation_table(rows: Sequence[Mapping[str, Any]], profile: Profile
                   ) -> dict[str, dict[str, Any]]:
    """{ablation: paired difference from its reference} for every ablation of the chapter
    whose variant and reference both have runs among ``rows``."""
    trained = {r["variant"] for r in rows}
    return {name: paired(rows, v, ref) for name, (v, ref) in comparisons(profile).items()
            if v in trained and ref in trained}


def lambda_sweep(rows: Sequence[Mapping[str, Any]], profile: Profile) -> list[dict[str, Any]]:
    """Per attention-sparsity weight: accuracy and attention entropy (mean, sd over seeds)."""
    values = sorted({*profile.ablation.lambda_grid, profile.train.attention_lambda})
    out = []
    for v in values:
        name = "full" if math.isclose(v, profile.train.attention_lambda) else lambda_name(v)
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
    "without_dropout": the same for the model trained on complete samples, "bayes"}};
    ``variants`` are (trained with modality dropout, trained on complete samples), as
    :func:`cancer_alpha.ablations.dropout_pair` names them."""
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
