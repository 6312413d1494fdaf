"""Chapter 7's experiments: each builds its inputs from the paper's three modality kinds at a
given number of features per modality, so the same function serves the chapter and
``benchmarks/``. Every training step measured here is the training step of the book:
:func:`~cancer_alpha.losses.batch_loss` with the profile's ``TrainConfig``, backward, gradient
clipping and an AdamW step (:func:`optimiser_step`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig, TrainConfig
from cancer_alpha.data import ModalitySpec, MultiOmicsData
from cancer_alpha.losses import Batch, batch_loss
from cancer_alpha.models import attention_returned, build_model
from cancer_alpha.profiling.meters import (
    achieved_gflops,
    inference_latency,
    peak_memory,
    time_callable,
)
from cancer_alpha.profiling.reports import MB, LatencyReport, MemoryReport, TimingReport


def synthetic_specs(n_features: int) -> list[ModalitySpec]:
    """Specs of the three synthetic modalities with ``n_features`` features each."""
    pos = tuple(float(i) for i in range(n_features))
    return [ModalitySpec("methylation", "methylation", n_features, pos),
            ModalitySpec("fragmentomics", "fragmentomics", n_features,
                         tuple(80.0 + 440.0 * (i + 0.5) / n_features for i in range(n_features))),
            ModalitySpec("cna", "cna", n_features, pos)]


def random_batch(specs: list[ModalitySpec], batch_size: int, n_classes: int = 5, seed: int = 0,
                 device: str = "cpu") -> Batch:
    """A standardised-looking batch of random values (all modalities present)."""
    g = torch.Generator().manual_seed(seed)
    return {"x": {s.name: torch.randn(batch_size, s.n_features, generator=g).to(device)
                  for s in specs},
            "mask": torch.ones(batch_size, len(specs), dtype=torch.bool, device=device),
            "y": torch.randint(n_classes, (batch_size,), generator=g).to(device)}


def optimiser_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Batch,
                   train_cfg: TrainConfig) -> Tensor:
    """One training step outside Lightning, as Lightning takes it: the batch's training loss
    (:func:`~cancer_alpha.losses.batch_loss`), backward, gradients clipped to norm
    ``train_cfg.gradient_clip``, an optimiser step. Returns the detached loss."""
    optimizer.zero_grad(set_to_none=True)
    loss = batch_loss(model, batch, train_cfg).loss
    loss.backward()
    # the optimiser's parameters in its order, as Lightning clips them: the same norm, bit for bit
    torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                   train_cfg.gradient_clip)
    optimizer.step()
    return loss.detach()


def training_step_fn(model: nn.Module, batch: Batch, train_cfg: TrainConfig
                     ) -> Callable[[], Tensor]:
    """Repeated training steps of ``model`` on ``batch``: the book's step and optimiser (the
    learning-rate schedule aside, which costs nothing)."""
    from cancer_alpha.training.module import make_optimizer

    model.train()
    if hasattr(model, "fit_bins"):
        model.fit_bins(batch["x"])
    optimizer, _ = make_optimizer(model.parameters(), train_cfg, math.inf, 0)
    return lambda: optimiser_step(model, optimizer, batch, train_cfg)


def _train_step_fn(name: str, n_features: int, batch_size: int, train_cfg: TrainConfig,
                   model_cfg: ModelConfig, device: str = "cpu") -> Callable[[], Tensor]:
    """Repeated training steps of model ``name`` on one random batch."""
    specs = synthetic_specs(n_features)
    model = build_model(name, specs, 5, model_cfg).to(device)
    return training_step_fn(model, random_batch(specs, batch_size, device=device), train_cfg)


def train_step_memory(name: str, n_features: int, batch_size: int, train_cfg: TrainConfig,
                      model_cfg: ModelConfig, device: str = "cpu") -> MemoryReport:
    """Peak memory of one training step (forward, backward, AdamW) of model ``name``.

    A first step runs before the measurement so that the optimiser state exists; the peak is
    what a step of a running training adds on top of the model, its gradients and that state.
    """
    step = _train_step_fn(name, n_features, batch_size, train_cfg, model_cfg, device)
    step()
    return peak_memory(step, device=device)


def _random_cohort(specs: list[ModalitySpec], n_samples: int) -> MultiOmicsData:
    rng = np.random.default_rng(0)
    x = {s.name: rng.normal(size=(n_samples, s.n_features)) for s in specs}
    y = rng.integers(0, 5, n_samples)
    return MultiOmicsData(specs, x, np.ones((n_samples, len(specs)), bool), y,
                          [f"c{k}" for k in range(5)])


def epoch_seconds(name: str, n_samples: int, n_features: int, train_cfg: TrainConfig,
                  model_cfg: ModelConfig, repeats: int = 1) -> TimingReport:
    """Wall time of one training epoch (Lightning loop, the book's recipe) over ``n_samples``."""
    lightning_epoch, _ = plain_epoch_fn(name, n_samples, n_features, train_cfg, model_cfg)
    return time_callable(lightning_epoch, repeats=repeats, warmup=1)


def plain_epoch_fn(name: str, n_samples: int, n_features: int, train_cfg: TrainConfig,
                   model_cfg: ModelConfig
                   ) -> tuple[Callable[[], nn.Module], Callable[[], nn.Module]]:
    """One training epoch of the same model and data as a Lightning fit and as a plain PyTorch
    loop; each returns the model it trained. Both build the model from the same seed, read the
    same shuffled batches and take the same steps (the training loss of
    :func:`~cancer_alpha.losses.batch_loss`, gradient clipping, AdamW with its per-step
    schedule, quantile bins fitted first): what differs is Lightning's loop."""
    from cancer_alpha.training import (
        ClassifierModule,
        CohortDataModule,
        fit_quantile_bins,
        make_optimizer,
        make_trainer,
    )

    specs = synthetic_specs(n_features)
    one_epoch = dataclasses.replace(train_cfg, max_epochs=1)
    dm = CohortDataModule(_random_cohort(specs, n_samples), one_epoch, validation=False)

    def lightning_epoch() -> nn.Module:
        torch.manual_seed(0)
        module = ClassifierModule(build_model(name, specs, 5, model_cfg), one_epoch, 5)
        make_trainer(one_epoch, max_epochs=1, limit_val_batches=0).fit(module, datamodule=dm)
        return module.model

    def plain_epoch() -> nn.Module:
        torch.manual_seed(0)
        model = build_model(name, specs, 5, model_cfg).train()
        loader = dm.train_dataloader()
        fit_quantile_bins(model, loader)
        optimizer, schedule = make_optimizer(model.parameters(), one_epoch, len(loader), 1)
        for batch in loader:
            optimiser_step(model, optimizer, batch, one_epoch)
            schedule.step()
        return model

    return lightning_epoch, plain_epoch


def latency_of(name: str, n_features: int, model_cfg: ModelConfig, n_samples: int = 200,
               batch_size: int = 256, batch_repeats: int = 5) -> LatencyReport:
    """Inference latency of an (untrained: speed does not depend on the weights) model."""
    specs = synthetic_specs(n_features)
    model = build_model(name, specs, 5, model_cfg).eval()

    def make(k: int):
        b = random_batch(specs, k)
        return b["x"], b["mask"]

    # as `cancer-alpha predict` runs it: no gradients, no attention weights returned
    with torch.no_grad(), attention_returned(model, False):
        return inference_latency(model, make, batch_size=batch_size, n_samples=n_samples,
                                 batch_repeats=batch_repeats)


def train_gflops(name: str, n_features: int, batch_size: int, model_cfg: ModelConfig,
                 repeats: int = 5, train_cfg: TrainConfig | None = None) -> dict[str, Any]:
    """Achieved training throughput: forward FLOPs x 3 (forward + backward) per second of the
    training step of ``train_cfg`` (default: the ``TrainConfig`` defaults, the paper's
    recipe), at the low quantile of the steps' times (``seconds_per_step``; the median step
    and every timed step beside it)."""
    from cancer_alpha.models.complexity import flops_per_sample

    specs = synthetic_specs(n_features)
    flops = flops_per_sample(build_model(name, specs, 5, model_cfg),
                             random_batch(specs, 8)) * 3 * batch_size
    step = _train_step_fn(name, n_features, batch_size, train_cfg or TrainConfig(), model_cfg)
    t = time_callable(step, repeats=repeats, warmup=2)
    return {"gflop_per_step": flops / 1e9, "seconds_per_step": t.low_s,
            "median_seconds_per_step": t.median_s, "step_seconds": list(t.seconds),
            "gflops": achieved_gflops(flops, t.low_s)}


def training_state_mb(name: str, n_features: int, model_cfg: ModelConfig) -> float:
    """Memory a training run holds between steps: parameters, gradients and AdamW's two
    moment buffers (4 tensors the size of the parameters), in float32."""
    from cancer_alpha.models.complexity import count_parameters

    model = build_model(name, synthetic_specs(n_features), 5, model_cfg)
    return 4 * 4 * count_parameters(model) / MB
