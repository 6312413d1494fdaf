"""The published reference: what publish writes, and the errors of a reference that cannot be
trusted (missing, altered, of another profile)."""

import json
import shutil
from pathlib import Path

import pytest

from cancer_alpha import cli, reference
from cancer_alpha.errors import ReferenceFolderError

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "reference" / "smoke"


def _folder(tmp_path, profile="tiny", records=None):
    """A small reference folder with a correct manifest."""
    folder = tmp_path / "reference" / profile
    folder.mkdir(parents=True)
    records = records or {"01_data_synthesis": {"chapter": "01_data_synthesis",
                                                "profile": profile,
                                                "metrics": {"bayes_accuracy": 0.779}}}
    for name, record in records.items():
        (folder / f"{name}.json").write_text(json.dumps(record))
    (folder / "tuning").mkdir()
    (folder / "tuning" / "synthetic.json").write_text("{}")
    files = {p.relative_to(folder).as_posix(): reference.sha256(p)
             for p in sorted(folder.rglob("*")) if p.is_file()}
    manifest = {"profile": profile, "files": files, "chapters": {n: {} for n in records}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_reference_with_matching_checksums_loads_with_its_records(tmp_path):
    folder = _folder(tmp_path)
    ref = reference.load("tiny", tmp_path, folder)
    assert ref.records["01_data_synthesis"]["metrics"]["bayes_accuracy"] == 0.779
    assert ref.files_of("tuning/") == ["tuning/synthetic.json"]


def test_a_missing_reference_says_how_to_make_one(tmp_path):
    with pytest.raises(ReferenceFolderError) as err:
        reference.load("paper", tmp_path)
    message = str(err.value)
    assert "no published reference of profile 'paper'" in message
    assert "reference/paper/manifest.json does not exist" in message
    assert "make book PROFILE=paper && cancer-alpha publish --profile paper" in message


def test_a_corrupted_file_is_named_with_both_checksums(tmp_path):
    folder = _folder(tmp_path)
    record = folder / "01_data_synthesis.json"
    record.write_text(record.read_text().replace("0.779", "0.781"))
    with pytest.raises(ReferenceFolderError,
                       match=r"reference/tiny/01_data_synthesis.json is corrupted: its sha256 "
                             r"is [0-9a-f]{16}\.\.\., the manifest says [0-9a-f]{16}"):
        reference.load("tiny", tmp_path, folder)


def test_a_missing_file_and_a_file_the_manifest_does_not_list_are_refused(tmp_path):
    folder = _folder(tmp_path)
    (folder / "tuning" / "synthetic.json").unlink()
    with pytest.raises(ReferenceFolderError,
                       match="reference/tiny/tuning/synthetic.json is missing: the manifest "
                             "lists it"):
        reference.load("tiny", tmp_path, folder)
    folder = _folder(tmp_path / "again")
    (folder / "04_training.json").write_text("{}")
    with pytest.raises(ReferenceFolderError, match="files its manifest does not list: "
                                                   "04_training.json"):
        reference.load("tiny", tmp_path / "again", folder)


def test_a_reference_of_another_profile_is_refused(tmp_path):
    folder = _folder(tmp_path, profile="smoke")
    with pytest.raises(ReferenceFolderError,
                       match="reference/smoke is the reference of profile 'smoke', not of "
                             "'paper'"):
        reference.load("paper", tmp_path, folder)
    # a record of another profile slipped into a folder whose manifest is right
    other = _folder(tmp_path / "mixed", records={"01_data_synthesis": {"profile": "paper"}})
    with pytest.raises(ReferenceFolderError, match="01_data_synthesis.json is a record of "
                                                   "profile 'paper', not 'tiny'"):
        reference.load("tiny", tmp_path / "mixed", other)


def test_an_unreadable_manifest_is_one_clear_error(tmp_path):
    folder = tmp_path / "reference" / "tiny"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ReferenceFolderError, match="manifest.json is not a reference manifest"):
        reference.load("tiny", tmp_path, folder)


