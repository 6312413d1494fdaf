"""The evidence of Chapters 4 and 5, assembled from the comparison protocol
(:mod:`cancer_alpha.protocol`).

Chapter 4 trains every model twice (the published recipe and the tuned settings) on the same
folds and seeds and reads the result beside the Bayes ceiling. The readings it records (the
standing of the models, the convergence of the transformer, where the errors are, the
clustering of the encoded features, the attention shares, the negative control, the strongest
signal) are computed here, so that each has a test and the chapter keeps only its calls, its
display and its glue. Chapter 5 checks the comparison's fairness from the same starting point
(:func:`setting`): the rules that give neural models every training sample, the tuning budget
(against Chapter 4's tuned table, read from its record) and the training-size curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import bayes, evaluate, interpret, protocol, results, synth, tuning
from .baselines import ENSEMBLE
from .config import Profile
from .data import MultiOmicsData
from .models import TRANSFORMER
from .tables import plural

PUBLISHED, TUNED = "published recipe", "tuned"
CHAPTER = "04_training"  # the chapter whose tables Chapter 5 reads back
# the columns of the comparison tables the chapter shows
COLUMNS = ["accuracy_mean", "accuracy_sd", "share_of_ceiling", "cv_accuracy_mean",
           "precision_macro_mean", "recall_macro_mean", "f1_macro_mean", "roc_auc_macro_mean",
           "ece_mean", "n_runs"]
# the columns of each model the run record keeps
RECORD_KEYS = ["accuracy_mean", "accuracy_sd", "f1_macro_mean", "roc_auc_macro_mean",
               "ece_mean", "fit_seconds_mean", "n_runs"]
RULE_MODELS = ["early_fusion_mlp", TRANSFORMER]  # the two cheapest neural models
CONTROL_MODELS = ["logistic_regression", "early_fusion_mlp", TRANSFORMER]
CONTROL_SEED = 12345  # the permutation of the labels of the negative control
HEALTHY = 0  # the first class is the healthy one (tumour fraction 0), as the generator defines


@dataclass
class Setting:
    """What every section of the chapter starts from: the cohorts, the tuned settings, the
    Bayes ceiling of the held-out cohort (with its 95% interval) and the chance level."""

    profile: Profile
    tuned: dict[str, Any]
    world: Any
    train_cohort: Any
    test_cohort: Any
    ceiling: float
    ceiling_ci: Any
    chance: float
    analyse: Any
    studies: dict[str, Any]  # Chapter 3's study summaries by model (best value, settings)

    @property
    def train(self) -> MultiOmicsData:
        return self.train_cohort.data

    @property
    def test(self) -> MultiOmicsData:
        return self.test_cohort.data

    def glue(self) -> dict[str, Any]:
        ev = self.profile.evaluation
        return {"ceiling": self.ceiling, "n_train": self.train.n_samples,
                "n_test": self.test.n_samples, "n_seeds": len(ev.seeds),
                "seeds_words": plural(len(ev.seeds), "seed"), "n_folds": ev.n_folds,
                "max_epochs": self.profile.train.max_epochs,
                "patience": self.profile.train.patience}


def setting(profile: Profile, results_dir: str = "results") -> Setting:
    """The chapter's starting point at ``profile``, with Chapter 3's tuned settings read from
    ``results_dir``."""
    studies = tuning.load(profile.name, "synthetic", results_dir)
    tuned = tuning.tuned_settings(studies)
    world = synth.World.from_config(profile.cohort)
    train_cohort, test_cohort = synth.standard_cohorts(profile)
    test_data = test_cohort.data
    ceiling = bayes.BayesClassifier(world).score(test_data)
    ceiling_ci = evaluate.wilson_ci95(round(ceiling * test_data.n_samples), test_data.n_samples)
    chance = chance_level(test_data.y)
    analyse = interpret.NeuralAnalysis(n=profile.evaluation.analysis_samples)
    return Setting(profile, tuned, world, train_cohort, test_cohort, ceiling, ceiling_ci,
                   chance, analyse, studies)


def chance_level(y: np.ndarray) -> float:
    """The accuracy of always predicting the most frequent class."""
    return float(np.bincount(y).max() / len(y))


def compare_recipes(s: Setting, models: Sequence[str] | None = None):
    """Every model cross-validated with the published recipe and with its tuned settings,
    scored on the held-out cohort: (published fits, tuned fits, {recipe: comparison table})."""
    ev = s.profile.evaluation
    models = list(ev.models if models is None else models)
    fits = protocol.cross_validate(s.train, s.profile, models, evals={"test": s.test},
                                   keep_proba=True, analyse=s.analyse, n_jobs=ev.n_jobs)
    tuned_fits = protocol.cross_validate(s.train, s.profile, models, evals={"test": s.test},
                                         keep_proba=True, analyse=s.analyse, n_jobs=ev.n_jobs,
                                         settings=s.tuned, recipe="tuned")
    tables = {PUBLISHED: protocol.comparison_table(fits, s.ceiling),
              TUNED: protocol.comparison_table(tuned_fits, s.ceiling)}
    return fits, tuned_fits, tables


@dataclass
class Standings:
    """The standing of the models with each recipe, and what the chapter glues of it."""

    before: protocol.Standing
    after: protocol.Standing
    transformer_gap: float  # points of the tuned transformer below the best tuned classical
    glue: dict[str, Any]

    def changes(self) -> list[str]:
        return protocol.changed_conclusions(self.before, self.after)

    def changes_markdown(self) -> str:
        return "\n".join(f"- {line}" for line in self.changes())


def standings(tables: Mapping[str, Any], ceiling: float,
              transformer: str = TRANSFORMER) -> Standings:
    """The best model, the best neural and classical ones and the transformer's rank, with the
    published recipe and tuned, from the two comparison tables."""
    published, tuned_table = tables[PUBLISHED], tables[TUNED]
    before, after = protocol.standing(published), protocol.standing(tuned_table)
    glue: dict[str, Any] = {}
    for key, s in (("pub", before), ("tuned", after)):
        glue[f"best_model_{key}"] = s.best
        glue[f"best_acc_{key}"] = s.best_accuracy
        glue[f"best_neural_{key}"] = s.best_neural
        glue[f"best_neural_acc_{key}"] = s.best_neural_accuracy
        glue[f"mmt_rank_{key}"] = s.transformer_rank
        glue[f"mmt_minus_lr_{key}"] = s.transformer_minus_logistic
    glue["n_models"] = after.n_models
    glue["best_neural_gap"] = 100 * (ceiling - after.best_neural_accuracy)
    glue["mmt_acc_pub"] = published.loc[transformer, "accuracy_mean"]
    glue["mmt_acc_tuned"] = tuned_table.loc[transformer, "accuracy_mean"]
    glue["best_classical_tuned"] = after.best_classical
    glue["best_classical_acc_tuned"] = after.best_classical_accuracy
    gap = 100 * (after.best_classical_accuracy - tuned_table.loc[transformer, "accuracy_mean"])
    glue["mmt_classical_gap"] = gap
    return Standings(before, after, gap, glue)


def fold_sizes(n_samples: int, n_folds: int, val_fraction: float) -> tuple[int, int]:
    """(samples of a training fold, of them those a neural model learns from when the
    validation part is kept out for good)."""
    n_fold = int(round(n_samples * (1 - 1 / n_folds)))
    return n_fold, n_fold - int(round(n_fold * val_fraction))


def full_data_rules(s: Setting, models: Sequence[str] = tuple(RULE_MODELS)):
    """Hold-out, refit and bagging compared on the whole training cohort with the tuned
    settings: (rows, table, gains, glue)."""
    ev = s.profile.evaluation
    rows = pd.DataFrame(protocol.full_data_rules(
        s.train, s.test, s.profile, list(models), seeds=ev.seeds[:ev.rule_seeds],
        n_jobs=ev.n_jobs, settings=s.tuned))
    n_fold, n_holdout = fold_sizes(s.train.n_samples, ev.n_folds, s.profile.train.val_fraction)
    glue = {"bag_k": protocol.BAG_K, "rule_seeds_words": plural(ev.rule_seeds, "seed"),
            "n_fit_fold": n_fold, "n_fit_holdout": n_holdout}
    return rows, protocol.rules_table(rows), protocol.rule_gains(rows), glue


def mlp_versus_sklearn(tables: Mapping[str, Any], model: str = "early_fusion_mlp",
                       reference: str = "sklearn_mlp",
                       studies: Mapping[str, Mapping[str, Any]] | None = None):
    """The book's MLP against scikit-learn's, tuned and published: (tuned Versus, published
    Versus, the sentence, the side-by-side table). With ``studies`` (Chapter 3's study
    summaries by model), the table gains each tuned study's best mean inner-fold log-loss,
    the quantity the studies minimised, and the sentence says whether that objective and the
    held-out accuracy rank the two models alike."""
    mlp = protocol.versus(tables[TUNED], model, reference)
    mlp_pub = protocol.versus(tables[PUBLISHED], model, reference)
    words = (f"{mlp.words} with tuned settings; with the published recipe and "
             f"scikit-learn's defaults it {mlp_pub.words}.")
    table = pd.DataFrame({r: t.loc[[model, reference],
                                   ["accuracy_mean", "accuracy_sd", "n_runs"]].stack()
                          for r, t in tables.items()}).unstack()
    if studies is not None and model in studies and reference in studies:
        losses = {m: float(studies[m]["best_value"]) for m in (model, reference)}
        table[(TUNED, "inner_log_loss")] = pd.Series(losses)
        lower = losses[model] < losses[reference]
        level = abs(mlp.delta_points) <= mlp.margin_points
        words += (f" On the objective of Chapter 3's studies, the mean inner-fold log-loss, "
                  f"its study reached {losses[model]:.3f} against {losses[reference]:.3f}")
        if level or (mlp.delta_points > 0) == lower:
            words += "."
        elif lower:
            words += (": it did better on the quantity it was tuned for and worse in held-out "
                      "accuracy, so what separates them is what that objective rewards, not "
                      "how the network is trained.")
        else:
            words += (": it did worse on the quantity it was tuned for and better in held-out "
                      "accuracy.")
    return mlp, mlp_pub, words, table


def recorded_table(profile_name: str, results_dir: str = "results") -> Any:
    """Chapter 4's table of the tuned settings, read back from its run record: one row per
    model, the columns of ``RECORD_KEYS``. Raises FileNotFoundError naming the command that
    writes the record when Chapter 4 has not run at this profile."""
    models = results.load(profile_name, CHAPTER, results_dir)["metrics"]["models_tuned"]
    return pd.DataFrame.from_dict(models, orient="index")[RECORD_KEYS]


def budget_sensitivity(s: Setting, tuned_table: Any, results_dir: str = "results"):
    """The models Chapter 3 tuned longer, trained with the longer study's settings and set
    beside the equal-budget ones (:func:`cancer_alpha.protocol.budget_table`)."""
    ev = s.profile.evaluation
    extended = tuning.tuned_settings(tuning.load(s.profile.name, "synthetic_extended",
                                                 results_dir))
    fits = protocol.cross_validate(s.train, s.profile, list(extended), evals={"test": s.test},
                                   n_jobs=ev.n_jobs, settings=extended, recipe="extended")
    return protocol.budget_table(tuned_table, protocol.comparison_table(fits, s.ceiling),
                                 s.profile.tuning.n_trials, s.profile.tuning.sensitivity_trials)


def budget_glue(profile: Profile, budget: Any) -> dict[str, Any]:
    """The budget check as the chapter states it: both trial counts and the table's reading."""
    return {"sensitivity_trials": profile.tuning.sensitivity_trials,
            "n_trials": profile.tuning.n_trials, "budget_words": budget.attrs["words"]}


