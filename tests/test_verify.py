"""``cancer-alpha verify`` end to end on a checkout in miniature: publish a built book, rerun
chapters with the others taken from the reference, and name what moved."""

import json
from pathlib import Path

import pytest

from cancer_alpha import reference, reproduce
from cancer_alpha import verify as verifier
from cancer_alpha.errors import ReferenceFolderError

CHAPTER = '''# %% [markdown]
# # {name}

# %% tags=["parameters"]
profile = "tiny"
overrides = {{}}
results_dir = "results"

# %%
from cancer_alpha import results

run = results.start_run("{name}", profile, overrides, results_dir)
{body}
run.save()
'''


def _project(root):
    """Two chapters named as the book's (so that their declared kinds apply); the second
    reads the first's record."""
    for folder in ("notebooks", "profiles", "src/cancer_alpha"):
        (root / folder).mkdir(parents=True)
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (root / "pyproject.toml").write_text("[project]\nname = \"miniature\"\n")
    (root / "profiles" / "tiny.yml").write_text("profile: tiny\n")
    (root / "requirements.lock").write_text("numpy==2.4.6\n")
    bodies = {"01_data_synthesis": "run.metric('bayes_accuracy', 0.779)",
              "04_training": "first = results.load(profile, '01_data_synthesis', results_dir)\n"
                             "run.metric('ceiling', first['metrics']['bayes_accuracy'])"}
    for name, body in bodies.items():
        (root / "notebooks" / f"{name}.py").write_text(CHAPTER.format(name=name, body=body))


