"""Metrics, their spread, confidence intervals, and clustering scores of representations.

Nothing here trains or runs a model: functions take labels, probabilities or arrays (or a
``predict_proba`` callable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .safe_write import jsonable


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = 15) -> float:
    """Top-label expected calibration error with equal-width confidence bins (Guo et al. 2017)."""
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


def classification_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1, ROC AUC and calibration error.

    ``roc_auc_macro`` (the name the book's tables use) is the binary AUC (positive class: the
    second) for two columns and the macro one-vs-rest AUC over the classes present in ``y``
    otherwise; :func:`classification_report` names it for what it is. It is NaN when ``y``
    holds fewer than two classes (see :func:`json_safe` before writing it).
    """
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    y = np.asarray(y)
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or len(proba) != len(y):
        raise ValueError(f"proba of shape {proba.shape} does not match {len(y)} labels")
    if not np.isfinite(proba).all():
        raise ValueError("proba holds non-finite values: the model produced NaN or inf")
    if not np.allclose(proba.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("each row of proba must sum to 1")
    pred = proba.argmax(axis=1)
    labels = np.arange(proba.shape[1])
    p, r, f, _ = precision_recall_fscore_support(y, pred, labels=labels, average="macro",
                                                 zero_division=0)
    present = np.unique(y)
    if len(present) < 2:
        auc = float("nan")
    elif proba.shape[1] == 2:
        auc = roc_auc_score(y, proba[:, 1])
    else:
        # macro one-vs-rest over the classes present in y (AUC is undefined for the others)
        auc = float(np.mean([roc_auc_score(y == k, proba[:, k]) for k in present]))
    return {
        "accuracy": float((pred == y).mean()),
        "precision_macro": float(p),
        "recall_macro": float(r),
        "f1_macro": float(f),
        "roc_auc_macro": float(auc),
        "ece": expected_calibration_error(y, proba),
    }


def auc_name(n_classes: int) -> str:
    """What ``roc_auc`` measures for this many probability columns."""
    return "binary" if n_classes == 2 else "macro one-vs-rest over the classes present"


def classification_report(y: np.ndarray, proba: np.ndarray, class_names: list[str]
                          ) -> dict:
    """Metrics named for what they are, a per-class report and the confusion matrix.

    JSON-safe: an undefined metric is None with a ``<name>_undefined`` reason beside it.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(y)
    k = len(class_names)
    metrics = classification_metrics(y, proba)
    metrics["roc_auc"] = metrics.pop("roc_auc_macro")
    pred = np.asarray(proba).argmax(axis=1)
    p, r, f, support = precision_recall_fscore_support(y, pred, labels=np.arange(k),
                                                       zero_division=0)
    predicted = np.bincount(pred, minlength=k)
    per_class = {c: {"precision": float(p[i]) if predicted[i] else None,
                     "recall": float(r[i]) if support[i] else None,
                     "f1": float(f[i]) if support[i] else None,
                     "support": int(support[i]), "predicted": int(predicted[i])}
                 for i, c in enumerate(class_names)}
    out: dict = {"n_samples": int(len(y)), **metrics,
                 "roc_auc_average": auc_name(k),
                 "per_class": per_class,
                 "confusion_matrix": {"rows_true_columns_predicted": list(class_names),
                                      "counts": confusion_matrix(y, pred, labels=np.arange(k))
                                      .tolist()}}
    if k == 2:
        out["roc_auc_positive_class"] = class_names[1]
    reasons = {"roc_auc": f"only one class ({class_names[int(y[0])]!r}) in the labels"
               if len(y) else "no samples"}
    return json_safe(out, reasons)


def json_safe(value, reasons: dict[str, str] | None = None):
    """``value`` with NaN and infinities replaced by None, and ``<key>_undefined`` beside each
    replaced entry of a mapping (the reason from ``reasons`` or a generic one): valid JSON
    (:func:`cancer_alpha.safe_write.jsonable` with ``explain``)."""
    return jsonable(value, explain=True, reasons=reasons)


def format_report(report: dict) -> str:
    """The report of :func:`classification_report` as text: metrics, per class, confusion."""
    lines = [f"{report['n_samples']} samples"]
    auc = report.get("roc_auc")
    auc_text = f"{auc:.4f}" if auc is not None else f"undefined ({report['roc_auc_undefined']})"
    label = ("ROC AUC (binary, positive class "
             f"{report['roc_auc_positive_class']!r})" if "roc_auc_positive_class" in report
             else "ROC AUC (macro one-vs-rest)")
    for key, name in (("accuracy", "accuracy"), ("f1_macro", "F1 (macro)"),
                      ("precision_macro", "precision (macro)"),
                      ("recall_macro", "recall (macro)"), ("ece", "calibration error (ECE)")):
        lines.append(f"  {name:<40} {report[key]:.4f}")
    lines.insert(3, f"  {label:<40} {auc_text}")
    names = list(report["per_class"])
    width = max(8, *(len(c) for c in names))
    lines.append("")
    lines.append(f"  {'class':<{width}}  precision  recall      f1  support  predicted")
    fmt = lambda v: "      -" if v is None else f"{v:7.3f}"  # noqa: E731
    for c, row in report["per_class"].items():
        lines.append(f"  {c:<{width}}  {fmt(row['precision']):>9}  {fmt(row['recall']):>6}  "
                     f"{fmt(row['f1'])}  {row['support']:>7}  {row['predicted']:>9}")
    lines.append("")
    lines.append("  confusion matrix (rows: true class, columns: predicted)")
    counts = report["confusion_matrix"]["counts"]
    cw = [max(len(c), *(len(str(row[j])) for row in counts)) for j, c in enumerate(names)]
    lines.append(f"  {'':<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(names, cw,
                                                                             strict=True)))
    for c, row in zip(names, counts, strict=True):
        lines.append(f"  {c:<{width}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(row, cw,
                                                                               strict=True)))
    return "\n".join(lines)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def t_ci95(values: Sequence[float]) -> tuple[float, float]:
    """95% confidence interval of a mean from the t distribution (a point for one value)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if len(v) < 2:
        return m, m
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return m - float(half), m + float(half)


def wilson_ci95(successes: int, n: int) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion (e.g. an accuracy on n test samples)."""
    if n <= 0:
        raise ValueError(f"n = {n} is invalid: expected a positive number of trials")
    z = 1.959963984540054
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def paired_difference(treated: Sequence[float], control: Sequence[float]) -> dict[str, float]:
    """Mean paired difference treated - control, its 95% CI, and the same relative to control."""
    a = np.asarray(treated, dtype=float)
    b = np.asarray(control, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired samples must be 1-D of equal length, got {a.shape}, {b.shape}")
    d = a - b
    lo, hi = t_ci95(d)
    rel = d / b
    rlo, rhi = t_ci95(rel)
    return {"delta_mean": float(d.mean()), "delta_ci95": [lo, hi],
            "relative_mean": float(rel.mean()), "relative_ci95": [rlo, rhi], "n": int(len(d))}


def clustering_scores(embedding: np.ndarray, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Silhouette of the true classes and adjusted Rand index of k-means (k = n classes)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    k = len(np.unique(y))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(embedding)
    return {"silhouette": float(silhouette_score(embedding, y)),
            "kmeans_ari": float(adjusted_rand_score(y, km.labels_))}


def permutation_importance(predict_proba, data, *, n_repeats: int = 3, seed: int = 0,
                           metric: str = "accuracy") -> dict[str, np.ndarray]:
    """Drop in ``metric`` when one feature is shuffled across the samples that have its modality.

    ``predict_proba(data) -> (n, K)``. Returns {"feature": names, "modality": modality of each,
    "importance_mean", "importance_sd"} over ``n_repeats`` shuffles, features in
    ``data.flat_feature_names()`` order.
    """
    rng = np.random.default_rng(seed)
    base = classification_metrics(data.y, predict_proba(data))[metric]
    names, modalities, means, sds = [], [], [], []
    for m, spec in enumerate(data.specs):
        rows = np.flatnonzero(data.mask[:, m])
        for j in range(spec.n_features):
            drops = []
            for _ in range(n_repeats):
                shuffled = data.subset(np.arange(data.n_samples))
                col = shuffled.x[spec.name][:, j].copy()
                col[rows] = col[rng.permutation(rows)]
                shuffled.x[spec.name][:, j] = col
                drops.append(base - classification_metrics(data.y, predict_proba(shuffled))[metric])
            names.append(data.feature_names[spec.name][j])
            modalities.append(spec.name)
            means.append(np.mean(drops))
            sds.append(np.std(drops, ddof=1) if n_repeats > 1 else 0.0)
    return {"feature": np.array(names), "modality": np.array(modalities),
            "importance_mean": np.array(means), "importance_sd": np.array(sds)}


def tsne(embedding: np.ndarray, seed: int = 0) -> np.ndarray:
    """A 2-D t-SNE map of ``embedding`` (PCA initialisation, perplexity 30)."""
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, init="pca", perplexity=min(30.0, (len(embedding) - 1) / 3),
                random_state=seed).fit_transform(np.asarray(embedding, dtype=np.float64))


def clustering_table(fits, y: np.ndarray, references: dict[str, np.ndarray], seed: int = 0):
    """Clustering scores of each neural model's fused representation (mean, sd over runs)
    beside reference representations of the same samples (standardised before clustering)."""
    import pandas as pd

    rows: dict[str, dict[str, float]] = {}
    by_model: dict[str, list[dict[str, float]]] = {}
    for f in fits:
        if "clustering" in f.extras:
            by_model.setdefault(f.model, []).append(f.extras["clustering"])
    for name, scores in by_model.items():
        rows[name] = {}
        for key in ("silhouette", "kmeans_ari"):
            rows[name][f"{key}_mean"], rows[name][f"{key}_sd"] = mean_sd([s[key] for s in scores])
        rows[name]["n_runs"] = len(scores)
    for name, rep in references.items():
        s = clustering_scores(standardise(rep), y, seed=seed)
        rows[name] = {"silhouette_mean": s["silhouette"], "silhouette_sd": 0.0,
                      "kmeans_ari_mean": s["kmeans_ari"], "kmeans_ari_sd": 0.0, "n_runs": 1}
    return pd.DataFrame(rows).T


def standardise(x: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit sd (constant columns left at 0)."""
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