SHARE = "transformer's share of the ceiling"


def fit_seconds(tables: Mapping[str, Any]) -> Any:
    """Mean seconds per fit of every model, a column per recipe."""
    return pd.DataFrame({recipe: t["fit_seconds_mean"] for recipe, t in tables.items()})


def subset_glue(table: Any, worst: str) -> dict[str, Any]:
    """The subset of modalities where the transformer reaches the least of the ceiling, and
    that share (:func:`modality_subsets`)."""
    return {"worst_subset": worst, "worst_share": table.loc[worst, SHARE]}


def control_glue(table: Any, chance: float) -> dict[str, float]:
    """The label-permutation control as the chapter states it: the best accuracy any model
    reaches on permuted labels, beside chance."""
    return {"control_acc": float(table["accuracy_mean"].max()), "chance": chance}


def subset_table(scores: Any, ceilings: Mapping[str, Mapping[str, float]],
                 subsets: Sequence[Sequence[str]], transformer: str = TRANSFORMER):
    """Accuracy by modality subset (rows, in the order of ``subsets``) and model, beside the
    Bayes ceiling of the subset and the transformer's share of it."""
    table = pd.DataFrame(scores).pivot(index="subset", columns="model", values="accuracy")
    table = table.loc[["+".join(s) for s in subsets]]
    table["Bayes ceiling"] = [ceilings[k]["accuracy"] for k in table.index]
    table[SHARE] = table[transformer] / table["Bayes ceiling"]
    return table


