"""Every model at its best: one search space per model, and equal-budget Optuna studies that
see training data only.

A trial draws settings from the model's search space (:data:`SEARCH_SPACES`), trains the model
on each inner fold of the training data and is scored by the mean validation log-loss over the
folds. Log-loss rather than accuracy: it is a proper scoring rule that rewards calibrated
probabilities, and on validation folds of a few hundred samples it moves smoothly where
accuracy moves in steps and ties. Every model of a study gets the same number of trials
(``tuning.n_trials``), drawn by a TPE sampler with a fixed seed, and the same pruner:
successive halving (:func:`make_pruner`) over the resource "epochs trained", at which a neural
trial reports its validation log-loss after every epoch and a classical one after every inner
fold (counted as a fold's worth of epochs). Trials run one after another within a study, so a
study is reproducible, and the first ``n`` trials of a longer study are exactly the study of
``n`` trials (:func:`extend`, :func:`truncate`: the budget sensitivity check); studies of
different models run in parallel worker processes.

The held-out data never enters a study: :func:`tune` takes the training data alone, and the
inner folds split it. The locus-token transformer has a study of its own over the same search
space as the modality-token model (``tuning.locus_trials`` trials on
``tuning.locus_inner_folds`` inner folds, which every table says); with ``locus_trials: 0`` it
takes the modality-token model's tuned settings instead.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import BASELINES, CLASSICAL
from .config import Profile
from .data import MultiOmicsData, stratified_folds
from .protocol import Settings, apply_settings, train_model


@dataclass(frozen=True)
class Param:
    """One dimension of a search space: a setting of a profile section (``train``, ``model``)
    or of a classical estimator (``estimator``), with its range or choices."""

    section: str
    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        key = f"{self.section}.{self.name}"
        if self.choices is not None:
            return trial.suggest_categorical(key, list(self.choices))
        if self.integer:
            return trial.suggest_int(key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(key, self.low, self.high, log=self.log)

    def describe(self) -> str:
        """The range as a reader sees it: '1e-4 to 1e-2 (log)', '{32, 64, 128}'."""
        if self.choices is not None:
            return "{" + ", ".join("None" if c is None else f"{c:g}" if isinstance(c, float)
                                   else str(c) for c in self.choices) + "}"
        kind = "integer" if self.integer else "log" if self.log else "uniform"
        both = f"{self.low:g} to {self.high:g}"
        return f"{both} ({kind}, log)" if self.integer and self.log else f"{both} ({kind})"


# --------------------------------------------------------------------------- search spaces

_OPTIMISER = (
    Param("train", "lr", 1e-4, 1e-2, log=True),
    Param("train", "weight_decay", 1e-5, 0.3, log=True),
    Param("train", "batch_size", choices=(32, 64, 128)),
    Param("train", "warmup_epochs", 0, 5, integer=True),
    Param("train", "focal_gamma", choices=(0.0, 1.0, 2.0)),  # 0: cross-entropy
    Param("train", "modality_dropout", 0.0, 0.3),
    Param("model", "dropout", 0.0, 0.5),
)
_WIDTH = (Param("model", "d_model", choices=(32, 64, 128)),)
_DEPTH = (Param("model", "n_layers", choices=(1, 2, 3)),)
_ATTENTION = (Param("train", "attention_lambda", choices=(0.0, 1e-4, 1e-3, 1e-2)),)
_CONVOLUTIONS = (Param("model", "conv_channels", choices=(16, 32, 64)),)

SEARCH_SPACES: dict[str, tuple[Param, ...]] = {
    "logistic_regression": (Param("estimator", "C", 1e-4, 1e2, log=True),),
    "random_forest": (
        Param("estimator", "max_depth", choices=(4, 8, 16, None)),
        Param("estimator", "max_features", 0.01, 0.5, log=True),
        Param("estimator", "min_samples_leaf", 1, 16, integer=True, log=True),
    ),
    "gradient_boosting": (
        Param("estimator", "learning_rate", 0.01, 0.3, log=True),
        Param("estimator", "max_depth", 2, 8, integer=True),
        Param("estimator", "max_iter", 50, 400, integer=True, log=True),
    ),
    # the voting ensemble is searched through its members: it takes their tuned settings
    "voting_ensemble": (),
    "sklearn_mlp": (
        Param("estimator", "hidden_units", choices=(64, 128, 256)),
        Param("estimator", "hidden_layers", choices=(1, 2)),
        Param("estimator", "alpha", 1e-5, 10.0, log=True),
        Param("estimator", "learning_rate_init", 1e-4, 1e-2, log=True),
        Param("estimator", "batch_size", choices=(32, 64, 128)),
    ),
    # the weight penalty over the range of scikit-learn's MLP (its alpha): the early-fusion MLP
    # has no batch normalisation that would void it (models/peers.py)
    "early_fusion_mlp": _OPTIMISER + _WIDTH + (Param("train", "l2", 1e-5, 10.0, log=True),),
    "late_fusion": _OPTIMISER + _WIDTH + _CONVOLUTIONS,
    "tab_transformer": _OPTIMISER + _DEPTH + (
        Param("model", "n_bins", choices=(4, 8, 16)),
        Param("model", "tab_token_dim", choices=(16, 32)),
    ),
    "perceiver_io": _OPTIMISER + _WIDTH + _DEPTH + (
        Param("model", "n_latents", choices=(16, 32, 64)),
    ),
    "mmt_modality": _OPTIMISER + _WIDTH + _DEPTH + _ATTENTION + _CONVOLUTIONS,
    "mmt_locus": _OPTIMISER + _WIDTH + _DEPTH + _ATTENTION + _CONVOLUTIONS,
}
# the voting ensemble's members, whose studies it reuses
ENSEMBLE_MEMBERS: tuple[str, ...] = CLASSICAL[:3]
# a model that takes another model's tuned settings when it has no study of its own
# (``tuning.locus_trials: 0``)
INHERITS: dict[str, str] = {"mmt_locus": "mmt_modality"}


def search_space_table():
    """The search space of every model as one table (a row per model and setting)."""
    import pandas as pd

    rows = []
    for model, space in SEARCH_SPACES.items():
        if not space:
            rows.append({"model": model, "setting": "(its members' tuned settings)",
                         "range": "\u2014"})
        for p in space:
            rows.append({"model": model, "setting": f"{p.section}.{p.name}",
                         "range": p.describe()})
    return pd.DataFrame(rows)


def settings_of(params: Mapping[str, Any]) -> Settings:
    """``{"train.lr": 1e-3, "estimator.C": 1.0}`` (a trial's parameters) -> Settings."""
    out: Settings = {}
    for key, value in params.items():
        section, name = key.split(".", 1)
        out.setdefault(section, {})[name] = value
    return out


def merge(*parts: Settings | None) -> Settings:
    """Settings laid over one another, later ones winning, section by section."""
    out: Settings = {}
    for part in parts:
        for section, values in (part or {}).items():
            out.setdefault(section, {}).update(values)
    return out


# --------------------------------------------------------------------------- one trial


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes (probabilities clipped at 1e-15)."""
    p = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.log(p).mean())


def _pruning_callback(trial: Any, step_offset: int):
    """A Lightning callback that reports the validation log-loss of every epoch to ``trial``
    (at step ``step_offset + epoch``) and stops a trial the pruner calls hopeless.

    Optuna's own Lightning callback (optuna-integration) works with the ``lightning``
    namespace only; this project's Trainer is ``pytorch_lightning``'s, so the few lines are
    written here. The log-loss is computed on the fit's early-stopping split, whatever the
    training loss of the trial (focal loss values with different gammas do not compare).
    """
    import optuna
    import pytorch_lightning as pl
    import torch

    class ReportValidationLogLoss(pl.Callback):
        def on_validation_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule
                                    ) -> None:
            if trainer.sanity_checking:
                return
            total, count = 0.0, 0
            was_training = module.training
            module.eval()
            with torch.no_grad():
                for batch in trainer.val_dataloaders:
                    out = module.model(batch["x"], batch["mask"])
                    logp = out.logits.float().log_softmax(dim=1)
                    total += float(-logp.gather(1, batch["y"][:, None]).sum())
                    count += int(batch["y"].shape[0])
            module.train(was_training)
            step = step_offset + trainer.current_epoch
            trial.report(total / max(count, 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {trainer.current_epoch}")

    return ReportValidationLogLoss()


def fit_predict(name: str, train: MultiOmicsData, evaluate: MultiOmicsData, profile: Profile,
                settings: Settings | None, seed: int, callbacks: Sequence[Any] = ()
                ) -> np.ndarray:
    """Train model ``name`` with ``settings`` on ``train``; class probabilities on ``evaluate``."""
    trained = train_model(name, train, profile, seed, settings=settings, callbacks=callbacks)
    return trained.predict_proba(evaluate)


def inner_log_loss(name: str, data: MultiOmicsData, profile: Profile, settings: Settings | None,
                   folds: Sequence[tuple[np.ndarray, np.ndarray]], seed: int,
                   trial: Any = None) -> float:
    """Mean validation log-loss of ``name`` with ``settings`` over the inner ``folds`` of
    ``data`` (training data only). With ``trial``, the pruner sees the trial's progress on one
    scale for every model, "epochs trained" (a fold is ``max_epochs + 1`` of them): a neural
    fit reports each epoch's validation log-loss, and every model reports the mean log-loss
    of the folds done so far at the end of each fold; either may prune the trial."""
    import optuna

    losses = []
    per_fold = apply_settings(profile, settings).train.max_epochs + 1
    for k, (tr, va) in enumerate(folds):
        neural = trial is not None and name not in BASELINES
        callbacks = [_pruning_callback(trial, k * per_fold)] if neural else []
        proba = fit_predict(name, data.subset(tr), data.subset(va), profile, settings, seed,
                            callbacks)
        losses.append(log_loss(data.y[va], proba))
        if trial is not None and k < len(folds) - 1:
            trial.report(float(np.mean(losses)), (k + 1) * per_fold - 1)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after inner fold {k + 1}")
    return float(np.mean(losses))


# --------------------------------------------------------------------------- one study


@dataclass
class StudyResult:
    """What a study found and what it cost."""

    model: str
    best_settings: Settings  # the full settings of the best trial (inherited ones included)
    best_value: float  # its mean inner-fold validation log-loss
    n_trials: int
    n_pruned: int
    wall_seconds: float
    inner_folds: int
    note: str = ""  # how this model's budget differs from the others', if it does
    trials: list[Any] = field(default_factory=list)  # optuna FrozenTrials, for the storage

    def summary(self) -> dict[str, Any]:
        """The record of the study (everything but the trials)."""
        return {"n_trials": self.n_trials, "n_pruned": self.n_pruned,
                "best_value": self.best_value, "best_params": self.best_settings,
                "wall_seconds": self.wall_seconds, "inner_folds": self.inner_folds,
                "note": self.note}


def _sampler(profile: Profile, n_trials: int) -> Any:
    import optuna

    return optuna.samplers.TPESampler(
        seed=profile.tuning.seed, multivariate=True,
        n_startup_trials=min(profile.tuning.startup_trials, n_trials))


def make_pruner(profile: Profile) -> Any:
    """The one pruner of every study: successive halving (asynchronous, as Optuna implements
    it) over "epochs trained", first judged at ``tuning.prune_min_epochs``, each rung keeping
    the best ``1 / tuning.prune_reduction_factor`` of the trials that reached it."""
    import optuna

    t = profile.tuning
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=t.prune_min_epochs, reduction_factor=t.prune_reduction_factor)


def _optimise(study: Any, name: str, data: MultiOmicsData, profile: Profile,
              folds: Sequence[tuple[np.ndarray, np.ndarray]], base: Settings | None,
              n_trials: int, callbacks: Sequence[Any] = ()) -> None:
    """Run ``n_trials`` more trials of ``study``, one after another (``callbacks``: Optuna's,
    called after each trial)."""
    space = SEARCH_SPACES[name]
    seed = profile.tuning.seed

    def objective(trial: Any) -> float:
        drawn = settings_of({f"{p.section}.{p.name}": p.suggest(trial) for p in space})
        return inner_log_loss(name, data, profile, merge(base, drawn), folds, seed, trial)

    study.optimize(objective, n_trials=n_trials, catch=(), callbacks=list(callbacks))


def _result(name: str, trials: Sequence[Any], base: Settings | None, seconds: float,
            inner_folds: int, note: str) -> StudyResult:
    import optuna

    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"every trial of the study of {name} was pruned or failed: "
                           "no settings to choose")
    best = min(complete, key=lambda t: (t.value, t.number))
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    return StudyResult(name, merge(base, settings_of(best.params)), float(best.value),
                       len(trials), pruned, seconds, inner_folds, note, list(trials))


def run_study(name: str, data: MultiOmicsData, profile: Profile, *, n_trials: int,
              inner_folds: int, base: Settings | None = None, note: str = "",
              storage: str | None = None, callbacks: Sequence[Any] = ()) -> StudyResult:
    """One model's study on ``data`` (training data only), trials one after another.

    With ``storage`` (an Optuna storage URL) every finished trial is kept there as it ends,
    and a study already there is resumed: its finished trials count towards ``n_trials``.
    ``callbacks`` are called by Optuna after each trial (``callback(study, trial)``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    folds = stratified_folds(data.y, inner_folds, profile.tuning.seed)
    space = SEARCH_SPACES[name] if n_trials else ()
    if not space:  # nothing to search: the settings given, scored once
        value = inner_log_loss(name, data, profile, base, folds, profile.tuning.seed)
        return StudyResult(name, merge(base), value, 0, 0, time.perf_counter() - t0,
                           inner_folds, note)
    study = optuna.create_study(study_name=name, direction="minimize",
                                sampler=_sampler(profile, n_trials), pruner=make_pruner(profile))
    study = _stored(study, storage, profile, n_trials)
    _optimise(study, name, data, profile, folds, base,
              max(n_trials - len(finished_trials(study)), 0), callbacks)
    return _result(name, finished_trials(study), base, time.perf_counter() - t0, inner_folds,
                   note)


def extend(result: StudyResult, data: MultiOmicsData, profile: Profile, n_trials: int,
           base: Settings | None = None) -> StudyResult:
    """``result``'s study continued to ``n_trials`` trials in all, on the same data, inner
    folds, sampler and pruner: its first trials are ``result``'s, unchanged, so
    :func:`truncate` of the extended study to ``result.n_trials`` gives ``result`` back."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if n_trials < result.n_trials:
        raise ValueError(f"cannot extend the study of {result.model} from {result.n_trials} "
                         f"to {n_trials} trials: expected at least {result.n_trials}")
    t0 = time.perf_counter()
    folds = stratified_folds(data.y, result.inner_folds, profile.tuning.seed)
    # a sampler seeded apart from the first one: the first trials are replayed, not redrawn
    sampler = optuna.samplers.TPESampler(seed=profile.tuning.seed + n_trials,
                                         multivariate=True, n_startup_trials=0)
    study = optuna.create_study(study_name=result.model, direction="minimize",
                                sampler=sampler, pruner=make_pruner(profile))
    study.add_trials(result.trials)
    _optimise(study, result.model, data, profile, folds, base, n_trials - result.n_trials)
    return _result(result.model, study.trials, base,
                   result.wall_seconds + time.perf_counter() - t0, result.inner_folds,
                   f"{result.n_trials} trials, continued to {n_trials}")


def truncate(result: StudyResult, n_trials: int, base: Settings | None = None) -> StudyResult:
    """The study as it stood after its first ``n_trials`` trials (what a budget of
    ``n_trials`` would have chosen)."""
    head = [t for t in result.trials if t.number < n_trials]
    return _result(result.model, head, base, float("nan"), result.inner_folds,
                   f"the first {n_trials} of {result.n_trials} trials")


def finished_trials(study: Any) -> list[Any]:
    """The trials of ``study`` that ended (complete or pruned): not those left running or
    failed by an interruption."""
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return [t for t in study.trials if t.state in done]


def _stored(study: Any, storage: str | None, profile: Profile, n_trials: int) -> Any:
    """``study`` (in memory) moved into ``storage`` with its sampler and pruner, resuming the
    study of that name already there. A resumed sampler is seeded past the trials already
    drawn, so that it does not draw the first trials' settings again."""
    import optuna

    if storage is None:
        return study
    store = optuna.storages.get_storage(storage)
    stored = optuna.create_study(study_name=study.study_name, storage=store,
                                 direction="minimize", sampler=study.sampler,
                                 pruner=study.pruner, load_if_exists=True)
    study_id = store.get_study_id_from_name(study.study_name)
    for t in stored.get_trials(deepcopy=False,
                               states=(optuna.trial.TrialState.RUNNING,
                                       optuna.trial.TrialState.WAITING)):
        # left behind by an interrupted process: it will never finish
        trial_id = store.get_trial_id_from_study_id_trial_number(study_id, t.number)
        store.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
    done = len(finished_trials(stored))
    if done:
        ahead = profile.replace(tuning={"seed": profile.tuning.seed + done})
        stored.sampler = _sampler(ahead, n_trials)
    return stored


def _study_task(name: str, data: MultiOmicsData, profile: Profile, base: Settings | None,
                storage: str | None = None, callbacks: Sequence[Any] = ()) -> StudyResult:
    t = profile.tuning
    kept = {"storage": storage, "callbacks": callbacks}
    if name in INHERITS and t.locus_trials == 0:
        # no study and no score: scoring alone would cost as much as several full studies of
        # the other models
        note = f"no study of its own: the settings tuned for {INHERITS[name]}"
        return StudyResult(name, merge(base), float("nan"), 0, 0, 0.0, 0, note)
    if name in INHERITS:
        note = f"{t.locus_trials} trials on {t.locus_inner_folds} inner folds"
        return run_study(name, data, profile, n_trials=t.locus_trials,
                         inner_folds=t.locus_inner_folds, note=note, **kept)
    if name == "voting_ensemble":
        return run_study(name, data, profile, n_trials=0, inner_folds=t.inner_folds, base=base,
                         note="no search of its own: the tuned settings of its members")
    return run_study(name, data, profile, n_trials=t.n_trials, inner_folds=t.inner_folds,
                     **kept)


# --------------------------------------------------------------------------- budget check


def sensitivity_models(results: Mapping[str, StudyResult], transformer: str = "mmt_modality"
                       ) -> dict[str, str]:
    """The models whose studies the budget check continues, by role: the transformer, the
    best other neural model and the best classical model, "best" by their studies' lowest
    inner log-loss among models that have a search of their own (the voting ensemble has none:
    it takes its members' settings)."""
    searched = {m: r for m, r in results.items() if r.n_trials and np.isfinite(r.best_value)}
    neural = {m: r.best_value for m, r in searched.items()
              if m not in BASELINES and m != transformer}
    classical = {m: r.best_value for m, r in searched.items() if m in CLASSICAL}
    roles = {"transformer": transformer}
    if neural:
        roles["best neural"] = min(neural, key=neural.get)
    if classical:
        roles["best classical"] = min(classical, key=classical.get)
    missing = [m for m in roles.values() if m not in searched]
    if missing:
        raise ValueError(f"the budget check needs a study of {missing}: tune them first")
    return roles


def extend_all(results: Mapping[str, StudyResult], data: MultiOmicsData, profile: Profile,
               models: Sequence[str], n_trials: int, n_jobs: int | None = None
               ) -> dict[str, StudyResult]:
    """The studies of ``models`` continued to ``n_trials`` trials each (:func:`extend`), in
    ``n_jobs`` processes."""
    from .protocol import run_tasks

    n_jobs = profile.evaluation.n_jobs if n_jobs is None else n_jobs
    tasks = [(results[m], data, profile, n_trials) for m in models]
    done = run_tasks(extend, tasks, n_jobs, cost=lambda t: t[0].model in BASELINES)
    return {r.model: r for r in done}


def best_trial_number(result: StudyResult) -> int:
    """The trial (counted from 1) that first reached the study's best value."""
    return 1 + min(t.number for t in result.trials
                   if t.value is not None and t.value == result.best_value)


def best_so_far(result: StudyResult) -> list[float]:
    """The lowest inner log-loss among the complete trials up to each trial, in trial order
    (NaN until the first complete trial): the study's best-so-far curve."""
    import optuna

    out, best = [], float("nan")
    for t in sorted(result.trials, key=lambda t: t.number):
        if t.state == optuna.trial.TrialState.COMPLETE and not (t.value >= best):
            best = float(t.value)
        out.append(best)
    return out


def real_data_budget(profile: Profile) -> Profile:
    """The profile whose tuning budget is the one for the real data sets (Chapter 8):
    ``tuning.real_data_trials`` trials for every model."""
    t = profile.tuning
    return profile.replace(tuning={"n_trials": t.real_data_trials,
                                   "startup_trials": min(t.startup_trials, t.real_data_trials)})


def tune(data: MultiOmicsData, profile: Profile, models: Sequence[str],
         n_jobs: int | None = None, *, storages: Mapping[str, str] | None = None,
         callbacks: Mapping[str, Sequence[Any]] | None = None) -> dict[str, StudyResult]:
    """A study per model on ``data``, the training data only, in ``n_jobs`` processes.

    Models that build on another model's result (the voting ensemble on its members, the
    locus-token transformer on the modality-token model's recipe) run after it. ``storages``
    (by model, Optuna storage URLs) keep each finished trial as it ends and resume a study
    found there; ``callbacks`` (by model) are called after each of its trials.
    """
    from .protocol import run_tasks

    unknown = [m for m in models if m not in SEARCH_SPACES]
    if unknown:
        raise ValueError(f"models {unknown} have no search space: expected names among "
                         f"{list(SEARCH_SPACES)}")
    n_jobs = profile.evaluation.n_jobs if n_jobs is None else n_jobs
    inherit = profile.tuning.locus_trials == 0  # INHERITS apply only without a study
    needs = {m: [INHERITS[m]] if m in INHERITS and inherit else
             list(ENSEMBLE_MEMBERS) if m == "voting_ensemble" else [] for m in models}
    missing = sorted({d for m in models for d in needs[m] if d not in models})
    if missing:
        raise ValueError(f"tuning {[m for m in models if set(needs[m]) & set(missing)]} needs "
                         f"the studies of {missing}: add them to the models tuned")
    results: dict[str, StudyResult] = {}
    first = [m for m in models if not needs[m]]
    then = [m for m in models if needs[m]]
    for batch in (first, then):
        tasks = []
        for m in batch:
            if m == "voting_ensemble":
                base = {k: results[k].best_settings for k in ENSEMBLE_MEMBERS}
            elif m in INHERITS and inherit:
                base = merge(results[INHERITS[m]].best_settings)
            else:
                base = None
            tasks.append((m, data, profile, base, (storages or {}).get(m),
                          tuple((callbacks or {}).get(m, ()))))
        # the costliest studies start first, so that the workers finish together: the
        # locus-token transformer's own study (one token per feature: at the paper profile it
        # took about twice the worker time of any other study, and started last it ran alone
        # for its last half hour), then the other neural studies, then the classical ones
        done = run_tasks(_study_task, tasks, n_jobs,
                         cost=lambda t: (t[0] in BASELINES, t[0] not in INHERITS))
        results.update({r.model: r for r in done})
    return {m: results[m] for m in models}


# --------------------------------------------------------------------------- storage


def tuning_dir(profile: str, results_dir: str | os.PathLike[str] | None = None) -> Path:
    from .results import results_root

    return results_root(results_dir) / profile / "tuning"


def save(results: Mapping[str, StudyResult], profile: str, name: str = "synthetic",
         results_dir: str | os.PathLike[str] | None = None) -> Path:
    """Persist the studies of one data set: every trial in an Optuna storage
    (``tuning/<name>.db``, which ``optuna-dashboard sqlite:///...`` opens) and the best
    settings in ``tuning/<name>.json``, the file other chapters read. Both appear whole or
    not at all."""
    import optuna

    from .results import atomic_write_text
    from .safe_write import atomic_file, json_text

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = tuning_dir(profile, results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_file(folder / f"{name}.db") as tmp:
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
        for r in results.values():
            if r.trials:
                study = optuna.create_study(storage=storage, study_name=r.model,
                                            direction="minimize")
                study.add_trials(r.trials)
        del storage
    summary = {m: r.summary() for m, r in results.items()}
    path = folder / f"{name}.json"
    atomic_write_text(path, json_text(summary, indent=2))
    return path


def load(profile: str, name: str = "synthetic",
         results_dir: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The tuned settings and study summaries of one data set, by model, as :func:`save`
    wrote them; a clear error naming the chapter to run when there are none."""
    from .results import note_input

    path = tuning_dir(profile, results_dir) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run the tuning chapter at profile {profile!r} first "
            f"(cancer-alpha reproduce --profile {profile} --only 03), or `cancer-alpha tune`")
    note_input(path, results_dir)
    return json.loads(path.read_text())


def tuned_settings(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, Settings]:
    """{model: its best settings} from what :func:`load` returns."""
    return {m: dict(v["best_params"]) for m, v in summary.items()}


def load_study(profile: str, model: str, name: str = "synthetic",
               results_dir: str | os.PathLike[str] | None = None) -> Any:
    """One model's study back from the Optuna storage (for the chapter's figures)."""
    import optuna

    db = tuning_dir(profile, results_dir) / f"{name}.db"
    return optuna.load_study(study_name=model, storage=f"sqlite:///{db}")


def importances(study: Any, seed: int = 0) -> dict[str, float]:
    """fANOVA importance of each setting for the study's objective, with a fixed seed (the
    evaluator fits a random forest to the trials)."""
    import optuna

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2 or not study.best_trial.params:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


__all__ = [
    "Param", "SEARCH_SPACES", "ENSEMBLE_MEMBERS", "INHERITS", "Settings", "StudyResult",
    "search_space_table", "settings_of", "merge", "log_loss",
    "fit_predict", "inner_log_loss", "run_study", "extend", "truncate", "make_pruner", "tune",
    "sensitivity_models", "extend_all", "best_so_far",
    "best_trial_number", "finished_trials", "real_data_budget",
    "save", "load",
    "tuned_settings",
    "load_study", "importances", "tuning_dir",
]


def tuned_models(profile: Profile) -> list[str]:
    """The models of the comparison that have a search space, in the comparison's order."""
    return [m for m in profile.evaluation.models if m in SEARCH_SPACES]


def share_word(factor: int) -> str:
    """The share of trials the pruner keeps at each rung, in words ('half', 'third', ...)."""
    return {2: "half", 3: "third", 4: "quarter"}.get(factor, f"1/{factor}")


def budget_glue(profile: Profile, n_train: int, n_models: int) -> dict[str, Any]:
    """The tuning budget and the pruning rule as Chapter 3 states them."""
    from .tables import plural

    t = profile.tuning
    return {"n_trials": t.n_trials, "inner_folds": t.inner_folds,
            "locus_trials": t.locus_trials, "locus_inner_folds": t.locus_inner_folds,
            "prune_min_words": plural(t.prune_min_epochs, "epoch"),
            "prune_factor": t.prune_reduction_factor,
            "prune_share": share_word(t.prune_reduction_factor),
            "sensitivity_trials": t.sensitivity_trials, "n_train": n_train,
            "n_models": n_models}


def study_table(studies: Mapping[str, StudyResult]):
    """One row per study: trials, pruned trials, inner folds, the best inner-fold log-loss
    and the budget it had."""
    import pandas as pd

    return pd.DataFrame({m: {"trials": r.n_trials, "pruned": r.n_pruned,
                             "inner folds": r.inner_folds or "—",
                             "best log-loss": f"{r.best_value:.4f}" if r.inner_folds else "—",
                             "budget": r.note or "equal"}
                         for m, r in studies.items()}).T


def study_totals(studies: Mapping[str, StudyResult]) -> dict[str, int]:
    """Trials run and trials pruned over every study."""
    return {"n_trials_total": sum(r.n_trials for r in studies.values()),
            "n_pruned": sum(r.n_pruned for r in studies.values())}


def top_setting(importance: Mapping[str, float] | None) -> str:
    """The setting that explains most of a study's objective, or why there is none."""
    importance = importance or {}
    return (max(importance, key=importance.get) if importance
            else "not measured (too few completed trials)")


def budget_comparison(studies: Mapping[str, StudyResult], extended: Mapping[str, StudyResult],
                      roles: Mapping[str, str], n_trials: int, more_trials: int):
    """The continued studies beside the equal-budget ones (best value at each budget, the best
    trial, pruned trials, whether the best settings stayed the same), and the sentence that
    says whether a longer study found better settings: (table, words)."""
    import pandas as pd

    budget = pd.DataFrame({
        m: {"role": role, f"{n_trials} trials": studies[m].best_value,
            f"{more_trials} trials": extended[m].best_value,
            "best trial": best_trial_number(extended[m]),
            "pruned": extended[m].n_pruned,
            "same settings": extended[m].best_settings == studies[m].best_settings}
        for role, m in roles.items()}).T
    improved = [m for m in budget.index if not budget.loc[m, "same settings"]]
    words = ("the best settings of every one of them were found within the first "
             f"{n_trials} trials." if not improved else
             f"{', '.join(improved)} found better settings after trial {n_trials}; "
             "Chapter 5 shows whether they change the held-out accuracy or the ranking.")
    return budget, words


def chosen_settings(profile: Profile, studies: Mapping[str, StudyResult],
                    models: Sequence[str]):
    """The settings each neural model's study chose beside the published recipe, one row per
    setting searched: (table, the neural models)."""
    import pandas as pd

    recipe = {**{f"train.{k}": v for k, v in vars(profile.train).items()},
              **{f"model.{k}": v for k, v in vars(profile.model).items()}}
    neural = [m for m in models if "train" in studies[m].best_settings]
    rows = sorted({f"{s}.{k}" for m in neural for s, v in studies[m].best_settings.items()
                   for k in v})
    table = pd.DataFrame({"published recipe": [recipe.get(r, None) for r in rows],
                          **{m: [studies[m].best_settings.get(r.split(".")[0], {})
                                 .get(r.split(".")[1], None) for r in rows] for m in neural}},
                         index=rows)
    return table, neural


def study_seconds(studies: Mapping[str, StudyResult]):
    """Wall seconds of every study."""
    import pandas as pd

    return pd.Series({m: r.wall_seconds for m, r in studies.items()}, name="seconds")


def load_studies(studies: Mapping[str, StudyResult], profile: str, name: str = "synthetic",
                 results_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The Optuna study of every model that ran trials, back from the storage :func:`save`
    wrote (the chapter's figures read the storage, as a reader's optuna-dashboard would)."""
    return {m: load_study(profile, m, name, results_dir) for m, r in studies.items()
            if r.trials}


def importances_by_model(loaded: Mapping[str, Any], seed: int) -> dict[str, dict[str, float]]:
    """:func:`importances` of every study, with one seed."""
    return {m: importances(study, seed=seed) for m, study in loaded.items()}


def classical_settings(studies: Mapping[str, StudyResult], models: Sequence[str],
                       neural: Sequence[str], ensemble: str = "voting_ensemble"):
    """The estimator settings each classical model's study chose, a row per model (the
    ensemble, whose members are tuned on their own, left out)."""
    import pandas as pd

    return pd.DataFrame({m: studies[m].best_settings.get("estimator", {}) for m in models
                         if m not in neural and m != ensemble}).T


def record(studies: Mapping[str, StudyResult], extended: Mapping[str, StudyResult],
           roles: Mapping[str, str], more_trials: int,
           importance: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Chapter 3's run record: every study's summary, the continued studies with their
    best-so-far curves, the importances and the search spaces."""
    return {"tuning": {m: r.summary() for m, r in studies.items()},
            "budget_sensitivity": {"roles": dict(roles), "trials": more_trials,
                                   "studies": {m: r.summary() for m, r in extended.items()},
                                   "best_so_far": {m: best_so_far(r)
                                                   for m, r in extended.items()}},
            "importances": dict(importance),
            "search_space": search_space_table().to_dict(orient="records")}
