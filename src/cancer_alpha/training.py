"""Training: one LightningModule for every neural model, and the Trainer recipe.

The module holds the model, the composite loss of seed 000 (focal loss + lambda * attention
entropy, plus optional per-modality auxiliary losses for progressive pre-training), torchmetrics
accuracy and macro-F1, AdamW, and a cosine schedule with linear warm-up stepped per optimiser
step. It records one row per epoch in ``history`` (Lightning's loggers stay off). Accelerator
and precision come from :class:`TrainConfig`, never from the model.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from cancer_alpha.config import TrainConfig
from cancer_alpha.data import (
    ModalitySpec,
    MultiOmicsData,
    Standardizer,
    to_tensors,
    train_val_split,
)
from cancer_alpha.losses import auxiliary_loss, composite_loss
from cancer_alpha.models import MultiModalTransformer, attention_returned


def quiet_lightning() -> None:
    """Silence Lightning's banner and info lines ("GPU available: ...", "Seed set to ...")."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # single-process data loading is deliberate here: small in-memory tensors
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # Lightning 2.6.6 uses a torch pytree class that torch 2.13 deprecates; harmless
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


quiet_lightning()  # at import: the first Lightning call of a notebook may precede any Trainer


def resolve_precision(precision: str, accelerator: str = "auto") -> str:
    """``"auto"``: ``"16-mixed"`` when training runs on a CUDA GPU, ``"32-true"`` otherwise."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("auto", "gpu", "cuda") and torch.cuda.is_available()
    return "16-mixed" if on_gpu else "32-true"


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


def make_trainer(cfg: TrainConfig, max_epochs: int | None = None,
                 callbacks: Iterable[pl.Callback] = (), **overrides: Any) -> pl.Trainer:
    """A Trainer for ``cfg``: accelerator, devices and precision resolved (``"auto"``: 16-mixed
    on a CUDA GPU, 32-true on the CPU), gradient clipping, no logger, no checkpoints, no
    progress bar or model summary, deterministic algorithms where they exist, no sanity
    validation. ``overrides`` are passed to ``pl.Trainer`` last."""
    quiet_lightning()
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    settings: dict[str, Any] = {
        "max_epochs": cfg.max_epochs if max_epochs is None else max_epochs,
        "accelerator": cfg.accelerator,
        "devices": cfg.devices,
        "strategy": cfg.strategy,
        "precision": resolve_precision(cfg.precision, cfg.accelerator),
        "gradient_clip_val": cfg.gradient_clip,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "deterministic": "warn",  # deterministic kernels, a warning where none exists
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 1,
    }
    settings.update(overrides)
    return pl.Trainer(callbacks=list(callbacks), **settings)


# --------------------------------------------------------------------------- data and fitting


class BatchDataset(torch.utils.data.Dataset):
    """In-memory tensors indexed a whole batch at a time (no per-sample Python overhead)."""

    def __init__(self, tensors: dict[str, Any]):
        self.tensors = tensors
        self.n = int(tensors["y"].shape[0])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> dict[str, Any]:
        idx = torch.as_tensor(index)
        return {"x": {k: v[idx] for k, v in self.tensors["x"].items()},
                "mask": self.tensors["mask"][idx], "y": self.tensors["y"][idx]}


def batch_loader(tensors: dict[str, Any], batch_size: int, *, shuffle: bool = False,
                 seed: int = 0) -> torch.utils.data.DataLoader:
    """Batches of ``tensors``; shuffled with its own seeded generator when ``shuffle``."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

    ds = BatchDataset(tensors)
    base = (RandomSampler(ds, generator=torch.Generator().manual_seed(seed)) if shuffle
            else SequentialSampler(ds))
    # a last batch of one sample would give batch normalisation a single value per channel
    drop_last = shuffle and len(ds) % batch_size == 1
    return DataLoader(ds, batch_size=None,
                      sampler=BatchSampler(base, batch_size, drop_last=drop_last))


