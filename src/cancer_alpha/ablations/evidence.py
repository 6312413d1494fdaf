"""Chapter 6's evidence, assembled from the runs of :func:`cancer_alpha.ablations.run_all`.

The readings the chapter records (the setting of the two difficulties, the paired deltas it
glues, C07's timing and its quietness, the shares of the subset ceilings, leave-one-modality-out
points, the verdicts with the published recipe, the run record) are computed here, so that each
has a test and the chapter keeps only its calls, its display and its glue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cancer_alpha import bayes, claims, evaluate, protocol, tuning
from cancer_alpha.ablations.control import RECIPES
from cancer_alpha.ablations.plan import (
    DEFAULT,
    EASY,
    FOCAL_GAMMA,
    DifficultyData,
    difficulty_data,
    subset_key,
)
from cancer_alpha.ablations.summary import leave_one_out, paired, progressive_timing, runs_of
from cancer_alpha.config import Profile
from cancer_alpha.models import TRANSFORMER
from cancer_alpha.tables import plural

# the columns of the ablation table the chapter shows
SHOWN = ["n_seeds", "reference_accuracy_mean", "variant_accuracy_mean", "delta_points_mean",
         "delta_points_ci95", "relative_percent_mean", "relative_percent_ci95"]
HEADLINE = ("full", "no_cross_attention", "generic_encoders", "progressive")
PLANTED_SHOWN = ("auroc", "auroc_of_mean_scores", "p_value", "n_runs")
PLANTED_RECORD = ("auroc_runs", "auroc_of_mean_scores", "p_value", "n_runs")
RUN_KEYS = ("variant", "seed", "accuracy", "epochs", "best_epoch", "fit_seconds",
            "attention_entropy", "n_parameters")


@dataclass
class Setting:
    """The chapter's starting point: the published recipe, the tuned full model, the two
    difficulties and their Bayes ceilings."""

    published: Profile
    tuned: dict[str, Any]
    profile: Profile  # the full model of every ablation: the transformer, tuned
    data: dict[str, DifficultyData]
    ceilings: dict[str, dict[str, Any]]  # the default difficulty's, by modality subset
    easy_ceiling: float

    @property
    def default(self) -> DifficultyData:
        return self.data[DEFAULT]

    @property
    def easy(self) -> DifficultyData:
        return self.data[EASY]

    @property
    def joint_key(self) -> str:
        return subset_key(self.default.test.modalities)

    @property
    def ceiling(self) -> float:
        return self.ceilings[self.joint_key]["accuracy"]

    @property
    def locus_epochs(self) -> int:
        return min(self.profile.ablation.locus_max_epochs, self.profile.train.max_epochs)

    def glue(self) -> dict[str, Any]:
        ab = self.profile.ablation
        return {"n_seeds": len(ab.seeds), "seeds_words": plural(len(ab.seeds), "seed"),
                "n_train": self.default.train.n_samples, "n_test": self.default.test.n_samples,
                "effect_default": self.default.effect_size, "effect_easy": self.easy.effect_size,
                "ceiling_default": self.ceiling, "ceiling_easy": self.easy_ceiling,
                "locus_seeds": ab.locus_seeds,
                "locus_seeds_words": plural(ab.locus_seeds, "seed"),
                "locus_epochs_words": plural(self.locus_epochs, "epoch"),
                "max_epochs": self.profile.train.max_epochs}


def setting(published: Profile, results_dir: str = "results") -> Setting:
    """The chapter's setting at ``published``, with Chapter 3's tuned settings read from
    ``results_dir``."""
    tuned = tuning.tuned_settings(tuning.load(published.name, "synthetic", results_dir))
    profile = protocol.apply_settings(published, tuned[TRANSFORMER])
    data = difficulty_data(profile)
    default, easy = data[DEFAULT], data[EASY]
    ceilings = bayes.subset_ceilings(bayes.BayesClassifier(default.world), default.test)
    easy_ceiling = bayes.BayesClassifier(easy.world).score(easy.test)
    return Setting(published, tuned, profile, data, ceilings, easy_ceiling)


def recipe_table(published: Profile, tuned: Profile):
    """The training and model settings where the tuned full model differs from the published
    recipe, one column each."""
    recipe = pd.DataFrame({"published recipe": {**vars(published.train), **vars(published.model)},
                           "tuned (the full model)": {**vars(tuned.train), **vars(tuned.model)}})
    return recipe[recipe.iloc[:, 0] != recipe.iloc[:, 1]]


def fit_seconds(rows: Sequence[Mapping[str, Any]]):
    """Mean seconds per fit of each variant, in the order of the runs."""
    return pd.DataFrame(rows).groupby("variant", sort=False)["fit_seconds"].mean()


def _interval(pair: Sequence[float]) -> str:
    lo, hi = pair
    return f"[{lo:.1f}, {hi:.1f}]"


def shown_table(table: Mapping[str, Mapping[str, Any]]):
    """The ablation table as the chapter shows it, the 95% intervals written out."""
    shown = pd.DataFrame(table).T[SHOWN]
    shown["delta_points_ci95"] = [_interval(p) for p in shown["delta_points_ci95"]]
    shown["relative_percent_ci95"] = [_interval(p) for p in shown["relative_percent_ci95"]]
    return shown


def control_glue(control: Any, seeds: Sequence[int], loci: int) -> dict[str, Any]:
    """What the chapter says of the positive control's design."""
    return {"control_loci": loci,
            "control_info": max(control.single_modality_information.values()),
            "control_chance": control.chance, "control_ceiling": control.ceiling,
            "control_train": control.n_train, "control_test": control.n_test,
            "control_seeds_words": plural(len(seeds), "seed")}


