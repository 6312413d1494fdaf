"""The Trainer recipe, fitting a neural model, and the fitted model that predicts."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn

from cancer_alpha.config import Profile, TrainConfig
from cancer_alpha.data import ModalitySpec, MultiOmicsData, Standardizer, to_tensors
from cancer_alpha.models import ModelOutput
from cancer_alpha.training.data import CohortDataModule, batch_loader
from cancer_alpha.training.module import (
    ClassifierModule,
    class_probabilities,
    predict_batches,
    resolve_precision,
)


def quiet_lightning() -> None:
    """Silence Lightning's banner and info lines ("GPU available: ...", "Seed set to ...")."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # single-process data loading is deliberate here: small in-memory tensors
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Lightning 2.6.6 uses a torch pytree class that torch 2.13 deprecates; harmless
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


quiet_lightning()  # at import: the first Lightning call of a notebook may precede any Trainer


def make_trainer(train_cfg: TrainConfig, max_epochs: int | None = None,
                 callbacks: Iterable[pl.Callback] = (), **overrides: Any) -> pl.Trainer:
    """A Trainer for ``train_cfg``: accelerator, devices and precision resolved (``"auto"``:
    16-mixed on a CUDA GPU, 32-true on the CPU), gradient clipping, no logger, checkpoints only
    where a ``ModelCheckpoint`` among ``callbacks`` says, no progress bar or model summary,
    deterministic algorithms where they exist, no sanity validation. ``overrides`` are passed
    to ``pl.Trainer`` last."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    quiet_lightning()
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    callbacks = list(callbacks)
    settings: dict[str, Any] = {
        "max_epochs": train_cfg.max_epochs if max_epochs is None else max_epochs,
        "accelerator": train_cfg.accelerator,
        "devices": train_cfg.devices,
        "strategy": train_cfg.strategy,
        "precision": resolve_precision(train_cfg.precision, train_cfg.accelerator),
        "gradient_clip_val": train_cfg.gradient_clip,
        "logger": False,
        # without a ModelCheckpoint of ours, True would add one writing into the working directory
        "enable_checkpointing": any(isinstance(c, ModelCheckpoint) for c in callbacks),
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "deterministic": "warn",  # deterministic kernels, a warning where none exists
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
    }
    settings.update(overrides)
    return pl.Trainer(callbacks=callbacks, **settings)


@dataclass
class FittedModel:
    """A trained neural model with the preprocessing it was trained with."""

    name: str
    model: nn.Module
    scaler: Standardizer
    specs: list[ModalitySpec]
    class_names: list[str]
    history: list[dict[str, float]]
    epochs: int
    best_epoch: int
    fit_seconds: float
    pretrain_history: list[dict[str, float]] = field(default_factory=list)
    val_index: np.ndarray | None = None  # samples of the training data held out for stopping
    eval_batch_size: int = TrainConfig.eval_batch_size  # prediction batches (no gradients)
    # with full_data="refit": the epochs of the refit on all training samples, and the
    # early-stopped model's probabilities on the validation part (before the refit saw it)
    refit_history: list[dict[str, float]] = field(default_factory=list)
    val_proba: np.ndarray | None = None
    n_trained: int | None = None  # samples the final weights learned from

    def outputs(self, data: MultiOmicsData, batch_size: int | None = None, *,
                attention: bool = False) -> list[ModelOutput]:
        """The model's outputs on ``data``, one per batch (:func:`predict_batches`: evaluation
        mode, attention weights kept only with ``attention``)."""
        self._check(data)
        batches = batch_loader(to_tensors(data, self.scaler),
                               batch_size or self.eval_batch_size)
        return predict_batches(self.model, batches, attention=attention)

    def predict_proba(self, data: MultiOmicsData) -> np.ndarray:
        """Class probabilities (n, K)."""
        return class_probabilities(self.outputs(data))

    def _check(self, data: MultiOmicsData) -> None:
        got = [(s.name, s.n_features) for s in data.specs]
        want = [(s.name, s.n_features) for s in self.specs]
        if got != want:
            raise ValueError(f"data has modalities {got}, but model {self.name!r} was trained "
                             f"on {want}")


class _StopAfter(pl.Callback):
    """Stop a fit after ``epochs`` epochs, leaving the Trainer's ``max_epochs`` (and so the
    learning-rate schedule's horizon) as it is."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


