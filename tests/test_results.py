"""Run records: the design document's layout, atomic writes, the claims registry."""

import json

import pytest

from cancer_alpha import claims, config, results


def test_run_record_has_the_documented_layout(tmp_path):
    run = results.Run("01_demo", config.load_profile("smoke"), tmp_path)
    run.metric("bayes_accuracy", 0.9)
    run.claim(claims.judge_c05(0.12), note="measured on the CPU")
    path = run.save()
    assert path == tmp_path / "smoke" / "01_demo.json"
    doc = json.loads(path.read_text())
    assert doc["chapter"] == "01_demo" and doc["profile"] == "smoke"
    prov = doc["provenance"]
    for key in ("git_commit", "dirty", "seeds", "device", "versions", "params", "started_utc",
                "wall_seconds"):
        assert key in prov
    assert prov["seeds"] == [0] and prov["versions"]["torch"].startswith("2.13.0")
    assert prov["params"]["cohort"]["n_samples"] == 240
    assert doc["metrics"]["bayes_accuracy"] == 0.9
    (c,) = doc["claims"]
    assert {"id", "claim", "stated", "measured", "spread", "unit", "device", "verdict",
            "note", "chapter", "paper", "reason", "rule_verdict", "rule_reason"} <= set(c)
    assert c["stated"] == "2.3 GB" and c["measured"] == 0.12 and c["paper"] == "MMT 3.2"
    # the smoke profile judges no claim; the rule's own verdict stays in the record
    assert c["verdict"] == "not judged" and c["rule_verdict"] == "not reproduced"
    assert c["reason"] == "smoke profile: too small to judge any claim"
    assert c["rule_reason"] == claims.judge_c05(0.12).reason
    assert c["note"] == (f"{c['reason']}; the rule alone: not reproduced ({c['rule_reason']}); "
                         "measured on the CPU")


def test_a_profile_that_judges_registers_the_rules_verdict_and_reason(tmp_path):
    run = results.Run("x", config.Profile(), tmp_path)
    j = claims.judge_c12(0.8131, 0.0039)
    entry = run.claim(j, note="ceiling 0.889")
    assert entry["verdict"] == entry["rule_verdict"] == "not reproduced"
    assert entry["reason"] == entry["rule_reason"] == j.reason
    assert entry["note"] == f"{j.reason}; ceiling 0.889"
    assert (entry["measured"], entry["spread"], entry["unit"]) == (j.measured, j.spread, j.unit)
    assert run.claim(claims.judge_c15({}))["note"] == claims.judge_c15({}).reason


def test_a_claim_is_registered_from_a_rules_judgement_only(tmp_path):
    run = results.Run("x", config.Profile(), tmp_path)
    with pytest.raises(TypeError, match="expected a Judgement"):
        run.claim("C01")


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    class Boom:
        pass

    target = tmp_path / "r.json"
    with pytest.raises(TypeError):
        results.atomic_write_text(target, Boom())  # not a string: the write fails midway
    assert list(tmp_path.iterdir()) == []


def test_claims_table_marks_unregistered_claims_pending(tmp_path):
    run = results.Run("03_x", config.Profile(), tmp_path)
    run.claim(claims.judge_c12(0.81, 0.01), note="n")
    run.save()
    rows = {r["id"]: r for r in results.claims_table("paper", tmp_path)}
    assert len(rows) == 15
    assert rows["C12"]["verdict"] == "not reproduced" and rows["C12"]["chapter"] == "03_x"
    assert rows["C12"]["paper"] == "Cancer Alpha Abstract (Results)"
    assert rows["C01"]["verdict"] == "pending"
    # a pending claim says where it is to be tested
    assert rows["C01"]["chapter"] == "02_architecture"
    assert rows["C01"]["section"] == claims.CLAIMS["C01"].chapter_section
    # speed and memory claims are flagged: the audit keeps them out of nbval's comparison
    assert [cid for cid, r in rows.items() if r["compute"]] == [
        "C03", "C04", "C05", "C06", "C07", "C13", "C14"]


def test_loading_a_missing_chapter_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="--only 04"):
        results.load("paper", "04_training", tmp_path)


def test_non_finite_numbers_become_null(tmp_path):
    run = results.Run("x", config.Profile(), tmp_path)
    run.metric("m", float("nan"))
    assert json.loads(run.save().read_text())["metrics"]["m"] is None


def test_glue_stores_numpy_scalars_as_plain_numbers(tmp_path, monkeypatch):
    # myst-nb formats {glue:text}`x:.3f` from the text/plain repr: 'np.float64(0.5)' fails -W
    import myst_nb
    import numpy as np

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display=False: seen.update({name: v}))
    run = results.Run("x", config.Profile(), tmp_path)
    run.glue("acc", np.float64(0.625))
    run.glue("n", np.int64(3))
    assert type(seen["acc"]) is float and repr(seen["acc"]) == "0.625"
    assert type(seen["n"]) is int
    assert run.metrics["glued"] == {"acc": 0.625, "n": 3}


