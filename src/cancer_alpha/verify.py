"""``cancer-alpha verify``: rerun chapters and compare every number with the published reference.

The chapters named (``--only 04``), or those that register the named claims (``--claims
C08,C12``), or all of them, are executed again in a scratch results folder
(``build/<profile>/verify/``). Chapters that are not executed again are taken from the
reference as inputs: checking Chapter 4 reads the published tuned settings instead of rerunning
Chapter 3's studies, and its verification says which inputs came from the reference. Each
rerun record is compared with the published one value by value, each with the kind its chapter
declares (:mod:`cancer_alpha.tolerances`). The report goes claim by claim: the published
verdict, the rerun verdict, how many values were compared, the largest deviation and whether
every value is within its tolerance; the same goes to a JSON file.

A verification that was interrupted (a paper chapter runs for up to two hours) resumes where it
stopped when it is run again from the same clean commit against the same reference: the
chapters it had re-executed are compared as they were, and the others are executed. A finished
verification, another commit, local edits, another reference or another selection of chapters
start over; so does ``fresh``.

Exit status: 0 when no verdict changed and every compared value is within its tolerance;
:data:`EXIT_MOVED` when something moved (each moved key is named); :data:`EXIT_INCONCLUSIVE`
when nothing moved but a compute claim could not be judged on this machine (a timing block
disturbed by other work: its rule's verdict is compared, and a quiet machine must confirm).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import OptionError, ReferenceFolderError

EXIT_MOVED = 1
EXIT_INCONCLUSIVE = 3
RE_EXECUTED, FROM_REFERENCE, FROM_BUILD = ("re-executed", "from the reference",
                                           "taken from the up-to-date build")


@dataclass
class ClaimCheck:
    """One claim compared between the reference and the rerun."""

    id: str
    chapter: str
    published: str
    rerun: str
    compared: int = 0  # values of its evidence compared (exact or stochastic)
    numbers: int = 0  # of which numbers
    largest_deviation: float | None = None
    largest_key: str = ""
    within: bool = True
    changed: bool = False
    not_judged_here: str = ""  # why a timing-based verdict could not be judged on a machine
    noisy_published: bool = False  # the published run is the one that could not judge it


@dataclass
class ChapterCheck:
    """One chapter of a verification."""

    name: str
    status: str
    seconds: float | None = None
    inputs_from_reference: list[str] = field(default_factory=list)
    compared: int = 0
    numbers: int = 0
    moved: list[str] = field(default_factory=list)
    largest_deviation: float | None = None
    largest_key: str = ""


def parse_claims(text: str | None) -> list[str]:
    """``"C08,c12"`` -> ``["C08", "C12"]``, or a clear error naming an unknown id."""
    from .claims import CLAIMS

    if not text:
        return []
    ids = []
    for part in text.split(","):
        cid = part.strip().upper()
        if not cid:
            continue
        if cid not in CLAIMS:
            raise OptionError(f"--claims: unknown claim {part.strip()!r}: expected ids among "
                              f"{', '.join(CLAIMS)}")
        if cid not in ids:
            ids.append(cid)
    return ids


def claim_chapters(reference: Any, ids: Sequence[str]) -> dict[str, str]:
    """The chapter whose record registers each claim in the reference."""
    where = {c["id"]: name for name, r in reference.records.items()
             for c in r.get("claims", [])}
    missing = [cid for cid in ids if cid not in where]
    if missing:
        raise ReferenceFolderError(f"the {reference.profile!r} reference registers no claim "
                                   f"{', '.join(missing)}")
    return {cid: where[cid] for cid in ids}


def _copy_inputs(reference: Any, rerun: set[str], results: Path) -> list[str]:
    """Copy into the scratch results the reference's records of the chapters not rerun and
    its tuning files: the inputs of the chapters that are. Returns what was copied, relative
    to the results root (as records list their inputs)."""
    profile = reference.profile
    copied = []
    dest = results / profile
    dest.mkdir(parents=True, exist_ok=True)
    for name in reference.records:
        if name not in rerun:
            shutil.copyfile(reference.folder / f"{name}.json", dest / f"{name}.json")
            copied.append(f"{profile}/{name}.json")
    for rel in reference.files_of("tuning/"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reference.folder / rel, dest / rel)
        copied.append(f"{profile}/{rel}")
    return copied


def _threads_env(record: dict[str, Any] | None) -> str | None:
    return ((record or {}).get("provenance", {}).get("threads") or {}).get("OMP_NUM_THREADS")


def _execute(chapter: Any, profile: str, root: Path, scratch: Path,
             threads: str | None) -> float:
    """Execute one chapter into the scratch folder with the reference's OMP_NUM_THREADS."""
    from .reproduce import execute

    before = os.environ.get("OMP_NUM_THREADS")
    if threads is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    try:
        execute(chapter, profile, root, results=scratch / "results",
                notebooks=scratch / "notebooks")
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before
    return time.perf_counter() - t0


