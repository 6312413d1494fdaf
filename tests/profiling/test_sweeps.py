"""The sweeps behind the scaling chapter (profiling.sweeps): memory and time measured at
every length, the laws fitted to them, and the quietness table."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cancer_alpha.profiling import sweeps


def test_memory_fits_recover_a_planted_power_law_and_c14_reads_its_ratio():
    features = [16, 32, 64, 128]
    memory = pd.DataFrame(
        [{"model": "mmt_locus", "features": n, "peak_mb": 0.01 * n ** 2} for n in features]
        + [{"model": "perceiver_io", "features": n, "peak_mb": 0.5 * n} for n in features])
    fits = sweeps.memory_fits(memory)
    assert list(fits) == ["mmt_locus", "perceiver_io"]  # in the sweep's order
    assert fits["mmt_locus"].exponent == pytest.approx(2.0)
    assert fits["perceiver_io"].exponent == pytest.approx(1.0)
    table = sweeps.exponent_table(fits)
    assert table.loc["mmt_locus", "r2"] == pytest.approx(1.0)
    # at 64 features: 0.5 * 64 / (0.01 * 64^2) = 32 / 40.96
    assert sweeps.memory_ratio(memory, 64) == pytest.approx(32 / 40.96)
    assert sweeps.closest_length(features, 110) == 128
    assert sweeps.closest_length(features, 40) == 32  # a tie goes to the first


def test_the_memory_sweep_measures_every_model_at_every_length(smoke):
    memory = sweeps.memory_sweep([4, 8], 4, smoke.train, smoke.model,
                                 models=("mmt_modality", "perceiver_io"))
    assert list(zip(memory["features"], memory["model"], strict=True)) == [
        (4, "mmt_modality"), (4, "perceiver_io"), (8, "mmt_modality"), (8, "perceiver_io")]
    assert (memory["tokens"] == 3 * memory["features"]).all()
    assert (memory["peak_mb"] > 0).all()


def test_the_quietness_table_says_which_block_was_disturbed_and_why():
    report = dict(peak_before_gflops=80.0, peak_after_gflops=40.0, peak_best_gflops=82.0,
                  spread=1.1, seconds=2.0)
    table = sweeps.quietness_table([
        SimpleNamespace(block="latency", foreign_share=0.05, disturbed=False, reason="",
                        **report),
        SimpleNamespace(block="epochs", foreign_share=None, disturbed=True,
                        reason="matmul probe 51% below", **report)])
    assert table.loc["latency", "quiet"] == "yes"
    assert table.loc["latency", "other processes (% CPU)"] == pytest.approx(5.0)
    assert table.loc["epochs", "quiet"] == "no"
    assert table.loc["epochs", "why not"] == "matmul probe 51% below"


def test_the_time_sweep_hands_every_timing_to_its_quietness_check_and_fits_the_laws(smoke):
    class Block:
        timed = []

        def timings(self, *reports):
            self.timed.extend(reports)

    block = Block()
    timing = sweeps.time_sweep([16, 32], 8, smoke.train, smoke.model, repeats=1, block=block)
    assert list(timing["samples"]) == [16, 32] and list(timing["repeats"]) == [1, 1]
    assert len(block.timed) == 2 and (timing["seconds"] > 0).all()
    planted = pd.DataFrame({"samples": [100, 200, 400, 800],
                            "seconds": [0.01 * n * np.log(n) for n in (100, 200, 400, 800)]})
    fit, law = sweeps.time_laws(planted)
    assert law.preferred == "n log n" and 1.0 < fit.exponent < 1.2
