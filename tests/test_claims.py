"""The claims registry and its verdict rules: every threshold from both sides, the verdicts the
published book's evidence gets, and the profile that judges nothing."""

from __future__ import annotations

import re
from math import nextafter
from pathlib import Path
from types import SimpleNamespace

import pytest

from cancer_alpha import claims, config
from cancer_alpha.claims import CLAIMS, Judgement

ROOT = Path(__file__).resolve().parents[1]
R, P, N, T = "reproduced", "partly", "not reproduced", "not testable here"


def below(x: float) -> float:
    return nextafter(x, -float("inf"))


def above(x: float) -> float:
    return nextafter(x, float("inf"))


# ------------------------------------------------------------------------------ registry


def test_registry_holds_claims_c01_to_c15_each_with_one_rule_and_its_criteria():
    ids = [f"C{i:02d}" for i in range(1, 16)]
    assert list(CLAIMS) == ids
    assert list(claims.RULES) == ids and list(claims.CRITERIA) == ids
    for cid, rule in claims.RULES.items():
        assert rule.__name__ == f"judge_{cid.lower()}"


def test_every_claim_names_papers_of_the_table_and_a_section_of_each():
    for c in CLAIMS.values():
        assert c.papers and set(c.papers) <= set(claims.PAPERS)
        assert len(c.sections) == len(c.papers) and all(c.sections)
    assert CLAIMS["C02"].papers == ("mmt", "cancer_alpha")
    assert CLAIMS["C02"].source.startswith("MMT 3.1, 3.2; Cancer Alpha Results")
    assert [c.id for c in CLAIMS.values() if c.papers == ("cancer_alpha",)] == [
        "C12", "C13", "C14", "C15"]


def test_a_claim_with_an_unknown_paper_or_a_missing_section_is_refused():
    args = dict(text="t", stated="s", value=None, unit="", chapter="x", chapter_section="y")
    with pytest.raises(ValueError, match="papers"):
        claims.Claim("C99", ("unknown_paper",), ("2.1",), **args)
    with pytest.raises(ValueError, match="one section per paper"):
        claims.Claim("C99", ("mmt", "cancer_alpha"), ("2.1",), **args)


def test_every_claim_points_to_a_section_heading_of_its_chapter():
    for c in CLAIMS.values():
        source = (ROOT / "notebooks" / f"{c.chapter}.py").read_text()
        assert f"# ## {c.chapter_section}\n" in source, (c.id, c.chapter_section)
        assert c.id in c.chapter_section


def test_papers_are_cited_by_their_bib_keys_and_no_chapter_cites_another_key_for_them():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    assert {p.bib_key for p in claims.PAPERS.values()} <= keys
    texts = [p.read_text() for p in [*ROOT.glob("notebooks/*.py"), *ROOT.glob("book/*.md")]]
    cited = {k.strip() for t in texts for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", t)
             for k in group.split(",")}
    assert cited <= keys, cited - keys
    assert {p.bib_key for p in claims.PAPERS.values()} <= cited


def test_no_chapter_decides_a_verdict_itself():
    # chapters measure and call a rule: no verdict string, no verdict= argument
    verdict_text = re.compile(r"[\"'](" + "|".join(map(re.escape, config.VERDICTS)) + r")[\"']")
    for path in sorted(ROOT.glob("notebooks/0*.py")):
        code = "\n".join(line for line in path.read_text().splitlines()
                         if not line.startswith("#"))
        assert not verdict_text.search(code), path.name
        assert "verdict=" not in code and "_verdict(" not in code, path.name


def test_a_judgement_with_an_unknown_claim_or_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict 'true' is invalid"):
        Judgement("C01", "true", "", 1)
    with pytest.raises(ValueError, match="unknown claim id 'C99'"):
        Judgement("C99", R, "", 1)


# ------------------------------------------------------------------- the profile's part


