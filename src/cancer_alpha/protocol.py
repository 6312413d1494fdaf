"""The comparison protocol: every model on the same stratified folds and the same seeds.

One :class:`Fit` per (model, seed, fold): the model is trained on the fold's training part
(a neural model holds out a stratified validation part of it to choose its number of epochs,
then learns from the whole training part for that many: ``train.full_data``) and scored on the
fold's held-out part ("cv") and on any further evaluation sets (e.g. a large "test" cohort from
the same generator). Nothing is fitted or selected on the evaluated samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .baselines import BASELINES, CLASSICAL, fit_baseline, predict_proba
from .config import Profile
from .data import MultiOmicsData, stratified_folds
from .evaluate import classification_metrics, mean_sd

# the settings of one model, on top of the profile: {"train": {...}, "model": {...}} for a
# neural model (TrainConfig and ModelConfig fields), {"estimator": {...}} for a classical one
# (see baselines.make_baseline), and for the voting ensemble {member: that member's settings}
Settings = dict[str, dict[str, Any]]


def apply_settings(profile: Profile, settings: Settings | None) -> Profile:
    """The profile with a neural model's settings (``train`` and ``model``) in place."""
    import math

    sections = {k: dict(v) for k, v in (settings or {}).items() if k in ("train", "model") and v}
    if "d_model" in sections.get("model", {}):
        # heads must divide the width: the profile's heads where they do, else fewer
        width = sections["model"]["d_model"]
        sections["model"]["n_heads"] = math.gcd(width, profile.model.n_heads)
    return profile.replace(**sections) if sections else profile


def estimator_params(name: str, settings: Settings | None) -> dict[str, Any]:
    """The keyword settings of classical model ``name`` (see baselines.make_baseline)."""
    settings = settings or {}
    if name == "voting_ensemble":
        members = {m: dict(v.get("estimator", {})) for m, v in settings.items()
                   if m in BASELINES}
        return {"members": members} if members else {}
    return dict(settings.get("estimator", {}))


@dataclass
class Trained:
    """A trained model of either kind: a scikit-learn pipeline or a neural FittedModel."""

    name: str
    model: Any
    n_classes: int
    seconds: float

    @property
    def neural(self) -> bool:
        return self.name not in BASELINES

    def predict_proba(self, data: MultiOmicsData) -> np.ndarray:
        """Class probabilities (n, K)."""
        if self.neural:
            return self.model.predict_proba(data)
        return predict_proba(self.model, data, self.n_classes)


def train_model(name: str, train: MultiOmicsData, profile: Profile, seed: int, *,
                settings: Settings | None = None, callbacks: Sequence[Any] = ()) -> Trained:
    """Train model ``name`` on ``train`` with ``seed``: the profile's recipe, with ``settings``
    on top (tuned settings, for instance). ``callbacks`` go to a neural model's Trainer."""
    t0 = time.perf_counter()
    if name in BASELINES:
        model = fit_baseline(name, train, seed=seed, params=estimator_params(name, settings))
    else:
        from .training import fit_neural

        model = fit_neural(name, train, apply_settings(profile, settings), seed=seed,
                           callbacks=callbacks)
    return Trained(name, model, train.n_classes, time.perf_counter() - t0)


