"""Chapter 5's experiments: each builds its inputs from the paper's three modality kinds at a
given number of features per modality, so the same function serves the chapter and
``benchmarks/``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cancer_alpha.profiling.meters import (
    achieved_gflops,
    inference_latency,
    peak_memory,
    time_callable,
)
from cancer_alpha.profiling.reports import MB, LatencyReport, MemoryReport, TimingReport


def synthetic_specs(n_features: int) -> list:
    """Specs of the three synthetic modalities with ``n_features`` features each."""
    from cancer_alpha.data import ModalitySpec

    pos = tuple(float(i) for i in range(n_features))
    return [ModalitySpec("methylation", "methylation", n_features, pos),
            ModalitySpec("fragmentomics", "fragmentomics", n_features,
                         tuple(80.0 + 440.0 * (i + 0.5) / n_features for i in range(n_features))),
            ModalitySpec("cna", "cna", n_features, pos)]


def random_batch(specs: list, batch_size: int, n_classes: int = 5, seed: int = 0,
                 device: str = "cpu") -> dict[str, Any]:
    """A standardised-looking batch of random values (all modalities present)."""
    g = torch.Generator().manual_seed(seed)
    return {"x": {s.name: torch.randn(batch_size, s.n_features, generator=g).to(device)
                  for s in specs},
            "mask": torch.ones(batch_size, len(specs), dtype=torch.bool, device=device),
            "y": torch.randint(n_classes, (batch_size,), generator=g).to(device)}


def _train_step_fn(name: str, n_features: int, batch_size: int, model_cfg: Any,
                   device: str = "cpu") -> Callable[[], None]:
    from cancer_alpha.losses import composite_loss
    from cancer_alpha.models import build_model

    specs = synthetic_specs(n_features)
    model = build_model(name, specs, 5, model_cfg).to(device).train()
    if hasattr(model, "fit_bins"):
        model.fit_bins(random_batch(specs, 256, seed=1)["x"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = random_batch(specs, batch_size, device=device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(batch["x"], batch["mask"])
        loss, _ = composite_loss(out.logits, batch["y"], out.attention, gamma=2.0,
                                 attention_lambda=1e-3)
        loss.backward()
        opt.step()

    return step


def train_step_memory(name: str, n_features: int, batch_size: int, model_cfg: Any,
                      device: str = "cpu") -> MemoryReport:
    """Peak memory of one training step (forward, backward, AdamW) of model ``name``.

    A first step runs before the measurement so that the optimiser state exists; the peak is
    what a step of a running training adds on top of the model, its gradients and that state.
    """
    step = _train_step_fn(name, n_features, batch_size, model_cfg, device)
    step()
    return peak_memory(step, device=device)


def epoch_seconds(name: str, n_samples: int, n_features: int, train_cfg: Any, model_cfg: Any,
                  repeats: int = 1) -> TimingReport:
    """Wall time of one training epoch (Lightning loop, the book's recipe) over ``n_samples``."""

    from cancer_alpha.data import MultiOmicsData, Standardizer
    from cancer_alpha.models import build_model
    from cancer_alpha.training import ClassifierModule, CohortDataModule, make_trainer

    specs = synthetic_specs(n_features)
    rng = np.random.default_rng(0)
    x = {s.name: rng.normal(size=(n_samples, s.n_features)) for s in specs}
    y = rng.integers(0, 5, n_samples)
    data = MultiOmicsData(specs, x, np.ones((n_samples, 3), bool), y,
                          [f"c{k}" for k in range(5)])
    dm = CohortDataModule(data, data.subset(np.arange(min(n_samples, 64))),
                          Standardizer().fit(data), train_cfg.batch_size)
    cfg = dataclasses.replace(train_cfg, max_epochs=1)

    def one_epoch() -> None:
        module = ClassifierModule(build_model(name, specs, 5, model_cfg), cfg, 5)
        make_trainer(cfg, max_epochs=1, limit_val_batches=0).fit(module, datamodule=dm)

    return time_callable(one_epoch, repeats=repeats, warmup=1)


def plain_epoch_fn(name: str, n_samples: int, n_features: int, train_cfg: Any,
                   model_cfg: Any) -> tuple[Callable[[], None], Callable[[], None]]:
    """One epoch of the same model and data as a Lightning fit and as a plain PyTorch loop."""

    from cancer_alpha.data import MultiOmicsData, Standardizer, to_tensors
    from cancer_alpha.losses import composite_loss
    from cancer_alpha.models import build_model
    from cancer_alpha.training import ClassifierModule, CohortDataModule, batch_loader, make_trainer

    specs = synthetic_specs(n_features)
    rng = np.random.default_rng(0)
    x = {s.name: rng.normal(size=(n_samples, s.n_features)) for s in specs}
    data = MultiOmicsData(specs, x, np.ones((n_samples, 3), bool), rng.integers(0, 5, n_samples),
                          [f"c{k}" for k in range(5)])
    scaler = Standardizer().fit(data)
    dm = CohortDataModule(data, data.subset(np.arange(64)), scaler, train_cfg.batch_size)
    cfg = dataclasses.replace(train_cfg, max_epochs=1)
    tensors = to_tensors(data, scaler)

    def lightning_epoch() -> None:
        torch.manual_seed(0)
        module = ClassifierModule(build_model(name, specs, 5, model_cfg), cfg, 5)
        make_trainer(cfg, max_epochs=1, limit_val_batches=0).fit(module, datamodule=dm)

    def plain_epoch() -> None:
        torch.manual_seed(0)
        model = build_model(name, specs, 5, model_cfg).train()
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        for batch in batch_loader(tensors, cfg.batch_size, shuffle=True):
            opt.zero_grad(set_to_none=True)
            out = model(batch["x"], batch["mask"])
            loss, _ = composite_loss(out.logits, batch["y"], out.attention,
                                     gamma=cfg.focal_gamma, attention_lambda=cfg.attention_lambda)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.gradient_clip)
            opt.step()

    return lightning_epoch, plain_epoch