def test_the_smoke_profile_judges_no_claim_but_keeps_the_rules_verdict():
    j = claims.judge_c12(0.99, 0.001)
    smoke = claims.for_profile(j, config.load_profile("smoke"))
    assert smoke.verdict == "not judged" == claims.NOT_JUDGED
    assert smoke.reason == "smoke profile: too small to judge any claim"
    assert (smoke.rule_verdict, smoke.rule_reason) == (R, j.reason)
    assert (smoke.measured, smoke.spread, smoke.unit) == (j.measured, j.spread, j.unit)
    assert claims.for_profile(j, config.load_profile("paper")) == j


def test_a_profile_says_whether_it_judges_claims():
    def profile(name, **evaluation):
        return SimpleNamespace(name=name, evaluation=SimpleNamespace(**evaluation))

    assert not claims.judges_claims(profile("smoke"))
    assert claims.judges_claims(profile("paper")) and claims.judges_claims(profile("large"))
    assert claims.judges_claims(profile("smoke", judge_claims=True))
    assert not claims.judges_claims(profile("paper", judge_claims=False))


def test_not_judged_is_a_verdict_of_the_config():
    assert claims.NOT_JUDGED in config.VERDICTS


# ------------------------------------------------------------------ one rule per claim

PARTS = {"Linear": 2, "BatchNorm1d": 1, "Dropout": 1, "LayerNorm": 1}


def test_c01_needs_128_wide_output_and_every_named_part_at_d_model_128():
    assert claims.judge_c01(128, PARTS, below(1e-5), 128).verdict == R
    assert claims.judge_c01(128, PARTS, 1e-5, 128).verdict == P  # no residual connection
    assert claims.judge_c01(127, PARTS, 0.0, 128).verdict == P
    assert claims.judge_c01(129, PARTS, 0.0, 128).verdict == P
    assert claims.judge_c01(128, {**PARTS, "Linear": 1}, 0.0, 128).verdict == P
    for part in ("BatchNorm1d", "Dropout", "LayerNorm"):
        j = claims.judge_c01(128, {**PARTS, part: 0}, 0.0, 128)
        assert j.verdict == P and "missing" in j.reason
    for d_model in (127, 129, 32):
        j = claims.judge_c01(d_model, PARTS, 0.0, d_model)
        assert j.verdict == T and f"d_model = {d_model}" in j.reason


def test_encoder_parts_name_what_the_paper_names():
    parts = claims.encoder_parts(PARTS, 0.0)
    assert all(parts.values()) and len(parts) == 5
    assert not any(claims.encoder_parts({}, 1.0).values())


def test_c02_needs_early_stopping_stable_accuracy_and_a_median_in_30_to_50():
    ok = dict(stopped_share=0.9, accuracy_sd=0.02)
    assert claims.judge_c02([30], **ok).verdict == R
    assert claims.judge_c02([50], **ok).verdict == R
    assert claims.judge_c02([29, 30], **ok).verdict == P  # median 29.5
    assert claims.judge_c02([50, 51], **ok).verdict == P  # median 50.5
    assert claims.judge_c02([40], stopped_share=below(0.9), accuracy_sd=0.02).verdict == N
    assert claims.judge_c02([40], stopped_share=0.9, accuracy_sd=above(0.02)).verdict == N
    assert claims.judge_c02([3], stopped_share=below(0.9), accuracy_sd=0.02).verdict == N
    j = claims.judge_c02([2, 3, 4], **ok)
    assert (j.measured, j.spread) == (3.0, [2, 4])


def test_c03_needs_exponent_1_inside_the_interval():
    assert claims.judge_c03(1.5, [1.0, 2.0]).verdict == R
    assert claims.judge_c03(0.5, [0.0, 1.0]).verdict == R
    assert claims.judge_c03(1.5, [above(1.0), 2.0]).verdict == N
    assert claims.judge_c03(0.5, [0.0, below(1.0)]).verdict == N


