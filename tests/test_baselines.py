"""The classical pipelines learn, cope with missing modalities and keep class columns aligned."""

import numpy as np
import pytest

from cancer_alpha import baselines
from cancer_alpha.data import ModalitySpec, MultiOmicsData


def separable(n=300, seed=0, missing=0.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    a = rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]
    b = rng.normal(size=(n, 2))
    mask = rng.random((n, 2)) > missing
    mask[:, 0] |= ~mask[:, 1]
    a[~mask[:, 0]] = np.nan
    b[~mask[:, 1]] = np.nan
    specs = [ModalitySpec("a", "generic", 4), ModalitySpec("b", "generic", 2)]
    return MultiOmicsData(specs, {"a": a, "b": b}, mask, y, ["x", "y", "z"])


@pytest.mark.parametrize("name", baselines.BASELINES)
def test_each_baseline_beats_chance_with_missing_modalities(name):
    train, test = separable(seed=1, missing=0.3), separable(seed=2, missing=0.3)
    model = baselines.fit_baseline(name, train, seed=0)
    proba = baselines.predict_proba(model, test, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # signal of 2 sd on one feature per class: chance is 1/3, any working model clears 0.6
    assert (proba.argmax(axis=1) == test.y).mean() > 0.6


def test_unknown_baseline_lists_valid_names():
    with pytest.raises(ValueError, match="unknown baseline 'svm'"):
        baselines.make_baseline("svm")


@pytest.mark.parametrize("name", baselines.BASELINES)
def test_a_saved_pipeline_loads_with_the_trusted_types_only_and_predicts_the_same(
        tmp_path, name):
    import skops.io as sio

    train, test = separable(seed=1, missing=0.3), separable(seed=2, missing=0.3)
    fitted = baselines.fit_baseline_model(name, train, seed=0)
    baselines.save_pipeline(fitted.model, tmp_path / "m.skops")
    assert set(sio.get_untrusted_types(file=tmp_path / "m.skops")) <= set(
        baselines.TRUSTED_TYPES)
    back = baselines.load_pipeline(tmp_path / "m.skops")
    np.testing.assert_array_equal(baselines.predict_proba(back, test, 3),
                                  fitted.predict_proba(test))


def test_a_fitted_baseline_refuses_data_of_other_modalities():
    fitted = baselines.fit_baseline_model("logistic_regression", separable())
    with pytest.raises(ValueError, match=r"data has modalities \[\('a', 4\)\]"):
        fitted.predict_proba(separable().select_modalities(["a"]))