def modality_subsets(s: Setting, best_classical: str):
    """Each modality alone and all together, for the tuned transformer and ``best_classical``:
    (table, the subset where the transformer's share of the ceiling is lowest)."""
    train = s.train
    single = [[m] for m in train.modalities] + [list(train.modalities)]
    scores = protocol.modality_subset_scores(
        train, s.test, s.profile, [TRANSFORMER, best_classical], single,
        seed=s.profile.evaluation.seeds[0], n_jobs=s.profile.evaluation.n_jobs,
        settings=s.tuned)
    ceilings = bayes.subset_ceilings(bayes.BayesClassifier(s.world), s.test)
    table = subset_table(scores, ceilings, single)
    return table, table[SHARE].idxmin()


@dataclass
class Convergence:
    """Claim C02's evidence: the transformer's epochs to its best validation loss (published
    recipe), the share of its runs early stopping ended, its accuracy sd across runs."""

    epochs: dict[str, list[int]]  # every neural model's, published recipe
    transformer_epochs: np.ndarray
    stopped: float
    accuracy_sd: float
    tuned_median: float

    def glue(self) -> dict[str, Any]:
        e = self.transformer_epochs
        return {"c02_tuned_median": self.tuned_median, "c02_median": float(np.median(e)),
                "c02_min": int(e.min()), "c02_max": int(e.max()),
                "c02_stopped": 100 * self.stopped, "c02_sd": 100 * self.accuracy_sd}


