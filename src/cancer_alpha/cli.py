"""The ``cancer-alpha`` command. Heavy libraries are imported inside each command, so that
``cancer-alpha --help`` answers at once.

Every path and option is checked before any data is read or any model trained; bad input ends
in one line on stderr and exit status 2 (``--debug`` shows the traceback), an interruption in
exit status 130 (Ctrl-C) or 143 (SIGTERM) within seconds, and nothing half-written is left
behind: what a long command finished is kept where the same command resumes it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .model_names import BASELINE_MODELS as CLASSICAL_MODELS
from .model_names import NEURAL_MODELS

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM), as a scheduler stopping the job sends it

MODELS: dict[str, str] = {**NEURAL_MODELS, **CLASSICAL_MODELS}
DEFAULT_MODEL = "mmt_modality"
DEFAULT_PROFILE = "paper"

EPILOG = """\
examples:
  cancer-alpha reproduce --profile smoke --book     execute every chapter, render the book
  cancer-alpha reproduce --profile paper --only 01,03
  cancer-alpha tune --profile smoke --models logistic_regression,mmt_modality
  cancer-alpha publish --profile paper                after `make book`: reference/paper/
  cancer-alpha verify --profile paper --claims C08,C12   rerun and compare with the reference
  cancer-alpha synthesize --profile smoke --out cohort/
  cancer-alpha cv --data cohort/ --tune --models mmt_modality,logistic_regression --out cv/
                                     (each model tuned inside each fold, beside its recipe)
  cancer-alpha tune --data cohort/ --models mmt_modality --out tuned/
  cancer-alpha train --data cohort/ --tuned tuned/ --out run/  (model: mmt_modality)
  cancer-alpha train --data cohort/ --model random_forest --out rf_run/   (published recipe)
  cancer-alpha cv --data cohort/ --models mmt_modality,random_forest --folds 5 --seeds 0,1,2 \\
                  --out cv_recipe/
  cancer-alpha evaluate --run run/ --data labelled_samples/
  cancer-alpha predict --run run/ --data new_samples/ --out predictions.csv

A data folder holds one table per modality (<name>.csv|tsv|parquet: rows = samples, first
column = sample id, header = feature names), labels.csv (sample id, class name) and
optionally modalities.json (the kind of each modality); see `cancer-alpha train --help` and
the README's "Your own data".
"""

DATA_HELP = ("folder with one table per modality (<name>.csv, .tsv or .parquet; rows = samples, "
             "first column = sample id, header = feature names), labels.csv (sample id, class) "
             "and optionally modalities.json (kind and positions per modality)")

KINDS_EPILOG = """\
modality kinds (modalities.json: {"modalities": {"<name>": {"kind": ..., "positions": [...]}},
"classes": [...]}; an unlisted table is 'generic'):
  methylation    beta values in [0, 1]; an MLP encoder (the generic network; the kind turns on
                 the [0, 1] check)
  fragmentomics  a fragment-length histogram (proportions or counts >= 0, columns in length
                 order); 1-D convolutions along the columns
  cna            copy-number log2 ratios per genome bin (plausibly in [-8, 8], columns in
                 genome order); convolutions plus a bidirectional GRU along the columns
  generic        any numeric features; an MLP encoder, column order irrelevant
Values outside a kind's range are refused (methylation, fragmentomics) or warned about (cna);
--no-range-check accepts them. Only fragmentomics and cna have encoders of their own, so
mmt_generic_encoders equals mmt_modality on data without them.

models (default mmt_modality):
""" + "\n".join(f"  {name:<23}{text}" for name, text in MODELS.items())


# --------------------------------------------------------------------------- option types


def _int_in(low: int, high: int | None = None, what: str = "an integer"):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"{value} is invalid: expected {what} {bound}")
        return value

    return parse


positive_int = _int_in(1)
seed_int = _int_in(0, 2**32 - 1, "a seed, an integer")
folds_int = _int_in(2, what="a number of folds, an integer")


def fraction(text: str) -> float:
    """A fraction strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is invalid: expected a fraction in (0, 1)")
    return value


def model_name(text: str) -> str:
    name = text.strip()
    if name not in MODELS:
        raise argparse.ArgumentTypeError(
            f"unknown model {text!r}: expected one of {', '.join(MODELS)}")
    return name


def model_list(text: str) -> list[str]:
    names = [model_name(t) for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected at least one model name, e.g. "
                                         "mmt_modality,random_forest")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r} names a model twice")
    return names


def seed_list(text: str) -> list[int]:
    seeds = [seed_int(t.strip()) for t in text.split(",") if t.strip()]
    if not seeds:
        raise argparse.ArgumentTypeError("expected at least one seed, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a seed")
    return seeds


# --------------------------------------------------------------------------- paths


def _err(option: str, path: Any, problem: str):
    from .errors import OptionError

    return OptionError(f"{option} {str(path)!r}: {problem}")


