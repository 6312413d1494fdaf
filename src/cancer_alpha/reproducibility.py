"""The book's reproducibility page, generated when the book is rendered.

It is written from the run records of the profile being rendered (as a manifest:
:func:`cancer_alpha.reference.build_manifest`), the status of the last build, the published
reference of that profile and the last verification against it
(``build/<profile>/verification.json``). Nothing on it is typed by hand: every number comes
from those files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAGE = "book/reproducibility.md"


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _short(text: Any, n: int = 12) -> str:
    return f"`{str(text)[:n]}`" if text else "unknown"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ") if text not in (None, "") else "—"


def _load_verification(profile: str, root: Path) -> dict[str, Any] | None:
    from .verify import verification_path

    path = verification_path(profile, root)
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if found.get("profile") == profile else None


def _files(names: list[str], profile: str) -> str:
    """Result files in short words: 'records of 01, 04', 'tuned settings (synthetic)'."""
    names = [n.removeprefix(f"{profile}/") for n in names]
    records = [n[:2] for n in names if n[:2].isdigit() and "/" not in n]
    tuned = [Path(n).stem for n in names if n.startswith("tuning/")]
    others = [n for n in names if n[:2] not in records and not n.startswith("tuning/")]
    parts = ([f"record{'s' if len(records) > 1 else ''} of {', '.join(records)}"]
             if records else []) + ([f"tuned settings ({', '.join(tuned)})"] if tuned else [])
    return ", ".join(parts + others)


def _chapters(manifest: dict[str, Any], profile: str) -> list[str]:
    from .tables import plural

    lines = ["| chapter | status | wall time | results read | wrote |", "|---|---|---|---|---|"]
    for name, c in manifest["chapters"].items():
        written = _files([w for w in c["writes"][1:] if not w.startswith("figures/")], profile)
        wrote = ["record"] + ([written] if written else [])
        figures = sum(1 for w in c["writes"] if w.startswith("figures/") and
                      w.endswith(".png"))
        if figures:
            wrote.append(plural(figures, "figure"))
        status = c["status"]
        if c.get("outdated"):  # published in stages: awaits execution from the current inputs
            o = c["outdated"]
            why = o.get("reason", "it read files that changed or are outdated")
            status += (f"; outdated since commit {str(o.get('since'))[:12]} ({why}: "
                       f"{_files(o.get('because', []), profile)})")
        lines.append(f"| {name} | {_cell(status)} | {_seconds(c['wall_seconds'])} | "
                     f"{_cell(_files(c['reads'], profile))} | {_cell(', '.join(wrote))} |")
    return lines


def _load(manifest: dict[str, Any]) -> list[str]:
    lines = ["| chapter | load at its start | load at its end |", "|---|---|---|"]
    for name, c in manifest["chapters"].items():
        load = c.get("load_average") or {}
        lines.append(f"| {name} | {_cell(load.get('start'))} | {_cell(load.get('end'))} |")
    return lines


def _verification(found: dict[str, Any] | None, profile: str) -> list[str]:
    if found is None:
        return [f"No verification of this build has been run. `cancer-alpha verify --profile "
                f"{profile}` reruns the chapters and compares them with the published "
                f"reference (`reference/{profile}/`).", ""]
    code = found.get("exit_code")
    result = {0: "passed: no verdict changed and every compared value is within its "
                 "tolerance",
              1: "FAILED: values moved or verdicts changed",
              3: "not confirmed: nothing moved, but a timing claim could not be judged on a "
                 "busy machine"}.get(code, f"exit status {code}")
    how = ("compared the records of this build, executed from this checkout"
           if found.get("selection", {}).get("use_build")
           else "executed the chapters again in a scratch folder")
    lines = [f"The last verification ran at commit {_short(found.get('commit'))} against the "
             f"reference published from commit {_short(found.get('reference_commit'))} "
             f"({found.get('reference_published_utc')}); it {how}. Result: **{result}**, "
             f"{found.get('values_compared')} values compared.", ""]
    kinds = found.get("kinds", {})
    if kinds:
        lines += ["Values by kind of tolerance: " + ", ".join(
            f"{k} {v}" for k, v in kinds.items() if v) + ".", ""]
    lines += ["| claim | chapter | published verdict | rerun verdict | compared | "
              "largest deviation | within tolerance |", "|---|---|---|---|---|---|---|"]
    for c in found.get("claims", []):
        dev = c.get("largest_deviation")
        within = "yes" if c.get("within") else "no"
        if c.get("changed"):
            within += ", verdict changed"
        if c.get("not_judged_here"):
            within += f" ({c['not_judged_here']})"
        lines.append(f"| {c['id']} | {c['chapter']} | {c['published']} | {c['rerun']} | "
                     f"{c['compared']} | {'—' if dev is None else f'{dev:.3g}'} | {within} |")
    moved = found.get("moved", [])
    if moved:
        lines += ["", f"Values that moved ({len(moved)}):", ""]
        lines += [f"- `{m['key']}`: published {_cell(m['published'])}, rerun "
                  f"{_cell(m['rerun'])} ({m['problem']})" for m in moved[:30]]
    return lines + [""]


def _origin(published: dict) -> str:
    """Which commits built a published reference: one, or, after ``publish
    --from-verification``, the chapters that a verification executed again at a later one."""
    updated = published.get("updated")
    if not updated:
        return f"commit {_short(published.get('commit'))}"
    commits = sorted({_short(c.get("commit")) for n, c in published["chapters"].items()
                      if n not in updated["chapters"]})
    return (f"commit{'s' if len(commits) > 1 else ''} {', '.join(commits)}, with "
            f"{', '.join(updated['chapters'])} executed again at commit "
            f"{_short(published.get('commit'))} by a verification and published from it "
            "(`publish --from-verification`; each chapter's commit is in the manifest)")


def page(profile: str, root: Path) -> str:
    """The page's MyST Markdown for the book of ``profile``."""
    from .reference import _records, build_manifest, reference_dir

    records = _records(profile, root, require_current=False)
    manifest = build_manifest(profile, root, records)
    m = manifest["machine"]
    dirty = " with local edits" if manifest["dirty"] else ""
    lines = [
        "# Reproducibility", "",
        f"This book was rendered at the **{profile}** profile from commit "
        f"{_short(manifest['commit'], 40)}{dirty}. Every chapter's run record "
        f"(`results/{profile}/<chapter>.json`) names the commit it ran at, its seeds, its "
        "settings and the package versions; the table below is read from them.", "",
        "## Chapters", "",
        "Status is that of the last build: *executed* (and why), *redrawn* (only the drawing "
        "of its figures changed: they were drawn again from the data they were drawn from, "
        "and the chapter was not executed) or *up to date* (its inputs "
        "had not changed since it last ran). Wall time is the chapter's own, from its first "
        "cell to its record. Each figure is saved as an image and as the data it shows "
        f"(`results/{profile}/figures/`).", "",
        *_chapters(manifest, profile), "",
        "## Environment", "",
        f"The lock file `requirements.lock` has sha256 {_short(manifest['lock_sha256'], 16)}. "
        "Main versions:", "",
        "| package | version |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in manifest["versions"].items()], "",
        "## Machine", "",
        f"{m['cpu_model']}, {m['cores']} cores ({m['platform']}). The machine's one-minute "
        "load average when each chapter started and ended (above the number of cores, other "
        "work was sharing the machine):", "",
        *_load(manifest), "",
    ]
    quiet = m["quietness"]
    if quiet:
        lines += ["Quietness checks of the timed blocks (a disturbed block's claim is not "
                  "judged):", "", "| chapter | block | disturbed | why |", "|---|---|---|---|"]
        lines += [f"| {q['chapter']} | {_cell(q['block'])} | "
                  f"{'yes' if q['disturbed'] else 'no'} | {_cell(q['reason'])} |" for q in quiet]
        lines.append("")
    ref = reference_dir(profile, root) / "manifest.json"
    lines += ["## Verification against the published reference", ""]
    if ref.is_file():
        published = json.loads(ref.read_text())
        lines += [f"The published reference of this profile, `reference/{profile}/`, holds "
                  f"the run records, tuned settings and figure data of the book built from "
                  f"{_origin(published)} on {published['machine']['cpu_model']}"
                  f" ({published['machine']['cores']} cores), with a checksum of every file.",
                  ""]
    else:
        lines += [f"This profile has no published reference yet: after `make book "
                  f"PROFILE={profile}`, `cancer-alpha publish --profile {profile}` writes it.",
                  ""]
    lines += _verification(_load_verification(profile, root), profile)
    lines += [
        "## Checking one claim yourself", "",
        "From a fresh clone, one command reruns the chapter that holds a claim's evidence, "
        "taking the chapters before it from the published reference, and compares every "
        "number with its declared tolerance:", "",
        "```bash",
        f"make .venv/.installed && .venv/bin/cancer-alpha verify --profile {profile} "
        "--claims C12",
        "```", "",
        "`--only 04` names chapters instead, and no option checks everything. It prints, "
        "claim by claim, the published and the rerun verdict, the values compared, the "
        "largest deviation and whether each is within its tolerance, writes the same to "
        f"`build/{profile}/verification.json`, and exits with status 0 only when no verdict "
        "changed and every value is within its tolerance; otherwise it names each key that "
        "moved. The kind of every value (exact, stochastic within a stated tolerance, "
        "machine-dependent and compared by its claim's verdict only, or not compared) is "
        "declared with its reason in `cancer_alpha.tolerances`.", "",
    ]
    return "\n".join(lines)


def write(profile: str, root: Path, stage: Path) -> Path:
    """Write the page into the staged book."""
    path = stage / PAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(profile, root))
    return path
