"""`predict` and `evaluate`: the trained model of a model folder applied to a data folder, with
the data aligned to the model (features, classes) and a modality absent from every sample masked
or refused."""

from __future__ import annotations

import argparse
from typing import Any

from .options import REPLACE_FILE, add_data_options, add_model_dir, add_out, add_overwrite
from .paths import input_folder, output_file
from .steps import probabilities, warn, write_json


def _load_for(args: argparse.Namespace, labels: bool):
    """The model of the model folder and the data folder aligned to it (features, classes),
    values checked."""
    import numpy as np

    from ..datasets import align_features, check_value_ranges, read_folder
    from ..errors import DataFolderError
    from ..training.diagnostics import scale_shift_warning
    from ..training.model_folder import dropped_features, load_model_folder

    fitted, config = load_model_folder(args.model_dir)
    data = read_folder(args.data, labels=labels, range_check=False, positions=False,
                       absent_listed=True)
    data = align_features(data, fitted.specs, config["feature_names"],
                          dropped=dropped_features(config))
    absent = [s.name for j, s in enumerate(fitted.specs) if not data.mask[:, j].any()]
    if absent:
        _predict_without(fitted, config, absent, args.data)
    trained_checked = (config.get("preprocessing") or {}).get("range_check", True)
    if not args.no_range_check and trained_checked:
        check_value_ranges(data)
    if fitted.scaler is not None:
        for message in scale_shift_warning(data, fitted.scaler):
            warn(message)
    if labels:
        used = sorted({data.class_names[k] for k in np.unique(data.y)})
        unknown = [c for c in used if c not in fitted.class_names]
        if unknown:
            raise DataFolderError(f"{args.data}: classes {unknown} were not seen in training "
                                  f"(the model knows {fitted.class_names})")
        remap = np.array([fitted.class_names.index(c) if c in fitted.class_names else -1
                          for c in data.class_names], dtype=np.int64)
        data.y = remap[data.y]
        data.class_names = list(fitted.class_names)
    return fitted, data


def _predict_without(fitted: Any, config: dict[str, Any], absent: list[str],
                     where: str) -> None:
    """A modality of the model absent from every sample: masked for a model that has masks
    (with what Chapter 6 measured it costs), refused for one that cannot do without it."""
    from ..errors import DataFolderError

    names = " and ".join(repr(m) for m in absent)
    if config.get("family") == "classical":
        unseen = _never_missing(fitted, absent)
        if unseen:
            raise DataFolderError(
                f"{where}: modality {unseen[0]!r} is absent from every sample, and the "
                f"{fitted.name} model cannot predict without it: it never saw a training sample "
                f"lacking {unseen[0]!r} (its imputer would put training means in its place, "
                "which the model never learned to read as missing). Supply "
                f"{unseen[0]}.csv, or predict with a neural model, which masks a missing "
                "modality")
        warn(f"modality {names} is absent from every sample of {where}: the {fitted.name} "
              "model imputes it as it learned to for training samples that lacked it"
              + _cost_of_missing(config, fitted, absent))
        return
    warn(f"modality {names} is absent from every sample of {where}: predicting with it "
          "masked" + _cost_of_missing(config, fitted, absent))


def _never_missing(fitted: Any, absent: list[str]) -> list[str]:
    """The modalities of ``absent`` that a classical model never saw missing in training."""
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
    """What Chapter 6 measured a missing modality costs, when the model was trained on the
    synthetic world of its profile (the same modalities, kinds, features and classes)."""
    import json

    from ..config import load_profile
    from ..results import results_root
    from ..synth import World

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
    record = results_root() / name / "06_ablations.json"
    try:
        subsets = json.loads(record.read_text())["metrics"]["subset_accuracy"]
        acc, full = subsets[rest]["model"], subsets[whole]["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return (f"; the model was trained on the synthetic world of profile {name!r}, whose "
                f"cost of a missing modality Chapter 6 measures (cancer-alpha reproduce "
                f"--profile {name} --only 06 writes {record})")
    return (f"; on the synthetic world of profile {name!r}, on which this model was trained, "
            f"Chapter 6 measured accuracy {acc:.3f} with only {rest} observed against "
            f"{full:.3f} with every modality (the tuned transformer trained with modality "
            f"dropout; this model is {fitted.name})")


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..results import atomic_write_text

    model_dir = input_folder(args.model_dir, "--model-dir")
    data_dir = input_folder(args.data, "--data")
    out = output_file(args.out, "--out", overwrite=args.overwrite,
                      inputs={"--data": data_dir, "--model-dir": model_dir})
    fitted, data = _load_for(args, labels=False)
    proba = probabilities(fitted, data)
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
    from ..evaluate import classification_report, format_report
    from ..training.diagnostics import collapse_warning

    model_dir = input_folder(args.model_dir, "--model-dir")
    data_dir = input_folder(args.data, "--data")
    out = (output_file(args.out, "--out", overwrite=args.overwrite,
                       inputs={"--data": data_dir, "--model-dir": model_dir})
           if args.out else None)
    fitted, data = _load_for(args, labels=True)
    proba = probabilities(fitted, data)
    message = collapse_warning(proba.argmax(axis=1), data.class_names, data.y,
                               what=f"the trained {fitted.name}")
    if message:
        warn(message)
    report = classification_report(data.y, proba, data.class_names)
    print(format_report(report))
    if out is not None:
        # the key keeps its name ("run": the model folder) for scripts that read these files
        write_json(out, {"run": str(model_dir), "data": str(data_dir), **report})
        print(f"metrics written to {out}")
    return 0


def add_apply(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("predict", parents=[common],
                       help="class probabilities for the samples of a data folder",
                       description="Predict with a trained model (a model folder written by "
                                   "`train`). Labels are not needed; samples may lack some "
                                   "modalities (absent from that modality's table), or a whole "
                                   "modality may be absent. Columns must be the trained "
                                   "features (any order; columns dropped as constant in "
                                   "training may stay).")
    add_model_dir(p)
    add_data_options(p, training=False)
    add_out(p, help="CSV to write: sample_id, predicted, p_<class>, modalities (outside the "
                    "--data and --model-dir folders)")
    add_overwrite(p, help=REPLACE_FILE)
    p.set_defaults(func=_predict)

    p = sub.add_parser("evaluate", parents=[common],
                       help="metrics of a trained model on a labelled data folder",
                       description="Score a trained model (a model folder written by "
                                   "`train`) on a labelled folder: accuracy, F1, ROC AUC "
                                   "(binary AUC named as such), calibration error, a per-class "
                                   "report and the confusion matrix. Any well-formed labelled "
                                   "folder with the model's features is accepted (a class may "
                                   "have one sample or none).")
    add_model_dir(p)
    add_data_options(p, training=False)
    add_out(p, help="also write the metrics as JSON to this file", required=False)
    add_overwrite(p, help=REPLACE_FILE)
    p.set_defaults(func=_evaluate)
