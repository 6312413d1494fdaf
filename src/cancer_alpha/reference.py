"""The published reference of a book: its run records, frozen in the repository.

``cancer-alpha publish --profile P``, run after the book of profile P was built, copies into
``reference/P/``:

- the run record of every chapter (``<chapter>.json``);
- the tuned settings of the tuning studies (``tuning/<data set>.json``), with their Optuna
  storage (``.db``) where it is smaller than :data:`DB_LIMIT`;
- the data behind every figure, one compressed file per chapter
  (``figures/<chapter>.json.gz``, from ``results/P/figures/*.json``);
- ``manifest.json``: the commit, the lock file's hash, the main versions, the machine (cores,
  CPU model, its load while each chapter ran and the quietness checks of the timed blocks),
  each chapter's wall time, status and the files it read and wrote, and the sha256 of every
  other file of the folder.

``cancer-alpha verify`` reads it back (:func:`load`), refusing a folder that is missing, whose
files do not match the manifest's checksums, or that is of another profile.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import platform
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import ReferenceFolderError
from .safe_write import atomic_folder, json_text

MANIFEST = "manifest.json"
DB_LIMIT = 1_000_000
"""Bytes: an Optuna storage up to this size is published beside its settings; a larger one
(every trial of a long study) is left out, and its settings file alone is kept."""
VERSIONS = ("python", "torch", "pytorch-lightning", "numpy", "scikit-learn", "optuna")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reference_dir(profile: str, root: Path | None = None) -> Path:
    """``reference/<profile>/`` of the checkout."""
    from .config import project_root

    return (root or project_root()) / "reference" / profile


def cpu_model() -> str:
    """The CPU's model name (Linux), or what the platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_generation() -> str | None:
    """The CPU's family, model and stepping (Linux): what tells two processors apart that
    share a marketing name ('AMD EPYC' covers several generations); None where unknown."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("cpu family", "model", "stepping") and key not in fields:
                    fields[key] = value.strip()
                if not line.strip():  # the first processor is enough
                    break
    except OSError:
        return None
    if not fields:
        return None
    return ", ".join(f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping")
                     if k in fields)


def cpu_capability() -> str | None:
    """The vector instruction set torch's CPU kernels use here ('AVX2', 'AVX512', ...): two
    machines that differ in it train the same seeded model to different last bits."""
    try:
        import torch

        return str(torch.backends.cpu.get_cpu_capability())
    except (ImportError, AttributeError):
        return None


def machine() -> dict[str, Any]:
    """This machine, as a manifest and a verification name it."""
    return {"cores": os.cpu_count(), "cpu_model": cpu_model(),
            "cpu_generation": cpu_generation(), "cpu_capability": cpu_capability(),
            "platform": platform.platform(terse=True)}


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------- publish


def _records(profile: str, root: Path, *, require_current: bool) -> dict[str, dict[str, Any]]:
    """Every chapter's record of ``profile``; with ``require_current``, a clear error for a
    chapter that is missing or not up to date with this checkout."""
    from .stamps import chapters, stale_reason

    results = root / "results" / profile
    out: dict[str, dict[str, Any]] = {}
    problems = []
    for chapter in chapters(root):
        path = results / f"{chapter.name}.json"
        if not path.is_file():
            problems.append(f"{chapter.name}: no run record {_rel(path, root)}")
            continue
        if require_current:
            reason = stale_reason(chapter, profile, root)
            if reason is not None:
                problems.append(f"{chapter.name}: not up to date ({reason})")
                continue
        record = json.loads(path.read_text())
        if record.get("profile") != profile:
            problems.append(f"{chapter.name}: {_rel(path, root)} is a record of profile "
                            f"{record.get('profile')!r}")
        out[chapter.name] = record
    if problems:
        raise ReferenceFolderError(
            f"cannot publish the {profile!r} book: " + "; ".join(problems) +
            f". Build it first: make book PROFILE={profile} (cancer-alpha reproduce --profile "
            f"{profile} --book)")
    return out


def chapter_entry(name: str, record: dict[str, Any], status: dict[str, Any] | None
                  ) -> dict[str, Any]:
    """A chapter as the manifest lists it: where and how long it ran, what it read and
    wrote, its verdicts."""
    prov = record.get("provenance", {})
    writes = [f"{name}.json", *record.get("figures", []), *record.get("figure_data", []),
              *prov.get("outputs", [])]
    return {
        "record": f"{name}.json", "commit": prov.get("git_commit"), "dirty": prov.get("dirty"),
        "started_utc": prov.get("started_utc"), "wall_seconds": prov.get("wall_seconds"),
        "execution_seconds": (status or {}).get("seconds"),
        "status": (status or {}).get("status", "unknown"),
        "threads": prov.get("threads", {}), "load_average": prov.get("load_average", {}),
        "reads": sorted(prov.get("inputs", {})), "writes": writes,
        "verdicts": {c["id"]: c["verdict"] for c in record.get("claims", [])},
    }


def quietness(records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The quietness checks of the timed blocks (Chapter 7's record and Chapter 6's timed
    pair): block, disturbed or not, and why."""
    blocks = []
    for name, record in records.items():
        metrics = record.get("metrics", {})
        found = list(metrics.get("quietness", []) or [])
        if isinstance(metrics.get("c07_quietness"), dict):
            found.append(metrics["c07_quietness"])
        for q in found:
            if isinstance(q, dict) and "block" in q:
                blocks.append({"chapter": name, "block": q["block"],
                               "disturbed": bool(q.get("disturbed")),
                               "reason": q.get("reason") or ""})
    return blocks