def delta_glue(key: str, row: Mapping[str, Any], relative: bool = False) -> dict[str, Any]:
    """``{key}_points``, ``{key}_lo``, ``{key}_hi`` (and ``{key}_rel``) of an ablation row."""
    out = {f"{key}_points": row["delta_points_mean"], f"{key}_lo": row["delta_points_ci95"][0],
           f"{key}_hi": row["delta_points_ci95"][1]}
    if relative:
        out[f"{key}_rel"] = row["relative_percent_mean"]
    return out


def encoder_gain(rows: Sequence[Mapping[str, Any]]):
    """C09's evidence, the gain of specific over generic encoders relative to the generic ones,
    at both difficulties: (default, easy, glue)."""
    gain = paired(rows, "full", "generic_encoders")
    gain_easy = paired(rows, "full@easy", "generic_encoders@easy")
    glue = {"c09_gain": gain["relative_percent_mean"],
            "c09_gain_lo": gain["relative_percent_ci95"][0],
            "c09_gain_hi": gain["relative_percent_ci95"][1]}
    return gain, gain_easy, glue


def loss_change_words(loss: str, gamma: float = FOCAL_GAMMA) -> str:
    """What the loss ablation changes, in words."""
    return ("Cross-entropy instead of focal loss" if loss == "cross_entropy"
            else f"Focal loss (γ = {gamma:g}) instead of cross-entropy")


def time_change(timing: Any) -> tuple[dict[str, Any], int]:
    """Mean relative change of the time to the common target over the seeds where both runs
    reached it, with its 95% interval: ({"mean", "ci95"}, number of those seeds)."""
    finite = timing[np.isfinite(timing["relative_change"])]
    return {"mean": float(finite["relative_change"].mean()),
            "ci95": evaluate.t_ci95(finite["relative_change"])}, len(finite)


def progressive(rows: Sequence[Mapping[str, Any]], table: Mapping[str, Any]):
    """C07's evidence: the timing of every seed, the change and its interval, the number of
    seeds it rests on, whether the clocks were quiet, the glue and the claim's note."""
    from cancer_alpha.profiling import timings_check

    timing = pd.DataFrame(progressive_timing(rows)).set_index("seed")
    change, n = time_change(timing)
    row = table["progressive"]
    glue = {"c07_change": 100 * change["mean"], "c07_lo": 100 * change["ci95"][0],
            "c07_hi": 100 * change["ci95"][1], "c07_acc_points": row["delta_points_mean"]}
    # whether the runs' clocks were disturbed: every joint-training epoch of the end-to-end and
    # progressive runs does the same work, so their epoch times should agree
    quiet = timings_check(
        "epochs of the end-to-end and progressive runs",
        [[r["seconds"] for r in fit["history"]] for v in ("full", "progressive")
         for fit in runs_of(rows, v).values()])
    note = (f"CPU, pre-training counted; final accuracy {row['delta_points_mean']:.1f} points "
            f"[{row['delta_points_ci95'][0]:.1f}, {row['delta_points_ci95'][1]:.1f}] "
            f"vs end-to-end")
    return timing, change, n, quiet, glue, note