def _fit_stage(module: ClassifierModule, dm: CohortDataModule, train_cfg: TrainConfig,
               max_epochs: int, checkpoints: Path, *, early_stopping: bool,
               extra: Sequence[pl.Callback] = ()) -> int:
    """Fit ``module`` and load the weights of its epoch of lowest validation loss (the first
    such epoch on ties); returns that epoch, or -1 when no validation loss was finite (the
    last weights are kept)."""
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    best = ModelCheckpoint(dirpath=checkpoints, filename="{epoch}", monitor="val_loss",
                           mode="min", save_top_k=1, save_weights_only=True)
    callbacks: list[pl.Callback] = [best, *extra]
    if early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=train_cfg.patience,
                                       mode="min"))
    make_trainer(train_cfg, max_epochs=max_epochs, callbacks=callbacks,
                 **_epoch_limit(train_cfg, len(dm.train_index))).fit(module, datamodule=dm)
    # a NaN loss is recorded as inf: a run whose losses were all NaN or inf has no best epoch
    score = best.best_model_score
    if not best.best_model_path or (score is not None and not math.isfinite(float(score))):
        return -1
    checkpoint = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
    module.load_state_dict(checkpoint["state_dict"])
    return int(checkpoint["epoch"])


def _fit_epochs(module: ClassifierModule, dm: CohortDataModule, train_cfg: TrainConfig,
                max_epochs: int, epochs: int) -> None:
    """Fit ``module`` on every sample of ``dm`` (no validation) for ``epochs`` epochs of a
    schedule planned over ``max_epochs``; the last weights are kept."""
    make_trainer(train_cfg, max_epochs=max_epochs, callbacks=[_StopAfter(epochs)],
                 limit_val_batches=0, **_epoch_limit(train_cfg, len(dm.train_index))
                 ).fit(module, datamodule=dm)


def _epoch_limit(train_cfg: TrainConfig, n_train: int) -> dict[str, int]:
    """The Trainer setting that caps an epoch at ``train_cfg.epoch_samples`` samples (batches
    of a reshuffled pass), when the training part holds more."""
    if not train_cfg.epoch_samples or n_train <= train_cfg.epoch_samples:
        return {}
    return {"limit_train_batches": math.ceil(train_cfg.epoch_samples / train_cfg.batch_size)}