@pytest.mark.slow
def test_verify_reruns_compares_and_names_what_moved(tmp_path, monkeypatch):
    _project(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    quiet = {"log": lambda *a, **k: None}
    reproduce.reproduce("tiny", **quiet)
    reference.publish("tiny", tmp_path, **quiet)
    manifest = json.loads((tmp_path / "reference" / "tiny" / "manifest.json").read_text())
    assert manifest["chapters"]["04_training"]["reads"] == ["tiny/01_data_synthesis.json"]

    # every chapter again: nothing moved
    result = verifier.verify("tiny", root=tmp_path, **quiet)
    assert result["exit_code"] == 0 and not result["moved"]
    assert [c["status"] for c in result["chapters"]] == [verifier.RE_EXECUTED] * 2
    assert result["values_compared"] > 0

    # one chapter again, the one before it taken from the reference, and said so
    result = verifier.verify("tiny", only="04", root=tmp_path, **quiet)
    assert result["exit_code"] == 0
    (chapter,) = result["chapters"]
    assert chapter["name"] == "04_training"
    assert chapter["inputs_from_reference"] == ["tiny/01_data_synthesis.json"]
    assert result["from_reference"] == ["01_data_synthesis"]
    written = json.loads((tmp_path / "build" / "tiny" / "verification.json").read_text())
    assert written["exit_code"] == 0 and written["chapters"] == result["chapters"]

    # a number that moves is named with its key, and the exit status says so
    source = tmp_path / "notebooks" / "01_data_synthesis.py"
    source.write_text(source.read_text().replace("0.779", "0.781"))
    lines = []
    result = verifier.verify("tiny", only="01", root=tmp_path,
                             log=lambda m="", **_: lines.append(m))
    assert result["exit_code"] == verifier.EXIT_MOVED
    assert [m["key"] for m in result["moved"]] == ["01_data_synthesis:metrics.bayes_accuracy"]
    assert result["moved"][0]["deviation"] == pytest.approx(0.002)
    assert any(line.startswith("FAILED") and "01_data_synthesis:metrics.bayes_accuracy" in line
               for line in lines)

    # the build is now older than the checkout: its records cannot stand for a rerun
    with pytest.raises(ReferenceFolderError, match="not up to date with this checkout: "
                                                   "01_data_synthesis"):
        verifier.verify("tiny", use_build=True, root=tmp_path, **quiet)
    # and cannot be published
    with pytest.raises(ReferenceFolderError, match="01_data_synthesis: not up to date"):
        reference.publish("tiny", tmp_path, **quiet)


def test_claims_name_the_chapters_that_register_them():
    class Ref:
        profile = "smoke"
        records = {"04_training": {"claims": [{"id": "C12"}]},
                   "06_ablations": {"claims": [{"id": "C08"}]}}

    assert verifier.parse_claims("c08, C12,C08") == ["C08", "C12"]
    assert verifier.claim_chapters(Ref, ["C08", "C12"]) == {"C08": "06_ablations",
                                                            "C12": "04_training"}
    with pytest.raises(ReferenceFolderError, match="registers no claim C13"):
        verifier.claim_chapters(Ref, ["C13"])


def _check(published, rerun):
    records = {"07_compute_profiling": {"claims": [{"id": "C13", **published}]}}
    reruns = {"07_compute_profiling": {"claims": [{"id": "C13", **rerun}]}}
    (check,) = verifier._claim_checks(["C13"], {"C13": "07_compute_profiling"}, records,
                                      reruns, [])
    return check


def test_a_compute_claim_that_a_busy_machine_could_not_judge_compares_its_rules_verdict():
    quiet = {"verdict": "reproduced", "reason": "single-sample low quantile 2.2 ms"}
    noisy = {"verdict": "not judged", "reason": "noisy machine: inference latency (C13): ...",
             "rule_verdict": "reproduced"}
    check = _check(quiet, noisy)
    assert not check.changed and "this rerun ran on a noisy machine" in check.not_judged_here
    flipped = _check(quiet, {**noisy, "rule_verdict": "not reproduced"})
    assert flipped.changed
    assert _check(quiet, {"verdict": "not reproduced", "reason": "18 ms"}).changed


def test_the_claim_table_keeps_the_longest_verdicts_apart():
    checks = [verifier.ClaimCheck("C15", "04_training", "not testable here",
                                  "not testable here", compared=51, largest_deviation=0.0),
              verifier.ClaimCheck("C02", "04_training", "partly", "partly", compared=50)]
    header, c15, c02 = verifier.claim_table(checks)
    assert "not testable here  not testable here" in c15
    # every column starts where its header does
    for line in (c15, c02):
        assert line.index("partly" if line is c02 else "not testable") == header.index("published")
        assert line[header.index("within"):].startswith("yes")


def test_the_closing_line_says_whose_timings_were_disturbed():
    quiet = {"verdict": "reproduced", "reason": "single-sample low quantile 2.2 ms"}
    noisy = {"verdict": "not judged", "reason": "noisy machine: inference latency (C13): ...",
             "rule_verdict": "reproduced"}
    here = verifier.inconclusive_line(9, [_check(quiet, noisy)])
    assert here == ("not confirmed: nothing moved (9 values compared), but C13 could not be "
                    "judged on this machine (disturbed timings): rerun on a quiet machine")
    there = verifier.inconclusive_line(9, [_check(noisy, quiet)])
    assert there.endswith("but C13 went unjudged in the published run (disturbed timings "
                          "there): publish a rerun that judged them")


def test_a_claim_not_asked_for_that_a_busy_machine_could_not_judge_is_not_a_moved_verdict():
    from cancer_alpha.tolerances import compare_records

    chapter = "07_compute_profiling"
    # a judged claim's record keeps an empty rule_verdict, as Judgement writes it
    quiet = {"C13": {"verdict": "reproduced", "reason": "2.2 ms", "rule_verdict": None},
             "C04": {"verdict": "not reproduced", "reason": "linear law preferred",
                     "rule_verdict": None}}
    noisy = {cid: {"verdict": "not judged", "reason": f"noisy machine: ({cid}) ...",
                   "rule_verdict": quiet[cid]["verdict"]} for cid in quiet}
    published = {chapter: {"claims": [{"id": k, **v} for k, v in quiet.items()]}}
    rerun = {chapter: {"claims": [{"id": k, **v} for k, v in noisy.items()]}}
    diffs = compare_records(chapter, published[chapter], rerun[chapter])
    where = {"C13": chapter, "C04": chapter}
    # only C13 asked for (verify --claims C13), its chapter also holds C04: both inconclusive
    checks, moved, changed, inconclusive, code = verifier._outcome(
        ["C13"], where, published, rerun, diffs)
    assert [c.id for c in checks] == ["C13"] and not changed
    assert not [d.key for d in moved if d.path[-1] == "verdict"]
    assert {c.id for c in inconclusive} == {"C13", "C04"}
    assert code == verifier.EXIT_INCONCLUSIVE
    # a rule verdict that flipped under the noise is a change, asked for or not
    rerun[chapter]["claims"][1]["rule_verdict"] = "reproduced"
    diffs = compare_records(chapter, published[chapter], rerun[chapter])
    _, moved, changed, _, code = verifier._outcome(["C13"], where, published, rerun, diffs)
    assert [c.id for c in changed] == ["C04"] and code == verifier.EXIT_MOVED


def _published(root, profile="tiny"):
    """A checkout in git with a hand-made reference of two chapters (no notebook runs)."""
    _project(root)
    folder = root / "reference" / profile
    folder.mkdir(parents=True)
    files = {}
    for name, value in (("01_data_synthesis", 0.779), ("04_training", 0.779)):
        record = {"chapter": name, "profile": profile, "metrics": {"bayes_accuracy": value},
                  "claims": []}
        (folder / f"{name}.json").write_text(json.dumps(record))
        files[f"{name}.json"] = reference.sha256(folder / f"{name}.json")
    manifest = {"profile": profile, "commit": "c0ffee", "files": files,
                "lock_sha256": reference.sha256(root / "requirements.lock"),
                "chapters": {"01_data_synthesis": {"commit": "c0ffee", "reads": []},
                             "04_training": {"commit": "c0ffee",
                                             "reads": [f"{profile}/01_data_synthesis.json"]}}}
    (folder / reference.MANIFEST).write_text(json.dumps(manifest))
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "miniature")


