"""Run records: the design document's layout, atomic writes, the claims registry."""

import json

import pytest

from cancer_alpha import config, results
from cancer_alpha.config import VERDICTS


def test_registry_holds_claims_c01_to_c15():
    assert list(results.CLAIMS) == [f"C{i:02d}" for i in range(1, 16)]


def test_run_record_has_the_documented_layout(tmp_path):
    run = results.Run("01_demo", config.load_profile("smoke"), tmp_path)
    run.metric("bayes_accuracy", 0.9)
    run.claim("C05", measured=0.12, spread=0.01, unit="GB", verdict="not reproduced",
              note="measured on the CPU")
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
            "note"} <= set(c)
    assert c["stated"] == "2.3 GB"


def test_bad_verdict_and_unknown_claim_are_refused(tmp_path):
    run = results.Run("x", config.Profile(), tmp_path)
    with pytest.raises(ValueError, match="verdict 'true' is invalid"):
        run.claim("C01", measured=1, unit="", verdict="true", note="")
    with pytest.raises(ValueError, match="unknown claim id 'C99'"):
        run.claim("C99", measured=1, unit="", verdict=VERDICTS[0], note="")


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    class Boom:
        pass

    target = tmp_path / "r.json"
    with pytest.raises(TypeError):
        results.atomic_write_text(target, Boom())  # not a string: the write fails midway
    assert list(tmp_path.iterdir()) == []


def test_claims_table_marks_unregistered_claims_pending(tmp_path):
    run = results.Run("03_x", config.Profile(), tmp_path)
    run.claim("C12", measured=0.81, unit="accuracy", verdict="not reproduced", note="n")
    run.save()
    rows = {r["id"]: r for r in results.claims_table("paper", tmp_path)}
    assert len(rows) == 15
    assert rows["C12"]["verdict"] == "not reproduced" and rows["C12"]["chapter"] == "03_x"
    assert rows["C01"]["verdict"] == "pending"
    # speed and memory claims are flagged: the audit keeps them out of nbval's comparison
    assert [cid for cid, r in rows.items() if r["compute"]] == [
        "C03", "C04", "C05", "C06", "C07", "C13", "C14"]


def test_loading_a_missing_chapter_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="--only 03"):
        results.load("paper", "03_training", tmp_path)


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
