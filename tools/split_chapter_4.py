"""Bring a published reference (``reference/<profile>/``) to the chapters as they were
renumbered when Chapter 4 was split in two.

Chapter 4 ("Training and the model comparison") used to hold three checks of the comparison
as well: the rules that give neural models every training sample, the tuning-budget check and
the training-size curve. They became Chapter 5 ("A fair comparison?"), so that Chapter 4 can be
verified on its own in about half the time; the later chapters moved up by one (05_ablations
to 06_ablations, ..., 08_claims_audit to 09_claims_audit).

The numbers of a published reference were computed by the same code before the move. This
script rewrites such a reference, without computing anything again:

- the renamed chapters' records, figure data and manifest entries take their new names, and
  the sentences recorded in them say "Chapter 6" where the chapter is now Chapter 6 (the
  chapters' own prose does the same);
- Chapter 4's record gives the keys, glued values and figure of the three checks to a new
  record, ``05_fair_comparison.json``, with Chapter 4's provenance and one value derived from
  them (the one-sentence summary of the curve that Chapter 5 glues);
- the manifest marks Chapters 4 and 5, and every chapter that reads Chapter 4's record, as
  outdated: their records were not written by the chapters as they are now, so the reference
  names the command that executes them again (``verify --only``), whose publication removes
  the mark. Every other chapter keeps its record, its commit and its times.

Run it once per reference, from the repository root::

    .venv/bin/python tools/split_chapter_4.py paper smoke

It refuses a reference that is already split (it has a 05_fair_comparison record).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cancer_alpha import comparison, protocol, reference
from cancer_alpha.errors import ReferenceFolderError

RENAMED = {"08_claims_audit": "09_claims_audit", "07_real_data": "08_real_data",
           "06_compute_profiling": "07_compute_profiling", "05_ablations": "06_ablations"}
SOURCE, NEW = "04_training", "05_fair_comparison"
# the keys of Chapter 4's record that belong to the three checks, in the new record's order
MOVED_METRICS = ("full_data_rules", "full_data_gains", "budget_sensitivity",
                 "budget_ranking_changed", "training_size_curve", "training_size_reading")
MOVED_GLUE = ("bag_k", "rule_seeds_words", "n_fit_fold", "n_fit_holdout", "rules_words",
              "sensitivity_trials", "n_trials", "budget_words", "curve_epoch_words",
              "curve_model_words", "curve_cap_words", "curve_small", "curve_large",
              "curve_seeds", "curve_all_seeds_up_to")
# the setting glued by both chapters (comparison.Setting.glue)
SHARED_GLUE = ("ceiling", "n_train", "n_test", "n_seeds", "seeds_words", "n_folds",
               "max_epochs", "patience")
MOVED_FIGURES = ("training_size",)
REASON = (f"moved out of {SOURCE} when Chapter 4 was split (tools/split_chapter_4.py); not "
          "executed as the chapter it is now")
# sentences of the package that named Chapter 4 for what Chapter 5 does now
MOVED_SENTENCES = {
    "Chapter 4 shows whether they change the held-out accuracy or the ranking.":
        "Chapter 5 shows whether they change the held-out accuracy or the ranking.",
}
CHAPTER_WORDS = re.compile(r"\b([Cc]hapters?) ((?:\d, )*\d(?: and \d)?)\b")


def shift_chapter_numbers(text: str) -> str:
    """'Chapter 5' -> 'Chapter 6', ..., 'Chapter 8' -> 'Chapter 9', in lists too."""
    def shift(m: re.Match[str]) -> str:
        digits = re.sub(r"\d", lambda d: str(int(d.group()) + 1) if 5 <= int(d.group()) <= 8
                        else d.group(), m.group(2))
        return f"{m.group(1)} {digits}"
    return CHAPTER_WORDS.sub(shift, text)


def rename_text(text: str) -> str:
    for old, new in RENAMED.items():  # 08 first, so that no name is renamed twice
        text = text.replace(old, new)
    return text


def rewrite(value: Any) -> Any:
    """Every string of a JSON value renamed and its chapter numbers shifted."""
    if isinstance(value, str):
        value = shift_chapter_numbers(rename_text(value))
        for old, new in MOVED_SENTENCES.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [rewrite(v) for v in value]
    if isinstance(value, dict):
        return {rewrite(k): rewrite(v) for k, v in value.items()}
    return value


def _bundle(chapter: str, figures: list[dict[str, Any]]) -> bytes:
    text = json.dumps({"chapter": chapter, "figures": figures}, separators=(",", ":"),
                      sort_keys=True)
    return gzip.compress(text.encode(), mtime=0)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1) + "\n")


def split_record(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Chapter 4's record without the checks, Chapter 5's record of them)."""
    old = copy.deepcopy(record)
    metrics, glued = old["metrics"], old["metrics"].get("glued", {})
    new_metrics: dict[str, Any] = {"glued": {k: glued[k] for k in SHARED_GLUE if k in glued}}
    for k in MOVED_GLUE:
        if k in glued:
            new_metrics["glued"][k] = glued.pop(k)
    reading = metrics.get("training_size_reading")
    if reading:
        new_metrics["glued"]["curve_summary"] = comparison.curve_summary(
            protocol.CurveReading(reading, ""))
    for k in MOVED_METRICS:
        if k in metrics:
            new_metrics[k] = metrics.pop(k)
    moved_files = {f"figures/{SOURCE}__{f}.{ext}" for f in MOVED_FIGURES
                   for ext in ("png", "json")}
    new = {"chapter": NEW, "profile": old["profile"], "provenance": copy.deepcopy(
        old["provenance"]), "metrics": new_metrics, "claims": [],
        "figures": [f.replace(SOURCE, NEW) for f in old["figures"] if f in moved_files],
        "figure_data": [f.replace(SOURCE, NEW) for f in old["figure_data"]
                        if f in moved_files]}
    old["figures"] = [f for f in old["figures"] if f not in moved_files]
    old["figure_data"] = [f for f in old["figure_data"] if f not in moved_files]
    return old, new


