"""The real data chapter's readings (real_data): the best model of each table, the aim,
summaries and the description of a data set."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cancer_alpha import real_data


def _table(accuracies):
    return pd.DataFrame({m: {"accuracy_mean": a, "accuracy_sd": 0.01, "f1_mean": a - 0.05,
                             "auc_mean": a + 0.05, "n_runs": 3}
                         for m, a in accuracies.items()}).T


TABLES = {
    ("breast_tcga", real_data.PUBLISHED): _table({"logistic_regression": 0.93,
                                                  "mmt_modality": 0.90}),
    ("breast_tcga", real_data.TUNED): _table({"logistic_regression": 0.91,
                                              "mmt_modality": 0.95}),
    ("rosmap", real_data.PUBLISHED): _table({"logistic_regression": 0.80,
                                             "random_forest": 0.83, "mmt_modality": 0.70}),
    ("rosmap", real_data.TUNED): _table({"logistic_regression": 0.84, "random_forest": 0.81,
                                         "mmt_modality": 0.75}),
}


def test_the_real_data_readings_name_the_best_model_of_each_table():
    found = real_data.readings(TABLES)
    assert (found["breast_best"], found["breast_best_acc"]) == ("mmt_modality", 0.95)
    assert (found["breast_best_pub"], found["breast_best_acc_pub"]) == (
        "logistic_regression", 0.93)
    assert (found["rosmap_best"], found["rosmap_best_acc"]) == ("logistic_regression", 0.84)
    assert found["rosmap_rf_acc"] == 0.81 and found["rosmap_mmt_acc_pub"] == 0.70
    assert found["rosmap_aim"] == "stays below" and found["rosmap_aim_value"] == 0.85
    assert found["mogonet_acc"] == 0.815 and found["published_rf_acc"] == 0.726


def test_the_rosmap_aim_is_reached_at_its_threshold_and_not_below():
    assert real_data.aim_reading(_table({"a": real_data.AIM_ACCURACY})) == "reaches"
    assert real_data.aim_reading(_table({"a": real_data.AIM_ACCURACY - 1e-9})) == "stays below"


def test_real_data_summaries_keep_one_recipe_as_plain_numbers():
    tuned = real_data.summaries(TABLES, real_data.TUNED)
    assert sorted(tuned) == ["breast_tcga", "rosmap"]
    assert tuned["rosmap"]["random_forest"] == {"accuracy_mean": 0.81, "accuracy_sd": 0.01,
                                                "f1_mean": pytest.approx(0.76),
                                                "auc_mean": pytest.approx(0.86)}
    rows = real_data.records(TABLES)["rosmap, tuned"]
    assert [r["model"] for r in rows] == ["logistic_regression", "random_forest", "mmt_modality"]


def test_a_data_set_is_described_by_split_class_and_modality():
    spec = SimpleNamespace(name="mrna", n_features=200)
    d = SimpleNamespace(n_samples=4, y=np.array([0, 0, 1, 1]), class_names=["ND", "AD"],
                        mask=np.array([[True], [True], [True], [False]]), specs=[spec])
    (train, test) = real_data.describe({"rosmap": (d, d)})
    assert train == {"data set": "rosmap", "split": "train", "samples": 4,
                     "classes": "ND 2, AD 2", "modalities": "mrna (200, 75% present)"}
    assert test["split"] == "test"
