"""The LightningModule every neural model trains in: its loss, metrics, optimiser and
learning-rate schedule."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from functools import partial
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from cancer_alpha.config import TrainConfig
from cancer_alpha.losses import auxiliary_loss, composite_loss
from cancer_alpha.models import MultiModalTransformer, attention_returned


def warmup_cosine(step: int, warmup_steps: int, total_steps: float) -> float:
    """Learning-rate factor of optimiser step ``step`` (from 0): linear warm-up reaching 1 at
    step ``warmup_steps - 1``, then a cosine decay reaching 0 at ``total_steps``, just after
    the last step (constant after warm-up when the total is unknown)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if not math.isfinite(total_steps):
        return 1.0
    progress = min(1.0, (step - warmup_steps + 1) / max(1.0, total_steps - warmup_steps + 1))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def modality_dropout(x: dict[str, Tensor], mask: Tensor, p: float, names: Sequence[str],
                     generator: torch.Generator | None = None
                     ) -> tuple[dict[str, Tensor], Tensor]:
    """Hide each present modality of each sample with probability ``p``, never all of a
    sample's modalities: the mask turns False and the values turn 0. ``names`` are the
    modalities in the order of the mask's columns."""
    if p <= 0:
        return x, mask
    u = torch.rand(mask.shape, generator=generator, device="cpu").to(mask.device)
    keep = mask & (u >= p)
    # a sample that would lose everything keeps the present modality with the largest draw
    emptied = mask.any(dim=1) & ~keep.any(dim=1)
    rescue = torch.nn.functional.one_hot(torch.where(mask, u, -1.0).argmax(dim=1),
                                         mask.shape[1]).bool()
    keep = keep | (rescue & emptied[:, None])
    zero = torch.zeros((), device=mask.device)
    x = {n: torch.where(keep[:, m, None], x[n], zero.to(x[n].dtype))
         for m, n in enumerate(names)} | {k: v for k, v in x.items() if k not in names}
    return x, keep


def _metrics(n_classes: int) -> MetricCollection:
    return MetricCollection({
        "loss": MeanMetric(),
        "acc": MulticlassAccuracy(n_classes, average="micro"),
        "f1": MulticlassF1Score(n_classes, average="macro"),
    })


class ClassifierModule(pl.LightningModule):
    """A neural model with its loss, metrics, optimiser and learning-rate schedule.

    Batches are ``{"x": {modality: (B, P_m)}, "mask": (B, M), "y": (B,)}``. The loss is
    ``classification_weight * (focal + attention_lambda * attention entropy)
    + aux_weight * auxiliary focal loss of the per-modality heads``; progressive pre-training
    sets ``classification_weight=0`` and ``aux_weight > 0`` (``aux_weight`` defaults to
    ``cfg.aux_loss_weight``). Models with quantile bins (``fit_bins``) get them fitted on the
    training dataloader when a fit starts, unless already fitted.
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig, n_classes: int, *,
                 class_weight: Tensor | None = None, aux_weight: float | None = None,
                 classification_weight: float = 1.0):
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.modalities = [s.name for s in model.specs]
        self.aux_weight = cfg.aux_loss_weight if aux_weight is None else float(aux_weight)
        self.classification_weight = float(classification_weight)
        self.register_buffer("class_weight", None if class_weight is None
                             else torch.as_tensor(class_weight, dtype=torch.float32))
        self.train_metrics = _metrics(n_classes)
        self.val_metrics = _metrics(n_classes)
        self.history: list[dict[str, float]] = []
        self.last_validation: dict[str, float] = {}
        self._epoch_start = 0.0

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> Any:
        return self.model(x, mask)

    def loss(self, out: Any, y: Tensor, mask: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The total loss of a batch and its detached parts."""
        main, parts = composite_loss(
            out.logits, y, out.attention, gamma=self.cfg.focal_gamma,
            attention_lambda=self.cfg.attention_lambda, class_weight=self.class_weight)
        total = self.classification_weight * main
        if self.aux_weight > 0 and out.aux_logits:
            aux = auxiliary_loss(out.aux_logits, y, mask, self.cfg.focal_gamma, self.class_weight)
            total = total + self.aux_weight * aux
            parts["auxiliary"] = aux.detach()
        return total, parts

    def _step(self, batch: dict[str, Any], metrics: MetricCollection, train: bool) -> Tensor:
        x, mask, y = batch["x"], batch["mask"], batch["y"]
        if train:
            x, mask = modality_dropout(x, mask, self.cfg.modality_dropout, self.modalities)
        out = self.model(x, mask)
        loss, _ = self.loss(out, y, mask)
        metrics["loss"].update(loss.detach(), weight=y.shape[0])
        preds = out.logits.detach().argmax(dim=1)
        metrics["acc"].update(preds, y)
        metrics["f1"].update(preds, y)
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        return self._step(batch, self.train_metrics, train=True)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._step(batch, self.val_metrics, train=False)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Tensor]:
        """Class probabilities (B, K) and fused embeddings (B, D)."""
        out = self.model(batch["x"], batch["mask"])
        return {"probs": out.logits.float().softmax(dim=1), "embedding": out.embedding.float()}

    def on_fit_start(self) -> None:
        # the transformer's attention weights are copied out only when the loss uses them
        self._fitting = ExitStack()
        if isinstance(self.model, MultiModalTransformer):
            self._fitting.enter_context(attention_returned(
                self.model, self.cfg.attention_lambda > 0 and self.classification_weight > 0))

    def on_fit_end(self) -> None:
        self._fitting.close()

    def on_train_start(self) -> None:
        if hasattr(self.model, "fit_bins") and not bool(self.model.bins_fitted):
            xs, masks = defaultdict(list), []
            for batch in self.trainer.train_dataloader:
                for name, v in batch["x"].items():
                    xs[name].append(v.cpu())
                masks.append(batch["mask"].cpu())
            self.model.fit_bins({k: torch.cat(v) for k, v in xs.items()}, torch.cat(masks))

    def on_train_epoch_start(self) -> None:
        self._epoch_start = time.perf_counter()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.val_metrics.reset()
            return
        values = {f"val_{k}": float(v) for k, v in self.val_metrics.compute().items()}
        self.val_metrics.reset()
        self.last_validation = values
        self.log_dict(values)  # for callbacks such as EarlyStopping(monitor="val_loss")

    def on_train_epoch_end(self) -> None:
        values = {f"train_{k}": float(v) for k, v in self.train_metrics.compute().items()}
        self.train_metrics.reset()
        self.log_dict(values)
        # validation of this epoch has already run: Lightning validates before this hook
        row = {"epoch": self.current_epoch, **values, **self.last_validation,
               "lr": self.optimizers().param_groups[0]["lr"],
               "seconds": time.perf_counter() - self._epoch_start}
        self.last_validation = {}
        self.history.append(row)

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.parameters() if p.requires_grad]
        # no weight decay on biases and normalisation gains (vectors), as in nanoGPT
        groups = [{"params": [p for p in params if p.ndim >= 2],
                   "weight_decay": self.cfg.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=self.cfg.lr)
        total = float(self.trainer.estimated_stepping_batches)  # optimiser steps of the fit
        epochs = self.trainer.max_epochs or 0
        warmup = 0  # steps per epoch are unknown without a finite total
        if math.isfinite(total) and epochs > 0:
            warmup = min(int(total), round(self.cfg.warmup_epochs * total / epochs))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, partial(warmup_cosine, warmup_steps=warmup, total_steps=total))
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": schedule, "interval": "step", "frequency": 1}}
