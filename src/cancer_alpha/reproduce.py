"""The one pipeline of the book: jupytext -> papermill (a profile as parameters) -> Jupyter Book.

Executed notebooks and the staged book live in ``build/<profile>/book/`` so that books of
different profiles never overwrite each other; run records go to ``results/<profile>/``.

A chapter is executed again only when something it depends on changed. After a successful
execution a stamp (``build/<profile>/stamps/<chapter>.json``) keeps the sha256 of everything the
chapter depends on: its notebook source, the profile file, the package modules it used, the
lock file and project file, and the result files the chapter read while it ran (listed in its
run record, e.g. Chapter 7 reads Chapter 4's record). The modules it used are those its run
record lists as imported while it ran, with the modules these import inside functions (what
worker processes run; :func:`module_closure`), and the data files (the figure style) of the
package folders among them: a change to a module that a chapter never imported reruns
nothing; a change to the modules that only draw (``plots/``) redraws the chapter's figures
from their saved calls without executing it (:mod:`cancer_alpha.redraw`). The next build
compares hashes, not times, so a checkout or a copy that changes no content reruns nothing.
A chapter that failed or was interrupted has no stamp and always reruns. The claims audit
reruns whenever any chapter did. This is a small explicit content hash rather than
jupyter-cache or Snakemake: jupyter-cache keys on a notebook's code cells alone and would miss
a change to the package, the profile or the records a chapter reads; a workflow engine would
add a dependency and a second way to run the book for what fits in a page here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import errors
from .config import available_profiles, project_root
from .errors import ChapterInputError
from .redraw import RedrawError, redraw
from .stamps import (
    Chapter,
    chapters,
    fingerprint,
    read_status,
    select,
    stage_dir,
    staleness,
    stamp_path,
    write_stamp,
    write_status,
)

# what a chapter raises when its inputs are at fault: the package's own errors (every
# CancerAlphaError) and a file not found (real data outside the data home, say)
INPUT_ERRORS = frozenset({"FileNotFoundError", *(
    name for name, cls in vars(errors).items()
    if isinstance(cls, type) and issubclass(cls, errors.CancerAlphaError))})

HIDDEN_TAGS = ("parameters", "injected-parameters")
AUDIT_SUFFIX = "claims_audit"  # re-executed whenever a book is built: it reads every chapter


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


def execute(chapter: Chapter, profile: str, root: Path, *, results: Path | None = None,
            notebooks: Path | None = None) -> Path:
    """Execute one chapter at one profile; the executed notebook appears only on success.
    ``results`` is the results folder it reads and writes (default ``results/``),
    ``notebooks`` the folder of the executed notebook (default the staged book's)."""
    import jupytext
    import papermill

    # the profile by name: the notebook loads it (and any overrides) itself
    params = {"profile": profile, "results_dir": str(results or root / "results")}
    out = (notebooks or stage_dir(profile, root) / "notebooks") / f"{chapter.name}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    failed_dir = (notebooks.parent if notebooks else root / "build" / profile) / "failed"
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
            # an input the reader can fix (the package's own errors, a missing file) is said
            # as such; anything else is a defect of the chapter
            error = ChapterInputError if exc.ename in INPUT_ERRORS else RuntimeError
            raise error(
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
    from .reproducibility import write as write_reproducibility_page

    write_reproducibility_page(profile, root, stage)  # from the records, built, not typed
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
    """Delete the executed notebooks, stamps and status entries of chapters that no longer
    exist (renamed or removed sources), so that neither the book nor notebook validation picks
    them up."""
    names = {c.name for c in chapters(root)}
    stale = [p for folder in (stage_dir(profile, root) / "notebooks",
                              root / "build" / profile / "stamps")
             if folder.is_dir() for p in sorted(folder.iterdir())
             if p.suffix in (".ipynb", ".json") and p.stem not in names]
    for p in stale:
        p.unlink()
    status = read_status(profile, root)
    if status.keys() - names:
        write_status(profile, root, {k: v for k, v in status.items() if k in names})
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
    status = read_status(profile, root)
    for i, chapter in enumerate(todo, 1):
        head = f"[{i}/{len(todo)}] {chapter.name} (profile {profile})"
        drawing = []
        if force:
            reason = "forced"
        elif chapter.name.endswith(AUDIT_SUFFIX) and executed:
            reason = "a chapter before it was executed"
        else:
            reason, drawing = staleness(chapter, profile, root)
        if reason is None:
            log(f"{head}: up to date", flush=True)
            status[chapter.name] = {"status": "up to date", "reason": ""}
            continue
        if drawing:
            why = f"only drawing changed: {', '.join(drawing)}"
            before, t0 = fingerprint(chapter, profile, root), time.perf_counter()
            try:
                n = redraw(chapter.name, profile, root)
            except RedrawError as exc:
                reason = f"{reason}; its figures cannot be redrawn: {exc}"
            else:
                write_stamp(chapter, profile, root, before)
                seconds = round(time.perf_counter() - t0, 1)
                status[chapter.name] = {"status": "redrawn", "reason": why, "seconds": seconds}
                write_status(profile, root, status)
                log(f"{head}: {n} figure(s) redrawn in {seconds:.1f} s, not executed ({why})",
                    flush=True)
                continue
        log(f"{head}: executing ({reason}) ...", flush=True)
        before = fingerprint(chapter, profile, root)
        stamp_path(chapter, profile, root).unlink(missing_ok=True)
        status.pop(chapter.name, None)
        t0 = time.perf_counter()
        path = execute(chapter, profile, root)
        write_stamp(chapter, profile, root, before)
        executed += 1
        status[chapter.name] = {"status": "executed", "reason": reason,
                                "seconds": round(time.perf_counter() - t0, 1)}
        write_status(profile, root, status)
        log(f"      done in {time.perf_counter() - t0:.1f} s -> {path.relative_to(root)}",
            flush=True)
    write_status(profile, root, status)
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