def _existing_ancestor(path: Path, option: str) -> Path:
    """The nearest existing folder above ``path``; any existing part must be a folder."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _err(option, path, f"{parent} is a file, not a folder")
            return parent
    return Path(os.sep)


def _check_can_write(folder: Path, option: str, target: Path) -> None:
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".cancer-alpha-probe-")
    except OSError as exc:
        raise _err(option, target, f"cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _not_an_input(out: Path, option: str, inputs: dict[str, Path]) -> None:
    """An output never replaces, contains or sits inside an input (data or run folder)."""
    real = _resolved(out)
    for name, path in inputs.items():
        src = _resolved(path)
        if real == src:
            raise _err(option, out, f"is the {name} folder: an output never replaces an "
                                    "input, even with --overwrite")
        if src.is_relative_to(real):
            raise _err(option, out, f"contains the {name} folder {str(path)!r}: replacing it "
                                    "would delete the input; choose another path")
        if real.is_relative_to(src):
            raise _err(option, out, f"lies inside the {name} folder {str(path)!r}: an output "
                                    "never goes into an input folder (it would overwrite or "
                                    "add to its files); choose a path outside it")


def input_folder(path: str, option: str) -> Path:
    """An existing, readable folder."""
    p = Path(path)
    if not p.exists():
        raise _err(option, p, "does not exist: expected an existing folder")
    if not p.is_dir():
        raise _err(option, p, "is a file: expected a folder")
    if not os.access(p, os.R_OK | os.X_OK):
        raise _err(option, p, "cannot be read (permission denied)")
    return p


def output_folder(path: str, option: str, *, overwrite: bool,
                  inputs: dict[str, Path] | None = None) -> Path:
    """A folder the command may create (or replace, with ``overwrite``), checked up front."""
    p = Path(path)
    _not_an_input(p, option, inputs or {})
    if p.exists() and not p.is_dir():
        raise _err(option, p, "is a file: expected a folder to create")
    parent = _existing_ancestor(p, option)
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise _err(option, p, "exists and is not empty: choose another path, or pass "
                              "--overwrite to replace it")
    _check_can_write(p.parent if p.parent.exists() else parent, option, p)
    return p


def output_file(path: str, option: str, *, overwrite: bool,
                inputs: dict[str, Path] | None = None) -> Path:
    """A file the command may create (or replace, with ``overwrite``), checked up front."""
    p = Path(path)
    _not_an_input(p, option, inputs or {})
    if p.is_dir():
        raise _err(option, p, "is a folder: expected the path of a file to write")
    parent = _existing_ancestor(p, option)
    if p.exists() and not overwrite:
        raise _err(option, p, "exists: choose another path, or pass --overwrite to replace it")
    _check_can_write(p.parent if p.parent.exists() else parent, option, p)
    return p


# --------------------------------------------------------------------------- shared steps


def _warn(message: str) -> None:
    import warnings

    from .errors import CancerAlphaWarning

    warnings.warn(message, CancerAlphaWarning, stacklevel=2)


def _profile(args: argparse.Namespace, **train: Any):
    from .config import load_profile

    profile = load_profile(args.profile)
    changes = {k: v for k, v in train.items() if v is not None}
    return profile.replace(train=changes) if changes else profile


def _rarest_class(data) -> tuple[str, int]:
    """The class with the fewest samples among those that have any, and its count."""
    import numpy as np

    counts = np.bincount(data.y, minlength=data.n_classes)
    smallest = int(counts[counts > 0].min())
    return data.class_names[int(np.flatnonzero(counts == smallest)[0])], smallest


def _read_training_data(args: argparse.Namespace, *, val_fraction: float | None, seed: int):
    from .datasets import check_training_data, drop_constant_features, read_folder
    from .datasets.checks import kind_warnings

    data = read_folder(args.data, labels=True, range_check=not args.no_range_check)
    data, dropped = drop_constant_features(data, args.constant)
    for m, names in dropped.items():
        print(f"dropped {len(names)} constant feature(s) of {m!r}: "
              + ", ".join(names[:5]) + (" ..." if len(names) > 5 else ""), file=sys.stderr)
    check_training_data(data, val_fraction=val_fraction, seed=seed, where=str(args.data))
    for message in kind_warnings(data.specs):
        _warn(message)
    counts = [int((data.y == k).sum()) for k in range(data.n_classes)]
    print(f"{data.n_samples} samples; classes "
          + ", ".join(f"{c} ({n})" for c, n in zip(data.class_names, counts, strict=True))
          + "; modalities "
          + ", ".join(f"{s.name} ({s.kind}, {s.n_features})" for s in data.specs),
          file=sys.stderr)
    return data, dropped


def _load_for(args: argparse.Namespace, labels: bool):
    """The run and the data folder aligned to it (features, classes), values checked."""
    import numpy as np

    from .datasets import align_features, check_value_ranges, read_folder
    from .datasets.checks import scale_shift_warning
    from .errors import DataFolderError
    from .training.runs import load_run, run_dropped_features

    fitted, config = load_run(args.run)
    data = read_folder(args.data, labels=labels, range_check=False, positions=False,
                       absent_listed=True)
    data = align_features(data, fitted.specs, config["feature_names"],
                          dropped=run_dropped_features(config))
    absent = [s.name for j, s in enumerate(fitted.specs) if not data.mask[:, j].any()]
    if absent:
        _predict_without(fitted, config, absent, args.data)
    trained_checked = (config.get("preprocessing") or {}).get("range_check", True)
    if not args.no_range_check and trained_checked:
        check_value_ranges(data)
    if fitted.scaler is not None:
        for message in scale_shift_warning(data, fitted.scaler):
            _warn(message)
    if labels:
        used = sorted({data.class_names[k] for k in np.unique(data.y)})
        unknown = [c for c in used if c not in fitted.class_names]
        if unknown:
            raise DataFolderError(f"{args.data}: classes {unknown} were not seen in training "
                                  f"(the run knows {fitted.class_names})")
        remap = np.array([fitted.class_names.index(c) if c in fitted.class_names else -1
                          for c in data.class_names], dtype=np.int64)
        data.y = remap[data.y]
        data.class_names = list(fitted.class_names)
    return fitted, data


def _predict_without(fitted: Any, config: dict[str, Any], absent: list[str],
                     where: str) -> None:
    """A modality of the run absent from every sample: masked for a model that has masks
    (with what Chapter 5 measured it costs), refused for one that cannot do without it."""
    from .errors import DataFolderError

    names = " and ".join(repr(m) for m in absent)
    if config.get("family") == "classical":
        unseen = _never_missing(fitted, absent)
        if unseen:
            raise DataFolderError(
                f"{where}: modality {unseen[0]!r} is absent from every sample, and the "
                f"{fitted.name} run cannot predict without it: it never saw a training sample "
                f"lacking {unseen[0]!r} (its imputer would put training means in its place, "
                "which the model never learned to read as missing). Supply "
                f"{unseen[0]}.csv, or predict with a neural run, which masks a missing "
                "modality")
        _warn(f"modality {names} is absent from every sample of {where}: the {fitted.name} "
              "run imputes it as it learned to for training samples that lacked it"
              + _cost_of_missing(config, fitted, absent))
        return
    _warn(f"modality {names} is absent from every sample of {where}: predicting with it "
          "masked" + _cost_of_missing(config, fitted, absent))


def _never_missing(fitted: Any, absent: list[str]) -> list[str]:
    """The modalities of ``absent`` that a classical run never saw missing in training."""
    imputer = fitted.model.steps[0][1]
    indicator = getattr(imputer, "indicator_", None)
    learned = set(getattr(indicator, "features_", ()) if indicator is not None else ())
    out, start = [], 0
    for spec in fitted.specs:
        if spec.name in absent and not set(range(start, start + spec.n_features)) <= learned:
            out.append(spec.name)
        start += spec.n_features
    return out


def _cost_of_missing(config: dict[str, Any], fitted: Any, absent: list[str]) -> str:
    """What Chapter 5 measured a missing modality costs, when the run was trained on the
    synthetic world of its profile (the same modalities, kinds, features and classes)."""
    import json

    from .config import load_profile
    from .results import results_root
    from .synth import World

    unknown = ("; what it costs on this data is not known here: `evaluate` on a labelled "
               "folder without it measures it")
    name = config.get("profile")
    try:
        world = World.from_config(load_profile(name).cohort)
    except Exception:  # not a profile of this checkout: not the synthetic world
        return unknown
    same = ([(s.name, s.kind, s.n_features) for s in world.specs()]
            == [(s.name, s.kind, s.n_features) for s in fitted.specs]
            and world.class_names == list(fitted.class_names))
    if not same:
        return unknown
    rest = "+".join(s.name for s in world.specs() if s.name not in absent)
    whole = "+".join(s.name for s in world.specs())
    record = results_root() / name / "05_ablations.json"
    try:
        subsets = json.loads(record.read_text())["metrics"]["subset_accuracy"]
        acc, full = subsets[rest]["model"], subsets[whole]["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return (f"; the run was trained on the synthetic world of profile {name!r}, whose "
                f"cost of a missing modality Chapter 5 measures (cancer-alpha reproduce "
                f"--profile {name} --only 05 writes {record})")
    return (f"; on the synthetic world of profile {name!r}, on which this run was trained, "
            f"Chapter 5 measured accuracy {acc:.3f} with only {rest} observed against "
            f"{full:.3f} with every modality (the tuned transformer trained with modality "
            f"dropout; this run is {fitted.name})")


def _probabilities(fitted: Any, data: Any) -> Any:
    import numpy as np

    from .errors import CancerAlphaError

    proba = fitted.predict_proba(data)
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise CancerAlphaError(f"the model gave non-finite probabilities for sample "
                               f"{data.sample_ids[i]!r} ({int(bad.sum())} samples): its input "
                               "values are out of the range the model can compute with")
    return proba


def _write_json(path: Path, value: Any) -> None:
    import json

    from .evaluate import json_safe
    from .results import atomic_write_text

    atomic_write_text(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


# --------------------------------------------------------------------------- commands


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import reproduce

    reproduce(args.profile, only=args.only, book=args.book,
              execute_notebooks=not args.no_execute, force=args.force)
    return 0


def _tune(args: argparse.Namespace) -> int:
    import time

    from .config import load_profile
    from .tuning import SEARCH_SPACES
    from .tuning_folder import kept_trials, tune_into, with_trials

    if args.data is not None:
        return _tune_data(args)
    if args.out is not None:
        from .errors import OptionError

        raise OptionError(f"--out {args.out!r}: names the tuning folder of --data; the studies "
                          "of the profile's synthetic cohort go to --results "
                          "(RESULTS/PROFILE/tuning/)")
    for option in ("constant", "no_range_check"):
        if getattr(args, option) not in (None, False):
            from .errors import OptionError

            raise OptionError(f"--{option.replace('_', '-')}: applies to --data only")
    profile = with_trials(load_profile(args.profile), args.trials)
    models = args.models or [m for m in profile.evaluation.models if m in SEARCH_SPACES]
    _tunable(models)
    from .synth import World
    from .tuning import tuning_dir
    from .tuning_folder import replaced_studies

    folder = tuning_dir(profile.name, args.results)
    replaced_studies(folder, "synthetic", models, overwrite=args.overwrite)  # before any work
    world = World.from_config(profile.cohort)
    train = world.sample(profile.cohort.n_samples, seed=profile.evaluation.data_seed).data
    _Interrupt.kept = lambda: _kept_trials_text(kept_trials(folder), folder)
    t = profile.tuning
    jobs = args.jobs or profile.evaluation.n_jobs
    print(f"tuning {len(models)} models on the {train.n_samples}-sample training cohort of "
          f"profile {profile.name!r}: {t.n_trials} trials each, {t.inner_folds} inner folds, "
          f"{jobs} worker process(es)", file=sys.stderr)
    t0 = time.perf_counter()
    done = tune_into(folder, "synthetic", train, profile, models, n_jobs=jobs,
                     overwrite=args.overwrite, say=_say)
    _print_studies(done)
    path = done.path
    print(f"best settings in {path}; every trial in {path.with_suffix('.db')} "
          f"(optuna-dashboard sqlite:///{path.with_suffix('.db')}); "
          f"{time.perf_counter() - t0:.0f} s")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _tunable(models: list[str]) -> None:
    from .errors import OptionError
    from .tuning import SEARCH_SPACES

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


def tuning_output(path: str, inputs: dict[str, Path]) -> Path:
    """A tuning folder to create or add to: absent, empty, or one `tune --data` wrote."""
    from .tuning_folder import ABOUT, DATA_NAME, PARTIAL

    p = Path(path)
    _not_an_input(p, "--out", inputs)
    if p.exists() and not p.is_dir():
        raise _err("--out", p, "is a file: expected a tuning folder to create or add to")
    ours = {f"{DATA_NAME}.json", f"{DATA_NAME}.db", ABOUT, PARTIAL}
    if p.is_dir():
        foreign = sorted(e.name for e in p.iterdir() if e.name not in ours
                         and not e.name.startswith("."))
        if foreign:
            raise _err("--out", p, f"exists and holds {foreign[0]!r}, which is no part of a "
                                   "tuning folder: choose another path (a tuning folder is "
                                   "added to, never replaced)")
    parent = _existing_ancestor(p, "--out")
    _check_can_write(p if p.is_dir() else p.parent if p.parent.exists() else parent, "--out",
                     p)
    return p


def _tune_data(args: argparse.Namespace) -> int:
    """`tune --data`: the book's studies on a researcher's own folder."""
    import time

    from .errors import OptionError
    from .tuning import real_data_budget
    from .tuning_folder import (
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
    profile = with_trials(real_data_budget(_profile(args)), args.trials)
    models = args.models or [DEFAULT_MODEL]
    _tunable(models)
    replaced_studies(out, DATA_NAME, models, overwrite=args.overwrite)  # before any work
    data, dropped = _read_training_data(args, val_fraction=None, seed=profile.tuning.seed)
    t = profile.tuning
    rare, smallest = _rarest_class(data)
    if smallest < t.inner_folds:
        raise OptionError(f"--data {str(data_dir)!r}: class {rare!r} has {smallest} "
                          f"sample(s), fewer than the {t.inner_folds} inner folds a study "
                          "scores each trial on: add samples of it, or use a profile with "
                          "fewer tuning.inner_folds")
    prep = {"constant": args.constant, "dropped_features": dropped,
            "range_check": not args.no_range_check}
    about = about_data(data, profile, str(data_dir), prep)
    fresh = check_same_data(out, about, overwrite=args.overwrite)
    _Interrupt.kept = lambda: _kept_trials_text(kept_trials(out), out)
    jobs = args.jobs or 1
    print(f"tuning {len(models)} model(s) on the {data.n_samples} samples of {data_dir}: "
          f"{t.n_trials} trials each (the profile's budget for a real data set, as in Chapter "
          f"7), each scored on {t.inner_folds} inner folds; {jobs} worker process(es)",
          file=sys.stderr)
    t0 = time.perf_counter()
    done = tune_into(out, DATA_NAME, data, profile, models, n_jobs=jobs,
                     overwrite=args.overwrite or bool(fresh), about=about, fresh=bool(fresh),
                     say=_say)
    done.replaced = fresh or done.replaced
    _print_studies(done)
    print(f"chosen settings in {done.path} (train --tuned {out}, cv --tuned {out}); every "
          f"trial in {done.path.with_suffix('.db')}; {time.perf_counter() - t0:.0f} s")
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    import numpy as np

    from .config import load_profile
    from .datasets import write_folder
    from .synth import synthesize

    out = output_folder(args.out, "--out", overwrite=args.overwrite)
    profile = load_profile(args.profile)
    n = profile.cohort.n_samples if args.n_samples is None else args.n_samples
    cohort = synthesize(profile.cohort, n_samples=n, seed=args.seed)
    counts = np.bincount(cohort.y, minlength=len(cohort.class_names))
    _warn_if_untrainable(cohort.data, counts, n)
    write_folder(cohort.data, out, fmt=args.format, overwrite=args.overwrite)
    shown = ", ".join(f"{c}: {int(k)}" for c, k in zip(cohort.class_names, counts, strict=True))
    print(f"wrote {n} synthetic samples ({shown}) to {out}")
    return 0


def _warn_if_untrainable(data: Any, counts: Any, n: int) -> None:
    """Say what `train` will make of a synthesized folder, before it is written."""
    from .datasets import check_training_data, drop_constant_features
    from .errors import CancerAlphaError

    few = [c for c, k in zip(data.class_names, counts, strict=True) if k < 2]
    if few:
        _warn(f"{n} samples drew fewer than 2 samples of {', '.join(map(repr, few))}: no "
              "score can be measured for such a class; draw more samples for a useful "
              "training set")
    import warnings

    from .errors import CancerAlphaWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CancerAlphaWarning)  # said once above
            check_training_data(data, val_fraction=None)
            drop_constant_features(data, "error")
    except CancerAlphaError as exc:
        _warn(f"`train` will refuse this folder as it stands: {exc}")


def _tuned_folder(args: argparse.Namespace, inputs: dict[str, Path]) -> Any:
    """The tuning folder of ``--tuned``, read and checked before any data is."""
    if getattr(args, "tuned", None) is None:
        return None
    from .tuning_folder import read_tuning_folder

    folder = input_folder(args.tuned, "--tuned")
    inputs["--tuned"] = folder
    return read_tuning_folder(folder)


def _tuned_notes(tuned: Any, data: Any, profile: Any) -> None:
    """Warnings when tuned settings meet other data or another profile than they were tuned
    with (they still apply: settings of the same models)."""
    from .tuning_folder import data_fingerprint

    about = tuned.about
    if about.get("profile") not in (None, profile.name):
        _warn(f"--tuned {str(tuned.path)!r}: the settings were tuned with profile "
              f"{about['profile']!r}, and the rest of the recipe comes from profile "
              f"{profile.name!r} (pass --profile {about['profile']} to match)")
    if about.get("data_fingerprint") not in (None, data_fingerprint(data)):
        _warn(f"--tuned {str(tuned.path)!r}: the settings were tuned on another data folder "
              f"({about.get('data')!r}, {about.get('n_samples')} samples)")


def _fit_classical(name: str, data: Any, seed: int, settings: Any) -> Any:
    """A classical model with ``settings`` (tuned ones, or none: the published recipe)."""
    import time

    from .baselines import FittedBaseline, fit_baseline
    from .data import Standardizer
    from .protocol import estimator_params

    t0 = time.perf_counter()
    model = fit_baseline(name, data, seed=seed, params=estimator_params(name, settings))
    return FittedBaseline(name, model, list(data.specs), list(data.class_names),
                          Standardizer().fit(data), time.perf_counter() - t0)


def _train(args: argparse.Namespace) -> int:
    data_dir = input_folder(args.data, "--data")
    inputs = {"--data": data_dir}
    tuned = _tuned_folder(args, inputs)
    out = output_folder(args.out, "--out", overwrite=args.overwrite, inputs=inputs)
    settings = None
    if tuned is not None:
        from .nested import tuned_as

        settings = tuned.settings_for(tuned_as(args.model))
    profile = _profile(args, max_epochs=args.max_epochs, val_fraction=args.val_fraction)
    if settings is not None:
        from .protocol import apply_settings

        profile = apply_settings(profile, settings)
    val_fraction = profile.train.val_fraction
    data, dropped = _read_training_data(args, val_fraction=val_fraction, seed=args.seed)
    if tuned is not None:
        _tuned_notes(tuned, data, profile)

    from .datasets.checks import collapse_warning, first_epoch_warning, generic_encoders_note
    from .evaluate import classification_report, format_report
    from .training.runs import save_run

    note = generic_encoders_note(args.model, data.specs)
    if note:
        _warn(note)
    if args.model in CLASSICAL_MODELS:
        from .data import train_val_split

        tr, va = train_val_split(data.y, val_fraction, args.seed)
        val = data.subset(va)
        held = _fit_classical(args.model, data.subset(tr), args.seed, settings)
        report = classification_report(val.y, _probabilities(held, val), data.class_names)
        role = ("held out: a model fitted on the other samples was scored on them; the saved "
                "model is then refitted on all samples")
        fitted = _fit_classical(args.model, data, args.seed, settings)
    else:
        from .training import EpochProgress, fit_neural

        fitted = fit_neural(args.model, data, profile, seed=args.seed,
                            callbacks=[EpochProgress(profile.train.max_epochs, args.model)])
        val = data.subset(fitted.val_index)
        # the early-stopped model's scores, from before the refit learned these samples too
        proba = (fitted.val_proba if fitted.val_proba is not None
                 else _probabilities(fitted, val))
        report = classification_report(val.y, proba, data.class_names)
        role = ("early-stopping hold-out: the number of epochs was chosen on these samples "
                "(scores of the model before it was refitted on all samples), so the scores "
                "are optimistic; use `cancer-alpha cv` or `evaluate` on other samples for an "
                "unbiased estimate")
        message = first_epoch_warning(fitted.best_epoch, fitted.epochs)
        if message:
            _warn(message)
    pred = _probabilities(fitted, data).argmax(axis=1)
    message = collapse_warning(pred, data.class_names, data.y,
                               what=f"the trained {args.model} (on its training samples)")
    if message:
        _warn(message)
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
    save_run(fitted, out, model_cfg=profile.model, metrics=metrics,
             feature_names=data.feature_names, overwrite=args.overwrite, preprocessing=prep,
             settings=facts)
    print(f"scores on the {val.n_samples} {role.split(':')[0]} samples:")
    print(format_report(report))
    print(f"run written to {out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from .results import atomic_write_text

    run = input_folder(args.run, "--run")
    data_dir = input_folder(args.data, "--data")
    out = output_file(args.out, "--out", overwrite=args.overwrite,
                      inputs={"--data": data_dir, "--run": run})
    fitted, data = _load_for(args, labels=False)
    proba = _probabilities(fitted, data)
    table = pd.DataFrame(proba, columns=[f"p_{c}" for c in fitted.class_names])
    table.insert(0, "predicted", [fitted.class_names[k] for k in proba.argmax(axis=1)])
    table.insert(0, "sample_id", data.sample_ids)
    table["modalities"] = ["+".join(s.name for m, s in enumerate(data.specs) if row[m])
                           for row in data.mask]
    atomic_write_text(out, table.to_csv(index=False, float_format="%.6g"))
    missing = int((~data.mask).any(axis=1).sum())
    print(f"wrote predictions for {data.n_samples} samples to {out}"
          + (f" ({missing} lack at least one modality)" if missing else ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .datasets.checks import collapse_warning
    from .evaluate import classification_report, format_report

    run = input_folder(args.run, "--run")
    data_dir = input_folder(args.data, "--data")
    out = (output_file(args.out, "--out", overwrite=args.overwrite,
                       inputs={"--data": data_dir, "--run": run}) if args.out else None)
    fitted, data = _load_for(args, labels=True)
    proba = _probabilities(fitted, data)
    message = collapse_warning(proba.argmax(axis=1), data.class_names, data.y,
                               what=f"the run's {fitted.name}")
    if message:
        _warn(message)
    report = classification_report(data.y, proba, data.class_names)
    print(format_report(report))
    if out is not None:
        _write_json(out, {"run": str(run), "data": str(data_dir), **report})
        print(f"metrics written to {out}")
    return 0


def _cv(args: argparse.Namespace) -> int:

    from .errors import OptionError

    data_dir = input_folder(args.data, "--data")
    inputs = {"--data": data_dir}
    if args.tune and args.tuned is not None:
        raise OptionError(f"--tune and --tuned {args.tuned!r}: choose one (--tune tunes "
                          "inside each fold; --tuned uses settings tuned before)")
    if args.trials is not None and not args.tune:
        raise OptionError(f"--trials {args.trials}: applies to --tune only")
    tuned = _tuned_folder(args, inputs)
    out = output_folder(args.out, "--out", overwrite=args.overwrite, inputs=inputs)
    profile = _profile(args, max_epochs=args.max_epochs, val_fraction=args.val_fraction)
    settings = None
    if tuned is not None:
        from .nested import tuned_as

        settings = {m: tuned.settings_for(tuned_as(m)) for m in args.models}
    if args.tune:
        from .tuning import real_data_budget
        from .tuning_folder import with_trials

        profile = with_trials(real_data_budget(profile), args.trials)
    data, dropped = _read_training_data(args, val_fraction=None, seed=args.seeds[0])
    rare, smallest = _rarest_class(data)
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
        _tuned_notes(tuned, data, profile)
        seen = tuned.overlap(data.sample_ids)
        if seen:
            _warn(f"--tuned {str(tuned.path)!r}: the settings were tuned on {seen} of these "
                  f"{data.n_samples} samples, which cv holds out in turn, so the tuned scores "
                  "are optimistic (the held-out folds took part in choosing the settings); "
                  "`cv --tune` tunes inside each fold instead")

    from .datasets.checks import generic_encoders_note
    from .partial import PartialRun
    from .tuning_folder import data_fingerprint, settings_fingerprint

    for name in args.models:
        note = generic_encoders_note(name, data.specs)
        if note:
            _warn(note)
    profile = profile.replace(evaluation={"max_runs": {}})
    identity = {"data": data_fingerprint(data), "settings": settings_fingerprint(profile),
                "models": args.models, "seeds": args.seeds, "folds": args.folds,
                "tuned": settings, "tune": args.tune,
                "trials": profile.tuning.n_trials if args.tune else None}
    partial = PartialRun.open(out, identity, overwrite=args.overwrite, command="cv")
    def kept() -> str:
        text = partial.kept_or_remove()
        return f"{text} in {partial.path}" if text else ""

    _Interrupt.kept = kept
    kept = partial.kept()
    if kept:
        print(f"resuming: {kept} kept in {partial.path} by an interrupted run",
              file=sys.stderr)
    n_runs = len(args.models) * len(args.seeds) * args.folds
    if args.tune:
        from .nested import nested_cross_validate, studied_models
        from .tuning_folder import quiet_interrupted_trials

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
        from .protocol import cross_validate

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
    _write_cv(args, out, data, data_dir, dropped, profile, recipes, partial,
              tuned=tuned, chosen=result.chosen if args.tune else None)
    partial.remove()
    print(f"comparison written to {out}")
    return 0


def _cv_warnings(name: str, fits: list, data: Any, label: str) -> None:
    from .datasets.checks import collapse_warning, first_epoch_warning

    collapsed = sum(collapse_warning(f.proba["cv"].argmax(axis=1), data.class_names,
                                     None) is not None for f in fits)
    if collapsed:
        _warn(f"{name}{label} predicted one class for nearly every test sample in {collapsed} "
              f"of {len(fits)} runs")
    first = sum(first_epoch_warning(f.best_epoch, f.epochs) is not None for f in fits)
    if first:
        _warn(f"{name}{label}: early stopping kept the weights of epoch 1 in {first} of "
              f"{len(fits)} runs (barely trained; see --val-fraction, --max-epochs)")


def _write_cv(args: argparse.Namespace, out: Path, data: Any, data_dir: Path, dropped: Any,
              profile: Any, recipes: dict[str, list], partial: Any, *, tuned: Any,
              chosen: dict | None) -> None:
    """Print the tables and write the comparison folder, assembled beside and renamed."""
    import json
    import shutil

    import pandas as pd

    from .datasets.folder import replace_folder, staging_folder
    from .evaluate import json_safe
    from .partial import move_studies
    from .protocol import cv_comparison

    rows = []
    tables = {}
    texts = []
    for recipe, fits in recipes.items():
        label = "" if len(recipes) == 1 and recipe == "published recipe" else f" ({recipe})"
        for name in args.models:
            _cv_warnings(name, [f for f in fits if f.model == name], data, label)
        for f in fits:
            rows.append({"model": f.model, "recipe": f.recipe, "seed": f.seed, "fold": f.fold,
                         **f.metrics["cv"], "fit_seconds": f.fit_seconds,
                         "epochs": f.epochs, "best_epoch": f.best_epoch})
        table = cv_comparison(fits)
        tables[recipe] = table
        heading = ("" if len(recipes) == 1 and tuned is None else
                   f"{recipe}" + (f" (settings from {tuned.path})" if tuned is not None else
                                  " (tuned inside each outer fold)" if recipe == "tuned"
                                  else "") + ":\n")
        texts.append(heading + _format_cv(table, table.attrs["reference"], data.n_classes))
    side = None
    if len(recipes) == 2:
        side = _recipe_table(recipes["published recipe"], recipes["tuned"], args.models)
        texts.append("side by side (accuracy; change = tuned - published recipe, paired on "
                     "(seed, fold)):\n" + _format_recipes(side))
    text = "\n\n".join(texts)
    print(text)
    auc_kind = "binary" if data.n_classes == 2 else "macro one-vs-rest"
    first = next(iter(tables.values()))
    summary = {"data": str(data_dir), "models": args.models, "seeds": args.seeds,
               "folds": args.folds, "profile": profile.name, "n_samples": data.n_samples,
               "classes": data.class_names, "roc_auc": auc_kind,
               "reference": first.attrs["reference"], "dropped_features": dropped,
               "recipes": list(recipes),
               "table": {name: row.to_dict() for name, row in first.iterrows()}}
    if tuned is not None:
        summary["tuned_from"] = str(tuned.path)
    if len(tables) == 2:
        summary["tables"] = {r: {name: row.to_dict() for name, row in t.iterrows()}
                             for r, t in tables.items()}
        summary["tuning"] = {"n_trials": profile.tuning.n_trials,
                             "inner_folds": profile.tuning.inner_folds}
        summary["side_by_side"] = {name: row.to_dict() for name, row in side.iterrows()}

    def renamed(t: Any) -> Any:
        return t.rename(columns={"roc_auc_macro_mean": "roc_auc_mean",
                                 "roc_auc_macro_sd": "roc_auc_sd"})

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_folder(out)
    try:
        if len(tables) == 1:
            renamed(first).to_csv(tmp / "comparison.csv", index_label="model")
        else:
            pd.concat({r: renamed(t) for r, t in tables.items()}, names=["recipe", "model"]
                      ).to_csv(tmp / "comparison.csv")
            side.to_csv(tmp / "recipes.csv", index_label="model")
        pd.DataFrame(rows).rename(columns={"roc_auc_macro": "roc_auc"}).to_csv(
            tmp / "fits.csv", index=False)
        (tmp / "comparison.json").write_text(
            json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n")
        (tmp / "table.txt").write_text(text + "\n")
        if chosen is not None:
            (tmp / "tuned_settings.json").write_text(
                json.dumps(json_safe(chosen), indent=1, allow_nan=False) + "\n")
            move_studies(partial, tmp / "studies")
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _recipe_table(published: list, tuned: list, models: list[str]) -> Any:
    """Each model's accuracy with both recipes, and the change tuning made, paired on the
    same (seed, fold)."""
    import pandas as pd

    from .evaluate import mean_sd, paired_difference

    rows = {}
    for name in models:
        a = {(f.seed, f.fold): f.metrics["cv"]["accuracy"] for f in published if f.model == name}
        b = {(f.seed, f.fold): f.metrics["cv"]["accuracy"] for f in tuned if f.model == name}
        keys = sorted(set(a) & set(b))
        d = paired_difference([b[k] for k in keys], [a[k] for k in keys])
        (pm, ps), (tm, ts) = mean_sd(list(a.values())), mean_sd(list(b.values()))
        rows[name] = {"published_accuracy_mean": pm, "published_accuracy_sd": ps,
                      "tuned_accuracy_mean": tm, "tuned_accuracy_sd": ts,
                      "change_points": 100 * d["delta_mean"],
                      "change_ci95_low": 100 * d["delta_ci95"][0],
                      "change_ci95_high": 100 * d["delta_ci95"][1], "n_pairs": d["n"]}
    return pd.DataFrame(rows).T.astype({"n_pairs": int})


def _format_recipes(side: Any) -> str:
    import math

    head = (f"{'model':<24} {'published recipe':>17} {'tuned':>17} "
            f"{'change (points) [95% CI]':>27} {'n_runs':>6}")
    lines = [head, "-" * len(head)]
    for name, r in side.iterrows():
        ci = ("" if math.isnan(r["change_ci95_low"]) else
              f" [{r['change_ci95_low']:+.1f}, {r['change_ci95_high']:+.1f}]")
        lines.append(f"{name:<24} {r['published_accuracy_mean']:>9.3f} ± "
                     f"{r['published_accuracy_sd']:.3f} {r['tuned_accuracy_mean']:>9.3f} ± "
                     f"{r['tuned_accuracy_sd']:.3f} {r['change_points']:>+13.1f}{ci:>14} "
                     f"{int(r['n_pairs']):>6}")
    return "\n".join(lines)


def _format_cv(table: Any, reference: str, n_classes: int) -> str:
    import math

    auc = "AUC (binary)" if n_classes == 2 else "AUC (macro OvR)"
    head = (f"{'model':<24} {'accuracy':>15} {'F1 (macro)':>15} {auc:>15} "
            f"{'AUC 95% CI':>15} {'acc - ' + reference[:12]:>24} {'n_runs':>6}")
    lines = [head, "-" * len(head)]

    def pm(mean: float, sd: float) -> str:
        return "-" if math.isnan(mean) else f"{mean:.3f} ± {sd:.3f}"

    for name, row in table.iterrows():
        ci = ("-" if math.isnan(row["roc_auc_ci95_low"]) else
              f"[{row['roc_auc_ci95_low']:.3f}, {row['roc_auc_ci95_high']:.3f}]")
        delta = row.get("accuracy_delta", float("nan"))
        dtext = "(reference)" if name == reference else (
            "-" if delta is None or math.isnan(delta) else
            f"{delta:+.3f} [{row['accuracy_delta_ci95_low']:+.3f}, "
            f"{row['accuracy_delta_ci95_high']:+.3f}]")
        lines.append(f"{name:<24} {pm(row['accuracy_mean'], row['accuracy_sd']):>15} "
                     f"{pm(row['f1_macro_mean'], row['f1_macro_sd']):>15} "
                     f"{pm(row['roc_auc_macro_mean'], row['roc_auc_macro_sd']):>15} "
                     f"{ci:>15} {dtext:>24} {int(row['n_runs']):>6}")
    lines.append("mean ± sd over runs (folds x seeds, the same splits for every model); "
                 "intervals: 95% t over runs; acc - reference: paired on (seed, fold)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- parser


def _fill(text: str) -> str:
    """A description wrapped by hand, for parsers whose epilog keeps its own layout."""
    import textwrap

    return textwrap.fill(text, 79)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error")

    parser = argparse.ArgumentParser(
        prog="cancer-alpha",
        description="Multi-modal cancer classification from genomic data: the executable book "
                    "and its command-line tools.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "reproduce", parents=[common],
        help="execute chapters with papermill at a profile; optionally build the book",
        description="Convert each chapter (notebooks/NN_*.py) with jupytext, execute it with "
                    "papermill at profile PROFILE (run records go to results/PROFILE/), and "
                    "with --book render build/PROFILE/book with jupyter-book -W. A chapter "
                    "whose inputs did not change since its last successful execution is "
                    "reported up to date and not executed again (--force executes it).",
    )
    p.add_argument("--profile", default="paper",
                   help="profile name, a file in profiles/ (smoke, paper, large; default paper)")
    p.add_argument("--only", metavar="NN[,NN...]",
                   help="comma-separated chapter numbers or names, e.g. 01,03 (default: all)")
    p.add_argument("--book", action="store_true", help="render the HTML book afterwards")
    p.add_argument("--no-execute", action="store_true",
                   help="render the book from notebooks executed earlier, executing nothing")
    p.add_argument("--force", action="store_true",
                   help="execute every selected chapter, even those whose inputs (notebook, "
                        "profile, package, lock file, results they read) did not change")
    p.set_defaults(func=_reproduce)

    p = sub.add_parser("tune", parents=[common], formatter_class=raw,
                       help="tune models on a profile's training cohort (Chapter 3) or on "
                            "your own data folder",
                       description=_fill(
                           "Run the equal-budget hyper-parameter studies of Chapter 3: for "
                           "each model, TPE trials drawn from its search space, each scored "
                           "by the mean validation log-loss over inner folds of the training "
                           "data, hopeless neural trials pruned. Without --data, on the "
                           "profile's synthetic training cohort (the held-out cohort is never "
                           "drawn), written to RESULTS/PROFILE/tuning/synthetic.json (the "
                           "settings the chapters read) and synthetic.db (every trial, for "
                           "optuna-dashboard). With --data, on your folder, with the "
                           "profile's budget for a real data set (Chapter 7's), written to "
                           "the tuning folder --out that `train --tuned` and `cv --tuned` "
                           "read.") + "\n\n" + _fill(
                           "Studies are never lost: new models are merged into the studies "
                           "already there, and replacing a model's study needs --overwrite. "
                           "Every finished trial is kept as it ends; after an interruption "
                           "(Ctrl-C, SIGTERM), the same command resumes each study."))
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="profile (smoke, paper, large or a YAML file; default paper)")
    p.add_argument("--data", help="tune on this data folder of your own (" + DATA_HELP + ")")
    p.add_argument("--out", help="with --data: the tuning folder to create or add to "
                                 "(tuning.json: the chosen settings; tuning.db: every trial; "
                                 "about.json: what was tuned on)")
    p.add_argument("--models", type=model_list, metavar="MODEL[,MODEL...]",
                   help="models to tune (default: the profile's evaluation.models; with --data, "
                        f"{DEFAULT_MODEL}); the voting ensemble needs its three members, "
                        "mmt_locus needs mmt_modality")
    p.add_argument("--trials", type=positive_int,
                   help="trials per model (default: the profile's tuning.n_trials; with "
                        "--data, tuning.real_data_trials)")
    p.add_argument("--jobs", type=positive_int,
                   help="worker processes, one study each (default: evaluation.n_jobs; with "
                        "--data, 1)")
    p.add_argument("--results", default="results",
                   help="results folder (default results/, as the book's)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the study of a model already tuned there (it is named)")
    p.add_argument("--constant", choices=["error", "drop", "keep"],
                   help="with --data: features with one value in every sample (as for train)")
    p.add_argument("--no-range-check", action="store_true",
                   help="with --data: accept values outside their kind's range")
    p.set_defaults(func=_tune)

    p = sub.add_parser("synthesize", parents=[common],
                       help="write a synthetic cohort as a data folder",
                       description="Draw a synthetic cohort (Chapter 1's generator, at a "
                                   "profile's cohort settings) and write it in the data-folder "
                                   "format that train, cv, predict and evaluate read.")
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="profile whose cohort settings to use (default paper)")
    p.add_argument("--out", required=True, help="folder to create")
    p.add_argument("--n-samples", type=positive_int,
                   help="number of samples (default: the profile's)")
    p.add_argument("--seed", type=seed_int, default=0, help="sample seed (default 0)")
    p.add_argument("--format", default="csv", choices=["csv", "tsv", "parquet"])
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_synthesize)

    def data_options(p: argparse.ArgumentParser, training: bool) -> None:
        p.add_argument("--data", required=True, help=DATA_HELP)
        p.add_argument("--no-range-check", action="store_true",
                       help="accept values outside the range of their modality's kind "
                            "(e.g. methylation outside [0, 1])")
        if training:
            p.add_argument("--constant", default="error", choices=["error", "drop", "keep"],
                           help="features with one value in every sample: refuse them "
                                "(error, the default), drop them (the run drops them again "
                                "when it predicts) or keep them")
            p.add_argument("--profile", default=DEFAULT_PROFILE,
                           help="profile (smoke, paper, large or a YAML file) whose model "
                                "and training settings to use (default paper)")
            p.add_argument("--max-epochs", type=positive_int,
                           help="override the profile's maximum epochs (neural models)")
            p.add_argument("--val-fraction", type=fraction,
                           help="share of the training samples held out for early stopping "
                                "(neural) and scoring (default: the profile's, 0.2)")

    p = sub.add_parser("train", parents=[common], formatter_class=raw,
                       help="train a model on a data folder and write a run folder",
                       description=_fill("Train a model and write a run folder: the model "
                                   "(model.pt for neural models, model.skops for classical ones), "
                                   "config.json, preprocessing.json (scaling fitted on the "
                                   "training part), metrics.json and history.json. A stratified "
                                   "part (--val-fraction) is held out: for early stopping "
                                   "(neural: its scores are optimistic) or for scoring "
                                   "(classical, then refitted on all samples). For unbiased "
                                   "scores use `cancer-alpha cv`."),
                       epilog=KINDS_EPILOG)
    data_options(p, training=True)
    p.add_argument("--model", type=model_name, default=DEFAULT_MODEL, metavar="MODEL",
                   help=f"model to train (default {DEFAULT_MODEL}; list below)")
    p.add_argument("--tuned", metavar="DIR",
                   help="train with the settings tuned for the model in this tuning folder "
                        "(`cancer-alpha tune --data ... --out DIR`); default: the published "
                        "recipe")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--seed", type=seed_int, default=0, help="seed (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_train)

    p = sub.add_parser("cv", parents=[common], formatter_class=raw,
                       help="cross-validate models on a data folder and compare them",
                       description=_fill("The book's comparison protocol on your data: every model "
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
    data_options(p, training=True)
    p.add_argument("--models", type=model_list, default=[DEFAULT_MODEL],
                   metavar="MODEL[,MODEL...]",
                   help=f"models to compare, the first is the reference (default "
                        f"{DEFAULT_MODEL})")
    p.add_argument("--folds", type=folds_int, default=5, help="stratified folds (default 5)")
    p.add_argument("--seeds", type=seed_list, default=[0], metavar="S[,S...]",
                   help="seeds; each draws its own folds and initialisations (default 0)")
    p.add_argument("--tune", action="store_true",
                   help="the nested protocol: tune every model inside each outer fold on its "
                        "training part alone (Chapter 3's studies, the profile's budget for a "
                        "real data set), and print the tuned beside the published recipe")
    p.add_argument("--trials", type=positive_int,
                   help="with --tune: trials per study (default: the profile's "
                        "tuning.real_data_trials)")
    p.add_argument("--tuned", metavar="DIR",
                   help="use the settings of this tuning folder (`cancer-alpha tune --data`); "
                        "tuned on the same samples, they make the scores optimistic, which "
                        "--tune avoids")
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="worker processes for independent fits (default 1)")
    p.add_argument("--out", required=True, help="folder to create for the comparison")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a non-empty --out (and discard the kept work of an "
                        "interrupted cv with other options)")
    p.set_defaults(func=_cv)

    p = sub.add_parser("predict", parents=[common],
                       help="class probabilities for the samples of a data folder",
                       description="Predict with a trained run. Labels are not needed; samples "
                                   "may lack some modalities (absent from that modality's "
                                   "table), or a whole modality may be absent. Columns must be "
                                   "the trained features (any order; columns the run dropped "
                                   "as constant may stay).")
    p.add_argument("--run", required=True, help="run folder written by `train`")
    data_options(p, training=False)
    p.add_argument("--out", required=True, help="CSV to write: sample_id, predicted, p_<class>, "
                                                "modalities (outside the --data and --run "
                                                "folders)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_predict)

    p = sub.add_parser("evaluate", parents=[common],
                       help="metrics of a trained run on a labelled data folder",
                       description="Score a trained run on a labelled folder: accuracy, F1, "
                                   "ROC AUC (binary AUC named as such), calibration error, a "
                                   "per-class report and the confusion matrix. Any well-formed "
                                   "labelled folder with the run's features is accepted (a "
                                   "class may have one sample or none).")
    p.add_argument("--run", required=True, help="run folder written by `train`")
    data_options(p, training=False)
    p.add_argument("--out", help="also write the metrics as JSON to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_evaluate)
    _add_reference_commands(sub, common)
    return parser


# ---------------------------------------------------------------- the published reference


def _publish(args: argparse.Namespace) -> int:
    from .reference import publish

    publish(args.profile, out=Path(args.out) if args.out else None)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .verify import verify

    result = verify(args.profile, only=args.only, claims=args.claims, use_build=args.use_build,
                    reference_folder=Path(args.reference) if args.reference else None,
                    out=Path(args.json) if args.json else None)
    return int(result["exit_code"])


def _add_reference_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("publish", parents=[common],
                       help="freeze a built book's run records as its published reference",
                       description="Copy the run records of every chapter of PROFILE, the "
                                   "tuned settings (with the Optuna storage where small), the "
                                   "data behind every figure and a manifest (commit, lock-file "
                                   "hash, machine, each chapter's wall time, the sha256 of "
                                   "every file) into reference/PROFILE/, the reference that "
                                   "`cancer-alpha verify` compares reruns with. Every chapter "
                                   "must be up to date: build the book first (make book "
                                   "PROFILE=...).")
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="profile whose built book to publish (default paper)")
    p.add_argument("--out", help="folder to write (default reference/PROFILE/)")
    p.set_defaults(func=_publish)

    p = sub.add_parser("verify", parents=[common],
                       help="rerun chapters and compare every number with the published "
                            "reference",
                       description="Execute the named chapters (--only), or those that "
                                   "register the named claims (--claims), or every chapter, in "
                                   "build/PROFILE/verify/, taking the chapters not executed "
                                   "from the reference as inputs; compare every value of the "
                                   "rerun records with reference/PROFILE/ by the kind each "
                                   "chapter declares (exact, stochastic within a tolerance, "
                                   "machine-dependent: compared by its claim's verdict only, "
                                   "not compared); print claim by claim and write the same as "
                                   "JSON. Exit status 0: no verdict changed and every value is "
                                   "within its tolerance; 1: something moved (named); 3: "
                                   "nothing moved but a timing claim could not be judged on "
                                   "a busy machine; 2: bad input or reference.")
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="profile of the reference (default paper)")
    p.add_argument("--only", metavar="NN[,NN...]",
                   help="chapters to execute again, e.g. 04 (default: all)")
    p.add_argument("--claims", metavar="CNN[,CNN...]",
                   help="claims to check, e.g. C08,C12: the chapters holding their evidence "
                        "are executed again")
    p.add_argument("--use-build", action="store_true",
                   help="compare the records of the up-to-date build in results/PROFILE/ "
                        "instead of executing again (refused when a chapter is not up to date "
                        "with this checkout)")
    p.add_argument("--reference", metavar="DIR",
                   help="reference folder (default reference/PROFILE/)")
    p.add_argument("--json", metavar="FILE",
                   help="where to write the verification (default "
                        "build/PROFILE/verification.json)")
    p.set_defaults(func=_verify)


# --------------------------------------------------------------------------- main


@contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """The project's warnings as ``cancer-alpha CMD: warning: ...`` lines on stderr."""
    import warnings

    from .errors import CancerAlphaWarning

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CancerAlphaWarning):
            print(f"cancer-alpha {command}: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("default", CancerAlphaWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


class _Interrupt:
    """The signal that stopped the command (Ctrl-C's SIGINT, or SIGTERM as schedulers such as
    Slurm and Kubernetes send it), and what the command keeps for a rerun. Lightning turns
    the KeyboardInterrupt of a fit into ``SystemExit(1)``, so the signal itself is noted."""

    signum: int | None = None
    kept: Any = None  # () -> str: the work kept for a rerun, in words ('' for none)

    @classmethod
    def reset(cls) -> None:
        cls.signum, cls.kept = None, None

    @classmethod
    def handler(cls, signum: int, frame: Any) -> None:
        if cls.signum is None:
            cls.signum = signum
            raise KeyboardInterrupt


def _stop_workers() -> None:
    """End the worker processes of parallel fits at once (joblib's loky executor), rather
    than leave them running after the command."""
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:
        try:
            executor.shutdown(wait=False, kill_workers=True)
        except Exception:  # already broken by the interruption: nothing left to stop
            pass


def _interrupted(prefix: str) -> int:
    import signal

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)  # a second signal must not cut the clean-up short
    _stop_workers()
    try:
        kept = _Interrupt.kept() if _Interrupt.kept is not None else ""
    except Exception:  # reporting must not hide the interruption
        kept = ""
    what = (f"kept {kept}: run the same command again to resume" if kept
            else "nothing was written")
    print(f"{prefix}: interrupted; {what}", file=sys.stderr)
    return EXIT_TERMINATED if _Interrupt.signum == signal.SIGTERM else EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    import signal

    from .errors import CancerAlphaError

    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"cancer-alpha {args.command}"
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    _Interrupt.reset()
    for s in previous:
        signal.signal(s, _Interrupt.handler)
    try:
        with _warnings_as_lines(args.command):
            return args.func(args)
    except KeyboardInterrupt:
        return _interrupted(prefix)
    except SystemExit as exc:
        if _Interrupt.signum is not None and exc.code != 0:
            return _interrupted(prefix)
        raise
    except (CancerAlphaError, ValueError, FileNotFoundError) as exc:
        if args.debug:
            raise
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        if args.debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prefix}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"{prefix}: internal error: {type(exc).__name__}: {exc} (rerun with --debug for "
              "the traceback)", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