def latency_of(name: str, n_features: int, model_cfg: Any, n_samples: int = 200,
               batch_size: int = 256) -> LatencyReport:
    """Inference latency of an (untrained: speed does not depend on the weights) model."""
    from cancer_alpha.models import build_model

    specs = synthetic_specs(n_features)
    model = build_model(name, specs, 5, model_cfg).eval()

    def make(k: int):
        b = random_batch(specs, k)
        return b["x"], b["mask"]

    with torch.no_grad():
        return inference_latency(model, make, batch_size=batch_size, n_samples=n_samples)


def train_gflops(name: str, n_features: int, batch_size: int, model_cfg: Any,
                 repeats: int = 5) -> dict[str, float]:
    """Achieved training throughput: forward FLOPs x 3 (forward + backward) per second."""
    from cancer_alpha.models import build_model
    from cancer_alpha.models.complexity import flops_per_sample

    specs = synthetic_specs(n_features)
    flops = flops_per_sample(build_model(name, specs, 5, model_cfg),
                             random_batch(specs, 8)) * 3 * batch_size
    step = _train_step_fn(name, n_features, batch_size, model_cfg)
    t = time_callable(step, repeats=repeats, warmup=2)
    return {"gflop_per_step": flops / 1e9, "seconds_per_step": t.median_s,
            "gflops": achieved_gflops(flops, t.median_s)}


def training_state_mb(name: str, n_features: int, model_cfg: Any) -> float:
    """Memory a training run holds between steps: parameters, gradients and AdamW's two
    moment buffers (4 tensors the size of the parameters), in float32."""
    from cancer_alpha.models import build_model
    from cancer_alpha.models.complexity import count_parameters

    model = build_model(name, synthetic_specs(n_features), 5, model_cfg)
    return 4 * 4 * count_parameters(model) / MB