def test_c04_needs_n_log_n_preferred_to_a_linear_law():
    assert claims.judge_c04(1.1, [0.9, 1.3], claims.NLOGN).verdict == R
    j = claims.judge_c04(1.0, [0.9, 1.1], "n")
    assert j.verdict == N and "exponent 1 lies in the interval" in j.reason
    assert "lies in" not in claims.judge_c04(2.0, [1.5, 2.5], "n").reason


def test_c05_needs_memory_within_a_factor_2_of_2_3_gb():
    assert claims.judge_c05(2.3).verdict == R
    assert claims.judge_c05(4.6).verdict == R and claims.judge_c05(above(4.6)).verdict == N
    assert claims.judge_c05(1.15).verdict == R and claims.judge_c05(below(1.15)).verdict == N


def test_c06_needs_a_fit_under_two_hours_and_a_measured_fit():
    assert claims.judge_c06(below(7200.0)).verdict == R
    assert claims.judge_c06(7200.0).verdict == N
    j = claims.judge_c06(None)
    assert j.verdict == T and j.measured == "n/a" and "Chapter 4" in j.reason


def test_relative_verdict_reads_the_interval_against_the_stated_change():
    assert claims.relative_verdict([-15.0, -9.0], -12.0, 5)[0] == R
    assert claims.relative_verdict([-12.0, -1.0], -12.0, 5)[0] == R
    assert claims.relative_verdict([above(-12.0), -1.0], -12.0, 5)[0] == P
    assert claims.relative_verdict([-15.0, below(0.0)], -12.0, 5)[0] == R
    assert claims.relative_verdict([-15.0, 0.0], -12.0, 5)[0] == N
    assert claims.relative_verdict([-5.0, 2.0], -12.0, 5)[0] == N
    assert claims.relative_verdict([3.0, 10.0], 8.0, 5)[0] == R
    assert claims.relative_verdict([above(0.0), 7.0], 8.0, 5)[0] == P
    assert claims.relative_verdict([0.0, 10.0], 8.0, 5)[0] == N
    assert claims.relative_verdict([-3.0, -3.0], -12.0, 1)[0] == T
    assert claims.relative_verdict([-15.0, -9.0], -12.0, 2)[0] == R
    # a significant effect against the claim is said to be one
    verdict, why = claims.relative_verdict([0.5, 7.1], -12.0, 5)
    assert verdict == N and "opposite direction" in why
    assert "opposite" not in claims.relative_verdict([-5.0, 2.0], -12.0, 5)[1]


def test_c07_reads_the_relative_change_in_time_as_percent():
    assert claims.judge_c07(-0.3, [-0.4, -0.2], 5).verdict == R
    assert claims.judge_c07(-0.1, [-0.15, -0.05], 5).verdict == P
    assert claims.judge_c07(0.1, [-0.05, 0.25], 5).verdict == N
    j = claims.judge_c07(0.44, [0.44, 0.44], 1)
    assert j.verdict == T and (j.measured, j.spread) == (44.0, [44.0, 44.0])


def paired(ci, n=5, mean=None):
    mean = sum(ci) / 2 if mean is None else mean
    return {"relative_percent_ci95": ci, "relative_percent_mean": mean, "n_seeds": n,
            "delta_points_mean": mean / 2}


@pytest.mark.parametrize(("rule", "stated"), [(claims.judge_c08, -12.0),
                                              (claims.judge_c09, 8.0)])
