"""The classical models of seed 002's comparison, as scikit-learn pipelines.

Every pipeline reads all modalities side by side; a missing modality arrives as NaN and is
mean-imputed with missing-value indicators, both fitted on the training data only. Settings are
scikit-learn's defaults unless stated: no hyper-parameter is tuned on test data.
"""

from __future__ import annotations

import numpy as np

from .data import MultiOmicsData

BASELINES: tuple[str, ...] = (
    "logistic_regression", "random_forest", "gradient_boosting", "voting_ensemble",
)


def make_baseline(name: str, seed: int = 0, n_jobs: int = 1):
    """An unfitted pipeline: imputation (+ indicators) -> [scaling] -> classifier."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        RandomForestClassifier,
        VotingClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def classifier(kind: str):
        if kind == "logistic_regression":
            return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        if kind == "random_forest":
            return RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=n_jobs)
        if kind == "gradient_boosting":
            # the histogram variant of gradient boosting: same model family, fast at 330 features
            return HistGradientBoostingClassifier(random_state=seed)
        raise ValueError(f"unknown baseline {kind!r}: expected one of {list(BASELINES)}")

    if name == "voting_ensemble":
        # seed 002's ensemble: soft voting (averaged probabilities) of the three models above
        members = [(k, classifier(k)) for k in BASELINES[:3]]
        model = VotingClassifier(members, voting="soft", n_jobs=1)
    else:
        model = classifier(name)
    return make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), model)


def features(data: MultiOmicsData) -> np.ndarray:
    """The flat feature matrix a baseline reads: NaN where a modality is missing."""
    return data.flat(fill=np.nan)


def fit_baseline(name: str, train: MultiOmicsData, seed: int = 0, n_jobs: int = 1):
    """A baseline fitted on ``train``."""
    if train.y is None:
        raise ValueError("cannot fit a baseline on data without labels")
    return make_baseline(name, seed, n_jobs).fit(features(train), train.y)


def predict_proba(model, data: MultiOmicsData, n_classes: int) -> np.ndarray:
    """Class probabilities (n, n_classes), with zero columns for classes absent in training."""
    proba = model.predict_proba(features(data))
    classes = model.classes_ if hasattr(model, "classes_") else model[-1].classes_
    out = np.zeros((data.n_samples, n_classes))
    out[:, classes] = proba
    return out
