"""The tolerance kinds of the run records, and their declaration for every recorded value."""

import copy
import json
from pathlib import Path

import pytest

from cancer_alpha import tolerances as tol
from cancer_alpha.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "reference" / "smoke"


def _smoke_records():
    manifest = json.loads((SMOKE / "manifest.json").read_text())
    return {name: json.loads((SMOKE / f"{name}.json").read_text())
            for name in manifest["chapters"]}


# ------------------------------------------------------------------------------ the kinds


def test_exact_numbers_agree_to_a_billionth_and_no_further():
    kind = tol.exact()
    assert kind.agrees(0.779, 0.779) == (True, 0.0)
    assert kind.agrees(2, 2.0)[0]  # an integer and the same float are one number
    ok, deviation = kind.agrees(0.779, 0.779 * (1 + 1e-10))
    assert ok and deviation == pytest.approx(0.779e-10)
    assert not kind.agrees(0.779, 0.779 * (1 + 1e-7))[0]
    assert not kind.agrees(0.779, 0.78)[0]


def test_exact_texts_lists_and_flags_must_be_equal():
    kind = tol.exact()
    assert kind.agrees("voting_ensemble", "voting_ensemble") == (True, None)
    assert not kind.agrees("voting_ensemble", "random_forest")[0]
    assert not kind.agrees(True, 1)[0]  # a flag is not a number
    assert not kind.agrees(None, 0.0)[0]
    assert kind.agrees(None, None)[0]


def test_stochastic_numbers_agree_within_their_stated_tolerance():
    absolute = tol.stochastic(absolute=5e-5)
    assert absolute.agrees(1.49861, 1.49865)[0]
    ok, deviation = absolute.agrees(1.4986, 1.4988)
    assert not ok and deviation == pytest.approx(2e-4)
    relative = tol.stochastic(relative=0.01)  # 1% of the larger of the two
    assert relative.agrees(100.0, 100.9)[0]
    assert not relative.agrees(100.0, 101.5)[0]
    assert "5e-05 absolute" in absolute.describe()


def test_machine_dependent_and_not_compared_values_are_never_compared():
    for kind in (tol.machine(), tol.not_compared()):
        assert not kind.compared
        assert kind.agrees(0.2, 95.0) == (True, None)


def test_a_kind_is_declared_with_its_tolerance_and_a_rule_with_its_reason():
    with pytest.raises(ValueError, match="stochastic kind needs"):
        tol.stochastic()
    with pytest.raises(ValueError, match="unknown tolerance kind 'roughly'"):
        tol.Kind("roughly")
    with pytest.raises(ValueError, match=">= 0"):
        tol.stochastic(absolute=-1.0)
    with pytest.raises(ValueError, match="needs its reason"):
        tol.Rule("metrics.x", tol.exact(), " ")
    with pytest.raises(ValueError, match="unknown claim ids"):
        tol.Rule("metrics.x", tol.exact(), "a reason", ("C99",))


# --------------------------------------------------------------------- paths and patterns


def test_patterns_match_segments_wildcards_and_any_depth():
    rule = tol.Rule("metrics.**.*seconds*.**", tol.machine(), "timing")
    assert rule.matches(("metrics", "models", "mmt_modality", "fit_seconds_mean"))
    assert rule.matches(("metrics", "time_points", "seconds", "2"))
    assert not rule.matches(("metrics", "time_points", "samples", "2"))
    one = tol.Rule("claims.*.device", tol.machine(), "device")
    assert one.matches(("claims", "C12", "device"))
    assert not one.matches(("claims", "C12", "spread", "device"))


def test_records_flatten_with_claims_by_id_and_lists_by_position():
    flat = tol.flatten({"metrics": {"ci": [0.1, 0.2], "empty": {}, "lambda=0.001": {"a": 1}},
                        "claims": [{"id": "C12", "measured": 0.9}]})
    assert flat == {("metrics", "ci", "0"): 0.1, ("metrics", "ci", "1"): 0.2,
                    ("metrics", "empty"): {}, ("metrics", "lambda=0.001", "a"): 1,
                    ("claims", "C12", "id"): "C12", ("claims", "C12", "measured"): 0.9}


def test_a_key_that_names_a_time_is_machine_dependent_whatever_its_chapter_declares():
    # Chapter 4 declares the voting ensemble's numbers exact (C12), but not its fit time
    path = ("metrics", "models", "voting_ensemble", "fit_seconds_mean")
    assert tol.rule_for("04_training", path).kind.name == tol.MACHINE
    assert tol.rule_for("04_training", path[:3] + ("accuracy_mean",)).kind.name == tol.EXACT
    assert tol.rule_for("04_training", path[:3] + ("accuracy_mean",)).claims == ("C12",)


def test_the_evidence_of_a_compute_claim_is_compared_by_its_verdict_only():
    for cid in (c.id for c in CLAIMS.values() if c.compute):
        assert tol.rule_for("07_compute_profiling", ("claims", cid, "verdict")).kind.compared
        assert tol.rule_for("07_compute_profiling",
                            ("claims", cid, "measured")).kind.name == tol.MACHINE
    assert tol.rule_for("04_training", ("claims", "C12", "measured")).kind.name == tol.EXACT


