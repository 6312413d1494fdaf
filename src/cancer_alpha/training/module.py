"""The LightningModule every neural model trains in (its loss, metrics, optimiser and
learning-rate schedule), and the optimiser, quantile-bin fitting and prediction it shares with
the code that trains or predicts outside Lightning."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from cancer_alpha.config import TrainConfig
from cancer_alpha.losses import Batch, batch_loss
from cancer_alpha.models import ModelOutput, attention_returned


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


def make_optimizer(parameters: Iterable[nn.Parameter], train_cfg: TrainConfig,
                   total_steps: float, epochs: int
                   ) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW over the trainable ``parameters`` with ``train_cfg``'s learning rate and weight
    decay, and its per-step schedule: a warm-up over ``warmup_epochs`` of the ``epochs``, then a
    cosine decay to 0 at ``total_steps`` optimiser steps (no warm-up when the total is
    unknown)."""
    params = [p for p in parameters if p.requires_grad]
    # no weight decay on biases and normalisation gains (vectors), as in nanoGPT
    groups = [{"params": [p for p in params if p.ndim >= 2],
               "weight_decay": train_cfg.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]

    # fused: one kernel for every parameter's update instead of a loop of small ones (equal up
    # to float rounding); not under mixed precision, where Lightning's gradient clipping needs
    # the gradients unscaled before the step, which a fused AdamW does inside it
    fused = resolve_precision(train_cfg.precision, train_cfg.accelerator) == "32-true"
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=train_cfg.lr,
                                  fused=fused)
    warmup = 0  # steps per epoch are unknown without a finite total
    if math.isfinite(total_steps) and epochs > 0:
        warmup = min(int(total_steps), round(train_cfg.warmup_epochs * total_steps / epochs))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, partial(warmup_cosine, warmup_steps=warmup, total_steps=total_steps))
    return optimizer, schedule


def fit_quantile_bins(model: nn.Module, batches: Iterable[Batch]) -> None:
    """Fit the quantile bins of a model that has them (``fit_bins``) on training ``batches``,
    unless already fitted."""
    if not hasattr(model, "fit_bins") or bool(model.bins_fitted):
        return
    xs, masks = defaultdict(list), []
    for batch in batches:
        for name, v in batch["x"].items():
            xs[name].append(v.cpu())
        masks.append(batch["mask"].cpu())
    model.fit_bins({k: torch.cat(v) for k, v in xs.items()}, torch.cat(masks))


def predict_batches(model: nn.Module, batches: Iterable[Batch], *, attention: bool = False
                    ) -> list[ModelOutput]:
    """The model's outputs on ``batches`` (one per batch), in evaluation mode, without
    gradients, on the model's device.

    Attention weights are kept only with ``attention``: in locus mode they take about a
    megabyte per sample, so predicting a 10,000-sample cohort with them kept would hold
    gigabytes for nothing.
    """
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad(), attention_returned(model, attention):
        return [model({k: v.to(device) for k, v in batch["x"].items()},
                      batch["mask"].to(device)) for batch in batches]


def class_probabilities(outputs: Sequence[ModelOutput]) -> np.ndarray:
    """Class probabilities (n, K) of the outputs of consecutive batches, as float64."""
    logits = torch.cat([o.logits.float() for o in outputs])
    return logits.softmax(dim=1).cpu().numpy().astype(np.float64)


def _metrics(n_classes: int) -> MetricCollection:
    return MetricCollection({
        "loss": MeanMetric(),
        "acc": MulticlassAccuracy(n_classes, average="micro"),
        "f1": MulticlassF1Score(n_classes, average="macro"),
    })


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """``"auto"``: ``"16-mixed"`` when training runs on a CUDA GPU, ``"32-true"`` otherwise."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return "16-mixed" if on_gpu else "32-true"


class ClassifierModule(pl.LightningModule):
    """A neural model with its loss, metrics, optimiser and learning-rate schedule.

    Training and validation steps compute :func:`~cancer_alpha.losses.batch_loss` (modality
    dropout on training batches only); ``aux_weight`` (default ``train_cfg.aux_loss_weight``)
    and ``classification_weight`` weigh its terms, as progressive pre-training needs
    (``classification_weight=0``, ``aux_weight=1``). ``predict_step`` returns the
    :class:`ModelOutput` of :func:`predict_batches`, the path every prediction takes. Models
    with quantile bins (``fit_bins``) get them fitted on the training dataloader when a fit
    starts, unless already fitted.

    ``history`` holds one row per training epoch: ``epoch``, ``train_loss``, ``train_acc``,
    ``train_f1``, the same three for validation when it ran, ``lr`` after the epoch's last
    step and the epoch's wall-clock ``seconds``.
    """

    def __init__(self, model: nn.Module, train_cfg: TrainConfig, n_classes: int, *,
                 class_weight: Tensor | None = None, aux_weight: float | None = None,
                 classification_weight: float = 1.0):
        super().__init__()
        self.model = model
        self.train_cfg = train_cfg
        self.aux_weight = (train_cfg.aux_loss_weight if aux_weight is None
                           else float(aux_weight))
        self.classification_weight = float(classification_weight)
        self.register_buffer("class_weight", None if class_weight is None
                             else torch.as_tensor(class_weight, dtype=torch.float32))
        self.train_metrics = _metrics(n_classes)
        self.val_metrics = _metrics(n_classes)
        # Rows stay in this list rather than going to a Lightning logger: callers read them in
        # memory (here and as FittedModel.history) in hundreds of parallel worker fits that must
        # leave no files, every logger writes files (a CSV in a temporary directory would be
        # written only to be read back into this list), and self.log would round ``lr`` to
        # float32.
        self.history: list[dict[str, float]] = []
        self.last_validation: dict[str, float] = {}
        self._epoch_start = 0.0

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        return self.model(x, mask)

    def _step(self, batch: Batch, metrics: MetricCollection, training: bool) -> Tensor:
        loss, out, _ = batch_loss(self.model, batch, self.train_cfg, training=training,
                                  aux_weight=self.aux_weight,
                                  classification_weight=self.classification_weight,
                                  class_weight=self.class_weight)
        y = batch["y"]
        metrics["loss"].update(loss.detach(), weight=y.shape[0])
        preds = out.logits.detach().argmax(dim=1)
        metrics["acc"].update(preds, y)
        metrics["f1"].update(preds, y)
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        return self._step(batch, self.train_metrics, training=True)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, self.val_metrics, training=False)

    def predict_step(self, batch: Batch, batch_idx: int) -> ModelOutput:
        """The model's output on the batch (see :func:`class_probabilities`)."""
        return predict_batches(self.model, [batch])[0]

    def on_train_start(self) -> None:
        fit_quantile_bins(self.model, self.trainer.train_dataloader)

    def on_train_epoch_start(self) -> None:
        self._epoch_start = time.perf_counter()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.val_metrics.reset()
            return
        values = {f"val_{k}": float(v) for k, v in self.val_metrics.compute().items()}
        self.val_metrics.reset()
        self.last_validation = values
        self.log_dict(values)  # for EarlyStopping and ModelCheckpoint(monitor="val_loss")

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
        optimizer, schedule = make_optimizer(
            self.parameters(), self.train_cfg,
            float(self.trainer.estimated_stepping_batches),  # optimiser steps of the fit
            self.trainer.max_epochs or 0)
        return {"optimizer": optimizer,
                "lr_scheduler": {"scheduler": schedule, "interval": "step", "frequency": 1}}