def test_c08_and_c09_judge_the_default_difficulty_raised_by_the_easier_one(rule, stated):
    s = 1 if stated > 0 else -1
    at = sorted([s * 4.0, s * 20.0])  # contains the stated value, excludes 0
    near = sorted([s * 1.0, s * 3.0])  # stated direction, not the stated size
    null = [-2.0, 2.0]
    assert rule(paired(at), paired(null)).verdict == R
    assert rule(paired(near), paired(null)).verdict == P
    assert rule(paired(null), paired(null)).verdict == N
    assert rule(paired(null), paired(near)).verdict == P  # only the easier difficulty
    assert rule(paired(null), paired(at)).verdict == P
    assert rule(paired(at, n=1), paired(at)).verdict == T  # no interval at the default
    assert rule(paired(null), paired(at, n=1)).verdict == N
    edge = sorted([s * 20.0, 0.0])  # touches 0: not significant
    assert rule(paired(edge), paired(null)).verdict == N
    assert rule(paired(sorted([s * 20.0, s * 5e-324])), paired(null)).verdict == R


def test_c10_needs_the_trained_model_significant_and_the_controls_not():
    def planted(trained, shuffled=0.5, untrained=0.5):
        return {"trained": {"p_value": trained, "auroc": 0.7, "auroc_runs": [0.7]},
                "shuffled": {"p_value": shuffled, "auroc": 0.5},
                "untrained": {"p_value": untrained, "auroc": 0.5}}

    assert claims.judge_c10(planted(below(0.05))).verdict == R
    assert claims.judge_c10(planted(0.05)).verdict == N
    assert claims.judge_c10(planted(0.01, untrained=0.05)).verdict == R
    j = claims.judge_c10(planted(0.01, untrained=below(0.05)))
    assert j.verdict == P and "untrained" in j.reason
    assert claims.judge_c10(planted(0.01, shuffled=below(0.05))).verdict == P


def test_c11_needs_the_ari_above_the_raw_features_by_0_1_and_a_positive_silhouette():
    raw = 0.4
    assert claims.judge_c11(above(raw + 0.1), 0.01, above(0.0), raw).verdict == R
    assert claims.judge_c11(raw + 0.1, 0.01, 0.3, raw).verdict == P
    assert claims.judge_c11(0.9, 0.01, 0.0, raw).verdict == P
    assert claims.judge_c11(above(raw), 0.01, 0.3, raw).verdict == P
    assert claims.judge_c11(raw, 0.01, 0.3, raw).verdict == N


def test_c12_needs_an_accuracy_that_rounds_to_99_percent():
    assert claims.judge_c12(0.985, 0.0).verdict == R
    assert claims.judge_c12(below(0.985), 0.0).verdict == N


def test_c13_reads_15_ms_as_an_upper_bound():
    assert claims.judge_c13(15.0).verdict == R
    assert claims.judge_c13(above(15.0)).verdict == N
    assert "low quantile" in claims.judge_c13(3.0).reason


def test_c14_needs_a_reduction_of_30_to_50_percent_and_calls_other_reductions_partly():
    for r in (0.3, 0.4, 0.5):
        assert claims.judge_c14(r).verdict == R
    for r in (below(0.3), above(0.5), above(0.0), 0.93):
        assert claims.judge_c14(r).verdict == P
    assert claims.judge_c14(0.0).verdict == N and claims.judge_c14(-0.2).verdict == N


def test_c15_is_not_testable_whatever_was_measured():
    j = claims.judge_c15({"methylation": [40.04, 2.21], "cna": [29.8, 1.7]})
    assert j.verdict == T and "modalities" in j.reason
    assert j.measured == {"methylation": 40.0, "cna": 29.8}
    assert j.spread == {"methylation": 2.2, "cna": 1.7}


def test_criteria_state_the_thresholds_the_rules_use():
    c = claims.CRITERIA
    assert "30-50" in c["C02"] and "90%" in c["C02"] and "2 points" in c["C02"]
    assert "0.1" in c["C11"] and "0.985" in c["C12"] and "15 ms" in c["C13"]
    assert "factor 2" in c["C05"] and "2.3 GB" in c["C05"] and "7200 s" in c["C06"]
    assert "30-50%" in c["C14"] and "-12%" in c["C08"] and "+8%" in c["C09"]
    assert "-30%" in c["C07"] and "p < 0.05" in c["C10"] and "128" in c["C01"]
    assert [cid for cid in CLAIMS if "noisy machine" in c[cid]] == ["C04", "C07", "C13"]