def _working_in_published(root, monkeypatch):
    """:func:`_published`, made the project root and working directory; its reference folder."""
    _published(root)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(root))
    monkeypatch.chdir(root)
    return root / "reference" / "tiny"


def _git(root, *args):
    import subprocess

    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root), *args],
                   check=True)


def test_an_interrupted_verification_resumes_where_it_stopped(tmp_path, monkeypatch):
    _published(tmp_path)
    monkeypatch.setenv("CANCER_ALPHA_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    executed, interrupt = [], {"at": "04_training"}

    def execute(chapter, profile, root, scratch, threads):
        """Stands in for papermill: the rerun writes the published record."""
        if chapter.name == interrupt["at"]:
            raise KeyboardInterrupt
        executed.append(chapter.name)
        out = scratch / "results" / profile
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{chapter.name}.json").write_text(
            (root / "reference" / profile / f"{chapter.name}.json").read_text())
        return 1.5

    monkeypatch.setattr(verifier, "_execute", execute)
    quiet = {"log": lambda *a, **k: None}
    with pytest.raises(KeyboardInterrupt):
        verifier.verify("tiny", root=tmp_path, **quiet)
    assert executed == ["01_data_synthesis"]

    # run again: the chapter finished before the interruption is not executed again
    interrupt["at"], lines = None, []
    result = verifier.verify("tiny", root=tmp_path, log=lambda m="", **_: lines.append(m))
    assert executed == ["01_data_synthesis", "04_training"]
    assert result["exit_code"] == 0 and result["values_compared"] > 0
    assert [c["status"] for c in result["chapters"]] == [verifier.RE_EXECUTED] * 2
    assert [c["seconds"] for c in result["chapters"]] == [1.5, 1.5]
    assert any("resuming an interrupted verification" in m for m in lines)
    assert result["resumed"] == ["01_data_synthesis"]

    # a finished verification is not resumed: the next one executes everything
    executed.clear()
    verifier.verify("tiny", root=tmp_path, **quiet)
    assert executed == ["01_data_synthesis", "04_training"]

    # interrupted again, then --fresh, or another selection of chapters: start over
    for again in ({"fresh": True}, {"only": "04"}):
        executed.clear()
        interrupt["at"] = "04_training"
        with pytest.raises(KeyboardInterrupt):
            verifier.verify("tiny", root=tmp_path, **quiet)
        interrupt["at"] = None
        executed.clear()
        verifier.verify("tiny", root=tmp_path, **again, **quiet)
        assert executed == (["04_training"] if "only" in again
                            else ["01_data_synthesis", "04_training"])

    # local edits are not the commit that was verified: no resume
    executed.clear()
    interrupt["at"] = "04_training"
    with pytest.raises(KeyboardInterrupt):
        verifier.verify("tiny", root=tmp_path, **quiet)
    interrupt["at"] = None
    (tmp_path / "profiles" / "tiny.yml").write_text("profile: tiny\n# edited\n")
    executed.clear()
    verifier.verify("tiny", root=tmp_path, **quiet)
    assert executed == ["01_data_synthesis", "04_training"]


