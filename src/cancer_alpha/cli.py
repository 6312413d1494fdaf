"""The ``cancer-alpha`` command. Heavy libraries are imported inside each command, so that
``cancer-alpha --help`` answers at once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

EPILOG = """\
examples:
  cancer-alpha reproduce --profile smoke --book     execute every chapter, render the book
  cancer-alpha reproduce --profile paper --only 01,03
  cancer-alpha synthesize --profile smoke --out cohort/
  cancer-alpha train --data cohort/ --model mmt_modality --out run/
  cancer-alpha predict --run run/ --data new_samples/ --out predictions.csv
  cancer-alpha evaluate --run run/ --data labelled_samples/

A data folder holds one table per modality (<name>.csv|tsv|parquet: rows = samples, first
column = sample id) and labels.csv (sample id, class name); see `cancer-alpha train --help`.
"""

DATA_HELP = ("folder with one table per modality (<name>.csv, .tsv or .parquet; rows = samples, "
             "first column = sample id, header = feature names), labels.csv (sample id, class) "
             "and optionally modalities.json (kind and positions per modality)")


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import reproduce

    reproduce(args.profile, only=args.only, book=args.book,
              execute_notebooks=not args.no_execute, force=args.force)
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from .config import load_profile
    from .datasets import write_folder
    from .synth import synthesize

    cfg = load_profile(args.profile)
    n = args.n_samples or cfg.cohort.n_samples
    cohort = synthesize(cfg.cohort, n_samples=n, seed=args.seed)
    out = write_folder(cohort.data, args.out, fmt=args.format, overwrite=args.overwrite)
    counts = ", ".join(f"{c}: {int((cohort.y == k).sum())}"
                       for k, c in enumerate(cohort.class_names))
    print(f"wrote {n} synthetic samples ({counts}) to {out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    import json

    from .config import load_profile
    from .datasets import read_folder
    from .evaluate import classification_metrics
    from .models import MODEL_NAMES
    from .training import EpochProgress, fit_neural, save_run

    if args.model not in MODEL_NAMES:
        raise ValueError(f"unknown model {args.model!r}: expected one of {list(MODEL_NAMES)}")
    cfg = load_profile(args.profile)
    if args.max_epochs:
        cfg = cfg.replace(train={"max_epochs": args.max_epochs})
    data = read_folder(args.data, labels=True)
    print(f"{data.n_samples} samples, {data.n_classes} classes, modalities "
          + ", ".join(f"{s.name} ({s.n_features})" for s in data.specs), file=sys.stderr)
    fitted = fit_neural(args.model, data, cfg, seed=args.seed,
                        callbacks=[EpochProgress(cfg.train.max_epochs, args.model)])
    val = data.subset(fitted.val_index)
    metrics = {"validation": classification_metrics(val.y, fitted.predict_proba(val)),
               "n_validation": val.n_samples, "epochs": fitted.epochs,
               "best_epoch": fitted.best_epoch, "seed": args.seed, "profile": cfg.name}
    out = save_run(fitted, args.out, model_cfg=cfg.model, metrics=metrics,
                   feature_names=data.feature_names, overwrite=args.overwrite)
    print(json.dumps(metrics["validation"], indent=2))
    print(f"run written to {out}")
    return 0


def _load_for(args: argparse.Namespace, labels: bool):
    import numpy as np

    from .datasets import align_features, read_folder
    from .training import load_run

    fitted, config = load_run(args.run)
    data = read_folder(args.data, labels=labels)
    data = align_features(data, fitted.specs, config["feature_names"])
    if labels:
        unknown = sorted(set(data.class_names) - set(fitted.class_names))
        if unknown:
            raise ValueError(f"{args.data}: classes {unknown} were not seen in training "
                             f"(the run knows {fitted.class_names})")
        remap = np.array([fitted.class_names.index(c) for c in data.class_names])
        data.y = remap[data.y]
        data.class_names = list(fitted.class_names)
    return fitted, data


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from .results import atomic_write_text

    fitted, data = _load_for(args, labels=False)
    proba = fitted.predict_proba(data)
    table = pd.DataFrame(proba, columns=[f"p_{c}" for c in fitted.class_names])
    table.insert(0, "predicted", [fitted.class_names[k] for k in proba.argmax(axis=1)])
    table.insert(0, "sample_id", data.sample_ids)
    table["modalities"] = ["+".join(s.name for m, s in enumerate(data.specs) if row[m])
                           for row in data.mask]
    atomic_write_text(Path(args.out), table.to_csv(index=False, float_format="%.6g"))
    missing = int((~data.mask).any(axis=1).sum())
    print(f"wrote predictions for {data.n_samples} samples to {args.out}"
          + (f" ({missing} lack at least one modality)" if missing else ""))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from .evaluate import classification_metrics

    fitted, data = _load_for(args, labels=True)
    metrics = classification_metrics(data.y, fitted.predict_proba(data))
    metrics["n_samples"] = data.n_samples
    print(json.dumps(metrics, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cancer-alpha",
        description="Multi-modal cancer classification from genomic data: the executable book "
                    "and its command-line tools.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "reproduce", help="execute chapters with papermill at a profile; optionally build the book",
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

    p = sub.add_parser("synthesize", help="write a synthetic cohort as a data folder",
                       description="Draw a synthetic cohort (Chapter 1's generator, at a "
                                   "profile's cohort settings) and write it in the data-folder "
                                   "format that train, predict and evaluate read.")
    p.add_argument("--profile", default="paper", help="profile whose cohort settings to use")
    p.add_argument("--out", required=True, help="folder to create")
    p.add_argument("--n-samples", type=int, help="number of samples (default: the profile's)")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.add_argument("--format", default="csv", choices=["csv", "tsv", "parquet"])
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_synthesize)

    p = sub.add_parser("train", help="train a neural model on a data folder",
                       description="Train a model with the book's recipe (a stratified part of "
                                   "the data held out for early stopping) and write a run "
                                   "folder: model.pt (weights), config.json, preprocessing.json "
                                   "(scaling fitted on the training part), metrics.json "
                                   "(validation metrics) and history.json.")
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--model", required=True,
                   help="mmt_modality, mmt_locus, mmt_no_cross_attention, mmt_generic_encoders, "
                        "tab_transformer, perceiver_io, early_fusion_mlp or late_fusion")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--profile", default="paper",
                   help="profile whose model and train settings to use (default paper)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, help="override the profile's maximum epochs")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_train)

    p = sub.add_parser("predict", help="class probabilities for the samples of a data folder",
                       description="Predict with a trained run. Labels are not needed; samples "
                                   "may lack some modalities (absent from that modality's "
                                   "table), or a whole modality may be absent.")
    p.add_argument("--run", required=True, help="run folder written by `train`")
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", required=True, help="CSV to write: sample_id, predicted, p_<class>")
    p.set_defaults(func=_predict)

    p = sub.add_parser("evaluate", help="metrics of a trained run on a labelled data folder")
    p.add_argument("--run", required=True, help="run folder written by `train`")
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"cancer-alpha {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
