"""The classical models of the Cancer Alpha paper's comparison, as scikit-learn pipelines.

Every pipeline reads all modalities side by side; a missing modality arrives as NaN and is
mean-imputed with missing-value indicators, both fitted on the training data only. Settings are
scikit-learn's defaults unless stated: no hyper-parameter is tuned on test data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import ModalitySpec, MultiOmicsData, Standardizer
from .errors import CancerAlphaError, ModelFolderError
from .model_names import BASELINE_MODELS

ENSEMBLE = "voting_ensemble"  # the soft vote of the classical models
BASELINES: tuple[str, ...] = tuple(BASELINE_MODELS)
# scikit-learn's own neural network: fitted like the classical models (one pipeline, all the
# training data, no early-stopping split), counted in neither family of the comparison; it is
# the reference a reviewer would try first for the project's own neural models
REFERENCE_NEURAL: tuple[str, ...] = ("sklearn_mlp",)
CLASSICAL: tuple[str, ...] = tuple(m for m in BASELINES if m not in REFERENCE_NEURAL)


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
    from sklearn.neural_network import MLPClassifier
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
        if kind == "sklearn_mlp":
            # Adam on the whole training set (no early-stopping split), stopping when the
            # training loss stalls; ReLU layers of ``hidden_units`` each
            settings = dict(settings)
            width = settings.pop("hidden_units", 100)
            layers = settings.pop("hidden_layers", 1)
            return make_pipeline(StandardScaler(), MLPClassifier(
                hidden_layer_sizes=(width,) * layers, **{"max_iter": 500, **settings},
                random_state=seed))
        raise CancerAlphaError(f"unknown baseline {kind!r}: expected one of {list(BASELINES)}")

    if name == "voting_ensemble":
        # the Cancer Alpha paper's ensemble: soft voting (averaged probabilities) of the three
        # models above, each with its own settings
        members_settings = params.pop("members", {})
        if params:
            raise CancerAlphaError("voting_ensemble takes only 'members' settings, got "
                                   f"{sorted(params)}")
        members = [(k, classifier(k, members_settings.get(k, {}))) for k in CLASSICAL[:3]]
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
        raise CancerAlphaError("cannot fit a baseline on data without labels")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # an MLP stopped by max_iter is a result of its settings (tuning sees its score)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_baseline(name, seed, n_jobs, params).fit(features(train), train.y)


def predict_proba(model, data: MultiOmicsData, n_classes: int) -> np.ndarray:
    """Class probabilities (n, n_classes), with zero columns for classes absent in training."""
    proba = model.predict_proba(features(data))
    classes = model.classes_ if hasattr(model, "classes_") else model[-1].classes_
    out = np.zeros((data.n_samples, n_classes))
    out[:, classes] = proba
    return out


# The only types a saved pipeline may hold beyond skops' defaults: the fitted trees of the
# forests and of gradient boosting, the optimiser state of the MLP, numpy dtypes and the Bunch
# of a voting ensemble.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
)


@dataclass
class FittedBaseline:
    """A fitted classical pipeline with what it needs to predict a data folder.

    The same attributes as a neural ``FittedModel`` where they make sense (``scaler`` holds
    the training means and sds, used to warn about data on another scale, not to predict).
    """

    name: str
    model: Any
    specs: list[ModalitySpec]
    class_names: list[str]
    scaler: Standardizer | None = None
    fit_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int | None = None
    best_epoch: int | None = None

    def predict_proba(self, data: MultiOmicsData) -> np.ndarray:
        """Class probabilities (n, K)."""
        got = [(s.name, s.n_features) for s in data.specs]
        want = [(s.name, s.n_features) for s in self.specs]
        if got != want:
            raise CancerAlphaError(f"data has modalities {got}, but model {self.name!r} was "
                                   f"trained on {want}")
        return predict_proba(self.model, data, len(self.class_names))


def fit_baseline_model(name: str, train: MultiOmicsData, seed: int = 0,
                       n_jobs: int = 1) -> FittedBaseline:
    """:func:`fit_baseline` wrapped with the specs, classes and training scale of ``train``."""
    t0 = time.perf_counter()
    model = fit_baseline(name, train, seed=seed, n_jobs=n_jobs)
    return FittedBaseline(name, model, list(train.specs), list(train.class_names),
                          Standardizer().fit(train), time.perf_counter() - t0)


def save_pipeline(model: Any, path: str | Path) -> None:
    """Write a fitted pipeline with skops (no pickle: loading runs no arbitrary code)."""
    import skops.io as sio

    sio.dump(model, Path(path))


def load_pipeline(path: str | Path) -> Any:
    """A pipeline written by :func:`save_pipeline`; any type outside skops' defaults and
    :data:`TRUSTED_TYPES` is refused before anything is built."""
    import skops.io as sio

    path = Path(path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a truncated or foreign file raises many types
        raise ModelFolderError(f"{path} is not a readable skops file of this project: "
                               f"{type(exc).__name__}: {exc}") from None
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ModelFolderError(f"{path} holds types this project never saves: {unexpected}: "
                               "refused (a classical model folder holds only scikit-learn "
                               "pipelines)")
    try:
        model = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelFolderError(f"{path} cannot be loaded: {type(exc).__name__}: {exc}") from None
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or not hasattr(model, "predict_proba") \
            or not hasattr(model, "classes_"):
        raise ModelFolderError(f"{path} holds {type(model).__name__}, not a fitted classifier "
                               "pipeline of this project")
    return model
