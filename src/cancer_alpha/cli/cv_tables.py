"""The tables `cv` prints and the comparison folder it writes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .steps import warn


def _cv_warnings(name: str, fits: list, data: Any, label: str) -> None:
    from ..training.diagnostics import collapse_warning, first_epoch_warning

    collapsed = sum(collapse_warning(f.proba["cv"].argmax(axis=1), data.class_names,
                                     None) is not None for f in fits)
    if collapsed:
        warn(f"{name}{label} predicted one class for nearly every test sample in {collapsed} "
              f"of {len(fits)} runs")
    first = sum(first_epoch_warning(f.best_epoch, f.epochs) is not None for f in fits)
    if first:
        warn(f"{name}{label}: early stopping kept the weights of epoch 1 in {first} of "
              f"{len(fits)} runs (barely trained; see --val-fraction, --max-epochs)")


def write_cv(args: argparse.Namespace, out: Path, data: Any, data_dir: Path, dropped: Any,
              profile: Any, recipes: dict[str, list], partial: Any, *, tuned: Any,
              chosen: dict | None) -> None:
    """Print the tables and write the comparison folder, assembled beside and renamed."""
    import pandas as pd

    from ..partial import move_studies
    from ..protocol import cv_comparison
    from ..safe_write import atomic_folder, json_text

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

    with atomic_folder(out) as tmp:
        if len(tables) == 1:
            renamed(first).to_csv(tmp / "comparison.csv", index_label="model")
        else:
            pd.concat({r: renamed(t) for r, t in tables.items()}, names=["recipe", "model"]
                      ).to_csv(tmp / "comparison.csv")
            side.to_csv(tmp / "recipes.csv", index_label="model")
        pd.DataFrame(rows).rename(columns={"roc_auc_macro": "roc_auc"}).to_csv(
            tmp / "fits.csv", index=False)
        (tmp / "comparison.json").write_text(json_text(summary, indent=2, explain=True))
        (tmp / "table.txt").write_text(text + "\n")
        if chosen is not None:
            (tmp / "tuned_settings.json").write_text(json_text(chosen, indent=1, explain=True))
            move_studies(partial, tmp / "studies")


def _recipe_table(published: list, tuned: list, models: list[str]) -> Any:
    """Each model's accuracy with both recipes, and the change tuning made, paired on the
    same (seed, fold)."""
    import pandas as pd

    from ..evaluate import mean_sd, paired_difference

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