# ---------------------------------------------------- compute claims on a noisy machine

QUIET_VERDICTS = {  # each compute rule on evidence that, judged, is not "not testable"
    "C03": (lambda **kw: claims.judge_c03(1.5, [1.0, 2.0], **kw), R),
    "C04": (lambda **kw: claims.judge_c04(1.2, [1.1, 1.3], "n", **kw), N),
    "C05": (lambda **kw: claims.judge_c05(2.3, **kw), R),
    "C06": (lambda **kw: claims.judge_c06(7300.0, **kw), N),
    "C07": (lambda **kw: claims.judge_c07(-0.1, [-0.15, -0.05], 5, **kw), P),
    "C13": (lambda **kw: claims.judge_c13(3.8, **kw), R),
    "C14": (lambda **kw: claims.judge_c14(0.93, **kw), P),
}


def _report(block="inference latency (C13)", **signs):
    from cancer_alpha.profiling import assess

    return assess(block, **signs)


def test_every_compute_rule_takes_the_quietness_reports_of_its_blocks():
    assert {cid for cid, c in CLAIMS.items() if c.compute} == set(QUIET_VERDICTS)
    noisy = _report(foreign_share=0.9)
    for cid, (rule, verdict) in QUIET_VERDICTS.items():
        quiet = rule(quiet=[_report(foreign_share=0.1)])
        assert quiet == rule() and quiet.verdict == verdict, cid
        j = rule(quiet=[noisy])
        assert j.verdict == claims.NOT_JUDGED, cid
        assert j.reason == (f"noisy machine: inference latency (C13): {noisy.reason}"), cid
        assert (j.rule_verdict, j.rule_reason) == (verdict, quiet.reason), cid
        assert (j.measured, j.spread, j.unit) == (quiet.measured, quiet.spread, quiet.unit), cid


@pytest.mark.parametrize(
    ("signs", "disturbing"),
    [({"foreign_share": 0.25}, {"foreign_share": above(0.25)}),
     ({"spread": 1.5}, {"spread": above(1.5)}),
     ({"peak_before": 100.0, "peak_after": 75.0},
      {"peak_before": 100.0, "peak_after": below(75.0)}),
     ({"peak_before": 75.0, "peak_after": 75.0, "peak_best": 100.0},
      {"peak_before": below(75.0), "peak_after": 80.0, "peak_best": 100.0})],
    ids=["other processes", "spread", "before and after", "best of the run"],
)
def test_a_compute_claim_is_judged_at_each_tolerance_and_not_judged_just_past_it(signs,
                                                                                  disturbing):
    assert claims.judge_c13(3.8, quiet=[_report(**signs)]).verdict == R
    assert claims.judge_c13(above(15.0), quiet=[_report(**signs)]).verdict == N
    assert claims.judge_c13(3.8, quiet=[_report(**disturbing)]).verdict == claims.NOT_JUDGED
    j = claims.judge_c13(above(15.0), quiet=[_report(**disturbing)])
    assert (j.verdict, j.rule_verdict) == (claims.NOT_JUDGED, N)


def test_the_reason_names_every_disturbed_block_and_reads_record_dicts_too():
    a = _report("epoch time", spread=2.0)
    b = _report("latency", foreign_share=0.1)
    c = _report("throughput", foreign_share=0.6).to_dict()  # as a run record holds it
    j = claims.judge_c04(1.2, [1.1, 1.3], "n", quiet=[a, b, c])
    assert j.reason == f"noisy machine: epoch time: {a.reason}; throughput: {c['reason']}"


def test_a_claim_not_testable_stays_so_on_a_noisy_machine():
    noisy = [_report(foreign_share=0.9)]
    assert claims.judge_c06(None, quiet=noisy).verdict == T
    assert claims.judge_c07(0.44, [0.44, 0.44], 1, quiet=noisy).verdict == T


