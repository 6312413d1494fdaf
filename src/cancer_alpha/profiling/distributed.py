"""One epoch of a neural model under Lightning's DDP on several CPU processes (gloo).

    python -m cancer_alpha.profiling.distributed --devices 2 --samples 64 --out ddp.json

Lightning's ``strategy="ddp"`` starts the other ranks by running this same command again
(with ``LOCAL_RANK`` set), shards the training batches across ranks and all-reduces the
gradients. Every rank records which cohort samples it trained on, its training loss and a
digest of its weights; rank 0 gathers the records and writes them, with the checks a reader
wants (the ranks' samples are disjoint and cover the cohort, the weights are identical), as
JSON to ``--out`` and a summary to stdout. The same code path runs the ``large`` profile on
several GPUs: only the Trainer's accelerator, devices and number of nodes change (README).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch and Lightning load only when a run starts, not for --help
    import pytorch_lightning as pl
    from torch import Tensor, nn

    from ..losses import Batch


def _weights_digest(module: nn.Module) -> tuple[str, float]:
    """sha256 of every parameter's bytes in a fixed order, and the sum of their values."""

    h = hashlib.sha256()
    total = 0.0
    for name, p in sorted(module.named_parameters()):
        data = p.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(data.numpy().tobytes())
        total += float(data.double().sum())
    return h.hexdigest(), total if math.isfinite(total) else float("nan")


def _record_callback(train_x: Tensor, first: str) -> pl.Callback:
    """A Lightning callback recording, on each rank, the cohort rows of its training batches
    and the state the checks need; rank 0 receives every rank's record at the end."""
    import pytorch_lightning as pl
    import torch

    class Recorder(pl.Callback):
        def __init__(self) -> None:
            self.seen: list[int] = []
            self.gathered: list[dict[str, Any]] | None = None
            self.initial_digest = ""
            self.built_digest = ""  # set before the fit: this rank's own initialisation

        def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            # after DDP's broadcast from rank 0, before the first optimiser step
            self.initial_digest = _weights_digest(module)[0]

        def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule,
                                 batch: Batch, batch_idx: int) -> None:
            # batches carry no sample index: match each row to the cohort's standardised rows
            # (continuous values, so a row identifies its sample)
            rows = batch["x"][first].cpu()
            hits = (rows[:, None, :] == train_x[None, :, :]).all(dim=2)  # (B, n)
            self.seen += [int(i) for i in hits.float().argmax(dim=1)]
            if not bool(hits.any(dim=1).all()):
                self.seen.append(-1)  # a row not in the cohort: the check below reports it

        def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
            digest, total = _weights_digest(module)
            history = module.history[-1] if module.history else {}
            record = {
                "rank": trainer.global_rank, "world_size": trainer.world_size,
                "backend": (torch.distributed.get_backend()
                            if torch.distributed.is_initialized() else None),
                "samples_seen": sorted(self.seen), "steps": trainer.global_step,
                "train_loss": history.get("train_loss", float("nan")),
                "built_weights_sha256": self.built_digest,
                "initial_weights_sha256": self.initial_digest,
                "weights_sha256": digest, "weights_sum": total,
            }
            if torch.distributed.is_initialized():
                gathered: list[Any] = [None] * trainer.world_size
                torch.distributed.all_gather_object(gathered, record)
                self.gathered = sorted(gathered, key=lambda r: r["rank"])
            else:
                self.gathered = [record]

    return Recorder()


def summarize(ranks: list[dict[str, Any]], n_samples: int) -> dict[str, Any]:
    """The checks of a distributed run from the records of its ranks."""
    seen = [set(r["samples_seen"]) for r in ranks]
    union = set().union(*seen)
    counts = sum(len(r["samples_seen"]) for r in ranks)
    return {
        "world_size": len(ranks),
        "samples_disjoint": counts == len(union),
        "samples_cover_cohort": union == set(range(n_samples)),
        "initialisations_differ": len({r["built_weights_sha256"] for r in ranks}) == len(ranks),
        "start_identical": len({r["initial_weights_sha256"] for r in ranks}) == 1,
        "weights_identical": len({r["weights_sha256"] for r in ranks}) == 1,
        "weights_changed": all(r["weights_sha256"] != r["initial_weights_sha256"]
                               for r in ranks),
        "loss_finite": all(math.isfinite(r["train_loss"]) for r in ranks),
    }


