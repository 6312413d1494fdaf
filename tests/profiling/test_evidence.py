"""The evidence Chapter 7 records, computed by cancer_alpha.profiling.evidence: the glued
thresholds, C03's and C14's readings of the memory sweep, the latency table, Chapter 4's fit
time, the quietness glue and the run record's keys."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from cancer_alpha import results
from cancer_alpha.profiling import evidence


def test_the_setting_glue_states_the_device_and_the_thresholds_in_percent():
    g = evidence.setting_glue("cpu (test)", 110)
    assert list(g)[:2] == ["device", "paper_features"] and g["paper_features"] == 110
    assert g["low_quantile_pct"] == pytest.approx(100 * evidence.LOW_QUANTILE)
    assert g["peak_tolerance_pct"] == pytest.approx(100 * evidence.PEAK_TOLERANCE)
    assert g["spread_tolerance"] == evidence.SPREAD_TOLERANCE


def _memory():
    rows = []
    for n in (32, 128, 512):
        for model, mb in (("mmt_modality", 10.0 * n), ("perceiver_io", 2.5 * n),
                          ("mmt_locus", 0.01 * n * n)):
            rows.append({"features": n, "model": model, "peak_mb": mb})
    return pd.DataFrame(rows)


def test_memory_claims_read_the_ratio_at_the_papers_length_and_the_longest():
    fits = {"mmt_locus": SimpleNamespace(exponent=2.0, ci95=(1.9, 2.1)),
            "perceiver_io": SimpleNamespace(exponent=1.0, ci95=(0.9, 1.1))}
    c = evidence.memory_claims(_memory(), fits, [32, 128, 512], 110)
    # the Perceiver over the locus-token transformer: 2.5 n / 0.01 n^2 = 250 / n
    assert c["ratio"] == pytest.approx(250 / 128)  # at 128 features, the closest to 110
    assert c["glue"]["c14_ratio_long"] == pytest.approx(250 / 512)
    assert c["glue"]["locus_exponent"] == 2.0 and c["glue"]["locus_hi"] == 2.1
    assert c["glue"]["perceiver_exponent"] == 1.0
    assert "at 128 features per modality; at 512 features the reduction is 51%" in c["c14_note"]
    assert c["c03_note"].startswith("peak training-step memory fitted over [32, 128, 512]")


def _latency(ms):
    return SimpleNamespace(batched_ms_per_sample=ms / 10, single_low_ms=ms, single_p50_ms=2 * ms,
                           single_p99_ms=5 * ms, batch_repeats=7)


def test_the_latency_table_has_one_row_per_model_and_the_glue_reads_one():
    latency = {"mmt_modality": _latency(1.0), "perceiver_io": _latency(2.0)}
    table = evidence.latency_table(latency)
    assert list(table.index) == ["mmt_modality", "perceiver_io"]
    assert list(table.columns) == list(evidence.LATENCY_COLUMNS)
    assert table.loc["perceiver_io", "single_p99_ms"] == 10.0
    assert evidence.latency_glue(latency["mmt_modality"]) == {
        "lat_batched": 0.1, "lat_batch_repeats": 7, "lat_low": 1.0, "lat_p50": 2.0}
    note = evidence.c13_note(latency["mmt_modality"], "cpu", 50)
    assert "of 50 calls, median 2.000 ms; batched: 0.1000 ms per sample" in note


def test_chapter_4s_fit_time_is_read_from_its_record_or_is_none(tmp_path):
    assert evidence.chapter4_fit_seconds("smoke", str(tmp_path)) is None
    run = results.start_run("04_training", "smoke", {}, str(tmp_path))
    run.metric("models", {"mmt_modality": {"fit_seconds_mean": 3.5}})
    run.save()
    assert evidence.chapter4_fit_seconds("smoke", str(tmp_path)) == 3.5
    assert evidence.chapter4_fit_seconds("smoke", str(tmp_path), model="other") is None


def test_without_chapter_4_its_fit_time_is_glued_as_nan():
    assert evidence.fit_seconds_glue(3.5) == {"mmt_fit_seconds": 3.5}
    assert math.isnan(evidence.fit_seconds_glue(None)["mmt_fit_seconds"])


def test_the_c04_and_c06_notes_state_how_and_where_the_times_were_measured():
    assert evidence.c04_note(5, (250, 500)) == \
        "epoch time (low quantile of 5 repeats) over [250, 500] samples"
    assert evidence.c06_note("cpu: AMD").startswith("measured on cpu: AMD by Chapter 4")


def test_the_loop_glue_reads_the_overhead_its_rounds_and_the_throughput():
    loops = SimpleNamespace(ratio=1.25, rounds=3)
    assert evidence.loop_glue(loops, {"gflops": 9.5}) == {
        "overhead": 1.25, "overhead_rounds": 3, "train_gflops": 9.5}


def test_the_c05_note_states_both_token_granularities():
    paper = pd.DataFrame({"total_mb": [812.4, 4003.6]}, index=["mmt_modality", "mmt_locus"])
    note = evidence.c05_note(paper, 32, 110)
    assert note.startswith("batch 32, 110 features per modality, mmt_modality: 812 MB")
    assert "(locus tokens: 4004 MB)" in note


def test_the_quietness_glue_names_the_disturbed_blocks_or_none():
    a, b = SimpleNamespace(block="a"), SimpleNamespace(block="b")
    assert evidence.quietness_glue([a, b], [b]) == {"n_blocks": 2, "n_disturbed": 1,
                                                   "disturbed_blocks": "b"}
    assert evidence.quietness_glue([a], [])["disturbed_blocks"] == "none"


class _Loops(dict):
    names = ["Lightning", "plain PyTorch"]


def test_the_loop_table_has_both_loops():
    loops = _Loops({"Lightning": SimpleNamespace(low_s=1.2, median_s=1.5),
                    "plain PyTorch": SimpleNamespace(low_s=1.0, median_s=1.1)})
    t = evidence.loop_table(loops)
    assert t.loc["Lightning"].tolist() == [1.2, 1.5] and list(t.index) == _Loops.names


def test_the_run_record_keeps_its_keys_in_order():
    fit = SimpleNamespace(exponent=1.0, ci95=(0.9, 1.1))
    loops = SimpleNamespace(ratio=1.1, to_dict=lambda: {"ratio": 1.1})
    report = SimpleNamespace(to_dict=lambda: {"block": "a"})
    rec = evidence.record(
        label="cpu", memory=_memory(), exponents=pd.DataFrame({"exponent": [1.0]}, index=["m"]),
        paper_memory=pd.DataFrame({"total_mb": [1.0]}, index=["mmt_modality"]), locus=fit,
        timing=pd.DataFrame({"samples": [1], "seconds": [0.1]}), time_fit=fit,
        law=SimpleNamespace(preferred="n"), latency={"mmt_modality": _latency(1.0)},
        loops=loops, throughput={"gflops": 3.0}, peak=10.0, reports=[report])
    assert list(rec) == [
        "device", "memory_points", "memory_exponents", "peak_train_memory_mb", "memory_exponent",
        "time_points", "time_exponent", "inference_ms_per_sample_batched",
        "inference_ms_single_p50", "inference_ms_single_low", "low_quantile", "latency",
        "lightning_overhead_ratio", "lightning_overhead", "train_gflops", "matmul_peak_gflops",
        "quietness", "quietness_tolerances"]
    assert rec["memory_exponents"] == [{"model": "m", "exponent": 1.0}]
    assert rec["memory_exponent"] == {"value": 1.0, "ci95": [0.9, 1.1], "model": "mmt_locus"}


def test_the_paper_memory_glue_reads_both_token_granularities():
    paper = pd.DataFrame({"total_mb": [812.4, 4003.6]}, index=["mmt_modality", "mmt_locus"])
    assert evidence.paper_memory_glue(paper) == {"paper_peak_mb": 812.4,
                                                 "paper_peak_locus_mb": 4003.6}