def convergence(fits: Sequence[protocol.Fit], tuned_fits: Sequence[protocol.Fit],
                published: Any, max_epochs: int, model: str = TRANSFORMER) -> Convergence:
    epochs = protocol.best_epochs(fits)
    stopped = np.mean([f.epochs < max_epochs for f in fits if f.model == model])
    tuned_epochs = np.array(protocol.best_epochs(tuned_fits)[model])
    return Convergence(epochs, np.array(epochs[model]), stopped,
                       published.loc[model, "accuracy_sd"], float(np.median(tuned_epochs)))


def first_run(fits: Sequence[protocol.Fit], model: str, seed: int) -> protocol.Fit:
    """The fit of ``model`` on the first fold of ``seed``."""
    return next(f for f in fits if f.model == model and f.seed == seed and f.fold == 0)


def bayes_misses(y: np.ndarray, predicted: np.ndarray, tumour_fraction: np.ndarray,
                 healthy: int = HEALTHY) -> dict[str, float]:
    """Of the Bayes classifier's errors, the share (%) that are cancers called healthy, and the
    median tumour fraction of those missed cancers and of the cancers classified correctly."""
    errors = predicted != y
    missed = errors & (y != healthy) & (predicted == healthy)
    cancer = y != healthy
    return {"bayes_missed_share": 100 * missed.sum() / max(errors.sum(), 1),
            "missed_fraction": float(np.median(tumour_fraction[missed]))
            if missed.any() else float("nan"),
            "found_fraction": float(np.median(tumour_fraction[cancer & ~errors]))}


