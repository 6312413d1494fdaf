"""Fitting a neural model: the DataModule's split and scaling, the epoch whose weights are kept,
nothing left on disk, and one prediction path for Lightning and the fitted model."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

import cancer_alpha.training.fit as fit_module
from cancer_alpha.config import load_profile
from cancer_alpha.data import Standardizer, to_tensors, train_val_split
from cancer_alpha.models import build_model
from cancer_alpha.synth import World
from cancer_alpha.training import (
    ClassifierModule,
    CohortDataModule,
    batch_loader,
    class_probabilities,
    fit_neural,
    make_trainer,
)


@pytest.fixture(scope="module")
def profile():
    return load_profile("smoke")


@pytest.fixture(scope="module")
def cohort(profile):
    world = World.from_config(profile.cohort)
    return world.sample(120, seed=0).data, world.sample(60, seed=1).data


# ----------------------------------------------------------------------------- the DataModule


def test_datamodule_holds_out_a_stratified_part_and_fits_the_scaling_on_the_rest(profile,
                                                                                  cohort):
    data, _ = cohort
    train_cfg = dataclasses.replace(profile.train, val_fraction=0.25, batch_size=16)
    dm = CohortDataModule(data, train_cfg, seed=3)
    tr, va = train_val_split(data.y, 0.25, 3)
    np.testing.assert_array_equal(dm.train_index, tr)
    np.testing.assert_array_equal(dm.val_index, va)
    assert len(va) == 30 and not set(tr) & set(va) and len(tr) + len(va) == data.n_samples
    # stratified: each class contributes a quarter of its samples, to within one
    assert np.all(np.abs(np.bincount(data.y[va]) - 0.25 * np.bincount(data.y)) <= 1)
    expected = Standardizer().fit(data.subset(tr))
    for name in expected.mean:
        np.testing.assert_array_equal(dm.scaler.mean[name], expected.mean[name])
        np.testing.assert_array_equal(dm.scaler.scale[name], expected.scale[name])
    # the validation part is standardised with the training part's statistics
    val = next(iter(dm.val_dataloader()))
    want = to_tensors(data.subset(va), expected)
    assert torch.equal(val["x"]["methylation"], want["x"]["methylation"])
    assert len(val["y"]) == 30 <= profile.train.eval_batch_size
    assert [len(b["y"]) for b in dm.train_dataloader()] == [16] * 5 + [10]


def test_datamodule_split_moves_with_the_seed_and_not_otherwise(profile, cohort):
    data, _ = cohort
    a, b = (CohortDataModule(data, profile.train, seed=s) for s in (0, 0))
    np.testing.assert_array_equal(a.val_index, b.val_index)
    assert not np.array_equal(a.val_index, CohortDataModule(data, profile.train, 1).val_index)


def test_datamodule_without_validation_trains_on_every_sample(profile, cohort):
    data, _ = cohort
    dm = CohortDataModule(data, profile.train, validation=False)
    assert len(dm.val_index) == 0 and dm.val_dataloader() == []
    assert sum(len(b["y"]) for b in dm.train_dataloader()) == data.n_samples
    np.testing.assert_array_equal(dm.scaler.mean["cna"], Standardizer().fit(data).mean["cna"])


def test_datamodule_rejects_data_without_labels(profile, cohort):
    data, _ = cohort
    unlabelled = data.subset(np.arange(10))
    unlabelled.y = None
    with pytest.raises(ValueError, match="without labels"):
        CohortDataModule(unlabelled, profile.train)


# ----------------------------------------------------------------------------- best epoch


class Weights(pl.Callback):
    """The model's weights at the end of every training epoch (validation has run by then)."""

    def __init__(self):
        self.states, self.dirs = [], []

    def on_train_epoch_end(self, trainer, module):
        # on the host: Lightning hands the fitted model back on the CPU, whatever it trained on
        self.states.append({k: v.detach().cpu().clone()
                            for k, v in module.model.state_dict().items()})
        self.dirs.append(trainer.checkpoint_callback.dirpath)