def train_one_epoch(model: str = "mmt_modality", devices: int = 2, samples: int = 64,
                    batch_size: int = 8, profile_name: str = "smoke", seed: int = 0,
                    accelerator: str = "cpu", strategy: str = "ddp", num_nodes: int = 1
                    ) -> dict[str, Any] | None:
    """Train ``model`` for one epoch on a synthetic cohort of ``samples`` under ``strategy``.

    Returns the gathered record on global rank 0 and None on the other ranks. For the ranks
    to see disjoint samples, ``samples / batch_size`` batches must divide evenly among the
    ``devices * num_nodes`` ranks (Lightning's sampler otherwise repeats a batch to even them).
    """
    from ..config import load_profile, require

    for name, value in (("devices", devices), ("samples", samples),
                        ("batch_size", batch_size), ("num_nodes", num_nodes)):
        require(isinstance(value, int) and value >= 1, "distributed", name, value,
                 "an integer >= 1")
    import pytorch_lightning as pl
    import torch

    from ..data import to_tensors
    from ..models import build_model
    from ..synth import World
    from ..training import ClassifierModule, CohortDataModule, make_trainer

    profile = load_profile(profile_name)
    cohort_cfg = dataclasses.replace(profile.cohort, n_samples=samples)
    data = World.from_config(cohort_cfg).sample(samples, seed=seed).data
    train_cfg = dataclasses.replace(profile.train, accelerator=accelerator, devices=devices,
                                    strategy=strategy, max_epochs=1, batch_size=batch_size,
                                    num_threads=1)  # one thread per rank: ranks share cores
    dm = CohortDataModule(data, train_cfg, seed, validation=False)
    first = data.specs[0].name
    train_x = to_tensors(data, dm.scaler)["x"][first]

    # the same global seed on every rank: Lightning seeds its distributed sampler's shuffle
    # from it, and ranks with different seeds would draw overlapping shards
    pl.seed_everything(seed, verbose=False)
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", 0)))
    with torch.random.fork_rng():
        # a different initialisation on every rank: DDP must broadcast rank 0's weights
        torch.manual_seed(seed + 1 + rank)
        net = build_model(model, list(data.specs), data.n_classes, profile.model)
    if train_cfg.aux_loss_weight == 0 and hasattr(net, "aux_heads"):
        # heads outside the loss get no gradient, and plain DDP stops on a parameter that
        # takes part in no backward pass (strategy "ddp_find_unused_parameters_true" would
        # search the graph for them at every step instead)
        net.aux_heads.requires_grad_(False)
    module = ClassifierModule(net, train_cfg, data.n_classes)
    recorder = _record_callback(train_x, first)
    recorder.built_digest = _weights_digest(net)[0]
    trainer = make_trainer(train_cfg, callbacks=[recorder], num_nodes=num_nodes,
                           limit_val_batches=0)
    trainer.fit(module, datamodule=dm)
    if trainer.global_rank != 0:
        return None
    ranks = recorder.gathered or []
    return {"model": model, "strategy": strategy, "accelerator": accelerator,
            "devices": devices, "num_nodes": num_nodes, "samples": samples,
            "batch_size": batch_size, "torch": torch.__version__, "pytorch_lightning":
            pl.__version__, "checks": summarize(ranks, samples), "ranks": ranks}


def main(argv: list[str] | None = None) -> int:
    """Command line: train one epoch under DDP and write the gathered record."""
    parser = argparse.ArgumentParser(prog="python -m cancer_alpha.profiling.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mmt_modality", help="neural model (default: "
                        "mmt_modality)")
    parser.add_argument("--devices", type=int, default=2, help="processes per node (default: 2)")
    parser.add_argument("--num-nodes", type=int, default=1, help="nodes (default: 1)")
    parser.add_argument("--accelerator", default="cpu", help="Lightning accelerator "
                        "(default: cpu; gloo is the backend on the CPU)")
    parser.add_argument("--strategy", default="ddp", help="Lightning strategy (default: ddp)")
    parser.add_argument("--samples", type=int, default=64, help="cohort size (default: 64)")
    parser.add_argument("--batch-size", type=int, default=8, help="per-rank batch (default: 8)")
    parser.add_argument("--profile", default="smoke", help="cohort and model settings of this "
                        "profile (default: smoke)")
    parser.add_argument("--seed", type=int, default=0, help="data and model seed (default: 0)")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the record")
    args = parser.parse_args(argv)
    result = train_one_epoch(args.model, args.devices, args.samples, args.batch_size,
                             args.profile, args.seed, args.accelerator, args.strategy,
                             args.num_nodes)
    if result is None:  # not rank 0: rank 0 reports
        return 0
    if args.out is not None:
        from ..results import atomic_write_text
        from ..safe_write import json_text

        atomic_write_text(args.out, json_text(result, indent=1, convert=False))
    checks = result["checks"]
    print(f"{args.model}: {result['devices'] * result['num_nodes']} processes, "
          f"backend {result['ranks'][0]['backend']}, one epoch")
    print(f"{'rank':>4}{'samples':>9}{'steps':>7}{'train loss':>12}  weights sha256")
    for r in result["ranks"]:
        print(f"{r['rank']:>4}{len(r['samples_seen']):>9}{r['steps']:>7}{r['train_loss']:>12.4f}"
              f"  {r['weights_sha256'][:16]}")
    print("  ".join(f"{k}={v}" for k, v in checks.items()))
    return 0 if all(v for k, v in checks.items() if k != "world_size") else 1


if __name__ == "__main__":
    sys.exit(main())