def clustering(s: Setting, tuned_fits: Sequence[protocol.Fit]):
    """How well k-means recovers the classes from each model's encoded features, from the raw
    features and from the Bayes posterior, on the samples NeuralAnalysis keeps (the first ones
    of the held-out cohort): (table, those samples)."""
    n_embed = min(s.profile.evaluation.analysis_samples, s.test.n_samples)
    head = s.test.subset(np.arange(n_embed))
    references = {"raw features": head.flat(),  # standardised like the models' inputs
                  "Bayes posterior": bayes.BayesClassifier(s.world).predict_proba(head)}
    return evaluate.clustering_table(tuned_fits, head.y, references, seed=0), head


def embedding_map(s: Setting, tuned_fits: Sequence[protocol.Fit], model: str = TRANSFORMER):
    """The t-SNE map of ``model``'s fused representation in its first run (first seed, first
    fold), on the samples NeuralAnalysis keeps: (coordinates, their classes)."""
    emb = first_run(tuned_fits, model, s.profile.evaluation.seeds[0]).extras["embedding"]
    return evaluate.tsne(emb, seed=0), s.test.y[: len(emb)]


def clustering_glue(clusters: Any, model: str = TRANSFORMER) -> dict[str, float]:
    return {"ari_mmt": clusters.loc[model]["kmeans_ari_mean"],
            "ari_raw": clusters.loc["raw features"]["kmeans_ari_mean"],
            "ari_bayes": clusters.loc["Bayes posterior"]["kmeans_ari_mean"],
            "sil_mmt": clusters.loc[model]["silhouette_mean"]}


def c11_inputs(clusters: Any, model: str = TRANSFORMER) -> tuple[float, float, float, float]:
    """The arguments of :func:`cancer_alpha.claims.judge_c11`: the model's ARI (mean, sd), its
    silhouette and the ARI of the raw features."""
    row = clusters.loc[model]
    return (row["kmeans_ari_mean"], row["kmeans_ari_sd"], row["silhouette_mean"],
            clusters.loc["raw features"]["kmeans_ari_mean"])


def share_stats(shares: Mapping[str, Mapping[str, Sequence[float]]]):
    """{model: {modality: [mean %, sd %]}} of the attention shares of every run."""
    return {m: {k: [100 * x for x in evaluate.mean_sd(v)] for k, v in s.items()}
            for m, s in shares.items()}


def share_table(stats: Mapping[str, Mapping[str, Sequence[float]]]):
    """One row per model, one 'mean ± sd' column per modality."""
    return pd.DataFrame({m: {k: f"{mean:.1f} ± {sd:.1f}" for k, (mean, sd) in s.items()}
                         for m, s in stats.items()}).T


def top_modalities(importance: Mapping[str, np.ndarray], k: int = 20) -> str:
    """How many of the ``k`` most important features each modality holds, e.g. 'cna 12, ...'."""
    top = pd.Series(importance["modality"][np.argsort(-importance["importance_mean"])[:k]])
    return ", ".join(f"{m} {n}" for m, n in top.value_counts().items())


def feature_importance(s: Setting, model: str, head: MultiOmicsData):
    """Permutation importance on ``head`` (the first held-out samples) of ``model`` trained
    with its tuned settings on the whole training cohort, first seed."""
    ev = s.profile.evaluation
    fitted = protocol.train_model(model, s.train, s.profile, ev.seeds[0],
                                  settings=s.tuned.get(model))
    return evaluate.permutation_importance(fitted.predict_proba, head,
                                           n_repeats=ev.importance_repeats, seed=0)


def shuffle_labels(data: MultiOmicsData, seed: int = CONTROL_SEED) -> MultiOmicsData:
    """A copy of ``data`` whose labels are permuted at random."""
    shuffled = data.subset(np.arange(data.n_samples))
    shuffled.y = np.random.default_rng(seed).permutation(data.y)
    return shuffled


