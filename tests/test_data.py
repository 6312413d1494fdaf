"""Splits and scaling: stratification holds and no statistic is fitted outside the training fold."""


import numpy as np
import pytest

from cancer_alpha.data import (
    ModalitySpec,
    MultiOmicsData,
    Standardizer,
    stratified_folds,
    to_tensors,
    train_val_split,
)
from cancer_alpha.errors import CancerAlphaError
from tests.tiny_models import tiny_data as make


def make_data(n=120, seed=0, missing=0.2):
    rng = np.random.default_rng(seed)
    specs = [ModalitySpec("a", "generic", 5), ModalitySpec("b", "generic", 3)]
    x = {"a": rng.normal(2.0, 3.0, (n, 5)), "b": rng.normal(-1.0, 0.5, (n, 3))}
    mask = rng.random((n, 2)) > missing
    mask[~mask.any(axis=1), 0] = True
    for m, s in enumerate(specs):
        x[s.name][~mask[:, m]] = np.nan
    y = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return MultiOmicsData(specs, x, mask, y, ["p", "q", "r"])


def test_stratified_folds_preserve_class_proportions():
    d = make_data(n=500)
    overall = np.bincount(d.y, minlength=3) / len(d.y)
    folds = stratified_folds(d.y, 5, seed=1)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(500))
    for tr, te in folds:
        assert not set(tr) & set(te)
        # StratifiedKFold keeps each class's count per fold within 1 of its share
        expected = overall * len(te)
        assert np.all(np.abs(np.bincount(d.y[te], minlength=3) - expected) <= 1.0)


def test_too_many_folds_for_the_smallest_class_is_refused():
    y = np.array([0] * 10 + [1] * 2)
    with pytest.raises(ValueError, match="smallest class has 2 samples"):
        stratified_folds(y, 5, seed=0)


def test_scaling_statistics_come_from_the_training_fold_only():
    d = make_data(n=200)
    tr, te = stratified_folds(d.y, 2, seed=0)[0]
    # poison the test fold: if any statistic saw it, the training mean would move
    poisoned = d.subset(np.arange(d.n_samples))
    poisoned.x["a"][te] = 1e6
    scaler = Standardizer().fit(poisoned.subset(tr))
    ref = Standardizer().fit(d.subset(tr))
    np.testing.assert_allclose(scaler.mean["a"], ref.mean["a"])
    z = scaler.transform(d.subset(tr))["a"]
    present = d.mask[tr, 0]
    np.testing.assert_allclose(z[present].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z[present].std(axis=0), 1.0, atol=1e-6)


def test_missing_modalities_become_zeros_and_never_nan():
    d = make_data(missing=0.4)
    batch = to_tensors(d, Standardizer().fit(d))
    for t in batch["x"].values():
        assert not t.isnan().any()
    m = batch["mask"].numpy()
    assert (batch["x"]["a"].numpy()[~m[:, 0]] == 0).all()
    assert batch["y"].dtype.is_floating_point is False


def test_constant_feature_is_kept_finite():
    d = make_data()
    d.x["a"][d.mask[:, 0], 2] = 4.0
    z = Standardizer().fit(d).transform(d)["a"]
    assert np.isfinite(z).all() and (z[d.mask[:, 0], 2] == 0).all()


def test_container_rejects_a_wrong_shape():
    d = make_data()
    with pytest.raises(ValueError, match=r"modality 'b': array of shape \(120, 2\)"):
        MultiOmicsData(d.specs, {"a": d.x["a"], "b": d.x["b"][:, :2]}, d.mask, d.y, d.class_names)


def test_every_kind_says_what_it_expects_and_what_encoder_it_selects():
    from cancer_alpha.data import KIND_INFO, KINDS, SPECIFIC_ENCODER_KINDS

    assert set(KIND_INFO) == set(KINDS)
    assert set(SPECIFIC_ENCODER_KINDS) < set(KINDS)
    assert (KIND_INFO["methylation"].low, KIND_INFO["methylation"].high) == (0.0, 1.0)
    assert KIND_INFO["methylation"].strict and not KIND_INFO["cna"].strict


def test_subsets_keep_the_source_files_for_messages():
    d = make_data()
    d.sources = {"a": "x/a.csv", "b": "x/b.csv"}
    assert d.subset([0, 1]).sources == d.sources
    assert d.select_modalities(["b"]).sources == {"b": "x/b.csv"}




def test_small_data_fall_back_to_a_per_class_hold_out():
    y = np.array([0] * 5 + [1] * 3 + [2] * 2 + [3] + [4])
    tr, va = train_val_split(y, 0.2, seed=0)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(12))
    assert np.bincount(y[va], minlength=5).tolist() == [1, 1, 1, 0, 0]
    assert set(y[tr]) == {0, 1, 2, 3, 4}  # single-sample classes stay in training
    with pytest.raises(CancerAlphaError, match=r"each of the 3 samples has a class of its own"):
        train_val_split(np.array([0, 1, 2]), 0.2, seed=0)
    with pytest.raises(CancerAlphaError, match=r"val_fraction = 1.5 is invalid"):
        train_val_split(y, 1.5, seed=0)


def test_the_usual_split_is_unchanged_by_the_fallback():
    from sklearn.model_selection import train_test_split

    y = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va = train_val_split(y, 0.2, seed=3)
    ref = train_test_split(np.arange(100), test_size=0.2, random_state=3, stratify=y)
    assert va.tolist() == sorted(ref[1].tolist())


def test_scaling_refuses_a_value_that_overflows_float32_once_standardised():
    d = make(x={"a": np.array([[0.0, 1.0], [1e-3, 1.0], [2e-3, 1.0], [3e-3, 1.0]])})
    scaler = Standardizer().fit(d)
    d.x["a"][2, 0] = 1e36
    with pytest.raises(CancerAlphaError, match=r"modality 'a': value 1e\+36 of sample 's2' in "
                                               r"column 'f1' is not finite once standardised"):
        scaler.transform(d)


def test_too_many_folds_is_the_project_error():
    from cancer_alpha.data import stratified_folds

    with pytest.raises(CancerAlphaError, match=r"smallest class has 2 samples"):
        stratified_folds(np.array([0] * 10 + [1] * 2), 5, seed=0)
    with pytest.raises(CancerAlphaError, match=r"n_folds = True is invalid"):
        stratified_folds(np.array([0, 1] * 5), True, seed=0)
