"""Metrics and intervals against values computed by hand."""

import json

import numpy as np
import pytest

from cancer_alpha import evaluate


def test_perfectly_confident_correct_predictions_have_zero_calibration_error():
    y = np.array([0, 1, 2, 1])
    proba = np.eye(3)[y]
    m = evaluate.classification_metrics(y, proba)
    assert m["accuracy"] == 1.0 and m["f1_macro"] == 1.0 and m["roc_auc_macro"] == 1.0
    assert m["ece"] == 0.0


def test_calibration_error_of_a_known_case():
    # every prediction says 0.9 for class 0 and half are right: ECE = |0.5 - 0.9| = 0.4
    y = np.array([0, 1, 0, 1])
    proba = np.tile([0.9, 0.1], (4, 1))
    assert evaluate.expected_calibration_error(y, proba) == pytest.approx(0.4)


def test_rows_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        evaluate.classification_metrics(np.array([0, 1]), np.array([[0.5, 0.6], [0.2, 0.8]]))


def test_t_interval_matches_scipy():
    from scipy import stats

    v = [0.80, 0.82, 0.79, 0.85, 0.81]
    lo, hi = evaluate.t_ci95(v)
    ref = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert (lo, hi) == pytest.approx(ref)


def test_wilson_interval_covers_the_proportion_and_shrinks_with_n():
    lo1, hi1 = evaluate.wilson_ci95(90, 100)
    lo2, hi2 = evaluate.wilson_ci95(9000, 10000)
    assert lo1 < 0.9 < hi1 and lo2 < 0.9 < hi2
    assert hi2 - lo2 < (hi1 - lo1) / 5  # width scales as 1/sqrt(n): 10x narrower at 100x n


def test_paired_difference_absolute_and_relative():
    d = evaluate.paired_difference([0.70, 0.72, 0.74], [0.80, 0.80, 0.80])
    assert d["delta_mean"] == pytest.approx(-0.08)
    assert d["relative_mean"] == pytest.approx(-0.10)
    assert d["delta_ci95"][0] < -0.08 < d["delta_ci95"][1]


def test_clustering_scores_separate_clustered_from_random_embeddings():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 50)
    clustered = np.eye(3)[y] * 10 + rng.normal(size=(150, 3))
    random = rng.normal(size=(150, 3))
    good = evaluate.clustering_scores(clustered, y)
    bad = evaluate.clustering_scores(random, y)
    assert good["kmeans_ari"] > 0.9 and good["silhouette"] > 0.5
    assert abs(bad["kmeans_ari"]) < 0.1  # ARI is ~0 in expectation for unrelated partitions


def test_report_names_binary_auc_and_counts_the_confusion_matrix():
    y = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    report = evaluate.classification_report(y, proba, ["NC", "AD"])
    assert report["roc_auc_average"] == "binary" and report["roc_auc_positive_class"] == "AD"
    assert report["roc_auc"] == 1.0 and "roc_auc_macro" not in report
    assert report["confusion_matrix"]["counts"] == [[2, 0], [1, 2]]
    assert report["per_class"]["AD"] == {"precision": 1.0, "recall": pytest.approx(2 / 3),
                                         "f1": 0.8, "support": 3, "predicted": 2}
    text = evaluate.format_report(report)
    assert "ROC AUC (binary, positive class 'AD')" in text and "NC" in text


def test_report_of_a_class_never_seen_nor_predicted_holds_none():
    y = np.array([0, 0, 2, 2])
    proba = np.array([[0.7, 0.2, 0.1]] * 2 + [[0.1, 0.2, 0.7]] * 2)
    report = evaluate.classification_report(y, proba, ["a", "b", "c"])
    assert report["per_class"]["b"] == {"precision": None, "recall": None, "f1": None,
                                        "support": 0, "predicted": 0}
    assert report["roc_auc_average"].startswith("macro one-vs-rest")


def test_non_finite_probabilities_are_refused():
    with pytest.raises(ValueError, match="non-finite"):
        evaluate.classification_metrics(np.array([0, 1]), np.array([[np.nan, 1.0], [0, 1]]))


def test_metrics_never_hold_a_bare_nan():
    from cancer_alpha.evaluate import classification_report, json_safe

    report = classification_report(np.zeros(4, int), np.full((4, 2), 0.5), ["a", "b"])
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text)["roc_auc"] is None
    assert "only one class ('a')" in report["roc_auc_undefined"]
    assert json_safe({"x": float("inf"), "y": [np.float32("nan")]}) == {
        "x": None, "x_undefined": "not defined for these data", "y": [None]}
