"""The classical models of the Cancer Alpha paper's comparison, as scikit-learn pipelines.

Every pipeline reads all modalities side by side; a missing modality arrives as NaN and is
mean-imputed with missing-value indicators, both fitted on the training data only. Settings are
scikit-learn's defaults unless stated: no hyper-parameter is tuned on test data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .data import MultiOmicsData

BASELINES: tuple[str, ...] = (
    "logistic_regression", "random_forest", "gradient_boosting", "voting_ensemble",
)


def make_baseline(name: str, seed: int = 0, n_jobs: int = 1,
                  params: Mapping[str, Any] | None = None):
    """An unfitted pipeline: imputation (+ indicators) -> [scaling] -> classifier.

    ``params`` are settings of the classifier (e.g. ``{"C": 0.1}`` for logistic regression);
    for the voting ensemble, ``{"members": {member: settings}}``. Empty: the defaults below.
    """
    params = dict(params or {})
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        RandomForestClassifier,
        VotingClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def classifier(kind: str, settings: Mapping[str, Any]):
        if kind == "logistic_regression":
            return make_pipeline(StandardScaler(),
                                 LogisticRegression(max_iter=2000, **settings))
        if kind == "random_forest":
            return RandomForestClassifier(**{"n_estimators": 300, **settings},
                                          random_state=seed, n_jobs=n_jobs)
        if kind == "gradient_boosting":
            # the histogram variant of gradient boosting: same model family, fast at 330 features
            return HistGradientBoostingClassifier(**settings, random_state=seed)
        raise ValueError(f"unknown baseline {kind!r}: expected one of {list(BASELINES)}")

    if name == "voting_ensemble":
        # the Cancer Alpha paper's ensemble: soft voting (averaged probabilities) of the three
        # models above, each with its own settings
        members_settings = params.pop("members", {})
        if params:
            raise ValueError(f"voting_ensemble takes only 'members' settings, got {sorted(params)}")
        members = [(k, classifier(k, members_settings.get(k, {}))) for k in BASELINES[:3]]
        model = VotingClassifier(members, voting="soft", n_jobs=1)
    else:
        model = classifier(name, params)
    return make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), model)


def features(data: MultiOmicsData) -> np.ndarray:
    """The flat feature matrix a baseline reads: NaN where a modality is missing."""
    return data.flat(fill=np.nan)


def fit_baseline(name: str, train: MultiOmicsData, seed: int = 0, n_jobs: int = 1,
                 params: Mapping[str, Any] | None = None):
    """A baseline fitted on ``train`` (``params``: see :func:`make_baseline`)."""
    if train.y is None:
        raise ValueError("cannot fit a baseline on data without labels")
    return make_baseline(name, seed, n_jobs, params).fit(features(train), train.y)


def predict_proba(model, data: MultiOmicsData, n_classes: int) -> np.ndarray:
    """Class probabilities (n, n_classes), with zero columns for classes absent in training."""
    proba = model.predict_proba(features(data))
    classes = model.classes_ if hasattr(model, "classes_") else model[-1].classes_
    out = np.zeros((data.n_samples, n_classes))
    out[:, classes] = proba
    return out
