"""The one pipeline of the book: jupytext -> papermill (a profile as parameters) -> Jupyter Book.

Executed notebooks and the staged book live in ``build/<profile>/book/`` so that books of
different profiles never overwrite each other; run records go to ``results/<profile>/``.

A chapter is executed again only when something it depends on changed. After a successful
execution a stamp (``build/<profile>/stamps/<chapter>.json``) keeps the sha256 of everything the
chapter depends on: its notebook source, the profile file, the package modules it used, the
lock file and project file, and the result files the chapter read while it ran (listed in its
run record, e.g. Chapter 6 reads Chapter 4's record). The modules it used are those its run
record lists as imported while it ran, with the modules these import inside functions (what
worker processes run; :func:`module_closure`), and the data files (the figure style) of the
package folders among them: a change to a module that a chapter never imported reruns
nothing. The next build compares hashes, not times, so a checkout or a copy that changes no
content reruns nothing. A chapter that failed or was
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
    """The sha256 of each file a chapter may depend on before it runs, by kind of input
    (every package file: which of them it uses is known once it has run)."""
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


def module_file(name: str, root: Path) -> Path | None:
    """The source file of module ``name`` (``cancer_alpha.plots.style``) in this checkout."""
    base = root / "src" / Path(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(name: str, root: Path) -> set[str]:
    """The modules of this package that module ``name`` imports anywhere in its source,
    inside functions too (and the packages holding them)."""
    import ast

    path = module_file(name, root)
    if path is None:
        return set()
    top = name.split(".")[0]
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]) \
                if node.level else (node.module or "")
            base = base.rstrip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    out = set()
    for mod in found:
        parts = mod.split(".")
        if parts[0] != top:
            continue
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in out if module_file(m, root) is not None}


def module_closure(modules: list[str] | set[str], root: Path) -> set[str]:
    """``modules`` with every module of this package they import, directly or not, at the top
    of a file or inside a function: a worker process or a later call may import what the
    chapter's own process did not."""
    seen: set[str] = set()
    todo = [m for m in modules if module_file(m, root) is not None]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports_of(name, root) - seen)
    return seen


def used_package_files(modules: list[str] | set[str], root: Path) -> list[str]:
    """The package files (relative to ``root``) a chapter that imported ``modules`` depends
    on: their sources, those of :func:`module_closure`, and the data files (not modules) of
    the package folders among them, such as the figure style."""
    files = {module_file(m, root) for m in module_closure(modules, root)}
    folders = {f.parent for f in files if f is not None and f.name == "__init__.py"}
    data = {p for folder in folders for p in folder.iterdir()
            if p.suffix in PACKAGE_SUFFIXES and p.suffix != ".py"}
    return sorted(p.relative_to(root).as_posix() for p in (files | data) if p is not None)


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
              "package": "a package module it used changed",
              "environment": "the pinned environment changed"}
    for kind, label in labels.items():
        old = before.get(kind, {})
        # a package file the chapter did not use (absent from its stamp) does not matter
        changed = _changed(old, {k: v for k, v in now[kind].items() if k in old}) \
            if kind == "package" else _changed(old, now[kind])
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
    from .safe_write import json_text

    path = _record_path(chapter, profile, root)
    if not path.is_file():
        raise RuntimeError(f"{chapter.name} ran but wrote no run record {path.relative_to(root)}:"
                           f" its results.Run must be named {chapter.name!r}, after the notebook")
    record = json.loads(path.read_text())
    provenance = record.get("provenance", {})
    inputs = provenance.get("inputs", {})
    if "modules" in provenance:  # the modules it used; every package file otherwise
        used = set(used_package_files(provenance["modules"], root))
        before = {**before, "package": {k: v for k, v in before["package"].items()
                                        if k in used}}
    atomic_write_text(stamp_path(chapter, profile, root),
                      json_text({"fingerprint": before, "inputs": inputs}, indent=1))


def status_path(profile: str, root: Path) -> Path:
    return root / "build" / profile / "status.json"


def read_status(profile: str, root: Path) -> dict[str, dict[str, str]]:
    """How each chapter fared in the last build of ``profile``: executed (and why) or up to
    date; the reproducibility page shows it."""
    import json

    try:
        return dict(json.loads(status_path(profile, root).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def write_status(profile: str, root: Path, status: dict[str, dict[str, str]]) -> None:

    from .results import atomic_write_text
    from .safe_write import json_text

    atomic_write_text(status_path(profile, root), json_text(status, indent=1))


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
    status = read_status(profile, root)
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
            status[chapter.name] = {"status": "up to date", "reason": ""}
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