def build_manifest(profile: str, root: Path, records: dict[str, dict[str, Any]],
                   files: dict[str, str] | None = None) -> dict[str, Any]:
    """The manifest of ``records`` (every chapter of one profile) built by this checkout."""
    from .results import git_state
    from .stamps import read_status

    commit, dirty = git_state()
    status = read_status(profile, root)
    versions = next((r["provenance"].get("versions", {}) for r in records.values()
                     if "provenance" in r), {})
    lock = root / "requirements.lock"
    return {
        "profile": profile,
        "commit": commit, "dirty": dirty,
        "published_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "lock_sha256": sha256(lock) if lock.is_file() else None,
        "versions": {k: v for k, v in versions.items() if k in VERSIONS or k == "cancer-alpha"},
        "machine": {**machine(), "quietness": quietness(records)},
        "chapters": {name: chapter_entry(name, r, status.get(name))
                     for name, r in records.items()},
        "files": files or {},
    }


def _figure_bundle(record: dict[str, Any], results: Path) -> bytes | None:
    """The data of a chapter's figures in one gzip file (fixed time stamp: the same data
    give the same bytes)."""
    figures = []
    for rel in record.get("figure_data", []):
        path = results / rel
        if path.is_file():
            figures.append(json.loads(path.read_text()))
    if not figures:
        return None
    text = json_text({"chapter": record["chapter"], "figures": figures}, convert=False,
                     separators=(",", ":"), sort_keys=True, end="")
    return gzip.compress(text.encode(), mtime=0)


def publish(profile: str, root: Path | None = None, out: Path | None = None,
            log=print) -> Path:
    """Write the reference of ``profile`` (default ``reference/<profile>/``) from the built
    book's records: every chapter must have run, up to date with this checkout. The folder
    is assembled beside its target and renamed into place: it is never half-written."""
    from .config import available_profiles, project_root

    root = root or project_root()
    if profile not in available_profiles():
        raise ReferenceFolderError(f"unknown profile {profile!r}: expected one of "
                                   f"{available_profiles()}")
    records = _records(profile, root, require_current=True)
    results = root / "results" / profile
    target = out or reference_dir(profile, root)
    with atomic_folder(target) as tmp:
        left_out: list[str] = []
        for name in records:
            _write_chapter(tmp, name, records[name], results, root, left_out)
        files = _checksums(tmp)
        manifest = build_manifest(profile, root, records, files)
        manifest["left_out"] = left_out
        (tmp / MANIFEST).write_text(json_text(manifest, indent=1))
    _report(profile, target, root, manifest, left_out, log)
    return target


