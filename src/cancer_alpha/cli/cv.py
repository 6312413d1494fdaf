"""`cv`: the book's comparison protocol on a data folder, optionally tuned inside each fold."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cv_tables import write_cv
from .interrupt import Interrupt
from .options import (
    DEFAULT_MODEL,
    KINDS_EPILOG,
    add_data_options,
    add_jobs,
    add_models,
    add_out,
    add_overwrite,
    add_trials,
    add_tuned,
    fill,
    folds_int,
    seed_list,
)
from .paths import input_folder, output_folder
from .steps import args_profile, rarest_class, read_training_data, tuned_folder, tuned_notes, warn


def _cv(args: argparse.Namespace) -> int:

    from ..errors import OptionError

    data_dir = input_folder(args.data, "--data")
    inputs = {"--data": data_dir}
    if args.tune and args.tuned is not None:
        raise OptionError(f"--tune and --tuned {args.tuned!r}: choose one (--tune tunes "
                          "inside each fold; --tuned uses settings tuned before)")
    if args.trials is not None and not args.tune:
        raise OptionError(f"--trials {args.trials}: applies to --tune only")
    tuned = tuned_folder(args, inputs)
    out = output_folder(args.out, "--out", overwrite=args.overwrite, inputs=inputs)
    profile = args_profile(args, max_epochs=args.max_epochs, val_fraction=args.val_fraction)
    settings = None
    if tuned is not None:
        from ..nested import tuned_as

        settings = {m: tuned.settings_for(tuned_as(m)) for m in args.models}
    if args.tune:
        from ..tuning import real_data_budget
        from ..tuning_folder import with_trials

        profile = with_trials(real_data_budget(profile), args.trials)
    data, dropped = read_training_data(args, val_fraction=None, seed=args.seeds[0])
    rare, smallest = rarest_class(data)
    if smallest < args.folds:
        raise OptionError(f"--folds {args.folds}: class {rare!r} has {smallest} sample(s), "
                          f"fewer than the folds: stratified folds need at least one sample "
                          f"of each class per fold (use --folds {max(smallest, 2)} or fewer)"
                          if smallest >= 2 else
                          f"--folds {args.folds}: class {rare!r} has a single sample, which "
                          "no stratified split can place in both a training and a test part")
    inner = profile.tuning.inner_folds
    least = smallest - -(-smallest // args.folds)  # in the smallest outer training part
    if args.tune and least < inner:
        raise OptionError(f"--tune: class {rare!r} has {smallest} samples, so an outer "
                          f"training part may hold only {least}, fewer than the {inner} inner "
                          "folds that score each trial: use fewer --folds, or a profile with "
                          "fewer tuning.inner_folds")
    if tuned is not None:
        tuned_notes(tuned, data, profile)
        seen = tuned.overlap(data.sample_ids)
        if seen:
            warn(f"--tuned {str(tuned.path)!r}: the settings were tuned on {seen} of these "
                  f"{data.n_samples} samples, which cv holds out in turn, so the tuned scores "
                  "are optimistic (the held-out folds took part in choosing the settings); "
                  "`cv --tune` tunes inside each fold instead")

    from ..partial import PartialRun
    from ..training.diagnostics import generic_encoders_note
    from ..tuning_folder import data_fingerprint, settings_fingerprint

    for name in args.models:
        note = generic_encoders_note(name, data.specs)
        if note:
            warn(note)
    profile = profile.replace(evaluation={"max_runs": {}})
    identity = {"data": data_fingerprint(data), "settings": settings_fingerprint(profile),
                "models": args.models, "seeds": args.seeds, "folds": args.folds,
                "tuned": settings, "tune": args.tune,
                "trials": profile.tuning.n_trials if args.tune else None}
    partial = PartialRun.open(out, identity, overwrite=args.overwrite, command="cv")
    def kept() -> str:
        text = partial.kept_or_remove()
        return f"{text} in {partial.path}" if text else ""

    Interrupt.kept = kept
    kept = partial.kept()
    if kept:
        print(f"resuming: {kept} kept in {partial.path} by an interrupted run",
              file=sys.stderr)
    n_runs = len(args.models) * len(args.seeds) * args.folds
    if args.tune:
        from ..nested import nested_cross_validate, studied_models
        from ..tuning_folder import quiet_interrupted_trials

        quiet_interrupted_trials()
        t = profile.tuning
        print(f"{2 * n_runs} fits: {len(args.models)} model(s) x {len(args.seeds)} seed(s) x "
              f"{args.folds} folds, each with the published recipe and with settings tuned "
              f"inside the fold ({t.n_trials} trials per study of "
              f"{', '.join(studied_models(args.models))}, on {t.inner_folds} inner folds of "
              "the fold's training part)", file=sys.stderr)
        result = nested_cross_validate(data, profile, args.models, seeds=args.seeds,
                                       n_folds=args.folds, n_jobs=args.jobs, partial=partial,
                                       progress=True)
        recipes = {"published recipe": result.published, "tuned": result.tuned}
    else:
        from ..protocol import cross_validate

        recipe = "published" if settings is None else "tuned"
        done = {(f.model, f.seed, f.fold): f for k, f in partial.fits().items()
                if f.recipe == recipe}
        print(f"{n_runs} fits: {len(args.models)} model(s) x {len(args.seeds)} seed(s) x "
              f"{args.folds} folds" + (f", settings from {tuned.path}" if tuned else ""),
              file=sys.stderr)
        fits = cross_validate(data, profile, args.models, seeds=args.seeds,
                              n_folds=args.folds, n_jobs=args.jobs, keep_proba=True,
                              progress=True, settings=settings, recipe=recipe, done=done,
                              on_fit=partial.save_fit)
        recipes = {"published recipe" if settings is None else "tuned": fits}
    write_cv(args, out, data, data_dir, dropped, profile, recipes, partial,
              tuned=tuned, chosen=result.chosen if args.tune else None)
    partial.remove()
    print(f"comparison written to {out}")
    return 0


def add_cv(sub: Any, common: argparse.ArgumentParser) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("cv", parents=[common], formatter_class=raw,
                       help="cross-validate models on a data folder and compare them",
                       description=fill("The book's comparison protocol on your data: every model "
                                   "on the same stratified folds for each seed (so differences "
                                   "are paired), scored on each held-out fold. Prints and "
                                   "writes the table (mean ± sd over runs, AUC with a 95% "
                                   "interval, accuracy difference from the first model, "
                                   "n_runs) to --out: comparison.csv, comparison.json, "
                                   "fits.csv (every run), table.txt. With --tune, every model "
                                   "is also tuned inside each outer fold and the tuned table "
                                   "is printed beside the published recipe's (recipes.csv, "
                                   "tuned_settings.json, studies/). Finished fits are kept in "
                                   "a hidden .OUT.partial folder until the end: after an "
                                   "interruption the same command resumes."),
                       epilog=KINDS_EPILOG)
    add_data_options(p, training=True)
    add_models(p, default=[DEFAULT_MODEL],
               help=f"models to compare, the first is the reference (default {DEFAULT_MODEL})")
    p.add_argument("--folds", type=folds_int, default=5, help="stratified folds (default 5)")
    p.add_argument("--seeds", type=seed_list, default=[0], metavar="S[,S...]",
                   help="seeds; each draws its own folds and initialisations (default 0)")
    p.add_argument("--tune", action="store_true",
                   help="the nested protocol: tune every model inside each outer fold on its "
                        "training part alone (Chapter 3's studies, the profile's budget for a "
                        "real data set), and print the tuned beside the published recipe")
    add_trials(p, help="with --tune: trials per study (default: the profile's "
                       "tuning.real_data_trials)")
    add_tuned(p, help="use the settings of this tuning folder (`cancer-alpha tune --data`); "
                      "tuned on the same samples, they make the scores optimistic, which "
                      "--tune avoids")
    add_jobs(p, default=1, help="worker processes for independent fits (default 1)")
    add_out(p, help="folder to create for the comparison")
    add_overwrite(p, help="replace a non-empty --out (and discard the kept work of an "
                          "interrupted cv with other options)")
    p.set_defaults(func=_cv)