PROGRESS = "progress.json"


def scratch_dir(profile: str, root: Path) -> Path:
    """Where a verification executes chapters: ``build/<profile>/verify/``."""
    return root / "build" / profile / "verify"


def verification_path(profile: str, root: Path) -> Path:
    """Where a verification is written by default: ``build/<profile>/verification.json``."""
    return root / "build" / profile / "verification.json"


def _identity(reference: Any, reference_sha: str, names: set[str], commit: str | None,
              dirty: bool | None) -> dict[str, Any]:
    """What a verification's reruns depend on: the commit (of a clean checkout: local edits
    are not in it), the reference (its manifest's sha256: every file's checksum is in it)
    and the chapters executed."""
    return {"commit": commit, "dirty": dirty, "reference": reference_sha,
            "profile": reference.profile, "chapters": sorted(names)}


def _progress(scratch: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The progress of an interrupted verification with the same ``identity``, or None: no
    progress, a finished verification, another commit, reference or selection of chapters,
    or a chapter it lists as done whose rerun record is gone."""
    try:
        progress = json.loads((scratch / PROGRESS).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(progress, dict) or progress.get("identity") != identity \
            or progress.get("complete", True) or not isinstance(progress.get("done"), dict):
        return None
    records = scratch / "results" / identity["profile"]
    if not all((records / f"{name}.json").is_file() for name in progress["done"]):
        return None
    return progress


def _save_progress(scratch: Path, progress: dict[str, Any]) -> None:
    from .results import atomic_write_text

    atomic_write_text(scratch / PROGRESS, json.dumps(progress, indent=1))


def _noisy(entry: dict[str, Any] | None) -> bool:
    from .claims import NOISY_MACHINE, NOT_JUDGED

    return bool(entry) and entry.get("verdict") == NOT_JUDGED and \
        str(entry.get("reason", "")).startswith(NOISY_MACHINE)


def _claim_checks(ids: Sequence[str], chapters: dict[str, str], published: dict[str, Any],
                  rerun: dict[str, Any], diffs: list[Any]) -> list[ClaimCheck]:
    out = []
    for cid in ids:
        name = chapters[cid]
        old = next((c for c in published[name].get("claims", []) if c["id"] == cid), None)
        new = next((c for c in (rerun.get(name) or {}).get("claims", []) if c["id"] == cid),
                   None)
        check = ClaimCheck(cid, name, old["verdict"] if old else "absent",
                           new["verdict"] if new else "absent")
        mine = [d for d in diffs if d.chapter == name and cid in d.claims]
        for d in mine:
            if not d.compared:
                continue
            check.compared += 1
            if d.deviation is not None:
                check.numbers += 1
                if check.largest_deviation is None or d.deviation > check.largest_deviation:
                    check.largest_deviation, check.largest_key = d.deviation, d.key
            if not d.within and d.path != ("claims", cid, "verdict"):
                check.within = False
        if _noisy(old) or _noisy(new):
            # a timing block was disturbed: the rule's own verdict on those numbers is kept
            effective_old = old.get("rule_verdict") if _noisy(old) else check.published
            effective_new = new.get("rule_verdict") if _noisy(new) else check.rerun
            check.changed = effective_old != effective_new
            check.noisy_published = _noisy(old)
            check.not_judged_here = ("the published run" if _noisy(old) else "this rerun") + \
                " ran on a noisy machine: its rule's verdict is compared"
        else:
            check.changed = check.published != check.rerun
        out.append(check)
    return out


def inconclusive_line(n: int, inconclusive: Sequence[ClaimCheck]) -> str:
    """The closing line of a verification where nothing moved but timing claims went
    unjudged: on this machine (rerun on a quiet one) or in the published run (publish a rerun
    that judged them)."""
    here = [c.id for c in inconclusive if not c.noisy_published]
    there = [c.id for c in inconclusive if c.noisy_published]
    parts = []
    if here:
        parts.append(f"{', '.join(here)} could not be judged on this machine (disturbed "
                     "timings): rerun on a quiet machine")
    if there:
        parts.append(f"{', '.join(there)} went unjudged in the published run (disturbed "
                     "timings there): publish a rerun that judged them")
    return f"not confirmed: nothing moved ({n} values compared), but " + "; ".join(parts)


def claim_table(checks: Sequence[ClaimCheck]) -> list[str]:
    """The claim-by-claim table ``verify`` prints, a header and one line per claim; the verdict
    columns are as wide as the longest verdict, so that two never run together."""
    width = max([len("published"), *(len(v) for c in checks for v in (c.published, c.rerun))])
    width += 2
    lines = [f"{'claim':<7}{'chapter':<22}{'published':<{width}}{'rerun':<{width}}"
             f"{'compared':>9}{'largest deviation':>19}  within"]
    for c in checks:
        dev = "-" if c.largest_deviation is None else f"{c.largest_deviation:.3g}"
        flag = "yes" if c.within else "NO"
        if c.changed:
            flag += ", VERDICT CHANGED"
        if c.not_judged_here:
            flag += f" ({c.not_judged_here})"
        lines.append(f"{c.id:<7}{c.chapter:<22}{c.published:<{width}}{c.rerun:<{width}}"
                     f"{c.compared:>9}{dev:>19}  {flag}")
    return lines


def _outcome(report_ids: Sequence[str], where: dict[str, str], published: dict[str, Any],
             rerun: dict[str, Any], diffs: list[Any]
             ) -> tuple[list[ClaimCheck], list[Any], list[ClaimCheck], list[ClaimCheck], int]:
    """What the comparison concludes: the checks of ``report_ids``, the values that moved,
    the changed and the inconclusive claims, and the exit status. ``where`` maps every claim
    of the compared chapters to its chapter; a verdict that a noisy machine left unjudged
    while its rule's verdict stayed is inconclusive, not moved, whichever claim it is."""
    every = _claim_checks(list(where), where, published, rerun, diffs)
    unjudged = {("claims", c.id, "verdict") for c in every if c.not_judged_here and not c.changed}
    moved = [d for d in diffs if not d.within and
             not (d.path in unjudged and d.chapter == where.get(d.path[1]))]
    changed = [c for c in every if c.changed]
    inconclusive = [c for c in every if c.not_judged_here and not c.changed]
    code = EXIT_MOVED if moved or changed else EXIT_INCONCLUSIVE if inconclusive else 0
    return [c for c in every if c.id in report_ids], moved, changed, inconclusive, code


def _fmt(value: Any) -> str:
    from .tolerances import MISSING

    if value is MISSING:
        return "nothing"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def machine_warnings(there: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """What a reviewer should know before reading exact numbers of trained models as moved:
    the reference was built on another CPU (model name, generation or the vector instruction
    set of torch's kernels), or its manifest does not say enough to tell."""
    why = ("float32 training differs in the last bits between CPUs, and a trial pruned or kept "
           "on that difference can change a whole study: exact numbers of trained models may "
           "move")
    what = {"cpu_model": "model", "cpu_generation": "generation",
            "cpu_capability": "instruction set of torch's kernels"}
    differ = [f"{label} {there[key]!r} (here {here.get(key)!r})" for key, label in what.items()
              if there.get(key) and here.get(key) and there[key] != here[key]]
    if differ:
        return [f"the reference was built on another CPU: {', '.join(differ)}; {why}"]
    unknown = [what[k] for k in ("cpu_generation", "cpu_capability") if not there.get(k)]
    if unknown and there:
        return [f"the reference's manifest does not record its CPU's {' or '.join(unknown)}, "
                f"so whether this is the same kind of CPU cannot be told; if it is not, {why}"]
    return []


def verify(profile: str = "paper", only: str | None = None, claims: str | None = None, *,
           use_build: bool = False, fresh: bool = False,
           reference_folder: Path | None = None,
           out: Path | None = None, root: Path | None = None, log=print) -> dict[str, Any]:
    """Rerun and compare (see the module's docstring); returns the verification as written to
    ``out`` (default ``build/<profile>/verification.json``), with its ``exit_code``."""
    from . import reference as ref
    from .claims import CLAIMS
    from .config import available_profiles, project_root
    from .results import atomic_write_text, git_state
    from .safe_write import json_text
    from .stamps import chapters, record_path, select, stale_reason
    from .tolerances import compare_records

    root = root or project_root()
    if profile not in available_profiles():
        raise OptionError(f"--profile: unknown profile {profile!r}: expected one of "
                          f"{available_profiles()}")
    reference = ref.load(profile, root, reference_folder)
    ids = parse_claims(claims)
    where = claim_chapters(reference, ids)
    picked = select(only, root) if only else []
    wanted = {c.name for c in picked} | set(where.values())
    todo = [c for c in chapters(root) if c.name in wanted] if wanted else chapters(root)
    unknown = [c.name for c in todo if c.name not in reference.records]
    if unknown:
        raise ReferenceFolderError(f"the {profile!r} reference has no record of "
                                   f"{', '.join(unknown)}: publish it again")
    names = {c.name for c in todo}
    commit, dirty = git_state(root)
    lock = root / "requirements.lock"
    lock_sha = ref.sha256(lock) if lock.is_file() else None
    here = ref.machine()
    reference_sha = ref.sha256(reference.folder / ref.MANIFEST)
    warnings = []
    if lock_sha != reference.manifest.get("lock_sha256"):
        warnings.append("the lock file differs from the one the reference was built with: "
                        "the environment is not the published one")
    warnings.extend(machine_warnings(reference.manifest.get("machine", {}), here))
    outdated = {name: entry["outdated"] for name, entry in
                reference.manifest.get("chapters", {}).items() if entry.get("outdated")}
    if outdated:
        warnings.append(
            "the reference is being updated in stages: "
            + "; ".join(f"{name} is outdated (since {str(o.get('since'))[:12]}, it reads "
                        f"{', '.join(o.get('because', []))})" for name, o in outdated.items())
            + ". Their published values are not what the current inputs give: executed "
              "again, they move")
    log(f"verify: profile {profile} against {ref._rel(reference.folder, root)} (commit "
        f"{str(reference.manifest.get('commit'))[:12]}, published "
        f"{reference.manifest.get('published_utc')}); this checkout: {str(commit)[:12]}"
        f"{' with local edits' if dirty else ''}", flush=True)
    for w in warnings:
        log(f"  warning: {w}", flush=True)

    checks: dict[str, ChapterCheck] = {}
    rerun: dict[str, dict[str, Any]] = {}
    resumed: list[str] = []  # chapters re-executed by the interrupted run this one resumes
    scratch = scratch_dir(profile, root)
    if use_build:
        reasons = {c.name: stale_reason(c, profile, root) for c in todo}
        stale = [f"{name} ({why})" for name, why in reasons.items() if why is not None]
        if stale:
            raise ReferenceFolderError(
                f"--use-build: the {profile!r} build is not up to date with this checkout: "
                f"{'; '.join(stale)}. Run: cancer-alpha reproduce --profile {profile}")
        for c in todo:
            rerun[c.name] = json.loads(record_path(c, profile, root).read_text())
            checks[c.name] = ChapterCheck(c.name, FROM_BUILD)
        log(f"  {len(todo)} chapter(s) {FROM_BUILD} (results/{profile}/), executed from this "
            "checkout; not executed again", flush=True)
    else:
        identity = _identity(reference, reference_sha, names, commit, dirty)
        progress = None if fresh or dirty is not False else _progress(scratch, identity)
        if progress is None:
            shutil.rmtree(scratch, ignore_errors=True)
            progress = {"identity": identity, "complete": False,
                        "copied": _copy_inputs(reference, names, scratch / "results"),
                        "done": {}}
            _save_progress(scratch, progress)
        else:
            resumed = [c.name for c in todo if c.name in progress["done"]]
            log(f"  resuming an interrupted verification of this commit against this "
                f"reference: {len(progress['done'])} chapter(s) it re-executed are not "
                "executed again (--fresh starts over)", flush=True)
        for i, c in enumerate(todo, 1):
            done = progress["done"].get(c.name)
            if done is None:
                log(f"[{i}/{len(todo)}] {c.name} (profile {profile}): re-executing in "
                    f"{ref._rel(scratch, root)} ...", flush=True)
                seconds = _execute(c, profile, root, scratch,
                                   _threads_env(reference.records.get(c.name)))
            record = json.loads((scratch / "results" / profile / f"{c.name}.json").read_text())
            rerun[c.name] = record
            copied = progress["copied"]
            used = sorted(k for k in record.get("provenance", {}).get("inputs", {})
                          if k in copied)
            if done is None:
                # what it wrote (the tuning chapter's settings) no longer comes from the
                # reference
                progress["copied"] = [k for k in copied if k not in {
                    f"{profile}/{o}" for o in record.get("provenance", {}).get("outputs", [])}]
                done = progress["done"][c.name] = {"seconds": round(seconds, 1), "used": used}
                _save_progress(scratch, progress)
                log(f"      done in {seconds:.1f} s"
                    + (f"; inputs from the reference: {', '.join(used)}" if used else ""),
                    flush=True)
            else:
                log(f"[{i}/{len(todo)}] {c.name}: re-executed earlier in this verification "
                    f"({done['seconds']:.1f} s)", flush=True)
            checks[c.name] = ChapterCheck(c.name, RE_EXECUTED, done["seconds"], done["used"])

    diffs = []
    for name in names:
        found = compare_records(name, reference.records[name], rerun[name])
        diffs.extend(found)
        check = checks[name]
        for d in found:
            if d.compared:
                check.compared += 1
                if d.deviation is not None:
                    check.numbers += 1
                    if check.largest_deviation is None or \
                            d.deviation > check.largest_deviation:
                        check.largest_deviation, check.largest_key = d.deviation, d.key
    held = [c["id"] for n in names for c in reference.records[n].get("claims", [])]
    report_ids = ids or sorted(set(held))
    # every claim of a compared chapter is checked, not only those asked for: a noisy
    # machine's "not judged" of another claim of the same chapter is no moved verdict either
    where = claim_chapters(reference, list(dict.fromkeys([*report_ids, *held])))
    claim_checks, moved, changed, inconclusive, code = _outcome(
        report_ids, where, reference.records, rerun, diffs)
    for d in moved:
        checks[d.chapter].moved.append(d.key)

    log("")
    log(f"{'chapter':<22}{'status':<32}{'compared':>9}{'moved':>7}  largest deviation")
    for c in (checks[c.name] for c in todo):
        dev = "-" if c.largest_deviation is None else f"{c.largest_deviation:.3g}" + (
            f" ({c.largest_key.split(':', 1)[1]})" if c.largest_deviation else "")
        log(f"{c.name:<22}{c.status:<32}{c.compared:>9}{len(c.moved):>7}  {dev}")
    log("")
    for line in claim_table(claim_checks):
        log(line)
    if moved:
        log("")
        log(f"moved ({len(moved)}):")
        for d in moved:
            why = d.problem if not d.problem.startswith("outside") else \
                f"{d.tolerance}" + (f", deviation {d.deviation:.3g}" if d.deviation else "")
            log(f"  {d.key}: published {_fmt(d.published)}, rerun {_fmt(d.rerun)} [{why}]")
    n = sum(c.compared for c in checks.values())
    log("")
    if code == 0:
        log(f"verified: no verdict changed; {n} values compared, every one within its "
            "tolerance")
    elif code == EXIT_INCONCLUSIVE:
        log(inconclusive_line(n, inconclusive))
    else:
        log(f"FAILED: {len(moved)} value(s) moved, {len(changed)} verdict(s) changed: "
            + ", ".join([d.key for d in moved][:20] + [f"{c.id} verdict" for c in changed]))

    result = {
        "profile": profile,
        "reference": ref._rel(reference.folder, root),
        "reference_commit": reference.manifest.get("commit"),
        "reference_published_utc": reference.manifest.get("published_utc"),
        "reference_sha256": reference_sha,
        "commit": commit, "dirty": dirty,
        "lock_matches": lock_sha == reference.manifest.get("lock_sha256"),
        "machine": here, "warnings": warnings,
        "selection": {"only": only, "claims": ids, "use_build": use_build},
        "chapters": [asdict(checks[c.name]) for c in todo],
        "from_reference": sorted(set(reference.records) - names) if not use_build else [],
        "outdated_in_reference": outdated,
        "resumed": resumed,
        "claims": [asdict(c) for c in claim_checks],
        "moved": [{"key": d.key, "kind": d.kind, "tolerance": d.tolerance, "problem": d.problem,
                   "published": d.published, "rerun": d.rerun, "deviation": d.deviation,
                   "reason": d.reason} for d in moved],
        "values_compared": n,
        "kinds": {k: sum(1 for d in diffs if d.kind == k) for k in
                  ("exact", "stochastic", "machine-dependent", "not compared", "undeclared")},
        "exit_code": code,
        "claim_ids": list(CLAIMS),
    }
    target = out or verification_path(profile, root)
    atomic_write_text(target, json_text(result, indent=1, convert=False, default=str))
    if not use_build:  # a finished verification is not resumed: the next one starts over
        progress["complete"] = True
        _save_progress(scratch, progress)
    log(f"written to {ref._rel(target, root)} (exit {code})")
    return result