@dataclass
class Fit:
    """One trained model's scores (and, on request, its probabilities and extras)."""

    model: str
    seed: int
    fold: int
    fit_seconds: float
    metrics: dict[str, dict[str, float]]  # evaluation set -> metric -> value
    proba: dict[str, np.ndarray] = field(default_factory=dict)
    epochs: int | None = None  # epochs run (neural models)
    best_epoch: int | None = None  # epoch of the lowest validation loss (neural models)
    history: list[dict[str, float]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    recipe: str = "published"  # "published": the profile's recipe; "tuned": tuned settings
    n_trained: int | None = None  # training samples the final model learned from


def fit_one(name: str, train: MultiOmicsData, evals: Mapping[str, MultiOmicsData],
            profile: Profile, seed: int, *, fold: int = 0, keep_proba: bool = True,
            analyse: Callable[..., dict[str, Any]] | None = None,
            settings: Settings | None = None, recipe: str = "published") -> Fit:
    """Train model ``name`` on ``train`` with ``seed`` (and ``settings``, if any) and score it
    on each evaluation set.

    ``analyse(model, evals)`` (neural models only) may add extras such as embeddings or
    attention summaries computed from the trained model.
    """
    trained = train_model(name, train, profile, seed, settings=settings)
    probas = {k: trained.predict_proba(v) for k, v in evals.items()}
    info: dict[str, Any] = {"n_trained": train.n_samples}
    if trained.neural:
        fitted = trained.model
        info = {"epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
                "history": fitted.history, "n_trained": fitted.n_trained}
        if analyse is not None:
            info["extras"] = analyse(fitted, evals)
    metrics = {k: classification_metrics(evals[k].y, p) for k, p in probas.items()
               if evals[k].y is not None}
    return Fit(name, seed, fold, trained.seconds, metrics, probas if keep_proba else {},
               recipe=recipe, **info)


def _in_worker(work: Callable[..., Any], *args: Any) -> Any:
    """Run one task in a worker process with one torch thread, so that parallel fits do not
    oversubscribe the cores."""
    import torch

    torch.set_num_threads(1)
    return work(*args)


def run_tasks(work: Callable[..., Any], tasks: Sequence[tuple], n_jobs: int = 1, *,
              progress: bool = False, cost: Callable[[tuple], Any] | None = None) -> list[Any]:
    """``work(*task)`` for every task, in ``n_jobs`` processes when above 1; results in the
    order of ``tasks``. With ``cost`` (a sort key, lowest first), tasks *run* in that order:
    the longest first, so that parallel workers finish together."""
    order = list(range(len(tasks)))
    if cost is not None:
        order.sort(key=lambda i: cost(tasks[i]))
    queue = [tasks[i] for i in order]
    if n_jobs > 1:
        from joblib import Parallel, delayed

        done = list(Parallel(n_jobs=n_jobs, backend="loky", verbose=10 if progress else 0)(
            delayed(_in_worker)(work, *t) for t in queue))
    else:
        if progress:
            from tqdm.auto import tqdm

            queue = tqdm(queue, desc="fits")
        done = [work(*t) for t in queue]
    results: list[Any] = [None] * len(tasks)
    for i, result in zip(order, done, strict=True):
        results[i] = result
    return results


def cross_validate(data: MultiOmicsData, profile: Profile, models: Sequence[str], *,
                   evals: Mapping[str, MultiOmicsData] | None = None,
                   seeds: Sequence[int] | None = None, n_folds: int | None = None,
                   n_jobs: int | None = None, keep_proba: bool = False,
                   analyse: Callable[..., dict[str, Any]] | None = None,
                   progress: bool = False, settings: Mapping[str, Settings] | None = None,
                   recipe: str = "published", done: Mapping[tuple, Fit] | None = None,
                   on_fit: Callable[[Fit], None] | None = None) -> list[Fit]:
    """Every model on every (seed, fold) of a stratified k-fold split of ``data``.

    The split of a seed is shared by all models, so their differences are paired. Fits are
    independent and deterministic given their seed, so they run in ``n_jobs`` processes with
    identical results. ``profile.evaluation.max_runs`` caps the runs of named models.
    ``settings`` (by model) go on top of the profile's recipe; ``recipe`` labels the fits.
    ``done`` holds fits finished earlier, by (model, seed, fold): they are not run again.
    ``on_fit(fit)`` is called as each fit finishes, in the process that ran it (to keep it
    somewhere an interruption cannot take it).
    """
    seeds = list(profile.evaluation.seeds if seeds is None else seeds)
    n_folds = profile.evaluation.n_folds if n_folds is None else n_folds
    n_jobs = profile.evaluation.n_jobs if n_jobs is None else n_jobs
    caps = dict(profile.evaluation.max_runs)
    splits = {seed: stratified_folds(data.y, n_folds, seed) for seed in seeds}
    # run order: fold 0 of every seed, then fold 1, ...; a capped model keeps the first runs,
    # so its runs span as many seeds as possible
    order = [(seed, fold) for fold in range(n_folds) for seed in seeds]
    tasks = []
    for name in models:
        for seed, fold in order[:caps.get(name, len(order))]:
            tr, te = splits[seed][fold]
            tasks.append((name, seed, fold, tr, te))
    done = dict(done or {})
    def work(name, seed, fold, tr, te):
        sets = {"cv": data.subset(te), **(evals or {})}
        fit = fit_one(name, data.subset(tr), sets, profile, seed, fold=fold,
                      keep_proba=keep_proba, analyse=analyse,
                      settings=(settings or {}).get(name), recipe=recipe)
        if on_fit is not None:
            on_fit(fit)
        return fit

    # longest first: neural before classical, and among them the most tightly capped first
    # (a model is capped because it is slow); fits come back in the order of ``models``
    todo = [t for t in tasks if t[:3] not in done]
    fresh = iter(run_tasks(work, todo, n_jobs, progress=progress,
                           cost=lambda t: (t[0] in BASELINES, caps.get(t[0], len(order)))))
    return [done[t[:3]] if t[:3] in done else next(fresh) for t in tasks]


def summary(fits: Sequence[Fit], eval_set: str = "test",
            metrics: Sequence[str] = ("accuracy", "precision_macro", "recall_macro", "f1_macro",
                                      "roc_auc_macro", "ece")) -> dict[str, dict[str, float]]:
    """Per model: mean and sd of each metric over its fits, mean fit time and the run count."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(f.model for f in fits):
        mine = [f for f in fits if f.model == name and eval_set in f.metrics]
        if not mine:
            continue
        row: dict[str, float] = {}
        for m in metrics:
            row[f"{m}_mean"], row[f"{m}_sd"] = mean_sd([f.metrics[eval_set][m] for f in mine])
        row["fit_seconds_mean"] = float(np.mean([f.fit_seconds for f in mine]))
        row["n_runs"] = len(mine)
        out[name] = row
    return out


def comparison_table(fits: Sequence[Fit], ceiling: float, eval_set: str = "test"):
    """One row per model: metrics as mean and sd over runs, the share of the Bayes ceiling,
    the cross-validated accuracy, fit time and the number of runs (as in the Cancer Alpha
    paper's Table 1)."""
    import pandas as pd

    rows = summary(fits, eval_set)
    cv = summary(fits, "cv", metrics=("accuracy",))
    table = pd.DataFrame(rows).T
    table["share_of_ceiling"] = table["accuracy_mean"] / ceiling
    table["cv_accuracy_mean"] = [cv.get(n, {}).get("accuracy_mean", float("nan"))
                                 for n in table.index]
    table["n_runs"] = table["n_runs"].astype(int)
    return table


def recipe_table(tables: Mapping[str, Any], ceiling: float):
    """Each model's accuracy under each recipe side by side (``tables``: recipe -> a
    :func:`comparison_table`), with the change from the first recipe to the last in points
    and the share of the ceiling the last one reaches."""
    import pandas as pd

    recipes = list(tables)
    first, last = tables[recipes[0]], tables[recipes[-1]]
    out = pd.DataFrame(index=list(first.index))
    for r in recipes:
        out[f"{r} accuracy"] = tables[r]["accuracy_mean"]
        out[f"{r} sd"] = tables[r]["accuracy_sd"]
        out[f"{r} runs"] = tables[r]["n_runs"].astype(int)
    out["change (points)"] = 100 * (last["accuracy_mean"] - first["accuracy_mean"])
    out["share of ceiling"] = last["accuracy_mean"] / ceiling
    return out


@dataclass(frozen=True)
class Standing:
    """What a comparison table says, in the terms the chapter's conclusions use."""

    best: str
    best_accuracy: float
    best_neural: str
    best_neural_accuracy: float
    best_classical: str
    best_classical_accuracy: float
    transformer_rank: int  # of mmt_modality among all models, 1 = best
    n_models: int
    transformer_minus_logistic: float  # accuracy points of mmt_modality over logistic regression


def standing(table: Any, transformer: str = "mmt_modality") -> Standing:
    """The standing of the models of a :func:`comparison_table`."""
    acc = table["accuracy_mean"].astype(float)
    neural = [m for m in acc.index if m not in BASELINES]
    classical = [m for m in acc.index if m in CLASSICAL]
    ranks = acc.rank(ascending=False, method="min")
    return Standing(
        best=str(acc.idxmax()), best_accuracy=float(acc.max()),
        best_neural=str(acc[neural].idxmax()), best_neural_accuracy=float(acc[neural].max()),
        best_classical=str(acc[classical].idxmax()),
        best_classical_accuracy=float(acc[classical].max()),
        transformer_rank=int(ranks[transformer]), n_models=len(acc),
        transformer_minus_logistic=float(100 * (acc[transformer]
                                                - acc["logistic_regression"])))


def changed_conclusions(before: Standing, after: Standing, labels: tuple[str, str] = (
        "the published recipe", "tuned settings")) -> list[str]:
    """Sentences saying which conclusions of the comparison change from ``before`` to
    ``after`` and which hold."""
    a, b = labels
    out = []

    def verb(changed: bool) -> str:
        return "changes" if changed else "holds"

    out.append(f"The best model {verb(before.best != after.best)}: {before.best} "
               f"({before.best_accuracy:.3f}) with {a}, {after.best} "
               f"({after.best_accuracy:.3f}) with {b}.")
    out.append(f"The best neural model {verb(before.best_neural != after.best_neural)}: "
               f"{before.best_neural} ({before.best_neural_accuracy:.3f}) with {a}, "
               f"{after.best_neural} ({after.best_neural_accuracy:.3f}) with {b}.")
    beats = (before.transformer_minus_logistic > 0, after.transformer_minus_logistic > 0)
    out.append(f"That the multi-modal transformer {'beats' if beats[0] else 'loses to'} "
               f"logistic regression {verb(beats[0] != beats[1])}: "
               f"{before.transformer_minus_logistic:+.1f} points with {a}, "
               f"{after.transformer_minus_logistic:+.1f} with {b}.")
    out.append(f"The transformer ranks {before.transformer_rank} of {before.n_models} with "
               f"{a} and {after.transformer_rank} of {after.n_models} with {b}.")
    neural_first = (before.best == before.best_neural, after.best == after.best_neural)
    out.append(f"That {'a neural' if neural_first[0] else 'a classical'} model is best "
               f"{verb(neural_first[0] != neural_first[1])}.")
    return out


def histories(fits: Sequence[Fit]) -> dict[str, list[list[dict[str, float]]]]:
    """The per-epoch history of every neural run, by model."""
    out: dict[str, list] = {}
    for f in fits:
        if f.history:
            out.setdefault(f.model, []).append(f.history)
    return out


def best_epochs(fits: Sequence[Fit]) -> dict[str, list[int]]:
    """Epoch (counted from 1) of the lowest validation loss of every neural run, by model."""
    out: dict[str, list[int]] = {}
    for f in fits:
        if f.best_epoch is not None:
            out.setdefault(f.model, []).append(f.best_epoch + 1)
    return out


def training_size_curve(pool: MultiOmicsData, test: MultiOmicsData, profile: Profile,
                        models: Sequence[str], sizes: Sequence[int], seeds: Sequence[int],
                        n_jobs: int = 1, *, settings: Mapping[str, Settings] | None = None,
                        all_seeds_up_to: int | None = None,
                        max_size: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Test accuracy of each model trained on stratified subsets of ``pool`` of each size.

    Every seed draws its own subset of each size; sizes above ``all_seeds_up_to`` use the first
    seed only (a compute cap, reported by the ``seed`` column), and a model named in
    ``max_size`` is not fitted above its size there. ``settings`` (by model) go on top of the
    profile's recipe.
    """
    max_size = dict(max_size or {})
    from sklearn.model_selection import train_test_split

    tasks = []
    for n in sorted(sizes):
        if n > pool.n_samples:
            raise ValueError(f"training size {n} exceeds the pool of {pool.n_samples}")
        for seed in (seeds if all_seeds_up_to is None or n <= all_seeds_up_to else seeds[:1]):
            idx = (np.arange(pool.n_samples) if n == pool.n_samples else
                   train_test_split(np.arange(pool.n_samples), train_size=n,
                                    random_state=seed, stratify=pool.y)[0])
            tasks += [(name, seed, n, idx) for name in models
                      if n <= max_size.get(name, n)]

    def work(name, seed, n, idx):
        fit = fit_one(name, pool.subset(idx), {"test": test}, profile, seed, keep_proba=False,
                      settings=(settings or {}).get(name))
        return {"model": name, "seed": seed, "n_train": n,
                "accuracy": fit.metrics["test"]["accuracy"], "fit_seconds": fit.fit_seconds}

    # the largest training sets first: parallel workers finish together
    return run_tasks(work, tasks, n_jobs, cost=lambda t: -t[2])


@dataclass(frozen=True)
class CurveReading:
    """What an accuracy-against-training-size curve says, as facts and in words."""

    facts: dict[str, Any]
    words: str


def slope_per_doubling(sizes: Sequence[float], accuracies: Sequence[float]) -> float:
    """Least-squares slope of accuracy (points) against log2(training size): the accuracy
    points gained per doubling of the training set over the points given."""
    x = np.log2(np.asarray(sizes, float))
    y = 100 * np.asarray(accuracies, float)
    if len(x) < 2:
        raise ValueError(f"a slope needs at least 2 points, got {len(x)}")
    return float(np.polyfit(x, y, 1)[0])


def read_curve(curve: Any, ceiling: float, model: str, near_ceiling: float = 0.01,
               last: int = 3) -> CurveReading:
    """What the curve says about ``model`` against every other model of ``curve`` (columns
    model, n_train, accuracy; means over seeds where a size has several): the first size from
    which ``model`` stays level with or ahead of each other model (``overtakes``: None if it
    never does by the largest size, the smallest size if it always is), each model's distance
    from ``ceiling`` at the largest size (points; within ``near_ceiling`` counts as reaching
    it), and each model's slope in points per doubling of the training set over its ``last``
    sizes (:func:`slope_per_doubling`): above 0.5 a model is still climbing."""
    means = curve.groupby(["n_train", "model"])["accuracy"].mean().unstack()
    sizes = [int(n) for n in means.index]
    largest = sizes[-1]
    reach = {m: int(means[m].last_valid_index()) for m in means.columns}  # largest size of each
    others = [m for m in means.columns if m != model]
    overtakes: dict[str, int | None] = {}
    for other in others:
        both = means[[model, other]].dropna()
        ahead = (both[model] >= both[other]).to_numpy()
        shared = [int(n) for n in both.index]
        # the first size from which the model is never behind again (sizes both reach)
        behind = np.flatnonzero(~ahead)
        overtakes[other] = (shared[0] if behind.size == 0 else
                            None if behind[-1] == len(shared) - 1 else shared[behind[-1] + 1])
    gaps = {m: float(100 * (ceiling - means.loc[reach[m], m])) for m in means.columns}
    tails = {m: [int(n) for n in means[m].dropna().index[-last:]] for m in means.columns}
    slopes = {m: slope_per_doubling(tails[m], means.loc[tails[m], m])
              for m in means.columns if len(tails[m]) >= 2}
    at_largest = means.loc[largest].dropna()
    best = str(at_largest.idxmax())
    facts = {"largest": largest, "model": model, "overtakes": overtakes,
             "largest_of_each": reach,
             "best_at_largest": best, "best_accuracy_at_largest": float(at_largest[best]),
             "gap_to_ceiling_points": gaps[best], "gaps_to_ceiling_points": gaps,
             "within_1_point": gaps[best] <= 100 * near_ceiling,
             "slope_sizes": tails, "slope_points_per_doubling": slopes}
    parts = []
    for other, at in overtakes.items():
        upto = "" if reach[other] == largest else f" (fitted up to {reach[other]:,})"
        if at is None:
            n = min(reach[other], reach[model])
            behind = 100 * (means.loc[n, other] - means.loc[n, model])
            parts.append(f"it does not overtake {other}{upto} ({behind:.1f} points behind at "
                         f"{n:,})")
        elif at == sizes[0]:
            parts.append(f"it is level with or ahead of {other}{upto} at every size")
        else:
            parts.append(f"it overtakes {other}{upto} at {at:,} training samples and stays "
                         "ahead")
    gap_words = ", ".join(f"{m} {g:.1f}" + ("" if reach[m] == largest else
                                            f" (at {reach[m]:,})")
                          for m, g in sorted(gaps.items(), key=lambda kv: kv[1]))
    slope_words = ", ".join(f"{m} {v:+.2f}" for m, v in slopes.items())
    climbing = [m for m, v in slopes.items() if v > 0.5]
    words = (f"For {model}: {'; '.join(parts)}. At {largest:,} training samples the models are "
             f"this many points below the ceiling: {gap_words}. Over each model's last "
             f"{last} sizes they gain, per doubling of the training set, {slope_words} "
             "points: " + (f"{', '.join(climbing)} still climbing." if climbing else
                           "none is still climbing by more than half a point, so what remains "
                           "is not a shortage of data but of the models or their recipes."))
    return CurveReading(facts, words)


FULL_DATA_RULES: tuple[str, ...] = ("hold_out", "refit", "bagged")
BAG_K = 5  # members of a bagged neural model


def full_data_rules(train: MultiOmicsData, test: MultiOmicsData, profile: Profile,
                    models: Sequence[str], seeds: Sequence[int], n_jobs: int = 1, *,
                    settings: Mapping[str, Settings] | None = None, k: int = BAG_K
                    ) -> list[dict[str, Any]]:
    """Held-out accuracy of neural ``models`` trained on ``train`` under each way of using
    the early-stopping samples (:data:`FULL_DATA_RULES`), one fit per model, rule and seed:

    - ``hold_out``: the early-stopped model, which never learned from its validation fifth;
    - ``refit``: the same, then refitted on all of ``train`` for the epochs chosen;
    - ``bagged``: ``k`` models, each early-stopped on its own fold and learning from the
      others, probabilities averaged (``k`` fits).

    Rows: rule, model, seed, accuracy, fit_seconds and n_trained (samples learned from)."""
    tasks = [(rule, name, seed) for rule in FULL_DATA_RULES for name in models for seed in seeds]

    def work(rule, name, seed):
        from .training import fit_bagged, fit_neural

        tuned = apply_settings(profile, (settings or {}).get(name))
        t0 = time.perf_counter()
        if rule == "bagged":
            model = fit_bagged(name, train, tuned, seed, k=k)
        else:
            model = fit_neural(name, train, tuned.replace(train={"full_data": rule}), seed)
        seconds = time.perf_counter() - t0
        accuracy = float(np.mean(model.predict_proba(test).argmax(axis=1) == test.y))
        return {"rule": rule, "model": name, "seed": seed, "accuracy": accuracy,
                "fit_seconds": seconds, "n_trained": int(model.n_trained)}

    return run_tasks(work, tasks, n_jobs, cost=lambda t: -(k if t[0] == "bagged" else 1))


def rules_table(rows: Any):
    """:func:`full_data_rules` rows as one row per (model, rule): accuracy mean and sd over
    seeds, samples learned from, mean fit seconds and the number of runs."""
    out = rows.groupby(["model", "rule"], sort=False).agg(
        accuracy_mean=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        samples_learned_from=("n_trained", "mean"), fit_seconds_mean=("fit_seconds", "mean"),
        n_runs=("accuracy", "size"))
    out["accuracy_sd"] = out["accuracy_sd"].fillna(0.0)
    return out.astype({"n_runs": int, "samples_learned_from": int})


def rule_gains(rows: Any, reference: str = "hold_out") -> dict[str, dict[str, float]]:
    """Per model: the accuracy gain (points, mean over seeds) of each rule over
    ``reference``, and its cost as a ratio of mean fit times (``<rule>_cost``)."""
    means = rows.groupby(["model", "rule"])[["accuracy", "fit_seconds"]].mean()
    out: dict[str, dict[str, float]] = {}
    for model in dict.fromkeys(rows["model"]):
        ref = means.loc[(model, reference)]
        out[model] = {}
        for rule in dict.fromkeys(rows["rule"]):
            if rule == reference:
                continue
            here = means.loc[(model, rule)]
            out[model][rule] = float(100 * (here["accuracy"] - ref["accuracy"]))
            out[model][f"{rule}_cost"] = float(here["fit_seconds"] / ref["fit_seconds"])
    return out


def rules_words(gains: Mapping[str, Mapping[str, float]]) -> str:
    """:func:`rule_gains` in words: what refitting and bagging changed for each model, at
    what cost, and whether bagging's gain goes beyond the refit's (its members learn from no
    more samples than the held-out model, so a gain beyond the refit's is the averaging)."""
    def each(rule: str) -> str:
        return " and ".join(f"{g[rule]:+.1f} points for {m} (at {g[f'{rule}_cost']:.1f} times "
                            "its training time)" for m, g in gains.items())

    out = (f"Refitting on all samples changed held-out accuracy by {each('refit')}; bagging by "
           f"{each('bagged')}.")
    beyond = [m for m, g in gains.items() if g["bagged"] > g["refit"]]
    if beyond:
        out += (f" For {' and '.join(beyond)} bagging gains more than the refit although each "
                "of its members learns from no more samples than the held-out model: that "
                "excess is the averaging of several models, an ensemble, not the data.")
    else:
        out += " Bagging gains no more than the refit for any of these models."
    return out


@dataclass(frozen=True)
class Versus:
    """One model against a reference in a comparison table."""

    delta_points: float  # model minus reference, accuracy points
    margin_points: float  # two standard errors of that difference (runs taken independent)
    words: str


def versus(table: Any, model: str, reference: str) -> Versus:
    """Whether ``model`` beats, matches or loses to ``reference`` in a
    :func:`comparison_table`: level when the difference of their mean accuracies is within
    two standard errors of it (from each model's sd and number of runs)."""
    a, b = table.loc[model], table.loc[reference]
    delta = float(100 * (a["accuracy_mean"] - b["accuracy_mean"]))
    se = 100 * float(np.sqrt(a["accuracy_sd"] ** 2 / max(int(a["n_runs"]), 1)
                             + b["accuracy_sd"] ** 2 / max(int(b["n_runs"]), 1)))
    margin = 2 * se
    if abs(delta) <= margin:
        how = f"matches {reference}"
    elif delta > 0:
        how = f"beats {reference}"
    else:
        how = f"loses to {reference}"
    words = (f"{how} ({a['accuracy_mean']:.3f} against {b['accuracy_mean']:.3f}, "
             f"{delta:+.1f} points; two standard errors {margin:.1f})")
    return Versus(delta, margin, words)


def budget_table(base: Any, extended: Any, n_trials: int, more_trials: int):
    """Held-out accuracy of the models of ``extended`` (a :func:`comparison_table` with the
    settings of the longer studies) beside ``base`` (the book's budget), their ranks among
    themselves under each budget, and in ``attrs["words"]`` whether a ranking changed."""
    import pandas as pd

    models = list(extended.index)
    out = pd.DataFrame(index=models)
    a, b = f"{n_trials} trials", f"{more_trials} trials"
    out[a] = base.loc[models, "accuracy_mean"].astype(float)
    out[b] = extended["accuracy_mean"].astype(float)
    out["change (points)"] = 100 * (out[b] - out[a])
    out[f"rank, {a}"] = out[a].rank(ascending=False, method="min").astype(int)
    out[f"rank, {b}"] = out[b].rank(ascending=False, method="min").astype(int)
    out["n_runs"] = extended["n_runs"].astype(int)
    changed = bool((out[f"rank, {a}"] != out[f"rank, {b}"]).any())
    largest = out["change (points)"].abs().idxmax()
    out.attrs["ranking_changed"] = changed
    out.attrs["words"] = (
        f"With {more_trials} trials instead of {n_trials} the largest change in held-out "
        f"accuracy is {out.loc[largest, 'change (points)']:+.1f} points ({largest}); the "
        "ranking of these models " + (
            "changes: the book's budget is too small to rank them, and should be raised for "
            "every model." if changed else
            f"does not change, so a budget of {n_trials} trials does not decide it."))
    return out


def modality_subset_scores(train: MultiOmicsData, test: MultiOmicsData, profile: Profile,
                           models: Sequence[str], subsets: Sequence[Sequence[str]], seed: int,
                           n_jobs: int = 1, settings: Mapping[str, Settings] | None = None
                           ) -> list[dict[str, Any]]:
    """Test accuracy of each model trained and scored on each subset of the modalities only
    (``["methylation"]``, ...), one fit per model and subset."""
    tasks = [(name, tuple(subset)) for subset in subsets for name in models]

    def work(name, subset):
        fit = fit_one(name, train.select_modalities(subset),
                      {"test": test.select_modalities(subset)}, profile, seed,
                      keep_proba=False, settings=(settings or {}).get(name))
        return {"model": name, "subset": "+".join(subset),
                "accuracy": fit.metrics["test"]["accuracy"]}

    return run_tasks(work, tasks, n_jobs, cost=lambda t: (t[0] in BASELINES, -len(t[1])))


def fixed_split(train: MultiOmicsData, test: MultiOmicsData, profile: Profile,
                models: Sequence[str], seeds: Sequence[int], n_jobs: int = 1,
                keep_proba: bool = True, settings: Mapping[str, Settings] | None = None,
                recipe: str = "published") -> list[Fit]:
    """Every model trained on a published training split with each seed, scored on its test
    split (real data sets come with a fixed split; only the seed varies). A model capped by
    ``evaluation.max_runs`` runs with that many of the seeds, the first ones."""
    caps = dict(profile.evaluation.max_runs)
    tasks = [(name, seed) for name in models for seed in seeds[:caps.get(name, len(seeds))]]

    def work(name, seed):
        return fit_one(name, train, {"test": test}, profile, seed, keep_proba=keep_proba,
                       settings=(settings or {}).get(name), recipe=recipe)

    return run_tasks(work, tasks, n_jobs)


def real_data_table(fits: Sequence[Fit], test: MultiOmicsData):
    """Per model on a fixed split: accuracy, F1 and ROC AUC (mean and sd over seeds).

    F1 is the binary F1 of the second class for two classes (as published for ROSMAP, where it
    is "AD") and macro F1 otherwise.
    """
    import pandas as pd
    from sklearn.metrics import f1_score

    rows = {}
    for name in dict.fromkeys(f.model for f in fits):
        mine = [f for f in fits if f.model == name]
        acc = [f.metrics["test"]["accuracy"] for f in mine]
        auc = [f.metrics["test"]["roc_auc_macro"] for f in mine]
        if test.n_classes == 2:
            f1 = [f1_score(test.y, f.proba["test"].argmax(axis=1)) for f in mine]
        else:
            f1 = [f.metrics["test"]["f1_macro"] for f in mine]
        rows[name] = {"accuracy_mean": np.mean(acc), "accuracy_sd": mean_sd(acc)[1],
                      "f1_mean": np.mean(f1), "f1_sd": mean_sd(f1)[1],
                      "auc_mean": np.mean(auc), "auc_sd": mean_sd(auc)[1],
                      "fit_seconds_mean": np.mean([f.fit_seconds for f in mine]),
                      "n_runs": len(mine)}
    return pd.DataFrame(rows).T.astype({"n_runs": int})


def cv_comparison(fits: Sequence[Fit], eval_set: str = "cv", reference: str | None = None,
                  metrics: Sequence[str] = ("accuracy", "f1_macro", "roc_auc_macro")):
    """One row per model of a cross-validation: each metric's mean and sd over runs, the
    ROC AUC's 95% t interval, the accuracy difference from ``reference`` (default: the first
    model; ``accuracy_delta`` = model - reference) paired on the same (seed, fold), with its
    95% t interval and the number of pairs, mean fit time and n_runs.

    Runs share samples across folds and seeds, so the intervals describe the spread of runs,
    not a sampling distribution of independent data sets: read them as a guide to stability.
    A metric undefined in some run (e.g. AUC with one class in a fold) is averaged over the
    runs that define it.
    """
    import pandas as pd

    from .evaluate import paired_difference, t_ci95

    names = list(dict.fromkeys(f.model for f in fits if eval_set in f.metrics))
    if not names:
        raise ValueError(f"no fit was scored on {eval_set!r}")
    reference = names[0] if reference is None else reference
    by_key = {(f.model, f.seed, f.fold): f for f in fits if eval_set in f.metrics}
    rows = {}
    for name in names:
        mine = [f for f in fits if f.model == name and eval_set in f.metrics]
        row: dict[str, Any] = {"n_runs": len(mine)}
        for m in metrics:
            values = [f.metrics[eval_set][m] for f in mine
                      if np.isfinite(f.metrics[eval_set][m])]
            row[f"{m}_mean"], row[f"{m}_sd"] = mean_sd(values) if values else (np.nan, np.nan)
            if m == "roc_auc_macro":
                row["roc_auc_ci95_low"], row["roc_auc_ci95_high"] = (
                    t_ci95(values) if values else (np.nan, np.nan))
        pairs = [(f, by_key[(reference, f.seed, f.fold)]) for f in mine
                 if (reference, f.seed, f.fold) in by_key]
        if name != reference and pairs:
            d = paired_difference([a.metrics[eval_set]["accuracy"] for a, _ in pairs],
                                  [b.metrics[eval_set]["accuracy"] for _, b in pairs])
            row["accuracy_delta"] = d["delta_mean"]
            row["accuracy_delta_ci95_low"], row["accuracy_delta_ci95_high"] = d["delta_ci95"]
            row["n_pairs"] = d["n"]
        row["fit_seconds_mean"] = float(np.mean([f.fit_seconds for f in mine]))
        rows[name] = row
    table = pd.DataFrame(rows).T
    table["n_runs"] = table["n_runs"].astype(int)
    table.attrs["reference"] = reference  # accuracy_delta = model - reference, paired
    return table