def label_control(s: Setting, models: Sequence[str] = tuple(CONTROL_MODELS)):
    """The negative control: ``models`` trained on shuffled labels (tuned, first seed) and
    scored on the held-out cohort: a table of accuracy and ROC AUC by model."""
    ev = s.profile.evaluation
    control = protocol.cross_validate(shuffle_labels(s.train), s.profile, list(models),
                                      evals={"test": s.test}, seeds=ev.seeds[:1],
                                      n_jobs=ev.n_jobs, settings=s.tuned, recipe="tuned")
    return pd.DataFrame(protocol.summary(control, "test")).T[["accuracy_mean",
                                                              "roc_auc_macro_mean"]]


@dataclass
class Strongest:
    """The tuned ensemble at the strongest signal the generator allows."""

    effect_size: float
    ceiling: float
    accuracy: float

    def record(self) -> dict[str, float]:
        return {"effect_size": self.effect_size, "bayes_accuracy": self.ceiling,
                ENSEMBLE: self.accuracy}

    def glue(self, tables: Mapping[str, Any]) -> dict[str, float]:
        """The ensemble's accuracy tuned and published at the default difficulty, beside the
        strongest signal's ceiling and accuracy."""
        return {"ensemble_acc": tables[TUNED].loc[ENSEMBLE, "accuracy_mean"],
                "ensemble_acc_pub": tables[PUBLISHED].loc[ENSEMBLE, "accuracy_mean"],
                "strongest_effect": self.effect_size, "strongest_ceiling": self.ceiling,
                "strongest_ensemble": self.accuracy}

    def note(self, ceiling: float) -> str:
        """The note of C12's verdict."""
        return (f"Bayes ceiling {ceiling:.3f} at the default difficulty; at effect size "
                f"{self.effect_size:.2f} the ceiling is {self.ceiling:.3f} "
                f"and the ensemble reaches {self.accuracy:.3f}")


def strongest_signal(profile: Profile, tuned: Mapping[str, Any]) -> Strongest:
    cfg = profile.replace(cohort={"effect_size": profile.cohort.strongest_effect_size})
    world = synth.World.from_config(cfg.cohort)
    train, test = synth.standard_cohorts(cfg)
    ceiling = bayes.BayesClassifier(world).score(test.data)
    fits = protocol.cross_validate(train.data, cfg, [ENSEMBLE], evals={"test": test.data},
                                   seeds=profile.evaluation.seeds[:1],
                                   n_jobs=profile.evaluation.n_jobs, settings=tuned,
                                   recipe="tuned")
    return Strongest(cfg.cohort.effect_size, ceiling,
                     protocol.summary(fits, "test")[ENSEMBLE]["accuracy_mean"])


def size_curve(s: Setting):
    """Held-out accuracy against the number of training samples for the profile's curve
    models (tuned), on samples drawn from the generator: one row per fit."""
    ev = s.profile.evaluation
    pool = s.world.sample(max(ev.curve_sizes), seed=ev.data_seed + 3).data
    return pd.DataFrame(protocol.training_size_curve(
        pool, s.test, s.profile, list(ev.curve_models), ev.curve_sizes,
        seeds=ev.seeds[:ev.curve_seeds], n_jobs=ev.n_jobs, settings=s.tuned,
        all_seeds_up_to=ev.curve_all_seeds_up_to, max_size=ev.curve_max_size))


def curve_glue(curve: Any, models: Sequence[str], caps: Mapping[str, int], seeds: int,
               all_seeds_up_to: int, epoch_samples: int = 0) -> dict[str, Any]:
    """What the chapter says of the curve's design: its models, its compute caps, its sizes
    and the largest epoch of a neural model (``train.epoch_samples``; 0: a whole pass)."""
    models = list(models)
    sizes = curve.pivot_table(index="n_train", columns="model", values="accuracy").index
    capped = [int(n) for n in sizes if epoch_samples and n > epoch_samples]
    epoch_words = (f"A neural model's epoch (the unit of early stopping) covers at most "
                   f"{epoch_samples:,} training samples, drawn afresh each epoch: at "
                   f"{capped[0]:,} samples and above an epoch is not a whole pass, and a fit "
                   f"costs what one at {epoch_samples:,} samples costs per epoch."
                   if capped else "An epoch is a whole pass over the training samples.")
    return {"curve_epoch_words": epoch_words,
            "curve_model_words": ", ".join(models[:-1]) + " and " + models[-1],
            "curve_cap_words": "A compute cap: " + "; ".join(
                f"{m} is fitted up to {n:,} samples only" for m, n in caps.items())
            + " (its fits cost far more than the others' above that size; a dash in the "
              "table)." if caps else "Every model is fitted at every size.",
            "curve_small": int(sizes.min()), "curve_large": int(sizes.max()),
            "curve_seeds": seeds, "curve_all_seeds_up_to": all_seeds_up_to}