def test_glue_all_and_metric_all_take_a_chapter_modules_mapping_in_order(tmp_path,
                                                                         monkeypatch):
    import myst_nb
    import numpy as np

    seen = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, v, display=False: seen.update({name: v}))
    run = results.Run("x", config.Profile(), tmp_path)
    run.glue_all({"b": np.float64(0.5), "a": "text"})
    assert list(seen) == ["b", "a"] and type(seen["b"]) is float
    assert run.metrics["glued"] == {"b": 0.5, "a": "text"}
    run.metric_all({"m": np.arange(2), "n": 1.5})
    assert run.metrics["m"] == [0, 1] and run.metrics["n"] == 1.5
    # bad input is refused before anything is glued or recorded
    with pytest.raises(TypeError, match=r"glue_all: expected a mapping .* got list"):
        run.glue_all([("c", 1)])
    with pytest.raises(TypeError, match=r"metric_all: every name must be a str, got 3"):
        run.metric_all({"ok": 1, 3: 2})
    assert "c" not in seen and "ok" not in run.metrics


def test_jsonable_makes_numpy_tuples_and_non_finite_floats_plain_json():
    import json

    import numpy as np

    from cancer_alpha.safe_write import jsonable

    value = {1: (np.float32(0.5), np.int64(3)), "a": [float("nan"), np.inf, np.arange(2)]}
    plain = jsonable(value)
    assert plain == {"1": [0.5, 3], "a": [None, None, [0, 1]]}
    json.dumps(plain, allow_nan=False)  # valid JSON: no NaN or Infinity tokens


def test_a_figure_needs_a_caption_and_is_numbered_with_its_provenance(tmp_path, monkeypatch):
    from cancer_alpha import plots

    shown = []
    monkeypatch.setattr(results, "_show_html", lambda html: shown.append(html) or True)
    run = results.Run("04_demo", config.load_profile("smoke"), tmp_path)
    rows = [{"id": c, "verdict": "partly"} for c in claims.CLAIMS]
    with pytest.raises(ValueError, match="caption"):
        run.figure(plots.verdict_summary(rows), "bare", caption=" ")
    run.figure(plots.verdict_summary(rows), "verdicts", caption="Claims by verdict.",
               alt="A bar of 15 claims, all partly.")
    assert (tmp_path / "smoke" / "figures" / "04_demo__verdicts.png").is_file()
    html = shown[-1]
    assert "<strong>Figure 4.1.</strong> Claims by verdict." in html
    assert "cancer_alpha.plots.audit.verdict_summary" in html  # the function that drew it
    assert "results/smoke/04_demo.json" in html  # the run record it belongs to
    assert 'alt="A bar of 15 claims, all partly."' in html


def test_the_data_behind_a_figure_is_saved_beside_its_image(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    monkeypatch.setattr(results, "_show_html", lambda html: True)
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([1, 2, 3], [0.5, np.nan, 0.123456789], label="ceiling")
    left.bar(["a", "b"], [3.0, 4.0])
    left.set(xlabel="samples", ylabel="accuracy", yscale="log")
    right.imshow(np.array([[0.0, 1.0], [2.0, 3.0]]))
    right.scatter([0.1, 0.2], [1.0, 2.0], label="points")
    fig.drawn_by = "tests.figure"
    run = results.Run("04_demo", config.load_profile("smoke"), tmp_path)
    run.figure(fig, "demo", caption="A demonstration.")
    data = json.loads((tmp_path / "smoke" / "figures" / "04_demo__demo.json").read_text())
    assert data["figure"] == "demo" and data["drawn_by"] == "tests.figure"
    assert data["caption"] == "A demonstration."
    first, second = data["axes"]
    assert first["xlabel"] == "samples" and first["yscale"] == "log"
    (line,) = first["lines"]
    assert line == {"label": "ceiling", "x": [1, 2, 3], "y": [0.5, None, 0.123457]}
    assert [b["height"] for b in first["bars"]] == [3.0, 4.0]
    assert second["images"][0]["values"] == [[0.0, 1.0], [2.0, 3.0]]
    assert second["points"][0]["offsets"] == [[0.1, 1.0], [0.2, 2.0]]
    record = run.record()
    assert record["figure_data"] == ["figures/04_demo__demo.json"]
    assert record["provenance"]["outputs"] == []  # figures are not listed twice
    assert "cancer_alpha.results" in record["provenance"]["modules"]


def test_verdict_text_names_each_claim_and_why_one_was_not_judged(tmp_path):
    run = results.Run("x", config.load_profile("smoke"), tmp_path)
    assert run.verdict_text() == "none"
    run.claim(claims.judge_c05(0.12))
    assert run.verdict_text() == "C05 not judged (smoke profile)"
    judging = results.Run("x", config.Profile(), tmp_path)
    judging.claim(claims.judge_c12(0.8131, 0.0039))
    judging.claim(claims.judge_c05(0.12))
    assert judging.verdict_text() == (f"C05 {claims.judge_c05(0.12).verdict}, "
                                      f"C12 {claims.judge_c12(0.8131, 0.0039).verdict}")