def fit_neural(name: str, train: MultiOmicsData, profile: Profile, seed: int = 0, *,
               train_cfg: TrainConfig | None = None, model: nn.Module | None = None,
               callbacks: Sequence[pl.Callback] = (),
               split: tuple[np.ndarray, np.ndarray] | None = None) -> FittedModel:
    """Train neural model ``name`` on ``train`` with ``train_cfg`` (default: the recipe of
    ``profile.train``) and ``profile.model``, or the ``model`` given.

    First the DataModule holds out a stratified part (``val_fraction``) of ``train`` for early
    stopping (patience ``patience`` on validation loss) and fits the scaling on the rest; the
    best validation epoch is found. With ``progressive``, each modality encoder is first
    trained with its own auxiliary head for ``pretrain_epochs`` (keeping its best epoch too),
    then the whole model is fine-tuned jointly. ``callbacks`` (progress, pruning) join this
    stage.

    Then, with ``full_data="refit"`` (the default), the model goes back to its initial weights
    and learns from *every* sample of ``train``, scaling fitted on all of them, for the epochs
    the first stage chose (pre-training epochs likewise), under the same learning-rate
    schedule over ``max_epochs``: the same number of passes over the data, so the number of
    optimiser steps grows with the data (by 1 / (1 - val_fraction)). The validation part thus
    decides only *when* to stop, never what is learned last, and a neural model learns from
    as many samples as a scikit-learn model does. ``full_data="hold_out"`` keeps the
    early-stopped weights instead. Checkpoints live in a temporary directory removed before
    returning. ``split`` (training and validation indices of ``train``) replaces the drawn
    early-stopping split.
    """
    from cancer_alpha.models import build_model

    train_cfg = train_cfg or profile.train
    t0 = time.perf_counter()
    pl.seed_everything(seed, workers=False, verbose=False)
    dm = CohortDataModule(train, train_cfg, seed, split=split)
    if model is None:
        model = build_model(name, list(train.specs), train.n_classes, profile.model)
    refit = train_cfg.full_data == "refit"
    initial = copy.deepcopy(model.state_dict()) if refit else None
    pretrain_history: list[dict[str, float]] = []
    pretrain_best = -1
    with tempfile.TemporaryDirectory(prefix="cancer-alpha-fit-") as tmp:
        if train_cfg.progressive:
            pre = ClassifierModule(model, train_cfg, train.n_classes, aux_weight=1.0,
                                   classification_weight=0.0)
            pretrain_best = _fit_stage(pre, dm, train_cfg, train_cfg.pretrain_epochs,
                                       Path(tmp, "pretrain"), early_stopping=False)
            pretrain_history = pre.history
        module = ClassifierModule(model, train_cfg, train.n_classes)
        best_epoch = _fit_stage(module, dm, train_cfg, train_cfg.max_epochs, Path(tmp, "fit"),
                                early_stopping=True, extra=callbacks)
    model.eval()
    fitted = FittedModel(name, model, dm.scaler, list(train.specs), list(train.class_names),
                         module.history, len(module.history), best_epoch,
                         time.perf_counter() - t0, pretrain_history, dm.val_index,
                         train_cfg.eval_batch_size, n_trained=len(dm.train_index))
    if not refit or best_epoch < 0 or dm.val_index.size == 0:
        # no epoch to refit for (every validation loss was NaN or inf): the model as stopped
        return fitted
    # the early-stopped model's probabilities on its own validation part, for a caller that
    # reports them (the command line); the refitted model will have learned from these samples
    fitted.val_proba = fitted.predict_proba(train.subset(dm.val_index))
    model.load_state_dict(initial)
    model.train()  # the first stage left it in evaluation mode (dropout and batch norm off)
    pl.seed_everything(seed, workers=False, verbose=False)
    full = CohortDataModule(train, train_cfg, seed, validation=False)
    if train_cfg.progressive:
        pre = ClassifierModule(model, train_cfg, train.n_classes, aux_weight=1.0,
                               classification_weight=0.0)
        _fit_epochs(pre, full, train_cfg, train_cfg.pretrain_epochs,
                    max(pretrain_best + 1, 1) if pretrain_best >= 0
                    else train_cfg.pretrain_epochs)
    module = ClassifierModule(model, train_cfg, train.n_classes)
    _fit_epochs(module, full, train_cfg, train_cfg.max_epochs, best_epoch + 1)
    model.eval()
    fitted.scaler = full.scaler
    fitted.refit_history = module.history
    fitted.n_trained = train.n_samples
    fitted.fit_seconds = time.perf_counter() - t0
    return fitted


@dataclass
class BaggedModel:
    """``k`` neural models of one kind, each early-stopped on its own fold of the training data
    and trained on the other folds; it predicts the mean of their probabilities."""

    name: str
    members: list[FittedModel]
    fit_seconds: float

    n_trained: int  # distinct training samples the members learned from, together

    def predict_proba(self, data: MultiOmicsData) -> np.ndarray:
        """The members' class probabilities, averaged: (n, K)."""
        return np.mean([m.predict_proba(data) for m in self.members], axis=0)


def fit_bagged(name: str, train: MultiOmicsData, profile: Profile, seed: int = 0, *,
               k: int = 5, train_cfg: TrainConfig | None = None) -> BaggedModel:
    """Bagging over folds: model ``name`` trained ``k`` times, each time early-stopped on one
    of ``k`` stratified folds of ``train`` (drawn with ``seed``) and learning from the other
    folds; every training sample is learned from by ``k - 1`` members. Costs ``k`` fits."""
    from cancer_alpha.data import stratified_folds

    train_cfg = dataclasses.replace(train_cfg or profile.train, full_data="hold_out")
    t0 = time.perf_counter()
    members = [fit_neural(name, train, profile, seed + 1000 * i, train_cfg=train_cfg,
                          split=(tr, va))
               for i, (tr, va) in enumerate(stratified_folds(train.y, k, seed))]
    return BaggedModel(name, members, time.perf_counter() - t0, train.n_samples)


class EpochProgress(pl.Callback):
    """A progress bar over epochs with the latest validation loss (for the command line)."""

    def __init__(self, total: int, desc: str = "training"):
        self.total, self.desc, self.bar = total, desc, None

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, desc=self.desc, unit="epoch", leave=True)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        loss = trainer.callback_metrics.get("val_loss")
        if self.bar is not None:
            self.bar.update(1)
            if loss is not None:
                self.bar.set_postfix(val_loss=f"{float(loss):.4f}")

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()