def profile_curve_glue(curve: Any, profile: Profile) -> dict[str, Any]:
    """:func:`curve_glue` with the curve's design read from ``profile``."""
    ev = profile.evaluation
    return curve_glue(curve, ev.curve_models, dict(ev.curve_max_size), ev.curve_seeds,
                      ev.curve_all_seeds_up_to, profile.train.epoch_samples)


def curve_summary(reading: protocol.CurveReading) -> str:
    """The curve's end in one sentence: the best model at the largest size and the curve's
    model (the transformer), each with its distance from the ceiling in points."""
    f = reading.facts
    model, gaps = f["model"], f["gaps_to_ceiling_points"]
    at = f["largest_of_each"][model]
    return (f"at {f['largest']:,} training samples the best model, {f['best_at_largest']}, is "
            f"{f['gap_to_ceiling_points']:.1f} points below the Bayes ceiling; {model} is "
            f"{gaps[model]:.1f} points below it" + ("" if at == f["largest"] else
                                                    f" at {at:,}") + ".")


def curve_table(curve: Any, ceiling: float):
    """Accuracy by training size (rows) and model, with the seeds drawn at each size and the
    Bayes ceiling."""
    shown = curve.pivot_table(index="n_train", columns="model", values="accuracy")
    shown["seeds"] = curve.groupby("n_train")["seed"].nunique()
    shown["Bayes ceiling"] = ceiling
    return shown


def record(s: Setting, tables: Mapping[str, Any], st: Standings, *, subsets: Any,
           convergence: Convergence, clusters: Any, shares: Mapping[str, Any],
           control: Any, mlp: Any, mlp_pub: Any, strongest: Strongest) -> dict[str, Any]:
    """Chapter 4's run record, key by key, in the order it is written."""
    return {
        "bayes_accuracy": s.ceiling,
        "bayes_accuracy_ci95": s.ceiling_ci,
        "models": {m: {k: float(tables[PUBLISHED].loc[m, k]) for k in RECORD_KEYS}
                   for m in tables[PUBLISHED].index},
        "models_tuned": {m: {k: float(tables[TUNED].loc[m, k]) for k in RECORD_KEYS}
                         for m in tables[TUNED].index},
        "share_of_ceiling": {r: t["share_of_ceiling"].to_dict() for r, t in tables.items()},
        "cv_accuracy": {r: t["cv_accuracy_mean"].to_dict() for r, t in tables.items()},
        "changed_conclusions": st.changes(),
        "transformer_vs_best_classical_points": st.transformer_gap,
        "modality_subsets": subsets.to_dict(orient="index"),
        "epochs_to_best": convergence.epochs,
        "clustering": clusters.to_dict(orient="index"),
        "attention_shares": {m: {k: [float(x) for x in v] for k, v in sh.items()}
                             for m, sh in shares.items()},
        "permuted_label_accuracy": control["accuracy_mean"].to_dict(),
        "mlp_vs_sklearn": {"tuned": vars(mlp), "published": vars(mlp_pub)},
        "strongest_signal": strongest.record(),
    }


def checks_record(*, rules: Any, gains: Any, budget: Any, curve: Any,
                  reading: Any) -> dict[str, Any]:
    """Chapter 5's run record, key by key, in the order it is written: the full-data rules,
    the budget check and the training-size curve."""
    return {
        "full_data_rules": rules.to_dict(orient="list"),
        "full_data_gains": gains,
        "budget_sensitivity": budget.to_dict(orient="index"),
        "budget_ranking_changed": budget.attrs["ranking_changed"],
        "training_size_curve": curve.to_dict(orient="list"),
        "training_size_reading": reading.facts,
    }
