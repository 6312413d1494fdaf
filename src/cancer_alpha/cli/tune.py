"""`tune`: the book's hyper-parameter studies, on a profile's synthetic cohort or on a data
folder of one's own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .interrupt import Interrupt
from .options import (
    DATA_HELP,
    DEFAULT_MODEL,
    add_constant,
    add_data,
    add_jobs,
    add_models,
    add_out,
    add_overwrite,
    add_profile,
    add_range_check,
    add_trials,
    fill,
)
from .paths import input_folder, tuning_output
from .steps import args_profile, rarest_class, read_training_data, say


def _tune(args: argparse.Namespace) -> int:
    import time

    from ..config import load_profile
    from ..tuning import SEARCH_SPACES
    from ..tuning_folder import kept_trials, tune_into, with_trials

    if args.data is not None:
        return _tune_data(args)
    if args.out is not None:
        from ..errors import OptionError

        raise OptionError(f"--out {args.out!r}: names the tuning folder of --data; the studies "
                          "of the profile's synthetic cohort go to --results "
                          "(RESULTS/PROFILE/tuning/)")
    for option in ("constant", "no_range_check"):
        if getattr(args, option) not in (None, False):
            from ..errors import OptionError

            raise OptionError(f"--{option.replace('_', '-')}: applies to --data only")
    profile = with_trials(load_profile(args.profile), args.trials)
    models = args.models or [m for m in profile.evaluation.models if m in SEARCH_SPACES]
    _tunable(models)
    from ..synth import World
    from ..tuning import tuning_dir
    from ..tuning_folder import replaced_studies

    folder = tuning_dir(profile.name, args.results)
    replaced_studies(folder, "synthetic", models, overwrite=args.overwrite)  # before any work
    world = World.from_config(profile.cohort)
    train = world.sample(profile.cohort.n_samples, seed=profile.evaluation.data_seed).data
    Interrupt.kept = lambda: _kept_trials_text(kept_trials(folder), folder)
    t = profile.tuning
    jobs = args.jobs or profile.evaluation.n_jobs
    print(f"tuning {len(models)} models on the {train.n_samples}-sample training cohort of "
          f"profile {profile.name!r}: {t.n_trials} trials each, {t.inner_folds} inner folds, "
          f"{jobs} worker process(es)", file=sys.stderr)
    t0 = time.perf_counter()
    done = tune_into(folder, "synthetic", train, profile, models, n_jobs=jobs,
                     overwrite=args.overwrite, say=say)
    _print_studies(done)
    path = done.path
    print(f"best settings in {path}; every trial in {path.with_suffix('.db')} "
          f"(optuna-dashboard sqlite:///{path.with_suffix('.db')}); "
          f"{time.perf_counter() - t0:.0f} s")
    return 0


def _tunable(models: list[str]) -> None:
    from ..errors import OptionError
    from ..tuning import SEARCH_SPACES

    untuned = [m for m in models if m not in SEARCH_SPACES]
    if untuned:
        raise OptionError(f"--models: {untuned} have no search space of their own (ablations "
                          "of mmt_modality take its tuned settings): tune mmt_modality")


def _kept_trials_text(kept: dict[str, int], folder: Path) -> str:
    total = sum(kept.values())
    if not total:
        return ""
    return (f"{total} finished trial{'s' * (total != 1)} in {folder / '.partial'} "
            f"({len(kept)} stud{'y' if len(kept) == 1 else 'ies'})")


def _print_studies(done: Any) -> None:
    for text in done.replaced:
        print(f"replaced the earlier study of {text}", file=sys.stderr)
    print(f"{'model':<22}{'trials':>7}{'pruned':>7}{'log-loss':>10}{'seconds':>9}  note")
    for name, r in done.studies.items():
        print(f"{name:<22}{r.n_trials:>7}{r.n_pruned:>7}{r.best_value:>10.4f}"
              f"{r.wall_seconds:>9.1f}  {r.note}")


def _tune_data(args: argparse.Namespace) -> int:
    """`tune --data`: the book's studies on a researcher's own folder."""
    import time

    from ..errors import OptionError
    from ..tuning import real_data_budget
    from ..tuning_folder import (
        DATA_NAME,
        about_data,
        check_same_data,
        kept_trials,
        replaced_studies,
        tune_into,
        with_trials,
    )

    data_dir = input_folder(args.data, "--data")
    if args.out is None:
        raise OptionError("--data: needs --out, the tuning folder to write the studies and "
                          "the chosen settings to")
    out = tuning_output(args.out, inputs={"--data": data_dir})
    args.constant = args.constant or "error"
    profile = with_trials(real_data_budget(args_profile(args)), args.trials)
    models = args.models or [DEFAULT_MODEL]
    _tunable(models)
    replaced_studies(out, DATA_NAME, models, overwrite=args.overwrite)  # before any work
    data, dropped = read_training_data(args, val_fraction=None, seed=profile.tuning.seed)
    t = profile.tuning
    rare, smallest = rarest_class(data)
    if smallest < t.inner_folds:
        raise OptionError(f"--data {str(data_dir)!r}: class {rare!r} has {smallest} "
                          f"sample(s), fewer than the {t.inner_folds} inner folds a study "
                          "scores each trial on: add samples of it, or use a profile with "
                          "fewer tuning.inner_folds")
    prep = {"constant": args.constant, "dropped_features": dropped,
            "range_check": not args.no_range_check}
    about = about_data(data, profile, str(data_dir), prep)
    fresh = check_same_data(out, about, overwrite=args.overwrite)
    Interrupt.kept = lambda: _kept_trials_text(kept_trials(out), out)
    jobs = args.jobs or 1
    print(f"tuning {len(models)} model(s) on the {data.n_samples} samples of {data_dir}: "
          f"{t.n_trials} trials each (the profile's budget for a real data set, as in Chapter "
          f"7), each scored on {t.inner_folds} inner folds; {jobs} worker process(es)",
          file=sys.stderr)
    t0 = time.perf_counter()
    done = tune_into(out, DATA_NAME, data, profile, models, n_jobs=jobs,
                     overwrite=args.overwrite or bool(fresh), about=about, fresh=bool(fresh),
                     say=say)
    done.replaced = fresh or done.replaced
    _print_studies(done)
    print(f"chosen settings in {done.path} (train --tuned {out}, cv --tuned {out}); every "
          f"trial in {done.path.with_suffix('.db')}; {time.perf_counter() - t0:.0f} s")
    return 0


def add_tune(sub: Any, common: argparse.ArgumentParser) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("tune", parents=[common], formatter_class=raw,
                       help="tune models on a profile's training cohort (Chapter 3) or on "
                            "your own data folder",
                       description=fill(
                           "Run the equal-budget hyper-parameter studies of Chapter 3: for "
                           "each model, TPE trials drawn from its search space, each scored "
                           "by the mean validation log-loss over inner folds of the training "
                           "data, hopeless neural trials pruned. Without --data, on the "
                           "profile's synthetic training cohort (the held-out cohort is never "
                           "drawn), written to RESULTS/PROFILE/tuning/synthetic.json (the "
                           "settings the chapters read) and synthetic.db (every trial, for "
                           "optuna-dashboard). With --data, on your folder, with the "
                           "profile's budget for a real data set (Chapter 8's), written to "
                           "the tuning folder --out that `train --tuned` and `cv --tuned` "
                           "read.") + "\n\n" + fill(
                           "Studies are never lost: new models are merged into the studies "
                           "already there, and replacing a model's study needs --overwrite. "
                           "Every finished trial is kept as it ends; after an interruption "
                           "(Ctrl-C, SIGTERM), the same command resumes each study."))
    add_profile(p, help="profile (smoke, paper, large or a YAML file; default paper)")
    add_data(p, help="tune on this data folder of your own (" + DATA_HELP + ")", required=False)
    add_out(p, help="with --data: the tuning folder to create or add to (tuning.json: the "
                    "chosen settings; tuning.db: every trial; about.json: what was tuned on)",
            required=False)
    add_models(p, help="models to tune (default: the profile's evaluation.models; with --data, "
                       f"{DEFAULT_MODEL}); the voting ensemble needs its three members, "
                       "mmt_locus needs mmt_modality")
    add_trials(p, help="trials per model (default: the profile's tuning.n_trials; with --data, "
                       "tuning.real_data_trials)")
    add_jobs(p, help="worker processes, one study each (default: evaluation.n_jobs; with "
                     "--data, 1)")
    p.add_argument("--results", default="results",
                   help="results folder (default results/, as the book's)")
    add_overwrite(p, help="replace the study of a model already tuned there (it is named)")
    add_constant(p, help="with --data: features with one value in every sample (as for train)")
    add_range_check(p, help="with --data: accept values outside their kind's range")
    p.set_defaults(func=_tune)
