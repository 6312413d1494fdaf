"""The one pipeline of the book: jupytext -> papermill (a profile as parameters) -> Jupyter Book.

Executed notebooks and the staged book live in ``build/<profile>/book/`` so that books of
different profiles never overwrite each other; run records go to ``results/<profile>/``.
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

from .config import available_profiles, profile_path, project_root, read_profile_file

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
    if not only:
        return every
    wanted = [w.strip() for w in only.split(",") if w.strip()]
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


def execute(chapter: Chapter, profile: str, root: Path) -> Path:
    """Execute one chapter at one profile; the executed notebook appears only on success."""
    import jupytext
    import papermill

    params = read_profile_file(profile_path(profile))
    params["profile"] = profile
    params["results_dir"] = str(root / "results")
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
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", "-W", "--keep-going",
           "--all", str(stage)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed for profile {profile!r}:\n{tail}")
    return stage / "_build" / "html" / "index.html"


def reproduce(profile: str, only: str | None = None, book: bool = False,
              execute_notebooks: bool = True, log=print) -> Path | None:
    """Execute the selected chapters at ``profile`` and optionally build the book."""
    root = project_root()
    if profile not in available_profiles():
        raise ValueError(f"unknown profile {profile!r}: expected one of {available_profiles()}")
    todo = select(only, root) if execute_notebooks else []
    if book and execute_notebooks:
        todo += [c for c in chapters(root) if c.name.endswith(AUDIT_SUFFIX) and c not in todo]
    os.environ.pop("MPLBACKEND", None)  # an inherited Agg backend hides figures in notebooks
    total = time.perf_counter()
    for i, chapter in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {chapter.name} (profile {profile}) ...", flush=True)
        t0 = time.perf_counter()
        path = execute(chapter, profile, root)
        log(f"      done in {time.perf_counter() - t0:.1f} s -> {path.relative_to(root)}",
            flush=True)
    index = None
    if book:
        log(f"building the {profile!r} book with jupyter-book ...", flush=True)
        t0 = time.perf_counter()
        index = build_book(profile, root)
        log(f"      done in {time.perf_counter() - t0:.1f} s", flush=True)
        log(f"book: {index}")
    log(f"total {time.perf_counter() - total:.1f} s")
    return index