def test_a_verification_that_moved_numbers_on_purpose_updates_only_its_chapters(
        tmp_path, monkeypatch):
    folder = _working_in_published(tmp_path, monkeypatch)
    kept = (folder / "01_data_synthesis.json").read_bytes()

    def execute(chapter, profile, root, scratch, threads):
        """Stands in for papermill: Chapter 4 now computes another number, with a figure."""
        record = json.loads((root / "reference" / profile / f"{chapter.name}.json").read_text())
        out = scratch / "results" / profile
        (out / "figures").mkdir(parents=True, exist_ok=True)
        if chapter.name == "04_training":
            record["metrics"]["bayes_accuracy"] = 0.5
            record["figure_data"] = ["figures/04_training__curve.json"]
            (out / "figures" / "04_training__curve.json").write_text('{"x": [1, 2]}')
        (out / f"{chapter.name}.json").write_text(json.dumps(record))
        return 2.0

    monkeypatch.setattr(verifier, "_execute", execute)
    quiet = {"log": lambda *a, **k: None}
    # a verification of Chapter 1 alone cannot stand for Chapter 4, which reads its record
    verifier.verify("tiny", only="01", root=tmp_path, **quiet)
    with pytest.raises(ReferenceFolderError, match=r"published 04_training reads "
                                                   r"tiny/01_data_synthesis.json.*--only 01,04"):
        reference.publish_verified("tiny", tmp_path, **quiet)

    result = verifier.verify("tiny", only="04", root=tmp_path, **quiet)
    assert result["exit_code"] == verifier.EXIT_MOVED  # on purpose: the change to publish
    before = reference.load("tiny", tmp_path).manifest
    reference.publish_verified("tiny", tmp_path, **quiet)
    after = reference.load("tiny", tmp_path)  # checksums and all: a valid reference
    assert after.records["04_training"]["metrics"]["bayes_accuracy"] == 0.5
    assert (folder / "01_data_synthesis.json").read_bytes() == kept
    assert after.manifest["chapters"]["01_data_synthesis"] == before["chapters"][
        "01_data_synthesis"]
    assert after.manifest["chapters"]["04_training"]["status"] == "re-executed by verify"
    assert after.manifest["updated"] == {"chapters": ["04_training"],
                                         "previous_commit": "c0ffee",
                                         "previous_published_utc": None}
    assert reference.figure_data(after, "04_training") == [{"x": [1, 2]}]
    from cancer_alpha.reproducibility import _origin
    assert _origin(after.manifest).startswith("commit `c0ffee`, with 04_training executed again at "
                                              "commit `")

    # the updated reference is a change of the checkout: committed, it verifies
    _git(tmp_path, "commit", "-qam", "the reference updated")
    with pytest.raises(ReferenceFolderError, match="this checkout is"):
        reference.publish_verified("tiny", tmp_path, **quiet)  # verified at the commit before
    assert verifier.verify("tiny", only="04", root=tmp_path, **quiet)["exit_code"] == 0
    # a verification against another reference is refused
    written = tmp_path / "build" / "tiny" / "verification.json"
    other = {**json.loads(written.read_text()), "reference_sha256": "0" * 64}
    written.write_text(json.dumps(other))
    with pytest.raises(ReferenceFolderError, match="compared another reference"):
        reference.publish_verified("tiny", tmp_path, **quiet)
    # nor anything a checkout with local edits computed
    (tmp_path / "profiles" / "tiny.yml").write_text("profile: tiny\n# edited\n")
    verifier.verify("tiny", only="04", root=tmp_path, **quiet)
    with pytest.raises(ReferenceFolderError, match="with local edits"):
        reference.publish_verified("tiny", tmp_path, **quiet)
    _git(tmp_path, "checkout", "-q", "--", ".")
    # nor one that ran in another environment than the reference's
    (tmp_path / "requirements.lock").write_text("numpy==2.4.7\n")
    _git(tmp_path, "commit", "-qam", "lock")
    verifier.verify("tiny", only="04", root=tmp_path, **quiet)
    with pytest.raises(ReferenceFolderError, match="lock file differs"):
        reference.publish_verified("tiny", tmp_path, **quiet)
    # nor a verification that executed nothing
    written.unlink()
    with pytest.raises(ReferenceFolderError, match="no verification to publish"):
        reference.publish_verified("tiny", tmp_path, **quiet)


