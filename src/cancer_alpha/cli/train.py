"""`train`: one model fitted on a data folder, written as a model folder."""

from __future__ import annotations

import argparse
from typing import Any

from ..model_names import BASELINE_MODELS
from .options import (
    DEFAULT_MODEL,
    KINDS_EPILOG,
    add_data_options,
    add_out,
    add_overwrite,
    add_seed,
    add_tuned,
    fill,
    model_name,
)
from .paths import input_folder, output_folder
from .steps import args_profile, probabilities, read_training_data, tuned_folder, tuned_notes, warn


def _fit_classical(name: str, data: Any, seed: int, settings: Any) -> Any:
    """A classical model with ``settings`` (tuned ones, or none: the published recipe)."""
    import time

    from ..baselines import FittedBaseline, fit_baseline
    from ..data import Standardizer
    from ..protocol import estimator_params

    t0 = time.perf_counter()
    model = fit_baseline(name, data, seed=seed, params=estimator_params(name, settings))
    return FittedBaseline(name, model, list(data.specs), list(data.class_names),
                          Standardizer().fit(data), time.perf_counter() - t0)


def _train(args: argparse.Namespace) -> int:
    data_dir = input_folder(args.data, "--data")
    inputs = {"--data": data_dir}
    tuned = tuned_folder(args, inputs)
    out = output_folder(args.out, "--out", overwrite=args.overwrite, inputs=inputs)
    settings = None
    if tuned is not None:
        from ..nested import tuned_as

        settings = tuned.settings_for(tuned_as(args.model))
    profile = args_profile(args, max_epochs=args.max_epochs, val_fraction=args.val_fraction)
    if settings is not None:
        from ..protocol import apply_settings

        profile = apply_settings(profile, settings)
    val_fraction = profile.train.val_fraction
    data, dropped = read_training_data(args, val_fraction=val_fraction, seed=args.seed)
    if tuned is not None:
        tuned_notes(tuned, data, profile)

    from ..evaluate import classification_report, format_report
    from ..training.diagnostics import collapse_warning, first_epoch_warning, generic_encoders_note
    from ..training.model_folder import save_model_folder

    note = generic_encoders_note(args.model, data.specs)
    if note:
        warn(note)
    if args.model in BASELINE_MODELS:
        from ..data import train_val_split

        tr, va = train_val_split(data.y, val_fraction, args.seed)
        val = data.subset(va)
        held = _fit_classical(args.model, data.subset(tr), args.seed, settings)
        report = classification_report(val.y, probabilities(held, val), data.class_names)
        role = ("held out: a model fitted on the other samples was scored on them; the saved "
                "model is then refitted on all samples")
        fitted = _fit_classical(args.model, data, args.seed, settings)
    else:
        from ..training import EpochProgress, fit_neural

        fitted = fit_neural(args.model, data, profile, seed=args.seed,
                            callbacks=[EpochProgress(profile.train.max_epochs, args.model)])
        val = data.subset(fitted.val_index)
        # the early-stopped model's scores, from before the refit learned these samples too
        proba = (fitted.val_proba if fitted.val_proba is not None
                 else probabilities(fitted, val))
        report = classification_report(val.y, proba, data.class_names)
        role = ("early-stopping hold-out: the number of epochs was chosen on these samples "
                "(scores of the model before it was refitted on all samples), so the scores "
                "are optimistic; use `cancer-alpha cv` or `evaluate` on other samples for an "
                "unbiased estimate")
        message = first_epoch_warning(fitted.best_epoch, fitted.epochs)
        if message:
            warn(message)
    pred = probabilities(fitted, data).argmax(axis=1)
    message = collapse_warning(pred, data.class_names, data.y,
                               what=f"the trained {args.model} (on its training samples)")
    if message:
        warn(message)
    metrics = {"model": args.model, "validation": report, "validation_role": role,
               "n_validation": val.n_samples, "n_samples": data.n_samples,
               "val_fraction": val_fraction, "epochs": fitted.epochs,
               "best_epoch": fitted.best_epoch, "seed": args.seed, "profile": profile.name}
    prep = {"constant": args.constant, "dropped_features": dropped,
            "range_check": not args.no_range_check}
    facts = {"seed": args.seed, "profile": profile.name, "val_fraction": val_fraction}
    if tuned is not None:
        facts["tuned"] = {"from": str(tuned.path), "settings": settings}
        metrics["recipe"] = f"tuned (settings from {tuned.path})"
    save_model_folder(fitted, out, model_cfg=profile.model, metrics=metrics,
                      feature_names=data.feature_names, overwrite=args.overwrite,
                      preprocessing=prep, settings=facts)
    print(f"scores on the {val.n_samples} {role.split(':')[0]} samples:")
    print(format_report(report))
    print(f"model folder written to {out}")
    return 0


def add_train(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("train", parents=[common],
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="train a model on a data folder and write a model folder",
                       description=fill("Train a model and write a model folder: the model "
                                        "(model.pt for neural models, model.skops for classical "
                                        "ones), config.json, preprocessing.json (scaling fitted "
                                        "on the training part), metrics.json and history.json. "
                                        "A stratified part (--val-fraction) is held out: for "
                                        "early stopping (neural: its scores are optimistic) or "
                                        "for scoring (classical, then refitted on all samples). "
                                        "For unbiased scores use `cancer-alpha cv`."),
                       epilog=KINDS_EPILOG)
    add_data_options(p, training=True)
    p.add_argument("--model", type=model_name, default=DEFAULT_MODEL, metavar="MODEL",
                   help=f"model to train (default {DEFAULT_MODEL}; list below)")
    add_tuned(p, help="train with the settings tuned for the model in this tuning folder "
                      "(`cancer-alpha tune --data ... --out DIR`); default: the published "
                      "recipe")
    add_out(p, help="model folder to create (for `predict` and `evaluate` --model-dir)")
    add_seed(p)
    add_overwrite(p)
    p.set_defaults(func=_train)
