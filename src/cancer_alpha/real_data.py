"""Chapter 8's readings of the real-data comparison: the data sets described, the best model of
each table, the book's aim on ROSMAP, and the tables as the run record keeps them.

The tables are :func:`cancer_alpha.protocol.real_data_table` of each data set and recipe,
keyed ``(data set, recipe)`` with recipe ``"published recipe"`` or ``"tuned"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

AIM_ACCURACY = 0.85
"""The book's aim on ROSMAP, set before the chapter was first run: some model reaches this test
accuracy, above MOGONET's published 0.815 on the same split (Wang et al. 2021)."""

PUBLISHED, TUNED = "published recipe", "tuned"
SUMMARY_KEYS = ("accuracy_mean", "accuracy_sd", "f1_mean", "auc_mean")


def describe(sets: Mapping[str, tuple[Any, Any]]) -> list[dict[str, Any]]:
    """One row per data set and split: samples, samples per class, and each modality with its
    number of features and the share of samples that have it."""
    return [{"data set": name, "split": part, "samples": d.n_samples,
             "classes": ", ".join(f"{c} {int((d.y == k).sum())}"
                                  for k, c in enumerate(d.class_names)),
             "modalities": ", ".join(f"{s.name} ({s.n_features}, "
                                     f"{100 * d.mask[:, m].mean():.0f}% present)"
                                     for m, s in enumerate(d.specs))}
            for name, (train, test) in sets.items()
            for part, d in (("train", train), ("test", test))]


def best(table: Any) -> tuple[str, float]:
    """The model of highest mean test accuracy in a table, and that accuracy."""
    return str(table["accuracy_mean"].idxmax()), float(table["accuracy_mean"].max())


def aim_reading(table: Any, aim: float = AIM_ACCURACY) -> str:
    """Whether the best model of a table 'reaches' or 'stays below' the aim."""
    return "reaches" if best(table)[1] >= aim else "stays below"