def subset_shares(subsets: Mapping[str, Mapping[str, float]], joint_key: str):
    """The model's share of the Bayes ceiling with all modalities and at its worst subset:
    (share with all, share at the worst, the worst subset)."""
    share = {k: v["model"] / v["bayes"] for k, v in subsets.items()}
    worst = min(share, key=share.get)
    return share[joint_key], share[worst], worst


def share_glue(subsets: Mapping[str, Mapping[str, float]], joint_key: str) -> dict[str, Any]:
    """:func:`subset_shares` as the chapter states them."""
    share_all, share_worst, worst = subset_shares(subsets, joint_key)
    return {"share_all": share_all, "share_worst": share_worst, "worst_subset": worst}


def leave_one_out_points(subsets: Mapping[str, Mapping[str, float]],
                         modalities: Sequence[str]):
    """Accuracy points lost when each modality is left out: (model, Bayes)."""
    return tuple({m: 100 * v for m, v in leave_one_out(
        {k: v[who] for k, v in subsets.items()}, modalities).items()}
        for who in ("model", "bayes"))


def planted_table(planted: Mapping[str, Mapping[str, Any]], keys=PLANTED_SHOWN):
    """One row per model group (trained, shuffled, untrained) of the planted-locus AUROC."""
    return pd.DataFrame({g: {k: v[k] for k in keys} for g, v in planted.items()}).T


def published_side(published_table: Mapping[str, Any], table: Mapping[str, Any]):
    """The headline ablations with the published recipe beside the tuned ones."""
    return pd.DataFrame({
        "published recipe (points)": {k: v["delta_points_mean"]
                                      for k, v in published_table.items()},
        "tuned (points)": {k: table[k]["delta_points_mean"] for k in published_table},
        "published recipe (%)": {k: v["relative_percent_mean"]
                                 for k, v in published_table.items()},
        "tuned (%)": {k: table[k]["relative_percent_mean"] for k in published_table},
    })


def published_verdicts(published_rows: Sequence[Mapping[str, Any]],
                       published_table: Mapping[str, Any]) -> dict[str, Any]:
    """The judgements of C07, C08 and C09 on the runs with the published recipe."""
    timing = pd.DataFrame(progressive_timing(published_rows))
    change, n = time_change(timing)
    return {
        "C07": claims.judge_c07(change["mean"], change["ci95"], n),
        "C08": claims.judge_c08(published_table["no_cross_attention"],
                                published_table["no_cross_attention@easy"]),
        "C09": claims.judge_c09(paired(published_rows, "full", "generic_encoders"),
                                paired(published_rows, "full@easy", "generic_encoders@easy")),
    }


