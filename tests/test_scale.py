"""Scaling out: the ``large`` profile trains at its sequence lengths, and Lightning's DDP runs."""

import dataclasses
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from cancer_alpha.config import load_profile
from cancer_alpha.losses import batch_loss
from cancer_alpha.models import MODEL_NAMES, build_model
from cancer_alpha.profiling import random_batch
from cancer_alpha.synth import World

BATCH = 4  # samples per step: the sequence length, not the batch, is what the test is about


@pytest.fixture(scope="module")
def large():
    profile = load_profile("large")
    return profile, World.from_config(profile.cohort)


def test_large_profile_has_longer_sequences_than_paper(large):
    profile, world = large
    paper = load_profile("paper")
    lengths = {s.name: s.n_features for s in world.specs()}
    assert lengths == {"methylation": profile.cohort.n_loci,
                       "fragmentomics": profile.cohort.n_fragment_bins,
                       "cna": profile.cohort.n_loci}
    assert min(lengths.values()) > paper.cohort.n_loci
    assert profile.cohort.n_samples == 100_000


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_large_profile_model_runs_one_training_step(large, name):
    profile, world = large
    specs = world.specs()
    torch.manual_seed(0)
    model = build_model(name, specs, len(profile.cohort.class_names), profile.model).train()
    if hasattr(model, "fit_bins"):
        model.fit_bins(random_batch(specs, 64, seed=1)["x"])
    opt = torch.optim.AdamW(model.parameters(), lr=profile.train.lr)
    batch = random_batch(specs, BATCH, n_classes=len(profile.cohort.class_names))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    loss, out, _ = batch_loss(model, batch, profile.train)  # the training loss of the book
    loss.backward()
    opt.step()

    assert out.logits.shape == (BATCH, len(profile.cohort.class_names))
    assert math.isfinite(float(loss.detach()))
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) == len(grads)  # every parameter with a gradient was updated


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


@pytest.mark.slow
def test_ddp_two_cpu_processes_train_one_epoch_on_disjoint_shards(tmp_path):
    out = tmp_path / "ddp.json"
    samples = 64  # 8 batches of 8: 4 per rank, so Lightning's sampler pads nothing
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = subprocess.run(
        [sys.executable, "-m", "cancer_alpha.profiling.distributed", "--devices", "2", "--samples",
         str(samples), "--batch-size", "8", "--out", str(out)],
        capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    result = json.loads(out.read_text())
    ranks = result["ranks"]

    assert [r["rank"] for r in ranks] == [0, 1]
    assert {r["backend"] for r in ranks} == {"gloo"}
    assert {r["world_size"] for r in ranks} == {2}
    seen = [set(r["samples_seen"]) for r in ranks]
    assert [len(r["samples_seen"]) for r in ranks] == [samples // 2] * 2
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(range(samples))
    assert [r["steps"] for r in ranks] == [samples // 2 // 8] * 2
    # ranks built different weights; DDP started both from rank 0's and kept them in step
    assert ranks[0]["built_weights_sha256"] != ranks[1]["built_weights_sha256"]
    assert ranks[0]["initial_weights_sha256"] == ranks[1]["initial_weights_sha256"]
    assert ranks[0]["weights_sha256"] == ranks[1]["weights_sha256"]
    assert ranks[0]["weights_sha256"] != ranks[0]["initial_weights_sha256"]
    # the epoch's loss is reduced over both ranks' samples, so both report the same value
    assert ranks[0]["train_loss"] == ranks[1]["train_loss"]
    assert math.isfinite(ranks[0]["train_loss"])
    assert all(result["checks"].values())
