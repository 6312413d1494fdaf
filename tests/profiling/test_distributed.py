"""Distributed training (profiling.distributed): two CPU processes train one epoch on
disjoint shards."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest


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
