"""The one pipeline of the book: jupytext -> papermill (a profile as parameters) -> Jupyter Book.

Executed notebooks and the staged book live in ``build/<profile>/book/`` so that books of
different profiles never overwrite each other; run records go to ``results/<profile>/``.

A chapter is executed again only when something it depends on changed. After a successful
execution a stamp (``build/<profile>/stamps/<chapter>.json``) keeps the sha256 of everything the
chapter depends on: its notebook source, the profile file, every file of the package, the lock
file and project file, and the result files the chapter read while it ran (listed in its run
record, e.g. Chapter 6 reads Chapter 4's record). The next build compares hashes, not times,
so a checkout or a copy that changes no content reruns nothing. A chapter that failed or was
interrupted has no stamp and always reruns. The claims audit reruns whenever any chapter did.
This is a small explicit content hash rather than jupyter-cache or Snakemake: jupyter-cache
keys on a notebook's code cells alone and would miss a change to the package, the profile or
the records a chapter reads; a workflow engine would add a dependency and a second way to run
the book for what fits in a page here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .config import available_profiles, profile_path, project_root

HIDDEN_TAGS = ("parameters", "injected-parameters")
AUDIT_SUFFIX = "claims_audit"  # re-executed whenever a book is built: it reads every chapter


@dataclass(frozen=True)
class Chapter:
    """One notebook source: ``notebooks/NN_name.py``."""

    number: str
    name: str  # NN_name
    source: Path


def chapters(root: Path | None = None) -> list[Chapter]:
    """The chapters, in order, found in ``notebooks/``."""
    root = root or project_root()
    found = []
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        found.append(Chapter(path.stem[:2], path.stem, path))
    return found


def select(only: str | None, root: Path | None = None) -> list[Chapter]:
    """Chapters named by ``--only`` ("01,03" or full names), or all of them."""
    every = chapters(root)
    if only is None:
        return every
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    if not wanted:
        valid = ", ".join(c.number for c in every)
        raise ValueError(f"--only {only!r} names no chapter: expected chapter numbers or names "
                         f"separated by commas, e.g. 01,03 (chapters: {valid}), or no --only "
                         "for all of them")
    picked = []
    for w in wanted:
        match = [c for c in every if w in (c.number, c.name)]
        if not match:
            valid = ", ".join(f"{c.number} ({c.name})" for c in every)
            raise ValueError(f"unknown notebook {w!r}: expected one of {valid}")
        picked.extend(m for m in match if m not in picked)
    return sorted(picked, key=lambda c: c.number)


def stage_dir(profile: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "build" / profile / "book"


def _stage_sources(profile: str, root: Path) -> Path:
    """Copy the book's static sources next to the executed notebooks of this profile."""
    stage = stage_dir(profile, root)
    (stage / "notebooks").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(stage / "book", ignore_errors=True)
    shutil.copytree(root / "book", stage / "book")
    shutil.rmtree(stage / "profiles", ignore_errors=True)
    shutil.copytree(root / "profiles", stage / "profiles")  # shown on the Reproduce page
    shutil.copy2(root / "_toc.yml", stage / "_toc.yml")
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())
    config["title"] = f"{config.get('title', 'Cancer Alpha')} (profile: {profile})"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return stage