def scripted(losses):
    """A ClassifierModule whose validation loss of epoch e is ``losses[e]``."""

    class Scripted(ClassifierModule):
        def on_validation_epoch_end(self):
            self.val_metrics.reset()
            values = {"val_loss": losses[self.current_epoch], "val_acc": 0.0, "val_f1": 0.0}
            self.last_validation = values
            self.log_dict(values)

    return Scripted


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("losses", "best"), [
    ([0.9, 0.5, 0.7, 0.5, 0.6], 1),  # a tie: the first epoch wins
    ([0.9, 0.8, 0.7, 0.6, 0.5], 4),
    ([0.4, 0.6, 0.4, 0.5, 0.4], 0),
])
def test_fit_neural_keeps_the_first_epoch_with_the_lowest_validation_loss(
        profile, cohort, monkeypatch, losses, best):
    monkeypatch.setattr(fit_module, "ClassifierModule", scripted(losses))
    # the early-stopped model itself (the refit on all samples is tested below)
    train_cfg = dataclasses.replace(profile.train, max_epochs=5, patience=10,
                                    full_data="hold_out")
    weights = Weights()
    fitted = fit_neural("early_fusion_mlp", cohort[0], profile, train_cfg=train_cfg,
                        callbacks=[weights])
    assert [r["val_loss"] for r in fitted.history] == losses
    assert fitted.best_epoch == best and fitted.epochs == 5
    assert same_weights(fitted.model.state_dict(), weights.states[best])
    others = [e for e in range(5) if e != best]
    assert not any(same_weights(fitted.model.state_dict(), weights.states[e]) for e in others)


def test_fit_neural_without_a_finite_validation_loss_keeps_the_last_weights(profile, cohort,
                                                                             monkeypatch):
    monkeypatch.setattr(fit_module, "ClassifierModule", scripted([math.nan] * 3))
    weights = Weights()
    fitted = fit_neural("early_fusion_mlp", cohort[0], profile, callbacks=[weights])
    assert fitted.best_epoch == -1
    assert fitted.epochs == 1  # early stopping gives up on a non-finite loss
    assert same_weights(fitted.model.state_dict(), weights.states[-1])


class Recorder:
    """Every DataModule a fit builds: which samples it trains on, and whether it validates."""

    def __init__(self, monkeypatch):
        self.made = []
        real = fit_module.CohortDataModule
        recorder = self

        class Spy(real):
            def __init__(self, data, train_cfg, seed=0, *, validation=True, split=None):
                super().__init__(data, train_cfg, seed, validation=validation, split=split)
                recorder.made.append({"rows": data.subset(self.train_index).x["cna"].copy(),
                                      "n_train": len(self.train_index),
                                      "validation": validation, "n": data.n_samples})

        monkeypatch.setattr(fit_module, "CohortDataModule", Spy)


def test_the_refit_learns_from_every_training_sample_for_the_epochs_chosen(profile, cohort,
                                                                           monkeypatch):
    """A neural model ends up learning from as many samples as a scikit-learn model: the
    early-stopping split only chooses the number of epochs."""
    losses = [0.9, 0.5, 0.7, 0.8, 0.9]
    monkeypatch.setattr(fit_module, "ClassifierModule", scripted(losses))
    recorder = Recorder(monkeypatch)
    data = cohort[0]
    train_cfg = dataclasses.replace(profile.train, max_epochs=5, patience=10)
    assert train_cfg.full_data == "refit"  # the default rule
    fitted = fit_neural("early_fusion_mlp", data, profile, train_cfg=train_cfg)
    first, final = recorder.made
    assert first["validation"] and first["n_train"] < data.n_samples
    assert not final["validation"] and final["n_train"] == data.n_samples
    assert fitted.n_trained == data.n_samples
    assert fitted.best_epoch == 1 and len(fitted.refit_history) == 2  # best epoch + 1
    # the refit's scaling is fitted on every training sample
    np.testing.assert_allclose(fitted.scaler.mean["cna"], Standardizer().fit(data).mean["cna"])
    # the early-stopped model's probabilities on its own validation part are kept
    assert fitted.val_proba.shape == (len(fitted.val_index), data.n_classes)


