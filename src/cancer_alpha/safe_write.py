"""Writing files and folders so that no reader ever sees half of one, and the one conversion
of results to JSON.

A file is written beside its target and renamed over it (:func:`write_text`,
:func:`write_bytes`, :func:`write_json`); a folder is assembled in a hidden sibling and renamed
into place (:func:`atomic_folder`), its old content removed only once the new one stands. A
failure at any point leaves the target as it was and no temporary file or folder behind.

:func:`jsonable` turns results into plain JSON types (numpy scalars and arrays, tuples, paths,
dataclasses; NaN and infinities become null, optionally with the reason beside them), and
:func:`json_text` is how every JSON file of the package is formatted.

This module imports nothing from the rest of the package, so that any module may use it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GENERIC_REASON = "not defined for these data"


def jsonable(value: Any, *, explain: bool = False,
             reasons: Mapping[str, str] | None = None) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays as Python numbers and lists,
    tuples as lists, mapping keys as strings, paths as strings, dataclasses as mappings of
    their fields, and NaN or an infinity as None (JSON has no such numbers).

    With ``explain`` (or ``reasons``), an entry of a mapping replaced by None gets a
    ``<key>_undefined`` entry beside it: its reason from ``reasons``, or a generic one. Any
    other type raises a TypeError that names it."""
    if explain or reasons:
        return _convert(value, reasons or {})
    return _convert(value, None)


def _convert(value: Any, reasons: Mapping[str, str] | None) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, v in value.items():
            if reasons is not None and _non_finite(v):
                out[str(key)] = None
                out[f"{key}_undefined"] = reasons.get(key, GENERIC_REASON)
            else:
                out[str(key)] = _convert(v, reasons)
        return out
    if isinstance(value, list | tuple):
        return [_convert(v, reasons) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):  # bool is an int
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _convert({f.name: getattr(value, f.name) for f in dataclasses.fields(value)},
                        reasons)
    raise TypeError(f"cannot write a value of type {type(value).__module__}."
                    f"{type(value).__qualname__} as JSON: expected numbers, strings, None, "
                    "lists, tuples, mappings, numpy values, paths or dataclasses")


def _non_finite(value: Any) -> bool:
    """``value`` is a float (Python or numpy) that is NaN or infinite."""
    if isinstance(value, float):
        return not math.isfinite(value)
    np = sys.modules.get("numpy")  # a numpy value implies numpy is imported
    return np is not None and isinstance(value, np.floating) and not np.isfinite(value)


def json_text(value: Any, *, indent: int | None = None, explain: bool = False,
              reasons: Mapping[str, str] | None = None, convert: bool = True,
              sort_keys: bool = False, separators: tuple[str, str] | None = None,
              default: Callable[[Any], Any] | None = None, end: str = "\n") -> str:
    """``value`` as JSON text ending in ``end``: converted by :func:`jsonable` (``explain``
    and ``reasons`` as there), so valid JSON without NaN or Infinity tokens. With
    ``convert=False`` the value is written as it is (NaN as ``NaN``; ``default`` for other
    types), for records that keep measured values unchanged."""
    if convert:
        value = jsonable(value, explain=explain, reasons=reasons)
    return json.dumps(value, indent=indent, allow_nan=not convert, sort_keys=sort_keys,
                      separators=separators, default=default) + end


def write_text(path: str | os.PathLike[str], text: str, *,
               encoding: str | None = None) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename: never
    half-written; the folder is created when missing. Returns the path."""
    return _write(Path(path), "w", text, encoding)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` like :func:`write_text`."""
    return _write(Path(path), "wb", data, None)


def write_json(path: str | os.PathLike[str], value: Any, **options: Any) -> Path:
    """Write ``value`` as JSON (:func:`json_text` with ``options``) like :func:`write_text`."""
    return write_text(path, json_text(value, **options))


def _write(path: Path, mode: str, content: Any, encoding: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def atomic_file(target: str | os.PathLike[str]) -> Iterator[Path]:
    """For a file that another library writes (a database, say): the path, beside ``target``
    and not yet existing, to write it at; it is renamed over ``target`` when the block ends.
    If the block raises, it is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def folder_target(path: str | os.PathLike[str], *, overwrite: bool, is_file: str,
                  not_empty: str, error: type[Exception] = FileExistsError) -> Path:
    """``path`` as a folder that :func:`atomic_folder` may write: refused with ``error`` when
    it is a file (message ``is_file``) or a folder with content and not ``overwrite``
    (``not_empty``); ``{path}`` in a message stands for the path as a string."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise error(is_file.format(path=str(target)))
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise error(not_empty.format(path=str(target)))
    return target


@contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Assemble the folder ``target`` in the empty folder this yields (a hidden sibling, on the
    same file system) and move it into place when the block ends; the previous content of
    ``target`` is removed only once the new one is there. If the block raises, the sibling is
    removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_folder(target)
    try:
        yield tmp
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def staging_folder(target: Path) -> Path:
    """A new empty hidden sibling of ``target`` to assemble it in: on the same file system,
    so that :func:`replace_folder` moves it into place with a rename."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    return tmp


def replace_folder(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``; the old content is removed only once the new one is there."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["atomic_file", "atomic_folder", "folder_target", "json_text", "jsonable",
           "replace_folder", "staging_folder", "write_bytes", "write_json", "write_text"]