def _write_chapter(tmp: Path, name: str, record: dict[str, Any], results: Path, root: Path,
                   left_out: list[str]) -> None:
    """A chapter's files in the reference being assembled in ``tmp``: its record, the data of
    its figures in one bundle, and the files it wrote (the tuning settings, with the Optuna
    storage beside them where it is small; a larger one is named in ``left_out``)."""
    shutil.copyfile(results / f"{name}.json", tmp / f"{name}.json")
    bundle = _figure_bundle(record, results)
    if bundle is not None:
        (tmp / "figures").mkdir(exist_ok=True)
        (tmp / "figures" / f"{name}.json.gz").write_bytes(bundle)
    for rel in record.get("provenance", {}).get("outputs", []):
        src = results / rel
        if not src.is_file():
            continue
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, tmp / rel)
        db = src.with_suffix(".db")  # tuning.save writes the storage beside
        if db.is_file() and db.stat().st_size <= DB_LIMIT:
            shutil.copyfile(db, tmp / Path(rel).with_suffix(".db"))
        elif db.is_file():
            left_out.append(f"{_rel(db, root)} ({db.stat().st_size / 1e6:.1f} MB)")


def _checksums(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _report(profile: str, target: Path, root: Path, manifest: dict[str, Any],
            left_out: list[str], log) -> None:
    files = [p for p in target.rglob("*") if p.is_file()]
    log(f"published the {profile!r} reference: {_rel(target, root)} ({len(files)} files, "
        f"{sum(p.stat().st_size for p in files) / 1e6:.2f} MB; commit "
        f"{str(manifest['commit'])[:12]}{', with local edits' if manifest['dirty'] else ''})")
    for item in left_out:
        log(f"  left out (larger than {DB_LIMIT / 1e6:g} MB): {item}")


def _owned(name: str, record: dict[str, Any]) -> set[str]:
    """The reference's files that belong to chapter ``name`` (as ``record`` lists them)."""
    outputs = record.get("provenance", {}).get("outputs", [])
    dbs = [Path(rel).with_suffix(".db").as_posix() for rel in outputs]
    return {f"{name}.json", f"figures/{name}.json.gz", *outputs, *dbs}


def publish_verified(profile: str, root: Path | None = None, log=print, *,
                     leave_outdated: bool = False) -> Path:
    """Update the reference of ``profile`` with the chapters that the last verification
    (``build/<profile>/verification.json``) executed again: their records, figure data and
    outputs replace the published ones; every other chapter stays as published, with the
    commit that built it in the manifest. For a change that moves the numbers of a few chapters
    on purpose, without rebuilding the whole paper book.

    Refused, with the reason, unless the verification executed chapters (not ``--use-build``)
    from this very checkout (same commit, no local edits, then or now), against this very
    reference (its manifest's sha256) and in its environment (the same lock file); and unless
    every published chapter that reads a file of a re-executed chapter was executed again too
    (the claims audit reads every record: ``verify --only 06,09``).

    With ``leave_outdated``, such readers are kept as published and marked *outdated* in the
    manifest (``outdated``: since which commit, because of which files), and so is every
    chapter that reads a file of an outdated chapter, re-executed or not: a reference can then
    be brought up to date in stages, each shorter than one sitting (Chapter 3 first, its
    readers after), each stage saying what still awaits re-execution. A chapter executed again
    from up-to-date inputs is no longer outdated."""
    from .config import project_root
    from .results import git_state
    from .verify import RE_EXECUTED, scratch_dir, verification_path

    root = root or project_root()
    current = load(profile, root)
    path = verification_path(profile, root)
    try:
        verification = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReferenceFolderError(
            f"no verification to publish: {_rel(path, root)} cannot be read ({exc}). Run one "
            f"first: cancer-alpha verify --profile {profile} --only NN") from None
    if verification.get("profile") != profile:
        raise ReferenceFolderError(f"{_rel(path, root)} is a verification of profile "
                                   f"{verification.get('profile')!r}, not {profile!r}")
    commit, dirty = git_state(root)
    if dirty is not False or verification.get("dirty") is not False \
            or verification.get("commit") != commit:
        raise ReferenceFolderError(
            f"the verification ran at commit {str(verification.get('commit'))[:12]}"
            f"{' with local edits' if verification.get('dirty') else ''}; this checkout is "
            f"{str(commit)[:12]}{' with local edits' if dirty else ''}. Publish only what a "
            "clean checkout of this commit computed: commit, then verify again")
    if verification.get("reference_sha256") != sha256(current.folder / MANIFEST):
        raise ReferenceFolderError(f"the verification compared another reference than "
                                   f"{_rel(current.folder, root)}: verify again")
    if not verification.get("lock_matches"):
        raise ReferenceFolderError("the verification ran in another environment than the "
                                   "reference (its lock file differs): rebuild and publish the "
                                   "whole book instead (make reference PROFILE=" + profile + ")")
    rerun = [c["name"] for c in verification.get("chapters", [])
             if c.get("status") == RE_EXECUTED]
    if not rerun:
        raise ReferenceFolderError("the verification executed no chapter (--use-build): "
                                   "nothing to publish")
    results = scratch_dir(profile, root) / "results" / profile
    records = {n: json.loads((results / f"{n}.json").read_text()) for n in rerun
               if (results / f"{n}.json").is_file()}
    missing = sorted(set(rerun) - set(records))
    if missing:
        raise ReferenceFolderError(f"the verification's records of {', '.join(missing)} are "
                                   f"gone from {_rel(results, root)}: verify again")
    written = {f"{profile}/{rel}" for n in rerun
               for rel in _owned(n, records[n]) | _owned(n, current.records[n])}
    readers = {name: sorted(set(entry.get("reads", [])) & written)
               for name, entry in current.manifest["chapters"].items() if name not in rerun}
    stale = {name: reads for name, reads in readers.items() if reads}
    if stale and not leave_outdated:
        only = ",".join(n[:2] for n in sorted({*rerun, *stale}))
        raise ReferenceFolderError(
            "; ".join(f"published {name} reads {', '.join(reads)}" for name, reads in
                      stale.items())
            + f", which the verification changed: execute it as well (cancer-alpha verify "
              f"--profile {profile} --only {only}), or publish in stages with "
              "--leave-outdated")
    outdated = _outdated(profile, current, records, stale, commit)
    by_name = {c["name"]: c for c in verification["chapters"]}
    here = machine()  # the kept chapters' entries keep the machine they name, if any
    mine = set().union(*(_owned(n, current.records[n]) for n in rerun))
    target = current.folder
    with atomic_folder(target) as tmp:
        left_out = [item for item in current.manifest.get("left_out", [])
                    if not any(rel in item for rel in mine)]
        for rel in current.manifest["files"]:
            if rel not in mine:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(current.folder / rel, tmp / rel)
        for name in rerun:
            _write_chapter(tmp, name, records[name], results, root, left_out)
        every = {**current.records, **records}
        manifest = dict(current.manifest)
        manifest.update({
            "commit": commit, "dirty": False,
            "published_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {**here, "quietness": quietness(every)},
            "chapters": {name: _with_outdated({**chapter_entry(name, records[name], {
                "status": "re-executed by verify",
                "seconds": by_name[name].get("seconds")}), "machine": here}
                if name in records else entry,
                outdated.get(name))
                for name, entry in current.manifest["chapters"].items()},
            "updated": {"chapters": rerun, "previous_commit": current.manifest.get("commit"),
                        "previous_published_utc": current.manifest.get("published_utc")},
            "files": _checksums(tmp), "left_out": left_out,
        })
        (tmp / MANIFEST).write_text(json_text(manifest, indent=1))
    log(f"updated from the verification: {', '.join(rerun)}; every other chapter as "
        f"published before (commit {str(current.manifest.get('commit'))[:12]})")
    if outdated:
        only = ",".join(n[:2] for n in sorted(outdated))
        log(f"outdated until executed again: {', '.join(sorted(outdated))} (cancer-alpha "
            f"verify --profile {profile} --only {only}, then publish --from-verification)")
    _report(profile, target, root, manifest, left_out, log)
    return target


# why a chapter is outdated: it read files that an update changed, or files of a chapter that
# is outdated itself
CHANGED = "it read files that the update changed"
INHERITED = "it read files of chapters that are outdated themselves"


def _outdated(profile: str, current: Reference, records: dict[str, dict[str, Any]],
              stale: dict[str, list[str]], commit: str | None) -> dict[str, dict[str, Any]]:
    """The chapters outdated after publishing the re-executed ``records``: the kept ones that
    read a file they changed (``stale``), the kept ones outdated before, and, until nothing
    changes, every chapter that reads a file of an outdated one (as it reads after this
    update: a re-executed chapter by its new record)."""
    rerun = set(records)
    reads = {n: e.get("reads", []) for n, e in current.manifest["chapters"].items()}
    reads.update({n: chapter_entry(n, r, {})["reads"] for n, r in records.items()})
    outdated = {name: {"since": commit, "because": files, "reason": CHANGED}
                for name, files in stale.items()}
    outdated.update({name: entry["outdated"]
                     for name, entry in current.manifest["chapters"].items()
                     if entry.get("outdated") and name not in rerun and name not in outdated})
    changed = True
    while changed:
        changed = False
        owned = {f"{profile}/{rel}": name for name in outdated
                 for rel in _owned(name, records.get(name, current.records[name]))}
        for name, files in reads.items():
            inputs = sorted(f for f in files if owned.get(f, name) != name)
            if inputs and name not in outdated:
                outdated[name] = {"since": commit, "because": inputs, "reason": INHERITED}
                changed = True
    return outdated


def _with_outdated(entry: dict[str, Any], outdated: dict[str, Any] | None) -> dict[str, Any]:
    """A manifest entry with its ``outdated`` mark set, or removed when ``outdated`` is None."""
    entry = {k: v for k, v in entry.items() if k != "outdated"}
    return {**entry, "outdated": outdated} if outdated else entry


# ---------------------------------------------------------------------------------- load


@dataclass
class Reference:
    """A published reference, checked against its manifest."""

    profile: str
    folder: Path
    manifest: dict[str, Any]
    records: dict[str, dict[str, Any]]

    def files_of(self, prefix: str) -> list[str]:
        return [f for f in self.manifest["files"] if f.startswith(prefix)]


def load(profile: str, root: Path | None = None, folder: Path | None = None) -> Reference:
    """The reference of ``profile`` (default ``reference/<profile>/``), or one clear error: no
    reference, a manifest that cannot be read, a reference of another profile, a file missing,
    altered (its sha256 differs from the manifest's) or not listed."""
    from .config import project_root

    root = root or project_root()
    folder = folder or reference_dir(profile, root)
    where = _rel(folder, root)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ReferenceFolderError(
            f"no published reference of profile {profile!r}: {where}/{MANIFEST} does not "
            f"exist. It is made by building the book and publishing it: make book "
            f"PROFILE={profile} && cancer-alpha publish --profile {profile}")
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
        found = manifest["profile"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ReferenceFolderError(f"{where}/{MANIFEST} is not a reference manifest "
                                   f"({type(exc).__name__}: {exc})") from None
    if found != profile:
        raise ReferenceFolderError(f"{where} is the reference of profile {found!r}, not of "
                                   f"{profile!r}: verify --profile {found}, or publish "
                                   f"--profile {profile}")
    for rel, expected in files.items():
        path = folder / rel
        if not path.is_file():
            raise ReferenceFolderError(f"{where}/{rel} is missing: the manifest lists it")
        actual = sha256(path)
        if actual != expected:
            raise ReferenceFolderError(
                f"{where}/{rel} is corrupted: its sha256 is {actual[:16]}..., the manifest "
                f"says {expected[:16]}... (restore it: git checkout -- {where}/{rel})")
    extra = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.name != MANIFEST
                   and p.relative_to(folder).as_posix() not in files)
    if extra:
        raise ReferenceFolderError(f"{where} holds files its manifest does not list: "
                                   f"{', '.join(extra)}")
    records = {}
    for name in manifest.get("chapters", {}):
        path = folder / f"{name}.json"
        if f"{name}.json" not in files:
            raise ReferenceFolderError(f"{where}/{MANIFEST} lists chapter {name} but not its "
                                       f"record {name}.json among its files")
        record = json.loads(path.read_text())
        if record.get("profile") != profile:
            raise ReferenceFolderError(f"{where}/{name}.json is a record of profile "
                                       f"{record.get('profile')!r}, not {profile!r}")
        records[name] = record
    return Reference(profile, folder, manifest, records)


def figure_data(reference: Reference, chapter: str) -> list[dict[str, Any]]:
    """The data of a chapter's figures, as published."""
    path = reference.folder / "figures" / f"{chapter}.json.gz"
    if not path.is_file():
        return []
    return json.loads(gzip.decompress(path.read_bytes()))["figures"]