def readings(tables: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    """The numbers the chapter's text quotes, by glue name: the best model of each data set
    with each recipe, logistic regression, random forest and the transformer on ROSMAP, and
    the ROSMAP aim."""
    from .datasets import ROSMAP_PUBLISHED

    breast, breast_pub = tables["breast_tcga", TUNED], tables["breast_tcga", PUBLISHED]
    rosmap, rosmap_pub = tables["rosmap", TUNED], tables["rosmap", PUBLISHED]
    out: dict[str, Any] = {}
    for key, table in (("breast_best", breast), ("breast_best_pub", breast_pub),
                       ("rosmap_best", rosmap), ("rosmap_best_pub", rosmap_pub)):
        name, accuracy = best(table)
        out[key] = name
        out[key.replace("_best", "_best_acc")] = accuracy
    out["breast_lr_acc"] = float(breast.loc["logistic_regression", "accuracy_mean"])
    out["rosmap_mmt_acc_pub"] = float(rosmap_pub.loc["mmt_modality", "accuracy_mean"])
    out["rosmap_aim"] = aim_reading(rosmap)
    out["rosmap_aim_value"] = AIM_ACCURACY
    out["mogonet_acc"] = ROSMAP_PUBLISHED["MOGONET (Wang et al. 2021)"]["accuracy"]
    for key, model in (("rosmap_lr_acc", "logistic_regression"),
                       ("rosmap_rf_acc", "random_forest"), ("rosmap_mmt_acc", "mmt_modality")):
        out[key] = float(rosmap.loc[model, "accuracy_mean"])
    out["published_rf_acc"] = ROSMAP_PUBLISHED[
        "random forest (as reported by Wang et al. 2021)"]["accuracy"]
    return out


def summaries(tables: Mapping[tuple[str, str], Any], recipe: str) -> dict[str, Any]:
    """{data set: {model: accuracy, its sd, F1 and AUC}} for one recipe, as the record keeps
    them."""
    return {name: {m: {k: float(t.loc[m, k]) for k in SUMMARY_KEYS} for m in t.index}
            for (name, r), t in tables.items() if r == recipe}


def records(tables: Mapping[tuple[str, str], Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table as a list of rows, keyed '<data set>, <recipe>'."""
    return {f"{name}, {recipe}": t.reset_index(names="model").to_dict(orient="records")
            for (name, recipe), t in tables.items()}


def models_and_left_out(models: Sequence[str], real_data_models: Sequence[str] | None
                        ) -> tuple[list[str], list[str]]:
    """The models trained on the real data sets (``real_data_models``, or every model when
    none are named) and those of ``models`` left out."""
    chosen = list(real_data_models or models)
    return chosen, [m for m in models if m not in chosen]


def n_features(specs: Sequence[Any]) -> int:
    """The number of features of all modalities together."""
    return sum(s.n_features for s in specs)


def setting_glue(seeds: Sequence[int], left_out: Sequence[str],
                 sets: Mapping[str, tuple[Any, Any]], synthetic_specs: Sequence[Any]
                 ) -> dict[str, Any]:
    """What the chapter states of its design: the seeds, the models left out, and the number
    of features of each real data set beside the synthetic one's."""
    from .tables import plural

    return {"n_seeds": len(seeds), "seeds_words": plural(len(seeds), "seed"),
            "left_out": ", ".join(left_out) if left_out else "none",
            "breast_features": n_features(sets["breast_tcga"][0].specs),
            "rosmap_features": n_features(sets["rosmap"][0].specs),
            "synth_features": n_features(synthetic_specs)}


def fixed_split_tables(sets: Mapping[str, tuple[Any, Any]], profile: Any,
                       models: Sequence[str], seeds: Sequence[int],
                       tuned: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
    """Every model trained on each data set's training split with each seed, with the
    published recipe and with the settings tuned on that data set, and scored on its test
    split: {(data set, recipe): table}."""
    from . import protocol

    tables = {}
    for name, (tr, te) in sets.items():
        for recipe, settings in ((PUBLISHED, None), (TUNED, tuned[name])):
            fits = protocol.fixed_split(tr, te, profile, models, seeds,
                                        n_jobs=profile.evaluation.n_jobs, settings=settings,
                                        recipe=recipe)
            tables[name, recipe] = protocol.real_data_table(fits, te)
    return tables


def tune_all(sets: Mapping[str, tuple[Any, Any]], profile: Any, models: Sequence[str],
             results_dir: Any = None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A study of every model on each data set's training split, at the real-data budget
    (:func:`cancer_alpha.tuning.real_data_budget`), each data set's studies saved under its
    name for the record: (studies by data set, best settings by data set and model)."""
    from . import tuning

    budget = tuning.real_data_budget(profile)
    studies = {}
    for name, (train, _) in sets.items():
        studies[name] = tuning.tune(train, budget, models)
        tuning.save(studies[name], profile.name, name, results_dir)
    return studies, {name: {m: r.best_settings for m, r in found.items()}
                     for name, found in studies.items()}


def tuning_seconds(studies: Mapping[str, Mapping[str, Any]]):
    """Wall seconds of every study, a column per data set."""
    import pandas as pd

    return pd.DataFrame({name: {m: round(r.wall_seconds, 1) for m, r in found.items()}
                         for name, found in studies.items()})


def fit_seconds(tables: Mapping[tuple[str, str], Any]):
    """Mean seconds of one fit of every model, a column per data set and recipe."""
    import pandas as pd

    return pd.DataFrame({f"{name}, {recipe}": t["fit_seconds_mean"]
                         for (name, recipe), t in tables.items()})


SCORES = ["accuracy_mean", "accuracy_sd", "f1_mean", "f1_sd", "auc_mean", "auc_sd", "n_runs"]


def scores_by_recipe(tables: Mapping[tuple[str, str], Any], name: str):
    """One data set's scores with the published recipe and tuned, side by side."""
    import pandas as pd

    return pd.concat({recipe: tables[name, recipe][SCORES] for recipe in (PUBLISHED, TUNED)},
                     axis=1)


def record(tables: Mapping[tuple[str, str], Any], studies: Mapping[str, Mapping[str, Any]]
           ) -> dict[str, Any]:
    """Chapter 8's run record: the summaries with each recipe, every table, and the summary
    of every study."""
    return {"datasets": summaries(tables, PUBLISHED), "datasets_tuned": summaries(tables, TUNED),
            "tables": records(tables),
            "tuning": {name: {m: r.summary() for m, r in found.items()}
                       for name, found in studies.items()}}


def tuning_table(studies: Mapping[str, Mapping[str, Any]]):
    """Trials, pruned trials and the best inner-fold log-loss of every study, by data set."""
    import pandas as pd

    return pd.DataFrame({(name, key): {m: (r.n_trials if key == "trials" else r.n_pruned if
                                           key == "pruned" else round(r.best_value, 4))
                                       for m, r in found.items()}
                         for name, found in studies.items()
                         for key in ("trials", "pruned", "best log-loss")})


ROSMAP_SHOWN = ["accuracy_mean", "accuracy_sd", "f1_mean", "auc_mean", "auc_sd", "n_runs"]


def rosmap_table(tables: Mapping[tuple[str, str], Any],
                 published: Mapping[str, Mapping[str, float]]):
    """ROSMAP's scores measured here with both recipes, beside the published results."""
    import pandas as pd

    reported = pd.DataFrame(published).T[["accuracy", "f1", "auc"]]
    reported.columns = ["accuracy_mean", "f1_mean", "auc_mean"]
    reported["source"] = "published"
    return pd.concat([
        tables["rosmap", PUBLISHED][ROSMAP_SHOWN].assign(source="measured here, published recipe"),
        tables["rosmap", TUNED][ROSMAP_SHOWN].assign(source="measured here, tuned"), reported])