def _hide_parameter_cells(path: Path) -> None:
    """Tag parameter cells ``remove-cell`` so the book shows the argument, not the plumbing."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if any(t in tags for t in HIDDEN_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


PACKAGE_SUFFIXES = (".py", ".mplstyle")
ENVIRONMENT_FILES = ("requirements.lock", "pyproject.toml")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(chapter: Chapter, profile: str, root: Path) -> dict[str, dict[str, str]]:
    """The sha256 of each file a chapter depends on before it runs, by kind of input."""
    package = root / "src" / "cancer_alpha"
    return {
        "notebook": {chapter.source.relative_to(root).as_posix(): _sha256(chapter.source)},
        "profile": {profile_path(profile).relative_to(root).as_posix():
                    _sha256(profile_path(profile))},
        "package": {p.relative_to(root).as_posix(): _sha256(p)
                    for p in sorted(package.rglob("*"))
                    if p.suffix in PACKAGE_SUFFIXES and "__pycache__" not in p.parts},
        "environment": {name: _sha256(root / name) for name in ENVIRONMENT_FILES
                        if (root / name).is_file()},
    }


def stamp_path(chapter: Chapter, profile: str, root: Path) -> Path:
    return root / "build" / profile / "stamps" / f"{chapter.name}.json"


def _record_path(chapter: Chapter, profile: str, root: Path) -> Path:
    return root / "results" / profile / f"{chapter.name}.json"


def _changed(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def _preview(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


def stale_reason(chapter: Chapter, profile: str, root: Path) -> str | None:
    """Why ``chapter`` must be executed again at ``profile``, or None when it is up to date."""
    import json

    stamp = stamp_path(chapter, profile, root)
    if not stamp.is_file():
        return "never executed, or its last execution did not finish"
    executed = stage_dir(profile, root) / "notebooks" / f"{chapter.name}.ipynb"
    record = _record_path(chapter, profile, root)
    if not executed.is_file() or not record.is_file():
        return "its executed notebook or run record is missing"
    try:
        saved = json.loads(stamp.read_text())
        before, inputs = saved["fingerprint"], saved["inputs"]
    except (ValueError, KeyError, TypeError):
        return f"its stamp {stamp.relative_to(root)} is unreadable"
    now = fingerprint(chapter, profile, root)
    labels = {"notebook": "its notebook changed", "profile": "the profile file changed",
              "package": "the package changed", "environment": "the pinned environment changed"}
    for kind, label in labels.items():
        changed = _changed(before.get(kind, {}), now[kind])
        if changed:
            return label if kind in ("notebook", "profile") else f"{label}: {_preview(changed)}"
    results = root / "results"
    changed = [name for name, sha in inputs.items()
               if not (results / name).is_file() or _sha256(results / name) != sha]
    if changed:
        return f"results it reads changed: {_preview(changed)}"
    return None


def write_stamp(chapter: Chapter, profile: str, root: Path,
                before: dict[str, dict[str, str]]) -> None:
    """Record what a successful execution depended on (``before``: its fingerprint when it
    started, so that an edit made while it ran is seen next time)."""
    import json

    from .results import atomic_write_text

    path = _record_path(chapter, profile, root)
    if not path.is_file():
        raise RuntimeError(f"{chapter.name} ran but wrote no run record {path.relative_to(root)}:"
                           f" its results.Run must be named {chapter.name!r}, after the notebook")
    record = json.loads(path.read_text())
    inputs = record.get("provenance", {}).get("inputs", {})
    atomic_write_text(stamp_path(chapter, profile, root),
                      json.dumps({"fingerprint": before, "inputs": inputs}, indent=1) + "\n")


def execute(chapter: Chapter, profile: str, root: Path) -> Path:
    """Execute one chapter at one profile; the executed notebook appears only on success."""
    import jupytext
    import papermill

    # the profile by name: the notebook loads it (and any per-section overrides) itself
    params = {"profile": profile, "results_dir": str(root / "results")}
    out = stage_dir(profile, root) / "notebooks" / f"{chapter.name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    failed_dir = root / "build" / profile / "failed"
    with tempfile.TemporaryDirectory(prefix="cancer-alpha-") as tmp:
        src = Path(tmp) / f"{chapter.name}.ipynb"
        nb = jupytext.read(chapter.source)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        jupytext.write(nb, src)
        executed = Path(tmp) / f"{chapter.name}.executed.ipynb"
        try:
            papermill.execute_notebook(
                str(src), str(executed), parameters=params, cwd=str(root),
                # a cell-by-cell progress bar when a person is watching, none in CI logs
                kernel_name="python3", progress_bar=sys.stderr.isatty(), log_output=False,
                request_save_on_cell_execute=False,
            )
        except papermill.PapermillExecutionError as exc:
            failed_dir.mkdir(parents=True, exist_ok=True)
            kept = failed_dir / out.name
            shutil.copy2(executed, kept)
            raise RuntimeError(
                f"{chapter.name} failed at profile {profile!r}, cell {exc.exec_count}: "
                f"{exc.ename}: {exc.evalue}\n  the partly executed notebook is {kept}"
            ) from None
        _hide_parameter_cells(executed)
        shutil.move(executed, out)
    return out


def build_book(profile: str, root: Path) -> Path:
    """Render the staged book with ``jupyter-book build -W``; returns index.html."""
    stage = _stage_sources(profile, root)
    missing = [c.name for c in chapters(root)
               if not (stage / "notebooks" / f"{c.name}.ipynb").is_file()]
    if missing:
        raise RuntimeError(
            f"cannot build the {profile!r} book: not yet executed: {', '.join(missing)} "
            f"(run: cancer-alpha reproduce --profile {profile})"
        )
    # every page is rebuilt (--all); pages of renamed or removed chapters must not linger
    shutil.rmtree(stage / "_build" / "html", ignore_errors=True)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", "-W", "--keep-going",
           "--all", str(stage)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed for profile {profile!r}:\n{tail}")
    return stage / "_build" / "html" / "index.html"


def _forget_removed_chapters(profile: str, root: Path) -> list[Path]:
    """Delete the executed notebooks and stamps of chapters that no longer exist (renamed or
    removed sources), so that neither the book nor notebook validation picks them up."""
    names = {c.name for c in chapters(root)}
    stale = [p for folder in (stage_dir(profile, root) / "notebooks",
                              root / "build" / profile / "stamps")
             if folder.is_dir() for p in sorted(folder.iterdir())
             if p.suffix in (".ipynb", ".json") and p.stem not in names]
    for p in stale:
        p.unlink()
    return stale


def reproduce(profile: str, only: str | None = None, book: bool = False,
              execute_notebooks: bool = True, force: bool = False, log=print) -> Path | None:
    """Execute the selected chapters at ``profile`` that are out of date (all of them with
    ``force``), and optionally build the book."""
    root = project_root()
    if profile not in available_profiles():
        raise ValueError(f"unknown profile {profile!r}: expected one of {available_profiles()}")
    todo = select(only, root) if execute_notebooks else []
    if book and execute_notebooks:
        todo += [c for c in chapters(root) if c.name.endswith(AUDIT_SUFFIX) and c not in todo]
    os.environ.pop("MPLBACKEND", None)  # an inherited Agg backend hides figures in notebooks
    for stale in _forget_removed_chapters(profile, root):
        log(f"removed {stale.relative_to(root)}: no chapter of that name any more", flush=True)
    total = time.perf_counter()
    executed = 0
    for i, chapter in enumerate(todo, 1):
        head = f"[{i}/{len(todo)}] {chapter.name} (profile {profile})"
        if force:
            reason = "forced"
        elif chapter.name.endswith(AUDIT_SUFFIX) and executed:
            reason = "a chapter before it was executed"
        else:
            reason = stale_reason(chapter, profile, root)
        if reason is None:
            log(f"{head}: up to date", flush=True)
            continue
        log(f"{head}: executing ({reason}) ...", flush=True)
        before = fingerprint(chapter, profile, root)
        stamp_path(chapter, profile, root).unlink(missing_ok=True)
        t0 = time.perf_counter()
        path = execute(chapter, profile, root)
        write_stamp(chapter, profile, root, before)
        executed += 1
        log(f"      done in {time.perf_counter() - t0:.1f} s -> {path.relative_to(root)}",
            flush=True)
    index = None
    if book:
        log(f"building the {profile!r} book with jupyter-book ...", flush=True)
        t0 = time.perf_counter()
        index = build_book(profile, root)
        log(f"      done in {time.perf_counter() - t0:.1f} s", flush=True)
        log(f"book: {index}")
    log(f"total {time.perf_counter() - total:.1f} s ({executed} of {len(todo)} chapters "
        "executed)")
    return index