class CohortDataModule(pl.LightningDataModule):
    """Training and validation batches of a fold, standardised with training statistics."""

    def __init__(self, train: MultiOmicsData, val: MultiOmicsData, scaler: Standardizer,
                 batch_size: int, seed: int = 0):
        super().__init__()
        self.train_tensors = to_tensors(train, scaler)
        self.val_tensors = to_tensors(val, scaler)
        self.batch_size = batch_size
        self.seed = seed

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return batch_loader(self.train_tensors, self.batch_size, shuffle=True, seed=self.seed)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return batch_loader(self.val_tensors, 512)


class KeepBest(pl.Callback):
    """Remember the weights of the epoch with the lowest validation loss and restore them at
    the end of the fit: the model returned is the one early stopping selected."""

    def __init__(self, monitor: str = "val_loss"):
        self.monitor = monitor
        self.best = math.inf
        self.best_epoch = -1
        self.state: dict[str, Tensor] | None = None

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            self.best_epoch = trainer.current_epoch
            self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if self.state is not None:
            module.load_state_dict(self.state)


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

    def outputs(self, data: MultiOmicsData, batch_size: int = 512, *,
                attention: bool = False) -> list[Any]:
        """The model's raw outputs (ModelOutput per batch) on ``data``, in evaluation mode.

        Attention weights are kept only with ``attention``: in locus mode they take about a
        megabyte per sample, so predicting a 10,000-sample cohort with them kept would hold
        gigabytes for nothing.
        """
        self._check(data)
        self.model.eval()
        tensors = to_tensors(data, self.scaler)
        device = next(self.model.parameters()).device
        outs = []
        with torch.no_grad(), attention_returned(self.model, attention):
            for batch in batch_loader(tensors, batch_size):
                x = {k: v.to(device) for k, v in batch["x"].items()}
                outs.append(self.model(x, batch["mask"].to(device)))
        return outs

    def predict_proba(self, data: MultiOmicsData) -> np.ndarray:
        """Class probabilities (n, K)."""
        logits = torch.cat([o.logits.float() for o in self.outputs(data)])
        return logits.softmax(dim=1).cpu().numpy().astype(np.float64)

    def embed(self, data: MultiOmicsData) -> np.ndarray:
        """The fused representation (n, D) that feeds the classification head."""
        return torch.cat([o.embedding.float() for o in self.outputs(data)]).cpu().numpy()

    def _check(self, data: MultiOmicsData) -> None:
        got = [(s.name, s.n_features) for s in data.specs]
        want = [(s.name, s.n_features) for s in self.specs]
        if got != want:
            raise ValueError(f"data has modalities {got}, but model {self.name!r} was trained "
                             f"on {want}")


def _fit_stage(module: ClassifierModule, dm: CohortDataModule, cfg: TrainConfig,
               max_epochs: int, early_stopping: bool, extra: Sequence[pl.Callback] = ()
               ) -> KeepBest:
    from pytorch_lightning.callbacks import EarlyStopping

    keep = KeepBest()
    callbacks: list[pl.Callback] = [keep, *extra]
    if early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=cfg.patience, mode="min"))
    make_trainer(cfg, max_epochs=max_epochs, callbacks=callbacks).fit(module, datamodule=dm)
    return keep