def migrate(folder: Path) -> list[str]:
    """Rewrite the reference in ``folder`` in place (assembled beside it and swapped in);
    the chapters marked outdated."""
    manifest = json.loads((folder / reference.MANIFEST).read_text())
    if NEW in manifest["chapters"]:
        raise ReferenceFolderError(f"{folder} is split already: it has {NEW}")
    work = folder.with_name(folder.name + ".split")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(folder, work)
    # 1. renamed chapters: files, then every string in records, figure data and manifest
    for old, new in RENAMED.items():
        for rel_old, rel_new in ((f"{old}.json", f"{new}.json"),
                                 (f"figures/{old}.json.gz", f"figures/{new}.json.gz")):
            if (work / rel_old).is_file():
                (work / rel_old).rename(work / rel_new)
    for path in sorted(work.glob("*.json")):
        if path.name != reference.MANIFEST:
            _write_json(path, rewrite(json.loads(path.read_text())))
    for path in sorted((work / "figures").glob("*.json.gz")):
        bundle = rewrite(json.loads(gzip.decompress(path.read_bytes())))
        path.write_bytes(_bundle(bundle["chapter"], bundle["figures"]))
    manifest = rewrite(manifest)
    # 2. Chapter 4 split in two
    source = json.loads((work / f"{SOURCE}.json").read_text())
    kept, moved = split_record(source)
    _write_json(work / f"{SOURCE}.json", kept)
    _write_json(work / f"{NEW}.json", moved)
    bundle_path = work / "figures" / f"{SOURCE}.json.gz"
    if bundle_path.is_file():
        figures = json.loads(gzip.decompress(bundle_path.read_bytes()))["figures"]
        stay = [f for f in figures if f["figure"] not in MOVED_FIGURES]
        go = [{**f, "chapter": NEW} for f in figures if f["figure"] in MOVED_FIGURES]
        bundle_path.write_bytes(_bundle(SOURCE, stay))
        if go:
            (work / "figures" / f"{NEW}.json.gz").write_bytes(_bundle(NEW, go))
    # 3. the manifest: chapters in book order, the new one's entry, outdated marks, checksums
    entries = manifest["chapters"]
    source_entry = entries[SOURCE]
    new_entry = {**copy.deepcopy(source_entry), "record": f"{NEW}.json",
                 "writes": [f"{NEW}.json", *moved["figures"], *moved["figure_data"]],
                 "verdicts": {}}
    source_entry["writes"] = [w for w in source_entry["writes"]
                              if w not in {f.replace(NEW, SOURCE)
                                           for f in moved["figures"] + moved["figure_data"]}]
    entries[NEW] = new_entry
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    profile = manifest["profile"]
    mark = {SOURCE: {"since": commit, "because": [f"{profile}/{SOURCE}.json"],
                     "reason": REASON},
            NEW: {"since": commit, "because": [f"{profile}/{SOURCE}.json"], "reason": REASON}}
    for name, entry in entries.items():
        if name not in mark and f"{profile}/{SOURCE}.json" in entry.get("reads", []):
            entry["reads"] = sorted({*entry["reads"], f"{profile}/{NEW}.json"}
                                    if name == "09_claims_audit" else entry["reads"])
            mark[name] = {"since": commit, "because": [f"{profile}/{SOURCE}.json"],
                          "reason": reference.INHERITED}
    for name, why in mark.items():
        entries[name]["outdated"] = why
    manifest["chapters"] = {name: entries[name] for name in sorted(entries)}
    manifest["files"] = {p.relative_to(work).as_posix(): reference.sha256(p)
                         for p in sorted(work.rglob("*"))
                         if p.is_file() and p.name != reference.MANIFEST}
    _write_json(work / reference.MANIFEST, manifest)
    reference.load(profile, folder=work)  # the rewritten reference passes the reader's checks
    old_copy = folder.with_name(folder.name + ".before-split")
    folder.rename(old_copy)
    work.rename(folder)
    shutil.rmtree(old_copy)
    return sorted(mark)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="+", help="references to rewrite, by profile")
    args = parser.parse_args(argv)
    for profile in args.profiles:
        folder = reference.reference_dir(profile)
        try:
            outdated = migrate(folder)
        except ReferenceFolderError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{folder}: split; outdated until executed again: {', '.join(outdated)} "
              f"(cancer-alpha verify --profile {profile} --only "
              f"{','.join(n[:2] for n in outdated)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