def test_verify_reports_a_corrupted_reference_in_one_line_with_exit_status_2(tmp_path, capsys):
    copy = tmp_path / "smoke"
    shutil.copytree(SMOKE, copy)
    (copy / "03_tuning.json").write_text((copy / "03_tuning.json").read_text() + " ")
    assert cli.main(["verify", "--profile", "smoke", "--reference", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cancer-alpha verify: error: ") and "\n" not in err
    assert "03_tuning.json is corrupted" in err


def test_verify_refuses_an_unknown_claim_before_anything_runs(capsys):
    assert cli.main(["verify", "--profile", "smoke", "--claims", "C08,C99"]) == 2
    assert "--claims: unknown claim 'C99'" in capsys.readouterr().err


# ----------------------------------------------------------------- the committed reference


def test_the_committed_smoke_reference_is_whole_small_and_of_its_profile():
    ref = reference.load("smoke", ROOT)
    manifest = ref.manifest
    assert sorted(ref.records) == sorted(p.stem for p in (ROOT / "notebooks").glob("0*.py"))
    size = sum(p.stat().st_size for p in SMOKE.rglob("*") if p.is_file())
    assert size < 3_000_000, f"the smoke reference grew to {size / 1e6:.1f} MB"
    assert len(manifest["lock_sha256"]) == 64 and manifest["commit"]
    assert {"cores", "cpu_model", "quietness"} <= set(manifest["machine"])
    for name, chapter in manifest["chapters"].items():
        assert chapter["wall_seconds"] > 0, name
        assert chapter["record"] in manifest["files"]
    assert "tuning/synthetic.json" in manifest["files"]
    figures = reference.figure_data(ref, "01_data_synthesis")
    assert figures and all(f["drawn_by"] and f["axes"] for f in figures)


# ------------------------------------------------------------------ the reproducibility page


def test_the_reproducibility_page_shows_chapters_machine_and_the_last_verification(tmp_path):
    from cancer_alpha import reproducibility

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "04_training.py").write_text("# %%\n")
    (tmp_path / "requirements.lock").write_text("numpy==2.4.6\n")
    record = {"chapter": "04_training", "profile": "tiny", "claims": [],
              "figures": ["figures/04_training__roc.png"],
              "figure_data": ["figures/04_training__roc.json"],
              "provenance": {"git_commit": "0123456789abcdef", "wall_seconds": 150.0,
                             "inputs": {"tiny/tuning/synthetic.json": "ab",
                                        "tiny/01_data_synthesis.json": "cd"},
                             "outputs": [], "versions": {"torch": "2.13.0"},
                             "load_average": {"start": 0.5, "end": 3.5}},
              "metrics": {"quietness": [{"block": "latency (C13)", "disturbed": True,
                                         "reason": "matmul probe 40% below"}]}}
    (tmp_path / "results" / "tiny").mkdir(parents=True)
    (tmp_path / "results" / "tiny" / "04_training.json").write_text(json.dumps(record))
    verification = {"profile": "tiny", "exit_code": 1, "commit": "feedfacecafe1234",
                    "reference_commit": "0123456789abcdef", "values_compared": 12,
                    "selection": {"use_build": False}, "kinds": {"exact": 12},
                    "claims": [{"id": "C12", "chapter": "04_training", "published": "reproduced",
                                "rerun": "not reproduced", "compared": 5,
                                "largest_deviation": 0.0123, "within": False, "changed": True,
                                "not_judged_here": ""}],
                    "moved": [{"key": "04_training:metrics.x", "published": 1, "rerun": 2,
                               "problem": "outside exact"}]}
    (tmp_path / "build" / "tiny").mkdir(parents=True)
    (tmp_path / "build" / "tiny" / "verification.json").write_text(json.dumps(verification))
    page = reproducibility.page("tiny", tmp_path)
    assert page.startswith("# Reproducibility")
    assert "| 04_training | unknown | 2.5 min | record of 01, tuned settings (synthetic) | " \
           "record, 1 figure |" in page
    assert "| 04_training | 0.5 | 3.5 |" in page  # the load when it started and ended
    assert "| 04_training | latency (C13) | yes | matmul probe 40% below |" in page
    assert "| torch | 2.13.0 |" in page
    assert "no published reference yet" in page
    assert "at commit `feedfacecafe` against the reference published from commit " \
           "`0123456789ab`" in page and "**FAILED" in page
    assert "| C12 | 04_training | reproduced | not reproduced | 5 | 0.0123 | no, verdict " \
           "changed |" in page
    assert "- `04_training:metrics.x`: published 1, rerun 2 (outside exact)" in page
    assert "cancer-alpha verify --profile tiny --claims C12" in page
