"""The chapters of the book and what each was built from.

A chapter is a notebook source ``notebooks/NN_name.py``. After a successful execution its stamp
(``build/<profile>/stamps/<chapter>.json``) keeps the sha256 of everything it depended on (see
:mod:`cancer_alpha.reproduce` for what that is and why); :func:`stale_reason` compares a stamp
with the files as they are now. ``build/<profile>/status.json`` says how each chapter fared in
the last build. Executing chapters and rendering the book is :mod:`cancer_alpha.reproduce`;
this module only reads and writes the state of a build, so that the reference, the
verification and the reproducibility page can ask it without importing the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import profile_path, project_root


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


def record_path(chapter: Chapter | str, profile: str, root: Path) -> Path:
    """The run record a chapter writes at ``profile``."""
    name = chapter if isinstance(chapter, str) else chapter.name
    return root / "results" / profile / f"{name}.json"


def _changed(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def _preview(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (f" and {len(names) - k} more" if len(names) > k else "")


# the package folder whose modules only draw (every public function returns a figure drawn
# with plots.style.figure, beside the style and the figure-data helpers): a change there alone
# redraws a chapter's figures from their saved calls instead of executing it (redraw.py)
DRAWING = "src/cancer_alpha/plots/"


def stale_reason(chapter: Chapter, profile: str, root: Path) -> str | None:
    """Why ``chapter`` must be executed again at ``profile``, or None when it is up to date."""
    return staleness(chapter, profile, root)[0]


def staleness(chapter: Chapter, profile: str, root: Path) -> tuple[str | None, list[str]]:
    """Why ``chapter`` is stale (None: up to date), with the changed package files when files
    that only draw (:data:`DRAWING`) are all that changed among what it depends on since it
    last ran (otherwise an empty list): then its figures can be redrawn instead."""
    reason, package = _staleness(chapter, profile, root)
    drawing = bool(package) and all(f.startswith(DRAWING) for f in package)
    return reason, package if drawing else []


def _staleness(chapter: Chapter, profile: str, root: Path) -> tuple[str | None, list[str]]:
    """Why ``chapter`` is stale (None: up to date), with the package files it used that
    changed when they are the only change."""
    import json

    stamp = stamp_path(chapter, profile, root)
    if not stamp.is_file():
        return "never executed, or its last execution did not finish", []
    executed = stage_dir(profile, root) / "notebooks" / f"{chapter.name}.ipynb"
    record = record_path(chapter, profile, root)
    if not executed.is_file() or not record.is_file():
        return "its executed notebook or run record is missing", []
    try:
        saved = json.loads(stamp.read_text())
        before, inputs = saved["fingerprint"], saved["inputs"]
    except (ValueError, KeyError, TypeError):
        return f"its stamp {stamp.relative_to(root)} is unreadable", []
    now = fingerprint(chapter, profile, root)
    labels = {"notebook": "its notebook changed", "profile": "the profile file changed",
              "package": "a package module it used changed",
              "environment": "the pinned environment changed"}
    reasons = {}
    for kind, label in labels.items():
        old = before.get(kind, {})
        # a package file the chapter did not use (absent from its stamp) does not matter
        changed = _changed(old, {k: v for k, v in now[kind].items() if k in old}) \
            if kind == "package" else _changed(old, now[kind])
        if changed:
            reasons[kind] = (label if kind in ("notebook", "profile")
                             else f"{label}: {_preview(changed)}", changed)
    results = root / "results"
    changed = [name for name, sha in inputs.items()
               if not (results / name).is_file() or _sha256(results / name) != sha]
    if changed:
        reasons["results"] = (f"results it reads changed: {_preview(changed)}", changed)
    if not reasons:
        return None, []
    first = next(iter(reasons.values()))[0]
    return first, reasons["package"][1] if list(reasons) == ["package"] else []


def write_stamp(chapter: Chapter, profile: str, root: Path,
                before: dict[str, dict[str, str]]) -> None:
    """Record what a successful execution depended on (``before``: its fingerprint when it
    started, so that an edit made while it ran is seen next time)."""
    import json

    from .results import atomic_write_text
    from .safe_write import json_text

    path = record_path(chapter, profile, root)
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