def test_the_refit_uses_no_held_out_sample(profile, cohort, monkeypatch):
    """Through the protocol: every sample any fit of a neural model trains on lies in the
    fold's training part, and the refit trains on all of that part."""
    from cancer_alpha import protocol

    recorder = Recorder(monkeypatch)
    data, held_out = cohort
    fits = protocol.cross_validate(data, profile, ["early_fusion_mlp", "logistic_regression"],
                                   evals={"test": held_out}, seeds=[0], n_folds=2, n_jobs=1)
    outside = {r.tobytes() for r in held_out.x["cna"]}
    for made in recorder.made:
        assert not {r.tobytes() for r in made["rows"]} & outside
    for made in recorder.made:
        # every fit's data is one fold's training part, never the whole cohort
        assert made["n"] < data.n_samples
    by_model = {f.model: f.n_trained for f in fits}
    assert by_model["early_fusion_mlp"] == by_model["logistic_regression"]
    neural = [f for f in fits if f.model == "early_fusion_mlp"]
    assert [m["validation"] for m in recorder.made] == [True, False] * len(neural)


def test_bagging_trains_each_member_on_the_folds_it_does_not_stop_on(profile, cohort,
                                                                      monkeypatch):
    from cancer_alpha.training import fit_bagged

    recorder = Recorder(monkeypatch)
    data, held_out = cohort
    bagged = fit_bagged("early_fusion_mlp", data, profile, seed=0, k=3)
    assert len(bagged.members) == 3 and bagged.n_trained == data.n_samples
    # each member validates on one fold and learns from the other two; no refit
    assert [m["validation"] for m in recorder.made] == [True] * 3
    val = [set(m.val_index) for m in bagged.members]
    assert not (val[0] & val[1]) and set().union(*val) == set(range(data.n_samples))
    proba = bagged.predict_proba(held_out)
    np.testing.assert_allclose(proba, np.mean([m.predict_proba(held_out)
                                               for m in bagged.members], axis=0))


def test_fit_neural_leaves_nothing_on_disk(profile, cohort, tmp_path, monkeypatch):
    import tempfile

    work, scratch = tmp_path / "work", tmp_path / "scratch"
    work.mkdir(), scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    weights = Weights()
    train_cfg = dataclasses.replace(profile.train, progressive=True)
    fitted = fit_neural("mmt_modality", cohort[0], profile, train_cfg=train_cfg,
                        callbacks=[weights])
    assert weights.dirs and all(str(d).startswith(str(scratch)) for d in weights.dirs)
    assert list(work.iterdir()) == [] and list(scratch.iterdir()) == []
    assert len(fitted.pretrain_history) == train_cfg.pretrain_epochs


def test_fitted_model_records_the_split_scaling_and_history(profile, cohort):
    data, _ = cohort
    fitted = fit_neural("late_fusion", data, profile, seed=2)
    dm = CohortDataModule(data, profile.train, seed=2)
    np.testing.assert_array_equal(fitted.val_index, dm.val_index)
    # the refitted model's scaling is that of every training sample
    np.testing.assert_array_equal(fitted.scaler.mean["methylation"],
                                  Standardizer().fit(data).mean["methylation"])
    held = fit_neural("late_fusion", data, profile, seed=2,
                      train_cfg=dataclasses.replace(profile.train, full_data="hold_out"))
    np.testing.assert_array_equal(held.scaler.mean["methylation"],
                                  dm.scaler.mean["methylation"])
    assert held.n_trained == len(dm.train_index) and held.val_proba is None
    assert fitted.epochs == len(fitted.history) and 0 <= fitted.best_epoch < fitted.epochs
    assert [r["epoch"] for r in fitted.history] == list(range(fitted.epochs))
    assert set(fitted.history[0]) == {"epoch", "train_loss", "train_acc", "train_f1", "val_loss",
                                      "val_acc", "val_f1", "lr", "seconds"}


# ----------------------------------------------------------------------------- prediction


