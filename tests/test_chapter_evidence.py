"""The evidence Chapters 2, 6 and 7 record, computed by the package: the architecture's
measurements, the memory sweep and C14's ratio, the real-data readings and the ROSMAP aim."""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cancer_alpha import architecture, data, real_data, synth
from cancer_alpha.profiling import sweeps

# ------------------------------------------------------------------------------ Chapter 7


def _table(accuracies):
    return pd.DataFrame({m: {"accuracy_mean": a, "accuracy_sd": 0.01, "f1_mean": a - 0.05,
                             "auc_mean": a + 0.05, "n_runs": 3}
                         for m, a in accuracies.items()}).T


TABLES = {
    ("breast_tcga", real_data.PUBLISHED): _table({"logistic_regression": 0.93,
                                                  "mmt_modality": 0.90}),
    ("breast_tcga", real_data.TUNED): _table({"logistic_regression": 0.91,
                                              "mmt_modality": 0.95}),
    ("rosmap", real_data.PUBLISHED): _table({"logistic_regression": 0.80,
                                             "random_forest": 0.83, "mmt_modality": 0.70}),
    ("rosmap", real_data.TUNED): _table({"logistic_regression": 0.84, "random_forest": 0.81,
                                         "mmt_modality": 0.75}),
}


def test_the_real_data_readings_name_the_best_model_of_each_table():
    found = real_data.readings(TABLES)
    assert (found["breast_best"], found["breast_best_acc"]) == ("mmt_modality", 0.95)
    assert (found["breast_best_pub"], found["breast_best_acc_pub"]) == (
        "logistic_regression", 0.93)
    assert (found["rosmap_best"], found["rosmap_best_acc"]) == ("logistic_regression", 0.84)
    assert found["rosmap_rf_acc"] == 0.81 and found["rosmap_mmt_acc_pub"] == 0.70
    assert found["rosmap_aim"] == "stays below" and found["rosmap_aim_value"] == 0.85
    assert found["mogonet_acc"] == 0.815 and found["published_rf_acc"] == 0.726


def test_the_rosmap_aim_is_reached_at_its_threshold_and_not_below():
    assert real_data.aim_reading(_table({"a": real_data.AIM_ACCURACY})) == "reaches"
    assert real_data.aim_reading(_table({"a": real_data.AIM_ACCURACY - 1e-9})) == "stays below"


def test_real_data_summaries_keep_one_recipe_as_plain_numbers():
    tuned = real_data.summaries(TABLES, real_data.TUNED)
    assert sorted(tuned) == ["breast_tcga", "rosmap"]
    assert tuned["rosmap"]["random_forest"] == {"accuracy_mean": 0.81, "accuracy_sd": 0.01,
                                                "f1_mean": pytest.approx(0.76),
                                                "auc_mean": pytest.approx(0.86)}
    rows = real_data.records(TABLES)["rosmap, tuned"]
    assert [r["model"] for r in rows] == ["logistic_regression", "random_forest", "mmt_modality"]


def test_a_data_set_is_described_by_split_class_and_modality():
    spec = SimpleNamespace(name="mrna", n_features=200)
    d = SimpleNamespace(n_samples=4, y=np.array([0, 0, 1, 1]), class_names=["ND", "AD"],
                        mask=np.array([[True], [True], [True], [False]]), specs=[spec])
    (train, test) = real_data.describe({"rosmap": (d, d)})
    assert train == {"data set": "rosmap", "split": "train", "samples": 4,
                     "classes": "ND 2, AD 2", "modalities": "mrna (200, 75% present)"}
    assert test["split"] == "test"


# ------------------------------------------------------------------------------ Chapter 6


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


# ------------------------------------------------------------------------------ Chapter 2


@pytest.fixture(scope="module")
def small_batch():
    from cancer_alpha import config

    profile = config.load_profile("smoke")
    cohort = synth.World.from_config(profile.cohort).sample(16, seed=0).data
    scaler = data.Standardizer().fit(cohort)
    return profile, cohort, data.to_tensors(cohort, scaler)


def test_a_seeded_build_gives_the_same_weights_whatever_was_built_before(small_batch):
    profile, cohort, _ = small_batch
    args = (cohort.specs, cohort.n_classes, profile.model, 3)
    first = architecture.build_seeded("mmt_modality", *args)
    architecture.build_seeded("perceiver_io", *args)
    again = architecture.build_seeded("mmt_modality", *args)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert (a == b).all()


def test_the_methylation_evidence_is_measured_on_the_encoder(small_batch):
    profile, cohort, batch = small_batch
    model = architecture.build_seeded("mmt_modality", cohort.specs, cohort.n_classes,
                                      profile.model, 0)
    width, kinds, gap = architecture.methylation_evidence(model.encoders["methylation"],
                                                          batch["x"]["methylation"])
    assert width == profile.model.d_model
    assert kinds["LayerNorm"] >= 1 and kinds["Linear"] >= 2
    assert gap < 1e-5  # the encoder's MLP is residual (C01's threshold)


def test_cost_ratios_divide_the_counted_costs(small_batch):
    profile, *_ = small_batch
    costs = {"mmt_modality": {"flops_per_sample": 2.0e6, "parameters": 5e4},
             "mmt_locus": {"flops_per_sample": 5.0e6, "parameters": 6e4}}
    preset = {"mmt_modality": {"parameters": 3e6}}
    wide = dataclasses.replace(profile.model, d_model=512)
    ratios = architecture.cost_ratios(90, costs, preset, wide, profile.model)
    assert ratios == {"n_tokens_locus": 90, "locus_ratio": 2.5,
                      "cancer_alpha_width_ratio": 512 / profile.model.d_model,
                      "cancer_alpha_param_ratio": 60.0}


def test_a_few_steps_on_one_batch_lower_its_loss_and_keep_entropy_below_uniform(small_batch):
    import warnings

    profile, cohort, batch = small_batch
    demo = architecture.first_samples(batch, 8)
    assert demo["y"].shape == (8,) and demo["mask"].shape[0] == 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (before, after), summary = architecture.one_batch_training(
            "mmt_modality", cohort.specs, cohort.n_classes, profile, demo, steps=8, seed=0)
    assert summary["loss, last step"] < summary["loss, first step"]
    for key in ("entropy untrained", "entropy trained"):
        assert 0 < summary[key] <= summary["entropy of uniform weights"] + 1e-9
    assert len(before) == len(after) == profile.model.n_layers


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