def fit_neural(name: str, train: MultiOmicsData, profile: Any, seed: int = 0, *,
               train_cfg: TrainConfig | None = None, model: nn.Module | None = None,
               callbacks: Sequence[pl.Callback] = ()) -> FittedModel:
    """Train neural model ``name`` on ``train`` with the recipe of ``profile.train``.

    A stratified part (``val_fraction``) of ``train`` is held out for early stopping (patience
    ``patience`` on validation loss) and the weights of the best validation epoch are kept.
    With ``progressive``, each modality encoder is first trained with its own auxiliary head
    for ``pretrain_epochs``, then the whole model is fine-tuned jointly.
    """
    from .models import build_model

    cfg = train_cfg or profile.train
    if train.y is None:
        raise ValueError("cannot train on data without labels")
    t0 = time.perf_counter()
    pl.seed_everything(seed, workers=False, verbose=False)
    tr, va = train_val_split(train.y, cfg.val_fraction, seed)
    fit_part, val_part = train.subset(tr), train.subset(va)
    scaler = Standardizer().fit(fit_part)
    dm = CohortDataModule(fit_part, val_part, scaler, cfg.batch_size, seed)
    if model is None:
        model = build_model(name, list(train.specs), train.n_classes, profile.model)
    pretrain_history: list[dict[str, float]] = []
    if cfg.progressive:
        pre = ClassifierModule(model, cfg, train.n_classes, aux_weight=1.0,
                               classification_weight=0.0)
        _fit_stage(pre, dm, cfg, cfg.pretrain_epochs, early_stopping=False)
        pretrain_history = pre.history
    module = ClassifierModule(model, cfg, train.n_classes)
    keep = _fit_stage(module, dm, cfg, cfg.max_epochs, early_stopping=True, extra=callbacks)
    model.eval()
    return FittedModel(name, model, scaler, list(train.specs), list(train.class_names),
                       module.history, len(module.history), keep.best_epoch,
                       time.perf_counter() - t0, pretrain_history, va)


# --------------------------------------------------------------------------- run directories

RUN_FORMAT = "cancer-alpha-run/1"


def save_run(fitted: FittedModel, path: str | Any, *, model_cfg: Any,
             metrics: dict[str, Any] | None = None, feature_names: dict[str, list[str]] | None
             = None, overwrite: bool = False) -> Any:
    """Write a trained model as a run directory: weights, settings, preprocessing, metrics.

    The folder is assembled beside its target and renamed into place, so an interrupted
    save leaves nothing half-written.
    """
    import dataclasses
    import json
    import shutil
    import tempfile
    from pathlib import Path

    target = Path(path)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ValueError(f"{target} exists and is not empty: choose another --out or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        torch.save(fitted.model.state_dict(), tmp / "model.pt")
        config = {
            "format": RUN_FORMAT, "model": fitted.name,
            "model_config": dataclasses.asdict(model_cfg),
            "specs": [s.to_dict() for s in fitted.specs],
            "class_names": fitted.class_names,
            "feature_names": feature_names or {},
            "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "preprocessing.json").write_text(json.dumps(fitted.scaler.to_dict()) + "\n")
        (tmp / "metrics.json").write_text(json.dumps(metrics or {}, indent=2) + "\n")
        (tmp / "history.json").write_text(json.dumps(fitted.history, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_run(path: str | Any) -> tuple[FittedModel, dict[str, Any]]:
    """A run directory back as a FittedModel (weights loaded with ``weights_only=True``)."""
    import json
    from pathlib import Path

    from .config import ModelConfig
    from .models import build_model

    run = Path(path)
    if not (run / "config.json").is_file():
        raise ValueError(f"{run} is not a run directory: {run / 'config.json'} is missing")
    try:
        config = json.loads((run / "config.json").read_text())
        scaler = Standardizer.from_dict(json.loads((run / "preprocessing.json").read_text()))
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{run}: unreadable run settings ({exc})") from None
    if config.get("format") != RUN_FORMAT:
        raise ValueError(f"{run}/config.json: format {config.get('format')!r}, expected "
                         f"{RUN_FORMAT!r} (a run written by `cancer-alpha train`)")
    specs = [ModalitySpec.from_dict(s) for s in config["specs"]]
    cfg = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in config["model_config"].items()})
    model = build_model(config["model"], specs, len(config["class_names"]), cfg)
    try:
        state = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign files raise many different errors
        raise ValueError(f"{run / 'model.pt'} is not a readable checkpoint of this project: "
                         f"{type(exc).__name__}: {exc}") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{run / 'model.pt'} does not fit model {config['model']!r} with the "
                         f"run's settings: {str(exc).splitlines()[0]}") from None
    model.eval()
    fitted = FittedModel(config["model"], model, scaler, specs, config["class_names"],
                         json.loads((run / "history.json").read_text())
                         if (run / "history.json").is_file() else [],
                         config.get("epochs", 0), config.get("best_epoch", -1), 0.0)
    return fitted, config


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
