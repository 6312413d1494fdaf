"""Nested cross-validation: every model tuned inside each outer fold, on that fold's training
part alone, and scored on its held-out part beside the published recipe on the same splits.

Chapter 4 tunes each model once on a training cohort and scores it on a separate held-out
cohort. A researcher's folder has no second cohort, so the book's protocol moves inside the
folds: for each seed and outer fold, every model's study (Chapter 3's search spaces, pruner
and equal budget) runs on the inner folds of the fold's training part; the settings it
chooses are trained on the whole training part and scored on the held-out part, which no
study ever saw. The published recipe is trained and scored on the very same splits, so the
change tuning makes is paired fold by fold.

The ablation variants of the transformer have no search space of their own: as in Chapter 6,
they take the settings tuned for the transformer (``mmt_modality``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import tuning
from .config import Profile
from .data import MultiOmicsData, stratified_folds
from .partial import PartialRun, fit_key
from .protocol import Fit, Settings, cross_validate, fit_one, run_tasks
from .tuning_folder import StudyProgress, trials_of, with_needs

# models without a search space of their own, and the model whose tuned settings they take
TAKES: dict[str, str] = {"mmt_no_cross_attention": "mmt_modality",
                         "mmt_generic_encoders": "mmt_modality"}


def tuned_as(model: str) -> str:
    """The model whose study gives ``model`` its tuned settings (itself, mostly)."""
    return TAKES.get(model, model)


def studied_models(models: Sequence[str]) -> list[str]:
    """The studies that tuning ``models`` needs, those they build on first."""
    return with_needs(list(dict.fromkeys(tuned_as(m) for m in models)))


@dataclass
class NestedResult:
    """The fits of both recipes and, per outer fold, the settings each model's study chose."""

    published: list[Fit]
    tuned: list[Fit]
    chosen: dict[str, dict[str, Any]] = field(default_factory=dict)  # "s0-f1" -> record


def _fold_name(seed: int, fold: int) -> str:
    return f"s{seed}-f{fold}"


def tune_fold(train: MultiOmicsData, profile: Profile, models: Sequence[str], *,
              partial: PartialRun | None = None, name: str = "", progress: bool = False
              ) -> dict[str, Any]:
    """The studies of one outer fold on its training part ``train``: the settings each
    model's study chose and the studies' summaries. With ``partial``, every finished trial
    is kept there and a study an interruption left is resumed."""
    studied = studied_models(models)
    storages = ({m: partial.storage(f"{name}-{m}") for m in studied if trials_of(m, profile)}
                if partial is not None else None)
    callbacks = ({m: (StudyProgress(f"{name} {m}", trials_of(m, profile), leave=False),)
                  for m in studied if trials_of(m, profile)} if progress else None)
    studies = tuning.tune(train, profile, studied, n_jobs=1, storages=storages,
                          callbacks=callbacks)
    return {"settings": {m: studies[tuned_as(m)].best_settings for m in models},
            "studies": {m: r.summary() for m, r in studies.items()}}


def nested_cross_validate(data: MultiOmicsData, profile: Profile, models: Sequence[str], *,
                          seeds: Sequence[int], n_folds: int, n_jobs: int = 1,
                          partial: PartialRun | None = None, progress: bool = False
                          ) -> NestedResult:
    """``models`` on every (seed, outer fold) of ``data``: with the published recipe, and with
    the settings tuned inside that fold on its training part alone (see the module).

    ``profile`` gives the recipe and the tuning budget. Units of work (the recipe's fits; the
    studies and tuned fits of one outer fold) run in ``n_jobs`` processes. With ``partial``,
    each finished fit, fold and trial is kept there as it ends, and what it already holds is
    not done again. Every model runs on every fold (``evaluation.max_runs`` caps none), so
    that each tuned fit has its published twin.
    """
    profile = profile.replace(evaluation={"max_runs": {}})
    done = partial.fits() if partial is not None else {}
    by_key = {(f.model, f.seed, f.fold): f for k, f in done.items() if f.recipe == "published"}
    published = cross_validate(data, profile, models, seeds=seeds, n_folds=n_folds,
                               n_jobs=n_jobs, keep_proba=True, progress=progress,
                               done=by_key, on_fit=partial.save_fit if partial else None)
    splits = {seed: stratified_folds(data.y, n_folds, seed) for seed in seeds}
    units = [(seed, fold, *splits[seed][fold]) for fold in range(n_folds) for seed in seeds]

    def unit(seed: int, fold: int, tr: Any, te: Any) -> tuple[str, dict[str, Any], list[Fit]]:
        name = _fold_name(seed, fold)
        train, test = data.subset(tr), data.subset(te)
        chosen = partial.load(f"chosen-{name}") if partial is not None else None
        if chosen is None:
            chosen = tune_fold(train, profile, models, partial=partial, name=name,
                               progress=progress and n_jobs == 1)
            if partial is not None:
                partial.save(f"chosen-{name}", chosen)
        fits = []
        for m in models:
            kept = done.get(fit_key(m, seed, fold, "tuned"))
            if kept is None:
                kept = fit_one(m, train, {"cv": test}, profile, seed, fold=fold,
                               keep_proba=True, settings=chosen["settings"][m], recipe="tuned")
                if partial is not None:
                    partial.save_fit(kept)
            fits.append(kept)
        return name, chosen, fits

    results = run_tasks(unit, units, n_jobs, progress=progress)
    tuned = [f for m in models for _, _, fits in results for f in fits if f.model == m]
    return NestedResult(published, tuned, {name: chosen for name, chosen, _ in results})


def chosen_settings(result: NestedResult) -> dict[str, dict[str, Settings]]:
    """By outer fold, each model's chosen settings."""
    return {name: dict(rec["settings"]) for name, rec in result.chosen.items()}


__all__ = ["TAKES", "tuned_as", "studied_models", "NestedResult", "tune_fold",
           "nested_cross_validate", "chosen_settings"]
