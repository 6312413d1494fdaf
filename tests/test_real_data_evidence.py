"""What Chapter 8 states of its design, computed by cancer_alpha.real_data: the models trained
and left out, and the features of each data set."""

from types import SimpleNamespace

from cancer_alpha import real_data


def _specs(*n):
    return [SimpleNamespace(n_features=k) for k in n]


def test_the_models_left_out_are_those_not_named_for_the_real_data():
    models = ["logistic_regression", "mmt_modality", "mmt_locus"]
    assert real_data.models_and_left_out(models, ["logistic_regression", "mmt_modality"]) == (
        ["logistic_regression", "mmt_modality"], ["mmt_locus"])
    assert real_data.models_and_left_out(models, None) == (models, [])
    assert real_data.models_and_left_out(models, ()) == (models, [])


def test_the_setting_glue_counts_seeds_and_features():
    sets = {"breast_tcga": (SimpleNamespace(specs=_specs(100, 50)), None),
            "rosmap": (SimpleNamespace(specs=_specs(200, 200, 200)), None)}
    g = real_data.setting_glue([0, 1, 2], [], sets, _specs(110, 110, 110))
    assert g == {"n_seeds": 3, "seeds_words": "3 seeds", "left_out": "none",
                 "breast_features": 150, "rosmap_features": 600, "synth_features": 330}
    assert real_data.setting_glue([0], ["a", "b"], sets, [])["left_out"] == "a, b"


def test_the_tuning_table_has_trials_pruned_and_best_log_loss_per_data_set():
    found = {"lr": SimpleNamespace(n_trials=5, n_pruned=1, best_value=0.123456)}
    table = real_data.tuning_table({"rosmap": found})
    assert list(table.columns) == [("rosmap", "trials"), ("rosmap", "pruned"),
                                   ("rosmap", "best log-loss")]
    assert table.loc["lr"].tolist() == [5, 1, 0.1235]


def test_the_rosmap_table_sets_both_recipes_beside_the_published_results():
    import pandas as pd

    def table(acc):
        return pd.DataFrame({c: [acc] for c in real_data.ROSMAP_SHOWN}, index=["lr"])

    tables = {("rosmap", real_data.PUBLISHED): table(0.8), ("rosmap", real_data.TUNED): table(0.84)}
    published = {"MOGONET": {"accuracy": 0.815, "f1": 0.821, "auc": 0.874}}
    t = real_data.rosmap_table(tables, published)
    assert list(t.index) == ["lr", "lr", "MOGONET"]
    assert t["source"].tolist() == ["measured here, published recipe", "measured here, tuned",
                                    "published"]
    assert t.loc["MOGONET", "accuracy_mean"] == 0.815 and t["accuracy_mean"].iloc[1] == 0.84


def _table(value, columns):
    import pandas as pd

    return pd.DataFrame({c: [value] for c in columns}, index=["lr"])


def test_scores_and_fit_seconds_set_both_recipes_side_by_side():
    columns = [*real_data.SCORES, "fit_seconds_mean"]
    tables = {("a", real_data.PUBLISHED): _table(0.7, columns),
              ("a", real_data.TUNED): _table(0.9, columns)}
    scores = real_data.scores_by_recipe(tables, "a")
    assert list(scores.columns) == [(r, c) for r in (real_data.PUBLISHED, real_data.TUNED)
                                    for c in real_data.SCORES]
    assert scores.loc["lr", (real_data.TUNED, "accuracy_mean")] == 0.9
    seconds = real_data.fit_seconds(tables)
    assert list(seconds.columns) == ["a, published recipe", "a, tuned"]
    assert seconds.loc["lr"].tolist() == [0.7, 0.9]


def test_the_record_keeps_both_recipes_every_table_and_every_study():
    tables = {("a", real_data.PUBLISHED): _table(0.7, real_data.SUMMARY_KEYS),
              ("a", real_data.TUNED): _table(0.9, real_data.SUMMARY_KEYS)}
    study = SimpleNamespace(summary=lambda: {"n_trials": 2}, wall_seconds=1.26)
    rec = real_data.record(tables, {"a": {"lr": study}})
    assert list(rec) == ["datasets", "datasets_tuned", "tables", "tuning"]
    assert rec["datasets"]["a"]["lr"]["accuracy_mean"] == 0.7
    assert rec["datasets_tuned"]["a"]["lr"]["accuracy_mean"] == 0.9
    assert set(rec["tables"]) == {"a, published recipe", "a, tuned"}
    assert rec["tuning"] == {"a": {"lr": {"n_trials": 2}}}
    assert real_data.tuning_seconds({"a": {"lr": study}}).loc["lr", "a"] == 1.3


def test_tune_all_tunes_each_training_split_at_the_real_data_budget_and_saves_it(smoke,
                                                                               tmp_path):
    import json

    from cancer_alpha import synth

    train = synth.World.from_config(smoke.cohort).sample(60, seed=0).data
    studies, tuned = real_data.tune_all({"tiny": (train, None)}, smoke, ["logistic_regression"],
                                        tmp_path)
    found = studies["tiny"]["logistic_regression"]
    assert found.n_trials == smoke.tuning.real_data_trials
    assert tuned == {"tiny": {"logistic_regression": found.best_settings}}
    saved = json.loads((tmp_path / smoke.name / "tuning" / "tiny.json").read_text())
    assert "logistic_regression" in json.dumps(saved)