def test_a_reference_brought_up_to_date_in_stages_marks_what_awaits_execution(
        tmp_path, monkeypatch, capsys):
    folder = _working_in_published(tmp_path, monkeypatch)
    kept = (folder / "04_training.json").read_bytes()

    def execute(chapter, profile, root, scratch, threads):
        """Stands in for papermill: both chapters now compute another number; Chapter 4
        reads Chapter 1's record, as published."""
        record = json.loads((root / "reference" / profile / f"{chapter.name}.json").read_text())
        record["metrics"]["bayes_accuracy"] = 0.5
        if chapter.name == "04_training":
            record["provenance"] = {"inputs": {f"{profile}/01_data_synthesis.json": "sha"}}
        out = scratch / "results" / profile
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{chapter.name}.json").write_text(json.dumps(record))
        return 1.0

    monkeypatch.setattr(verifier, "_execute", execute)
    quiet = {"log": lambda *a, **k: None}
    logged = []
    # stage 1: Chapter 1 alone; its reader stays as published, marked outdated
    verifier.verify("tiny", only="01", root=tmp_path, **quiet)
    with pytest.raises(ReferenceFolderError, match="--leave-outdated"):
        reference.publish_verified("tiny", tmp_path, **quiet)
    reference.publish_verified("tiny", tmp_path, log=logged.append, leave_outdated=True)
    staged = reference.load("tiny", tmp_path)
    assert (folder / "04_training.json").read_bytes() == kept
    assert staged.manifest["chapters"]["04_training"]["outdated"] == {
        "since": staged.manifest["commit"], "because": ["tiny/01_data_synthesis.json"],
        "reason": reference.CHANGED}
    assert "outdated" not in staged.manifest["chapters"]["01_data_synthesis"]
    # the chapter executed again names the machine it ran on; the kept one has none of its own
    assert staged.manifest["chapters"]["01_data_synthesis"]["machine"] == reference.machine()
    assert "machine" not in staged.manifest["chapters"]["04_training"]
    assert any("outdated until executed again: 04_training" in line and "--only 04" in line
               for line in logged)
    from cancer_alpha.reproducibility import _chapters
    full = {"chapters": {n: {"writes": [f"{n}.json"], "wall_seconds": 1.0, "status": "x", **e}
                         for n, e in staged.manifest["chapters"].items()}}  # a hand-made entry
    row = next(r for r in _chapters(full, "tiny") if r.startswith("| 04_training"))
    assert "outdated since commit" in row and reference.CHANGED in row
    _git(tmp_path, "commit", "-qam", "stage 1")
    # a verification names the outdated chapter, and finds it moved when executed again
    result = verifier.verify("tiny", only="04", root=tmp_path, **quiet)
    assert set(result["outdated_in_reference"]) == {"04_training"}
    assert any("04_training is outdated" in w for w in result["warnings"])
    assert result["exit_code"] == verifier.EXIT_MOVED
    # stage 2: executed from the current inputs, it is up to date again
    reference.publish_verified("tiny", tmp_path, **quiet)
    done = reference.load("tiny", tmp_path)
    assert not any(e.get("outdated") for e in done.manifest["chapters"].values())
    assert done.records["04_training"]["metrics"]["bayes_accuracy"] == 0.5
    _git(tmp_path, "commit", "-qam", "stage 2")
    assert verifier.verify("tiny", root=tmp_path, **quiet)["exit_code"] == 0