def test_lightning_predict_and_the_fitted_model_predict_the_same_probabilities(profile,
                                                                                cohort):
    train, test = cohort
    fitted = fit_neural("mmt_locus", train, profile)
    module = ClassifierModule(fitted.model, profile.train, train.n_classes)
    trainer = make_trainer(dataclasses.replace(profile.train, accelerator="cpu"))
    outputs = trainer.predict(module, batch_loader(to_tensors(test, fitted.scaler),
                                                   profile.train.eval_batch_size))
    proba = fitted.predict_proba(test)
    assert proba.dtype == np.float64 and proba.shape == (test.n_samples, train.n_classes)
    assert np.array_equal(class_probabilities(outputs), proba)
    # attention weights are kept only when asked for, and the model's setting comes back
    assert all(o.attention is None for o in fitted.outputs(test))
    with_attention = fitted.outputs(test, batch_size=16, attention=True)
    assert len(with_attention) == 4 and all(o.attention is not None for o in with_attention)
    # with weights asked for, attention is computed as written rather than by the fused kernel:
    # the same function, equal up to float32 rounding
    assert np.allclose(class_probabilities(with_attention), proba, rtol=0, atol=1e-5)
    assert fitted.model.return_attention


def test_fitted_model_rejects_data_with_other_modalities(profile, cohort):
    train, test = cohort
    fitted = fit_neural("early_fusion_mlp", train, profile)
    other = World.from_config(dataclasses.replace(profile.cohort, n_loci=24)).sample(8, 0).data
    with pytest.raises(ValueError, match="was trained on"):
        fitted.predict_proba(other)


def test_an_epoch_covers_at_most_epoch_samples_drawn_afresh_each_time(profile, cohort,
                                                                      monkeypatch):
    """With 120 training samples, epochs of at most 40 samples (batches of 20): two batches
    per epoch, and successive epochs draw different samples."""
    data, _ = cohort
    seen: list[list[bytes]] = []

    class Counting(ClassifierModule):
        def on_train_epoch_start(self):
            super().on_train_epoch_start()
            seen.append([])

        def training_step(self, batch, batch_idx):
            seen[-1].extend(r.tobytes() for r in batch["x"]["cna"].cpu().numpy())
            return super().training_step(batch, batch_idx)

    monkeypatch.setattr(fit_module, "ClassifierModule", Counting)
    train_cfg = dataclasses.replace(profile.train, max_epochs=3, patience=10, batch_size=20,
                                    epoch_samples=40, full_data="hold_out")
    fit_neural("early_fusion_mlp", data, profile, train_cfg=train_cfg)
    assert [len(s) for s in seen] == [40, 40, 40]
    assert seen[0] != seen[1]
    # no cap when the training part is no larger than epoch_samples
    seen.clear()
    fit_neural("early_fusion_mlp", data, profile,
               train_cfg=dataclasses.replace(train_cfg, epoch_samples=1000))
    assert [len(s) for s in seen] == [96, 96, 96]  # 120 less the validation fifth


BATCH = 4  # samples per step: the sequence length, not the batch, is what the test is about


@pytest.mark.slow
def test_large_profile_trainer_fits_one_step_on_this_machine(large):
    from cancer_alpha.training import ClassifierModule, CohortDataModule, make_trainer

    profile, world = large
    data = world.sample(2 * BATCH, seed=0).data
    train_cfg = dataclasses.replace(profile.train, batch_size=BATCH)
    dm = CohortDataModule(data, train_cfg, validation=False)
    module = ClassifierModule(build_model("mmt_modality", list(data.specs), data.n_classes,
                                          profile.model), train_cfg, data.n_classes)
    # the profile's own accelerator, devices, strategy and precision ("auto" everywhere)
    trainer = make_trainer(train_cfg, max_steps=1, limit_val_batches=0)
    trainer.fit(module, datamodule=dm)
    assert trainer.global_step == 1
    expected = "16-mixed" if torch.cuda.is_available() else "32-true"
    assert trainer.precision == expected
    assert math.isfinite(module.history[-1]["train_loss"])