def test_chapter_6s_verdict_sentence_follows_its_claims_and_a_noisy_published_run_passes():
    # the published run of Chapter 6 could not judge C07 on a busy machine; a quiet rerun can
    path = ("metrics", "glued", "verdicts_here")
    published = {"metrics": {"glued": {"verdicts_here": "C07 not judged (noisy machine), "
                                                        "C08 not reproduced"}}}
    rerun = {"metrics": {"glued": {"verdicts_here": "C07 not reproduced, C08 not reproduced"}}}
    (found,) = [d for d in tol.compare_records("06_ablations", published, rerun)
                if d.path == path]
    assert found.within and not found.compared and "C07" in found.claims
    # the other chapters' sentences hold no compute claim: there a changed verdict is named
    moved = [d for d in tol.compare_records("04_training", published, rerun) if d.path == path]
    assert moved and not moved[0].within and moved[0].kind == tol.EXACT


# ------------------------------------------------------------------- comparing two records


RECORD = {"chapter": "01_data_synthesis", "profile": "smoke",
          "provenance": {"git_commit": "abc", "wall_seconds": 5.0, "seeds": [0]},
          "metrics": {"bayes_accuracy": 0.779, "class_names": ["healthy", "lung"]},
          "claims": []}


def test_an_identical_rerun_moves_nothing_and_counts_what_it_compared():
    rerun = copy.deepcopy(RECORD)
    rerun["provenance"].update(git_commit="def", wall_seconds=9.5)  # not compared, machine
    found = tol.compare_records("01_data_synthesis", RECORD, rerun)
    assert all(d.within for d in found)
    compared = {tol.dotted(d.path) for d in found if d.compared}
    assert compared == {"chapter", "profile", "provenance.seeds.0", "metrics.bayes_accuracy",
                        "metrics.class_names.0", "metrics.class_names.1", "claims"}


def test_a_moved_number_a_missing_key_and_an_undeclared_key_are_each_named():
    rerun = copy.deepcopy(RECORD)
    rerun["metrics"]["bayes_accuracy"] = 0.781
    del rerun["metrics"]["class_names"]
    rerun["provenance"]["surprise"] = 1  # no rule declares it
    moved = {d.key: d for d in tol.compare_records("01_data_synthesis", RECORD, rerun)
             if not d.within}
    assert set(moved) == {"01_data_synthesis:metrics.bayes_accuracy",
                          "01_data_synthesis:metrics.class_names.0",
                          "01_data_synthesis:metrics.class_names.1",
                          "01_data_synthesis:provenance.surprise"}
    accuracy = moved["01_data_synthesis:metrics.bayes_accuracy"]
    assert accuracy.deviation == pytest.approx(0.002) and accuracy.problem == "outside exact"
    assert moved["01_data_synthesis:metrics.class_names.0"].problem == "missing from the rerun"
    assert moved["01_data_synthesis:provenance.surprise"].kind == "undeclared"


def test_a_missing_machine_reading_is_named_but_a_missing_bookkeeping_value_is_not():
    rerun = copy.deepcopy(RECORD)
    del rerun["provenance"]["wall_seconds"], rerun["provenance"]["git_commit"]
    moved = [d.key for d in tol.compare_records("01_data_synthesis", RECORD, rerun)
             if not d.within]
    assert moved == ["01_data_synthesis:provenance.wall_seconds"]


# ---------------------------------------------------------- the smoke reference, key by key


def test_every_value_of_every_chapter_of_the_smoke_reference_has_a_declared_kind():
    records = _smoke_records()
    assert len(records) == 9
    missing = {name: tol.undeclared(name, r) for name, r in records.items()}
    assert not any(missing.values()), missing


def test_every_kind_is_in_use_and_no_time_or_memory_reading_is_compared():
    seen = set()
    for name, record in _smoke_records().items():
        for path, kind in tol.kinds_of(name, record):
            seen.add(kind)
            last = path.split(".")
            if path.startswith("metrics.") and any(
                    w in seg for seg in last for w in ("seconds", "_ms", "gflops", "minutes")):
                assert kind == tol.MACHINE, path
    assert seen == set(tol.KINDS)


def test_the_smoke_reference_agrees_with_itself_and_a_changed_number_is_named():
    records = _smoke_records()
    for name, record in records.items():
        assert all(d.within for d in tol.compare_records(name, record, copy.deepcopy(record)))
    rerun = copy.deepcopy(records["04_training"])
    rerun["metrics"]["models"]["voting_ensemble"]["accuracy_mean"] += 0.001
    rerun["metrics"]["models"]["voting_ensemble"]["fit_seconds_mean"] *= 3  # a slower machine
    moved = [d for d in tol.compare_records("04_training", records["04_training"], rerun)
             if not d.within]
    assert [d.key for d in moved] == ["04_training:metrics.models.voting_ensemble.accuracy_mean"]
    assert moved[0].claims == ("C12",)


def test_a_profile_section_is_compared_only_in_the_chapters_that_read_it():
    import re

    from cancer_alpha.config import project_root
    from cancer_alpha.tolerances import SECTION_READERS, rule_for

    root = project_root()
    for section, readers in SECTION_READERS.items():
        key = ("provenance", "params", section, "control_models", "1")
        assert rule_for(readers[0], key).kind.name == "exact"
        assert rule_for("04_training", key).kind.name == "not compared"
        # the rule rests on this: no other chapter, and no module outside the section's own
        # package and the configuration, reads the section
        reads = re.compile(rf"\.{section}\b")
        sources = [p for p in (root / "notebooks").glob("[0-9][0-9]_*.py")
                   if p.stem not in readers]
        sources += [p for p in (root / "src" / "cancer_alpha").rglob("*.py")
                    if f"{section}s" not in p.parts and p.name != "config.py"]
        found = [p.relative_to(root).as_posix() for p in sources if reads.search(p.read_text())]
        assert not found, f"the {section} settings are read in {found}"