def rule_verdicts(judged: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The verdict each claim's rule gave, from the claims a run judged
    (:attr:`cancer_alpha.results.Run.claims`)."""
    return {c["id"]: c["rule_verdict"] for c in judged.values()}


def verdict_changes(published: Mapping[str, Any], tuned: Mapping[str, str]) -> str:
    """A Markdown list: each claim's verdict with the tuned full model and with the published
    recipe."""
    return "\n".join(
        f"- {cid}: {tuned[cid]} with the tuned full model, {j.verdict} with the "
        f"published recipe" + (" (the same)" if j.verdict == tuned[cid] else "")
        for cid, j in published.items())


def record(s: Setting, *, control: Any, control_seeds: Sequence[int], control_words: str,
           table: Any, published_table: Any,
           verdicts: Mapping[str, Any], gain: Any, gain_easy: Any, sweep: Any, timing: Any,
           subsets: Any, lomo: tuple[Any, Any], planted: Mapping[str, Any],
           rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The chapter's run record, key by key, in the order it is written."""
    return {
        "ablation_reference": "tuned",
        "positive_control": {
            "ceiling": control.ceiling, "chance": control.chance,
            "single_modality_information": control.single_modality_information,
            "pair_ceilings": control.pair_ceilings, "n_train": control.n_train,
            "n_test": control.n_test, "seeds": control_seeds,
            "models": {recipe: control.table(recipe).to_dict(orient="index")
                       for recipe in control.recipes},
            "reverts": control.reverts, "best_epochs": control.best_epochs(),
            "reading": control_words},
        "full_model_settings": s.tuned[TRANSFORMER],
        "ablations": table,
        "ablations_published_recipe": published_table,
        "published_recipe_verdicts": {k: j.verdict for k, j in verdicts.items()},
        "c09_gain_over_generic": {"default": gain, "easy": gain_easy},
        "lambda_sweep": sweep,
        "progressive_timing": timing.reset_index().to_dict(orient="list"),
        "subset_accuracy": subsets,
        "leave_one_modality_out_points": {"model": lomo[0], "bayes": lomo[1]},
        "attention_planted_auroc": {g: v["auroc"] for g, v in planted.items()},
        "attention_planted": {g: {k: v[k] for k in PLANTED_RECORD} for g, v in planted.items()},
        "joint_loci": s.default.joint_loci,
        "bayes_accuracy": {"default": s.ceiling, "easy": s.easy_ceiling},
        "effect_sizes": {"default": s.default.effect_size, "easy": s.easy.effect_size},
        "runs": [{k: r[k] for k in RUN_KEYS} for r in rows],
    }


def positive_control(published: Profile, tuned: Mapping[str, Any]):
    """The positive control of the interaction world, every control model under the
    published recipe and with its tuned settings over the first ``ablation.control_seeds``
    seeds, and the tuned transformer with one setting at a time put back to the published
    value: (result, seeds, the table of each of the two recipes, glue)."""
    from cancer_alpha.ablations.control import positive_control as run_control

    ab = published.ablation
    seeds = list(ab.seeds[:ab.control_seeds])
    control = run_control(published, ab.control_models, seeds, settings=tuned,
                          n_jobs=published.evaluation.n_jobs, transformer=TRANSFORMER)
    # the reverts have a table of their own (ablations.revert_table)
    tables = {recipe: control.table(recipe) for recipe in RECIPES if recipe in control.recipes}
    return control, seeds, tables, control_glue(control, seeds, ab.control_joint_loci)


def pair_glue(table: Mapping[str, Any], names: Mapping[str, str],
              relative: bool = False) -> dict[str, Any]:
    """:func:`delta_glue` of several ablations: ``names`` maps each glue prefix to its row."""
    return {k: v for key, name in names.items()
            for k, v in delta_glue(key, table[name], relative).items()}


def difficulty_note(easy: DifficultyData, control_words: str) -> str:
    """The note of C08's and C09's verdicts: the easier difficulty and the positive control."""
    return (f"easier difficulty: effect size {easy.effect_size:.2f}; positive control: "
            f"{control_words}")


def dropout_rate(profile: Profile, pair: Sequence[str]) -> float:
    """The modality dropout of the model of the missing-modality comparison that trains with
    it: the full model's own when it does, otherwise the ablation's."""
    return (profile.train.modality_dropout if pair[0] == "full"
            else profile.ablation.modality_dropout)


def planted_glue(planted: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The AUROC of every model group and the trained model's permutation p-value."""
    glue = {f"auroc_{group}": v["auroc"] for group, v in planted.items()}
    glue["auroc_p"] = planted["trained"]["p_value"]
    return glue


def c10_note(locus_epochs: int, planted: Mapping[str, Mapping[str, Any]],
             control_words: str) -> str:
    return (f"locus-token model capped at {plural(locus_epochs, 'epoch')}, "
            f"{plural(int(planted['trained']['n_runs']), 'seed')}; positive control: "
            f"{control_words}")
