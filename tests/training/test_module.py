"""The LightningModule and the Trainer recipe: metrics history, schedule, prediction, training
with modality dropout and mixed precision, and quantile bins fitted on training data."""

from __future__ import annotations

import dataclasses
import logging
import math
from itertools import pairwise

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from cancer_alpha.config import TrainConfig
from cancer_alpha.models import MODEL_NAMES, build_model
from cancer_alpha.training import (
    ClassifierModule,
    class_probabilities,
    make_trainer,
    resolve_precision,
    warmup_cosine,
)
from tests.tiny_models import NAMES, SPECS, TINY, K, P


class Cohort(Dataset):
    """Separable toy cohort: the class shifts every feature; some modalities missing."""

    def __init__(self, n: int, seed: int, missing: float = 0.2):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, K, (n,), generator=g)
        self.x = {s: torch.randn(n, P, generator=g) + 1.5 * self.y[:, None] for s in NAMES}
        self.mask = torch.rand(n, len(NAMES), generator=g) >= missing
        self.mask[torch.arange(n), torch.randint(0, len(NAMES), (n,), generator=g)] = True
        for m, s in enumerate(NAMES):
            self.x[s][~self.mask[:, m]] = 0.0  # missing values arrive as 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict:
        return {"x": {s: v[i] for s, v in self.x.items()}, "mask": self.mask[i], "y": self.y[i]}


def loaders(n_train: int = 48, batch_size: int = 16):
    train = DataLoader(Cohort(n_train, 0), batch_size=batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    return train, DataLoader(Cohort(24, 1), batch_size=batch_size)


def fit(name: str = "mmt_modality", epochs: int = 3, callbacks=(), model_cfg=TINY, **train):
    pl.seed_everything(0)
    train_cfg = TrainConfig(max_epochs=epochs, warmup_epochs=1, lr=1e-2, **train)
    module = ClassifierModule(build_model(name, SPECS, K, model_cfg), train_cfg, K)
    trainer = make_trainer(train_cfg, callbacks=callbacks)
    trainer.fit(module, *loaders())
    return module, trainer


def test_make_trainer_resolves_precision_and_turns_off_logging_and_checkpoints():
    train_cfg = TrainConfig(gradient_clip=0.5, accelerator="cpu")
    trainer = make_trainer(train_cfg, max_epochs=7)
    assert trainer.precision == "32-true"
    assert trainer.max_epochs == 7
    assert trainer.logger is None
    assert trainer.checkpoint_callback is None
    assert trainer.gradient_clip_val == 0.5
    assert make_trainer(train_cfg).max_epochs == train_cfg.max_epochs
    assert make_trainer(train_cfg, max_steps=5).max_steps == 5  # overrides reach the Trainer
    assert logging.getLogger("pytorch_lightning").level >= logging.WARNING


def test_precision_auto_is_mixed_only_on_a_gpu():
    assert resolve_precision("auto", "cpu") == "32-true"
    assert resolve_precision("bf16-mixed", "cpu") == "bf16-mixed"
    assert resolve_precision("auto", "auto") == (
        "16-mixed" if torch.cuda.is_available() else "32-true")


def test_warmup_cosine_ramps_up_linearly_then_decays_to_zero():
    f = [warmup_cosine(s, warmup_steps=4, total_steps=12) for s in range(13)]
    assert f[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a > b for a, b in pairwise(f[3:]))  # no plateau at the peak
    assert math.isclose(f[7], 0.5, abs_tol=0.1) and f[11] > 0 and f[12] == 0.0
    assert warmup_cosine(100, 4, float("inf")) == 1.0


class LearningRates(pl.Callback):
    def __init__(self):
        self.lrs = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_fit_records_one_history_row_per_epoch_and_steps_the_schedule_per_batch():
    lrs = LearningRates()
    module, _ = fit(epochs=3, callbacks=[lrs])
    assert [r["epoch"] for r in module.history] == [0, 1, 2]
    for row in module.history:
        for key in ("train_loss", "train_acc", "train_f1", "val_loss", "val_acc", "val_f1"):
            assert math.isfinite(row[key]), key
        assert 0 <= row["val_acc"] <= 1 and row["seconds"] > 0
    # 3 batches per epoch, 1 warm-up epoch: lr/3, 2 lr/3, lr, then a cosine down to 0
    assert np.allclose(lrs.lrs[:3], [1e-2 / 3, 2e-2 / 3, 1e-2])
    assert len(lrs.lrs) == 9 and all(a > b > 0 for a, b in pairwise(lrs.lrs[2:]))
    assert module.history[-1]["lr"] == 0.0


def test_training_reduces_the_loss_on_a_separable_cohort():
    module, _ = fit(epochs=6)
    first, last = module.history[0], module.history[-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    # classes 1.5 standard deviations apart on 18 features: far above chance (1/3)
    assert last["val_acc"] > 0.8


def test_predict_returns_model_outputs_that_give_probabilities_and_embeddings():
    module, trainer = fit(epochs=1)
    outputs = trainer.predict(module, loaders()[1])
    probs = class_probabilities(outputs)
    emb = torch.cat([o.embedding for o in outputs])
    assert probs.shape == (24, K) and emb.shape == (24, TINY.d_model)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert all(o.attention is None for o in outputs)  # not kept unless asked for


def test_training_with_heavy_modality_dropout_stays_finite():
    module, _ = fit("mmt_locus", epochs=2, modality_dropout=0.9)
    assert all(math.isfinite(r["train_loss"]) for r in module.history)


def test_tab_transformer_bins_are_fitted_on_the_training_loader_when_fit_starts():
    module, _ = fit("tab_transformer", epochs=1)
    model = module.model
    assert bool(model.bins_fitted)
    train = Cohort(48, 0)
    x = torch.cat([train.x[s].masked_fill(~train.mask[:, [m]], float("nan"))
                   for m, s in enumerate(NAMES)], dim=1).numpy()
    expected = np.nanquantile(x, np.arange(1, TINY.n_bins) / TINY.n_bins, axis=0).T
    np.testing.assert_allclose(model.bin_edges.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_mixed_precision_training_stays_finite_for_every_model(name):
    # bfloat16 autocast on the CPU exercises the same casts as 16-mixed on a GPU
    locus = dataclasses.replace(TINY, token_mode="locus")
    module, trainer = fit(name, epochs=1, model_cfg=locus, precision="bf16-mixed",
                          modality_dropout=0.3, aux_loss_weight=0.5, attention_lambda=0.1)
    assert trainer.precision == "bf16-mixed"
    assert math.isfinite(module.history[0]["train_loss"])
    assert math.isfinite(module.history[0]["val_loss"])