def test_a_chapter_reading_an_outdated_chapter_is_outdated_too_even_when_executed_again():
    """Chapter 1 executed again, Chapter 4 (its reader) kept, the audit executed again: the
    audit read Chapter 4's outdated record, so it is outdated as well; Chapter 1 is not."""
    names = ["01_data_synthesis", "04_training", "09_claims_audit"]
    current = reference.Reference("tiny", Path("."), {"chapters": {
        "01_data_synthesis": {"reads": []},
        "04_training": {"reads": ["tiny/01_data_synthesis.json"]},
        "09_claims_audit": {"reads": ["tiny/01_data_synthesis.json",
                                      "tiny/04_training.json"]}}},
        {n: {} for n in names})
    reread = {"provenance": {"inputs": {"tiny/01_data_synthesis.json": "x",
                                        "tiny/04_training.json": "x"}}}
    outdated = reference._outdated(
        "tiny", current, {"01_data_synthesis": {}, "09_claims_audit": reread},
        {"04_training": ["tiny/01_data_synthesis.json"]}, "abc")
    assert outdated == {
        "04_training": {"since": "abc", "because": ["tiny/01_data_synthesis.json"],
                        "reason": reference.CHANGED},
        "09_claims_audit": {"since": "abc", "because": ["tiny/04_training.json"],
                            "reason": reference.INHERITED}}


def test_a_reference_built_on_another_kind_of_cpu_is_named_before_any_number():
    here = {"cpu_model": "AMD EPYC", "cpu_generation": "cpu family 25, model 17, stepping 1",
            "cpu_capability": "AVX512", "cores": 2}
    assert verifier.machine_warnings(dict(here), here) == []
    # one marketing name, two generations and instruction sets: the case 'AMD EPYC' hid
    older = {**here, "cpu_generation": "cpu family 25, model 1, stepping 1",
             "cpu_capability": "AVX2"}
    (warning,) = verifier.machine_warnings(older, here)
    assert "another CPU" in warning and "'AVX2' (here 'AVX512')" in warning
    assert "model 1, stepping 1" in warning and "exact numbers of trained models" in warning
    # a manifest from before these were recorded cannot tell
    (warning,) = verifier.machine_warnings({"cpu_model": "AMD EPYC", "cores": 2}, here)
    assert "does not record its CPU's generation or instruction set" in warning
    assert verifier.machine_warnings({}, here) == []  # no machine at all: nothing to say
