"""Paths checked before any data is read: input folders, and outputs that may be created (or
replaced, with ``--overwrite``) and never replace, contain or sit inside an input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _err(option: str, path: Any, problem: str):
    from ..errors import OptionError

    return OptionError(f"{option} {str(path)!r}: {problem}")


def _existing_ancestor(path: Path, option: str) -> Path:
    """The nearest existing folder above ``path``; any existing part must be a folder."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _err(option, path, f"{parent} is a file, not a folder")
            return parent
    return Path(os.sep)


def _check_can_write(folder: Path, option: str, target: Path) -> None:
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".cancer-alpha-probe-")
    except OSError as exc:
        raise _err(option, target, f"cannot write in {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _not_an_input(out: Path, option: str, inputs: dict[str, Path]) -> None:
    """An output never replaces, contains or sits inside an input (data or model folder)."""
    real = _resolved(out)
    for name, path in inputs.items():
        src = _resolved(path)
        if real == src:
            raise _err(option, out, f"is the {name} folder: an output never replaces an "
                                    "input, even with --overwrite")
        if src.is_relative_to(real):
            raise _err(option, out, f"contains the {name} folder {str(path)!r}: replacing it "
                                    "would delete the input; choose another path")
        if real.is_relative_to(src):
            raise _err(option, out, f"lies inside the {name} folder {str(path)!r}: an output "
                                    "never goes into an input folder (it would overwrite or "
                                    "add to its files); choose a path outside it")


def input_folder(path: str, option: str) -> Path:
    """An existing, readable folder."""
    p = Path(path)
    if not p.exists():
        raise _err(option, p, "does not exist: expected an existing folder")
    if not p.is_dir():
        raise _err(option, p, "is a file: expected a folder")
    if not os.access(p, os.R_OK | os.X_OK):
        raise _err(option, p, "cannot be read (permission denied)")
    return p


def output_folder(path: str, option: str, *, overwrite: bool,
                  inputs: dict[str, Path] | None = None) -> Path:
    """A folder the command may create (or replace, with ``overwrite``), checked up front."""
    p = Path(path)
    _not_an_input(p, option, inputs or {})
    if p.exists() and not p.is_dir():
        raise _err(option, p, "is a file: expected a folder to create")
    parent = _existing_ancestor(p, option)
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise _err(option, p, "exists and is not empty: choose another path, or pass "
                              "--overwrite to replace it")
    _check_can_write(p.parent if p.parent.exists() else parent, option, p)
    return p


def output_file(path: str, option: str, *, overwrite: bool,
                inputs: dict[str, Path] | None = None) -> Path:
    """A file the command may create (or replace, with ``overwrite``), checked up front."""
    p = Path(path)
    _not_an_input(p, option, inputs or {})
    if p.is_dir():
        raise _err(option, p, "is a folder: expected the path of a file to write")
    parent = _existing_ancestor(p, option)
    if p.exists() and not overwrite:
        raise _err(option, p, "exists: choose another path, or pass --overwrite to replace it")
    _check_can_write(p.parent if p.parent.exists() else parent, option, p)
    return p


def tuning_output(path: str, inputs: dict[str, Path]) -> Path:
    """A tuning folder to create or add to: absent, empty, or one `tune --data` wrote."""
    from ..tuning_folder import ABOUT, DATA_NAME, PARTIAL

    p = Path(path)
    _not_an_input(p, "--out", inputs)
    if p.exists() and not p.is_dir():
        raise _err("--out", p, "is a file: expected a tuning folder to create or add to")
    ours = {f"{DATA_NAME}.json", f"{DATA_NAME}.db", ABOUT, PARTIAL}
    if p.is_dir():
        foreign = sorted(e.name for e in p.iterdir() if e.name not in ours
                         and not e.name.startswith("."))
        if foreign:
            raise _err("--out", p, f"exists and holds {foreign[0]!r}, which is no part of a "
                                   "tuning folder: choose another path (a tuning folder is "
                                   "added to, never replaced)")
    parent = _existing_ancestor(p, "--out")
    _check_can_write(p if p.is_dir() else p.parent if p.parent.exists() else parent, "--out",
                     p)
    return p