def test_the_smoke_profiles_reason_wins_over_a_noisy_machines_and_the_rule_verdict_stays():
    noisy = claims.judge_c13(above(15.0), quiet=[_report(foreign_share=0.9)])
    smoke = claims.for_profile(noisy, config.load_profile("smoke"))
    assert smoke.verdict == claims.NOT_JUDGED
    assert smoke.reason == "smoke profile: too small to judge any claim"
    assert (smoke.rule_verdict, smoke.rule_reason) == (N, noisy.rule_reason)
    assert claims.for_profile(noisy, config.load_profile("paper")) == noisy


# ---------------------------------------------- the published evidence, the same verdicts


def test_the_evidence_of_the_paper_profile_gets_the_verdicts_the_chapters_gave():
    # measurements as the paper-profile records note them
    got = {
        "C01": claims.judge_c01(128, {"Linear": 3, "BatchNorm1d": 1, "Dropout": 1,
                                      "LayerNorm": 1}, 2e-8, 128),
        # median 3 (or 2) epochs, 100% of runs stopped early, accuracy sd 1.7 points
        "C02": claims.judge_c02([2, 3, 3, 4, 3], 1.0, 0.017),
        "C02b": claims.judge_c02([2, 2, 2, 4, 3], 1.0, 0.017),
        "C11": claims.judge_c11(0.281, 0.059, 0.023, 0.497),
        "C12": claims.judge_c12(0.8131, 0.0039),
        "C15": claims.judge_c15({"methylation": [40.0, 2.2], "fragmentomics": [30.2, 1.5],
                                 "cna": [29.8, 1.7]}),
    }
    assert {k: j.verdict for k, j in got.items()} == {
        "C01": R, "C02": P, "C02b": P, "C11": N, "C12": N, "C15": T}
    assert got["C02"].measured == 3.0 and got["C02b"].measured == 2.0
    assert "100% of runs stopped early; accuracy sd 1.7 points" in got["C02"].reason


def test_the_evidence_of_the_run_records_of_chapters_4_and_5_gets_the_same_verdicts():
    one_seed = {"relative_percent_ci95": [-15.63, -15.63], "relative_percent_mean": -15.63,
                "n_seeds": 1, "delta_points_mean": -6.7}
    planted = {"trained": {"p_value": 0.6, "auroc": 0.457, "auroc_runs": [0.457]},
               "shuffled": {"p_value": 0.6, "auroc": 0.453},
               "untrained": {"p_value": 0.5, "auroc": 0.469}}
    got = {
        "C03": claims.judge_c03(1.456, [0.822, 2.09]),
        "C04": claims.judge_c04(-1.385, [-19.466, 16.697], "n"),
        "C05": claims.judge_c05(0.0071),
        "C06": claims.judge_c06(1.4),
        "C07": claims.judge_c07(0.44, [0.44, 0.44], 1),
        "C08": claims.judge_c08(one_seed, one_seed),
        "C10": claims.judge_c10(planted),
        "C13": claims.judge_c13(1.661),
        "C14": claims.judge_c14(0.932),
    }
    assert {k: j.verdict for k, j in got.items()} == {
        "C03": R, "C04": N, "C05": N, "C06": R, "C07": T, "C08": T, "C10": N, "C13": R,
        "C14": P}


def test_c04_reads_the_law_by_the_name_the_scaling_comparison_gives_it():
    import numpy as np

    from cancer_alpha.profiling import compare_nlogn

    n = np.array([100.0, 200.0, 400.0, 800.0])
    assert compare_nlogn(n, 0.01 * n * np.log(n)).preferred == claims.NLOGN
    law = compare_nlogn(n, 0.01 * n * np.log(n)).preferred
    assert claims.judge_c04(1.1, [0.9, 1.3], law).verdict == R
