"""The bring-your-own-data folder format: reading, validating and writing it.

A researcher's own data is a folder of tables (see :func:`read_folder`):

    <dir>/<modality>.csv|tsv|parquet   rows = samples, first column = sample id, header = features
    <dir>/labels.csv|tsv|parquet       two columns: sample id, class name
    <dir>/modalities.json|yml          optional: kind and positions of each modality, class order
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cancer_alpha.data import FLOAT32_MAX, KINDS, ModalitySpec, MultiOmicsData
from cancer_alpha.datasets.checks import check_value_ranges
from cancer_alpha.errors import CancerAlphaWarning, DataFolderError, OptionError
from cancer_alpha.safe_write import atomic_folder, folder_target, json_text

# the command line still imports these two from here

TABLE_FORMATS: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".parquet": None}


METADATA_FILES: tuple[str, ...] = ("modalities.json", "modalities.yml", "modalities.yaml")


LABELS = "labels"


# cell texts read as a missing value (pandas' defaults, stated here rather than imported from
# a private module); a sample id is never one of them, it stays text
MISSING_TEXTS: tuple[str, ...] = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)

_SEPARATORS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "vertical bars"}


@dataclass
class _Table:
    path: Path
    ids: list[str]
    features: list[str]
    values: np.ndarray  # (n_rows, n_features), finite in float32


def _preview(items: Sequence[str], k: int = 5) -> str:
    shown = ", ".join(repr(s) for s in items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def _scan_folder(folder: Path) -> tuple[dict[str, Path], Path | None, Path | None]:
    """Modality tables by name, the labels table and the metadata file of a folder."""
    tables: dict[str, Path] = {}
    labels: Path | None = None
    metadata: Path | None = None
    try:
        entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    except OSError as exc:
        raise DataFolderError(f"folder {folder} cannot be listed ({exc.strerror})") from None
    allowed = f"<modality>.csv|.tsv|.parquet, labels.<same>, or one of {list(METADATA_FILES)}"
    if not entries:
        raise DataFolderError(f"folder {folder} is empty: expected {allowed}")
    for entry in entries:
        if not entry.is_file():
            raise DataFolderError(f"{entry}: unexpected folder inside the data folder: expected "
                                  f"only files ({allowed})")
        if entry.name in METADATA_FILES:
            if metadata is not None:
                raise DataFolderError(f"folder {folder} has both {metadata.name} and "
                                      f"{entry.name}: expected one metadata file")
            metadata = entry
            continue
        ext = entry.suffix.lower()
        if ext not in TABLE_FORMATS:
            raise DataFolderError(f"{entry}: unknown file extension {entry.suffix!r}: "
                                  f"expected {allowed}")
        name = entry.name[: -len(entry.suffix)]
        if not name:
            raise DataFolderError(f"{entry}: a table needs a name before {entry.suffix!r} "
                                  "(the name of its modality)")
        if name == LABELS:
            if labels is not None:
                raise DataFolderError(f"folder {folder} has two labels tables, {labels.name} "
                                      f"and {entry.name}: expected one")
            labels = entry
        elif name in tables:
            raise DataFolderError(f"folder {folder} has two tables for modality {name!r}, "
                                  f"{tables[name].name} and {entry.name}: expected one")
        else:
            tables[name] = entry
    if not tables:
        raise DataFolderError(f"folder {folder} holds no modality table: expected at least one "
                              "<modality>.csv|.tsv|.parquet (rows = samples, first column = id)")
    return tables, labels, metadata


def _separator_hint(path: Path, header: list[str], sep: str | None) -> str:
    """Why a table seems to have one column: another separator than its extension says."""
    if sep is None or len(header) != 1:
        return ""
    for other, name in _SEPARATORS.items():
        if other != sep and other in header[0]:
            ext = {",": ".csv", "\t": ".tsv"}.get(other)
            fix = (f"rename it to {path.stem}{ext}" if ext else
                   f"save it with {_SEPARATORS[sep]}")
            return (f"; the header {header[0][:60]!r} seems separated by {name}, but a "
                    f"{path.suffix} file is separated by {_SEPARATORS[sep]}: {fix}")
    return ""


def _read_frame(path: Path, *, as_text: bool) -> tuple[list[str], pd.DataFrame]:
    """The raw header (duplicates kept) and the rows of a table file.

    With ``as_text`` every cell is a string or None; otherwise the first column (ids) is text
    and the others are parsed as floats where they can be.
    """
    sep = TABLE_FORMATS[path.suffix.lower()]
    try:
        if sep is None:
            frame = pd.read_parquet(path)
            if not isinstance(frame.index, pd.RangeIndex):  # ids saved as a pandas index
                frame = frame.reset_index()
            header = [str(c) for c in frame.columns]
            if as_text:
                frame = frame.astype(object).where(frame.notna(), None)
                frame = frame.map(lambda v: v if v is None else str(v))
        else:
            header_row = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str,
                                     keep_default_na=False)
            header = [str(h) for h in header_row.iloc[0]]
            n = len(header)
            if as_text:
                frame = pd.read_csv(path, sep=sep, header=0, names=range(n), dtype=str,
                                    keep_default_na=False)
                frame = frame.where(frame != "", None)
            else:
                # ids stay text ("007" is not 7, "NA" is an id); values are parsed as floats
                frame = pd.read_csv(path, sep=sep, header=0, names=range(n),
                                    converters={0: str}, keep_default_na=False,
                                    na_values={j: list(MISSING_TEXTS) for j in range(1, n)})
    except pd.errors.EmptyDataError:
        raise DataFolderError(f"{path}: the file is empty: expected a header row") from None
    except UnicodeDecodeError:
        raise DataFolderError(f"{path}: not UTF-8 text ({_bad_byte(path)}): save the table as "
                              "UTF-8") from None
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise DataFolderError(f"{path}: cannot be read as a {path.suffix} table ({msg}): "
                              "expected the same number of cells in every row") from None
    except Exception as exc:  # pyarrow and the OS raise many types for unreadable files
        raise DataFolderError(f"{path}: cannot be read as a {path.suffix} table "
                              f"({type(exc).__name__}: {exc})") from None
    frame.columns = range(frame.shape[1])  # positions: header names may repeat
    return header, frame


def _bad_byte(path: Path) -> str:
    """Where a file stops being UTF-8: the byte and its line."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return f"byte 0x{raw[exc.start]:02x} on line {line}"
    return "an invalid byte"


def _clean(text: str) -> str:
    """A name as written, without surrounding whitespace (and a byte-order mark)."""
    return unicodedata.normalize("NFC", text).strip().lstrip("\ufeff").strip()


def _sample_ids(path: Path, column: pd.Series) -> list[str]:
    raw = column.astype(object).where(column.notna(), "").tolist()
    ids = [_clean(str(v)) for v in raw]
    seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if not sid:
            raise DataFolderError(f"{path}: data row {i + 1} has no sample id in the first "
                                  "column")
        if sid in seen:
            raise DataFolderError(f"{path}: duplicate sample id {sid!r} in data rows "
                                  f"{seen[sid] + 1} and {i + 1}: expected each sample once")
        seen[sid] = i
    return ids


def _numeric_hint(value: Any) -> str:
    text = str(value).strip()
    if re.fullmatch(r"[-+]?\d+,\d+", text):
        return " (a decimal comma? write decimals with a point: 0.5, not 0,5)"
    if text.endswith("%"):
        return " (a percentage? write the number alone)"
    return ""


def _header_is_data(features: Sequence[str]) -> bool:
    """Whether a header row reads as a row of measurements: every name a number, some with a
    fraction, and not in increasing order (numbered columns, such as fragment lengths or genome
    positions, are integers or increase along the row)."""
    try:
        values = [float(f) for f in features]
    except ValueError:
        return False
    if not all(np.isfinite(values)) or all(v.is_integer() for v in values):
        return False
    return len(values) < 3 or not all(a < b for a, b in zip(values, values[1:], strict=False))


def _read_table(path: Path) -> _Table:
    header, frame = _read_frame(path, as_text=False)
    features = [_clean(h) for h in header[1:]]
    if not features:
        raise DataFolderError(
            f"{path}: no feature columns: expected a sample id column followed by one column "
            "per feature" + _separator_hint(path, header, TABLE_FORMATS[path.suffix.lower()]))
    if path.suffix.lower() != ".parquet" and _header_is_data(features):
        raise DataFolderError(
            f"{path}: the first row ({_preview([header[0], *features], 4)}) reads as "
            "measurements, not feature names: the table seems to lack its header row, so its "
            "first sample would become the feature names. Add a header row (sample id column, "
            "then one name per feature); if these numbers really are the feature names, "
            "prefix them with a letter")
    if len(frame) == 0:
        raise DataFolderError(f"{path}: the modality has no samples: expected at least one "
                              "data row")
    for j, name in enumerate(features):
        if not name:
            raise DataFolderError(f"{path}: column {j + 2} has an empty feature name")
    seen: dict[str, int] = {}
    for j, name in enumerate(features):
        if name in seen:
            raise DataFolderError(f"{path}: feature {name!r} appears twice (columns "
                                  f"{seen[name] + 2} and {j + 2}): expected unique feature names")
        seen[name] = j
    ids = _sample_ids(path, frame.iloc[:, 0])

    values = np.empty((len(frame), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        col = frame.iloc[:, j + 1]
        kind = col.dtype.kind
        if kind in "iuf":
            parsed = col
            bad = np.zeros(len(col), bool)
        elif kind in "OSU" or isinstance(col.dtype, pd.StringDtype):
            try:
                parsed = pd.to_numeric(col, errors="coerce")
            except (TypeError, ValueError):  # cells holding lists or other objects
                parsed = pd.Series(np.nan, index=col.index)
            bad = parsed.isna().to_numpy() & col.notna().to_numpy()
        else:  # booleans, dates, categories: not measurements
            bad = col.notna().to_numpy() | True
            parsed = col
        if bad.any():
            i = int(np.argmax(bad))
            raise DataFolderError(
                f"{path}: non-numeric value {col.iloc[i]!r} for sample {ids[i]!r} (data row "
                f"{i + 1}) in column {name!r}: expected a number in every feature cell"
                + _numeric_hint(col.iloc[i]))
        values[:, j] = np.asarray(parsed.to_numpy(dtype=np.float64, na_value=np.nan))
    empty = np.isnan(values).all(axis=0)
    if empty.any():
        names = [f for f, e in zip(features, empty, strict=True) if e]
        raise DataFolderError(f"{path}: empty feature(s) {_preview(names)}: no sample has a "
                              "value; remove these columns")
    finite = np.isfinite(values)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        what = "missing value" if np.isnan(values[i, j]) else f"non-finite value {values[i, j]}"
        raise DataFolderError(
            f"{path}: {what} for sample {ids[i]!r} (data row {i + 1}) in column "
            f"{features[j]!r}. Values inside a present sample's row must all be finite: missing "
            "values are refused, not imputed, because a silent imputation would change "
            "results. Impute them yourself before writing the table, or remove the sample's "
            "row from this table to mark the whole modality as missing for that sample."
        )
    # the models compute in float32: a value finite here may not be finite there
    huge = np.abs(values) > FLOAT32_MAX
    if huge.any():
        i, j = (int(v) for v in np.argwhere(huge)[0])
        raise DataFolderError(
            f"{path}: value {values[i, j]:.6g} for sample {ids[i]!r} (data row {i + 1}) in "
            f"column {features[j]!r} overflows 32-bit floats (largest {FLOAT32_MAX:.4g}), "
            "which the models compute in: expected values of a measurement's usual scale")
    return _Table(path, ids, features, values)


def _read_labels(path: Path) -> tuple[list[str], list[str]]:
    header, frame = _read_frame(path, as_text=True)
    if len(header) != 2:
        raise DataFolderError(
            f"{path}: {len(header)} columns {header[:6]}: expected exactly 2, the sample id "
            "and the class name" + _separator_hint(path, header,
                                                    TABLE_FORMATS[path.suffix.lower()]))
    if len(frame) == 0:
        raise DataFolderError(f"{path}: no labelled samples: expected at least one data row")
    ids = _sample_ids(path, frame.iloc[:, 0])
    labels = ["" if v is None or pd.isna(v) else _clean(str(v)) for v in frame.iloc[:, 1]]
    for i, label in enumerate(labels):
        if not label:
            raise DataFolderError(f"{path}: sample {ids[i]!r} (data row {i + 1}) has no "
                                  "label: expected a class name")
    raw = ["" if v is None or pd.isna(v) else str(v) for v in frame.iloc[:, 1]]
    spellings: dict[str, set[str]] = {}
    for r, label in zip(raw, labels, strict=True):
        spellings.setdefault(label, set()).add(r)
    merged = {k: sorted(v) for k, v in spellings.items() if len(v) > 1}
    if merged:
        label, forms = next(iter(merged.items()))
        warnings.warn(f"{path}: labels {_preview(forms)} differ only by surrounding "
                      f"whitespace and are read as one class {label!r}"
                      + (f" ({len(merged)} such classes)" if len(merged) > 1 else ""),
                      CancerAlphaWarning, stacklevel=3)
    by_case: dict[str, set[str]] = {}
    for label in spellings:
        by_case.setdefault(label.casefold(), set()).add(label)
    clash = [sorted(v) for v in by_case.values() if len(v) > 1]
    if clash:
        warnings.warn(f"{path}: classes {_preview(clash[0])} differ only in letter case and "
                      "are kept apart: correct the labels if they are one class",
                      CancerAlphaWarning, stacklevel=3)
    return ids, labels


def _load_mapping(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFolderError(f"{path}: not UTF-8 text ({_bad_byte(path)}): save it as "
                              "UTF-8") from None
    except OSError as exc:
        raise DataFolderError(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix == ".json":
        def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in pairs]
            dup = next((k for k in keys if keys.count(k) > 1), None)
            if dup is not None:
                raise DataFolderError(f"{path}: key {dup!r} appears twice in one object: "
                                      "expected each key once")
            return dict(pairs)

        try:
            return json.loads(text, object_pairs_hook=no_duplicates) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise DataFolderError(f"{path}: not valid JSON ({exc})") from None
        except RecursionError:
            raise DataFolderError(f"{path}: not valid JSON (nested too deeply)") from None
    import yaml

    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataFolderError(f"{path}: not valid YAML ({exc})") from None
    except RecursionError:
        raise DataFolderError(f"{path}: not valid YAML (nested too deeply)") from None


def _finite_number(p: Any) -> bool:
    if isinstance(p, bool) or not isinstance(p, int | float):
        return False
    try:
        return bool(np.isfinite(float(p))) and abs(float(p)) <= FLOAT32_MAX
    except OverflowError:
        return False


def _read_metadata(path: Path) -> tuple[dict[str, tuple[str, tuple[float, ...] | None]],
                                        list[str] | None]:
    """Kind and positions of each listed modality, and the class order, from a metadata file."""
    meta = _load_mapping(path)
    if not isinstance(meta, dict):
        raise DataFolderError(f"{path}: expected a mapping with keys 'modalities' and "
                              f"'classes', got {type(meta).__name__}")
    unknown = sorted(str(k) for k in set(meta) - {"modalities", "classes"})
    if unknown:
        raise DataFolderError(f"{path}: unknown key {unknown[0]!r}: expected 'modalities' "
                              "and/or 'classes'")
    mods = meta.get("modalities") or {}
    if not isinstance(mods, dict):
        raise DataFolderError(f"{path}: 'modalities' must map each modality name to its kind "
                              "or to {kind: ..., positions: [...]}")
    out: dict[str, tuple[str, tuple[float, ...] | None]] = {}
    for name, entry in mods.items():
        entry = {"kind": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise DataFolderError(f"{path}: modality {name!r} must be a kind or a mapping "
                                  f"with 'kind' and 'positions', got {entry!r}")
        extra = sorted(str(k) for k in set(entry) - {"kind", "positions"})
        if extra:
            raise DataFolderError(f"{path}: modality {name!r} has unknown key {extra[0]!r}: "
                                  "expected 'kind' and/or 'positions'")
        kind = entry.get("kind", "generic")
        if not isinstance(kind, str) or _clean(kind) not in KINDS:
            raise DataFolderError(f"{path}: modality {name!r} has kind {kind!r}: expected one "
                                  f"of {list(KINDS)}")
        kind = _clean(kind)
        positions = entry.get("positions")
        if positions is not None:
            if not (isinstance(positions, list) and all(_finite_number(p) for p in positions)):
                raise DataFolderError(f"{path}: modality {name!r}: positions must be a list of "
                                      "finite numbers, one per feature column")
            positions = tuple(float(p) for p in positions)
        key = _clean(str(name))
        if not key or key in out:
            raise DataFolderError(f"{path}: modality name {name!r} is empty or listed twice")
        out[key] = (kind, positions)
    classes = meta.get("classes")
    if classes is not None:
        ok = isinstance(classes, list) and classes and all(
            isinstance(c, str | int) and not isinstance(c, bool) for c in classes)
        names = [_clean(str(c)) for c in classes] if ok else []
        if not ok or not all(names) or len(set(names)) != len(names):
            raise DataFolderError(f"{path}: 'classes' = {classes!r}: expected a list of "
                                  "distinct, non-empty class names")
        classes = names
    return out, classes


def read_folder(path: str | os.PathLike[str], *, labels: bool | None = None,
                range_check: bool = True, positions: bool = True,
                absent_listed: bool = False) -> MultiOmicsData:
    """Read a bring-your-own-data folder into a :class:`MultiOmicsData`.

    ``labels``: None reads ``labels.*`` when the folder has one; True requires it; False
    ignores it (prediction). Samples are the union of the ids in the labels table and in the
    modality tables: in labels order when labels are read (an id of a modality table without
    a label is then an error), otherwise in order of first appearance, table by table. A
    sample absent from a modality's table lacks that modality (NaN row, mask False); every
    sample must appear in at least one modality table. Modalities follow the order of
    ``modalities.*`` (default kind "generic", no positions), then the remaining tables
    alphabetically. Classes follow ``modalities.*``'s ``classes`` when given (so a folder
    keeps its training order; a listed class may have no sample), otherwise the sorted class
    names. Ids, feature names and labels lose surrounding whitespace (a warning says when
    that merges two spellings of a label into one class).

    Missing values inside a present sample's row are refused, never imputed, and so is a
    value that overflows 32-bit floats. With ``range_check``, values outside the range their
    modality's kind implies (:data:`cancer_alpha.data.KIND_INFO`) are refused or warned
    about. ``positions=False`` ignores the positions of ``modalities.*`` (a folder read for a
    trained model, whose own positions apply). What training alone requires (two classes, two
    samples per class, no constant feature) is checked by
    :func:`cancer_alpha.datasets.check_training_data`, not here: a test set may be small.
    ``absent_listed`` reads a modality that ``modalities.*`` lists but no table holds as
    absent (prediction, where a trained model masks it) instead of refusing it.
    """
    folder = Path(path)
    if labels not in (None, True, False):
        raise OptionError(f"labels = {labels!r} is invalid: expected None, True or False")
    if not folder.is_dir():
        what = "a file" if folder.exists() else "missing"
        raise DataFolderError(f"path = {str(folder)!r} is invalid: it is {what}, expected an "
                              "existing data folder")
    table_paths, labels_path, meta_path = _scan_folder(folder)
    meta, meta_classes = _read_metadata(meta_path) if meta_path else ({}, None)
    unlisted = [m for m in meta if m not in table_paths]
    if absent_listed:
        meta = {m: v for m, v in meta.items() if m in table_paths}
    elif unlisted:
        raise DataFolderError(
            f"{meta_path}: modality {unlisted[0]!r} has no table in {folder}: expected "
            f"{unlisted[0]}.csv|.tsv|.parquet (if no sample has it, remove it from "
            f"{meta_path.name})")
    names = list(meta) + sorted(m for m in table_paths if m not in meta)
    if labels is True and labels_path is None:
        raise DataFolderError(f"folder {folder} has no labels table: expected labels.csv, "
                              "labels.tsv or labels.parquet (columns: sample id, class name)")
    with_labels = labels_path is not None and labels is not False

    tables = {m: _read_table(table_paths[m]) for m in names}
    pos_of: dict[str, tuple[float, ...] | None] = {}
    for m, table in tables.items():
        pos = meta.get(m, ("generic", None))[1] if positions else None
        if pos is not None and len(pos) != len(table.features):
            raise DataFolderError(
                f"{meta_path}: modality {m!r} has {len(pos)} positions for the "
                f"{len(table.features)} feature columns of {table.path}. Fix "
                f"{meta_path.name} in one of two ways: give modality {m!r} one position per "
                f"feature column ({len(table.features)} numbers, in the order of the columns "
                f"of {table.path.name}), or drop its 'positions' (only the locus-token model, "
                "mmt_locus, uses them)")
        pos_of[m] = pos

    y: np.ndarray | None = None
    class_names = list(meta_classes or [])
    if with_labels and labels_path is not None:
        ids, label_values = _read_labels(labels_path)
        known = set(ids)
        for table in tables.values():
            for i, sid in enumerate(table.ids):
                if sid not in known:
                    raise DataFolderError(
                        f"{table.path}: sample {sid!r} (data row {i + 1}) is absent from "
                        f"{labels_path.name}: every sample of a labelled folder needs a label "
                        "(add it, remove its rows, or read with labels=False to predict)"
                    )
        class_names = list(meta_classes) if meta_classes else sorted(set(label_values))
        index = {c: k for k, c in enumerate(class_names)}
        for i, label in enumerate(label_values):
            if label not in index:
                raise DataFolderError(
                    f"{labels_path}: sample {ids[i]!r} (data row {i + 1}) has label "
                    f"{label!r}, not one of the classes {class_names} of {meta_path}")
        y = np.array([index[label] for label in label_values], dtype=np.int64)
    else:
        ids = list(dict.fromkeys(sid for t in tables.values() for sid in t.ids))

    row = {sid: i for i, sid in enumerate(ids)}
    n = len(ids)
    mask = np.zeros((n, len(names)), dtype=bool)
    x: dict[str, np.ndarray] = {}
    for j, (m, table) in enumerate(tables.items()):
        rows = np.array([row[sid] for sid in table.ids], dtype=np.int64)
        x[m] = np.full((n, len(table.features)), np.nan)
        x[m][rows] = table.values
        mask[rows, j] = True
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise DataFolderError(
            f"{labels_path}: sample {ids[empty[0]]!r} (data row {empty[0] + 1}) has no row in "
            f"any modality table ({len(empty)} such samples): expected each labelled sample "
            "in at least one table")
    specs = [ModalitySpec(m, meta.get(m, ("generic", None))[0], len(tables[m].features),
                          pos_of[m]) for m in names]
    data = MultiOmicsData(specs=specs, x=x, mask=mask, y=y, class_names=class_names,
                          sample_ids=ids, feature_names={m: t.features for m, t in tables.items()},
                          sources={m: str(t.path) for m, t in tables.items()})
    if range_check:
        check_value_ranges(data)
    return data


def _check_writable(data: MultiOmicsData) -> None:
    """Refuse what :func:`read_folder` would refuse or read back differently, before anything
    is written."""
    if data.n_samples == 0:
        raise DataFolderError("data has no samples: a folder needs at least one")
    ids = [str(s) for s in data.sample_ids]
    if len(set(ids)) != len(ids) or not all(s == _clean(s) and s for s in ids):
        bad = next((s for s in ids if ids.count(s) > 1 or not s or s != _clean(s)), None)
        raise DataFolderError(f"sample id {bad!r} is empty, repeated or has surrounding "
                              "whitespace: expected distinct ids as the reader reads them")
    for j, spec in enumerate(data.specs):
        m = spec.name
        if not m or m.startswith(".") or m == LABELS or any(c in m for c in "/\\") \
                or m != _clean(m):
            raise DataFolderError(f"modality name {m!r} cannot be a file name: expected a "
                                  "non-empty name without '/' or '\\', not starting with '.', "
                                  "not 'labels', without surrounding whitespace")
        feats = [str(f) for f in data.feature_names[m]]
        if len(set(feats)) != len(feats) or not all(f and f == _clean(f) for f in feats):
            raise DataFolderError(f"modality {m!r}: feature names must be distinct and "
                                  "non-empty, without surrounding whitespace")
        present = data.x[m][data.mask[:, j]]
        bad_rows = ~(np.isfinite(present) & (np.abs(present) <= FLOAT32_MAX)).all(axis=1)
        if bad_rows.any():
            i = int(np.flatnonzero(data.mask[:, j])[np.argmax(bad_rows)])
            raise DataFolderError(
                f"modality {m!r}: sample {ids[i]!r} is marked present but has missing, "
                "non-finite or float32-overflowing values: impute them or set its mask False")
    if data.mask.shape[0] and not data.mask.any(axis=1).all():
        i = int(np.argmin(data.mask.any(axis=1)))
        raise DataFolderError(f"sample {ids[i]!r} has no modality: a folder cannot hold it")
    if data.y is not None and data.y.size and (
            data.y.min() < 0 or data.y.max() >= len(data.class_names)):
        raise DataFolderError(f"y holds class indices outside [0, {len(data.class_names)})")
    if any(not c or c != _clean(str(c)) for c in data.class_names):
        raise DataFolderError(f"class names {data.class_names!r}: expected non-empty names "
                              "without surrounding whitespace")


def _write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        # Arrow writes the shortest text that reads back to the same float, about ten times
        # faster than pandas' writer on a 10^5-sample cohort
        options = pcsv.WriteOptions(delimiter=TABLE_FORMATS[f".{fmt}"], quoting_style="needed")
        pcsv.write_csv(table, path, options)


def write_folder(data: MultiOmicsData, path: str | os.PathLike[str], *, fmt: str = "csv",
                 overwrite: bool = False) -> Path:
    """Write ``data`` as a bring-your-own-data folder that :func:`read_folder` reads back.

    Each modality table holds only the samples that have it; a modality no sample has is left
    out (reading then lacks it, and :func:`align_features` restores it as absent). Labels are
    written when ``y`` is set; ``modalities.json`` keeps kinds, positions and the class order.
    The folder appears complete or not at all; a non-empty folder is replaced only with
    ``overwrite=True``.
    """
    if fmt not in ("csv", "tsv", "parquet"):
        raise OptionError(f"fmt = {fmt!r} is invalid: expected 'csv', 'tsv' or 'parquet'")
    target = folder_target(
        path, overwrite=overwrite, error=OptionError,
        is_file="path = {path!r} is invalid: it is a file, expected a folder",
        not_empty="path = {path!r} is invalid: the folder is not empty (pass overwrite=True "
                  "to replace it)")
    _check_writable(data)
    ids = [str(s) for s in data.sample_ids]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OptionError(f"path = {str(target)!r} is invalid: a part of it is a file, "
                          "expected folders") from None
    with atomic_folder(target) as tmp:
        meta: dict[str, Any] = {"modalities": {}}
        for j, spec in enumerate(data.specs):
            rows = np.flatnonzero(data.mask[:, j])
            if rows.size == 0:
                continue
            feats = [str(f) for f in data.feature_names[spec.name]]
            id_col = "sample_id" if "sample_id" not in feats else "sample_id_"
            frame = pd.DataFrame(np.asarray(data.x[spec.name][rows], dtype=np.float64),
                                 columns=feats)
            frame.insert(0, id_col, [ids[i] for i in rows])
            _write_frame(frame, tmp / f"{spec.name}.{fmt}", fmt)
            entry: dict[str, Any] = {"kind": spec.kind}
            if spec.positions is not None:
                entry["positions"] = list(spec.positions)
            meta["modalities"][spec.name] = entry
        if data.y is not None:
            labels = pd.DataFrame({"sample_id": ids,
                                   "label": [data.class_names[k] for k in data.y]})
            _write_frame(labels, tmp / f"{LABELS}.{fmt}", fmt)
        if data.class_names:
            meta["classes"] = list(data.class_names)
        (tmp / "modalities.json").write_text(json_text(meta, indent=1))
    return target


def align_features(data: MultiOmicsData, specs: Sequence[ModalitySpec],
                   feature_names: Mapping[str, Sequence[str]], *,
                   dropped: Mapping[str, Sequence[str]] | None = None) -> MultiOmicsData:
    """``data`` with the modalities and feature columns of a trained model, in its order.

    Each modality must hold exactly the trained features (any order); columns dropped when
    the model was trained (``dropped``, e.g. constant features) are removed when present. A
    trained modality the data lacks becomes absent for every sample (NaN, mask False), the
    path models take for a missing modality; a modality the model did not see is refused.
    Kinds and positions come from ``specs``; a kind declared otherwise by the data is warned
    about.
    """
    dropped = dropped or {}
    trained = [s.name for s in specs]
    extra = [m for m in data.modalities if m not in trained]
    if extra:
        where = data.sources.get(extra[0], f"modality {extra[0]!r}")
        raise DataFolderError(f"{where}: modality {extra[0]!r} was not seen in training: "
                              f"expected modalities among {trained} (remove or rename the "
                              "table)")
    n = data.n_samples
    x: dict[str, np.ndarray] = {}
    mask = np.zeros((n, len(specs)), dtype=bool)
    names_out: dict[str, list[str]] = {}
    for j, spec in enumerate(specs):
        if spec.name not in feature_names:
            raise DataFolderError(f"feature_names has no entry for modality {spec.name!r}")
        names = [str(f) for f in feature_names[spec.name]]
        if len(names) != spec.n_features:
            raise DataFolderError(f"modality {spec.name!r}: {len(names)} feature names for "
                                  f"n_features = {spec.n_features}")
        names_out[spec.name] = names
        if spec.name not in data.modalities:
            x[spec.name] = np.full((n, spec.n_features), np.nan)
            continue
        here = data.specs[data.modalities.index(spec.name)]
        if here.kind != spec.kind and here.kind != "generic":
            warnings.warn(f"modality {spec.name!r} is declared {here.kind!r} here but was "
                          f"trained as {spec.kind!r}: the trained kind is used",
                          CancerAlphaWarning, stacklevel=2)
        gone = set(map(str, dropped.get(spec.name, ())))
        have = [str(f) for f in data.feature_names[spec.name]]
        col = {f: i for i, f in enumerate(have)}
        wanted = set(names)
        missing = [f for f in names if f not in col]
        surplus = [f for f in have if f not in wanted and f not in gone]
        if missing or surplus:
            where = data.sources.get(spec.name, f"modality {spec.name!r}")
            raise DataFolderError(
                f"{where}: the feature columns of modality {spec.name!r} do not match the "
                f"trained model: {len(missing)} missing ({_preview(missing) or 'none'}), "
                f"{len(surplus)} extra ({_preview(surplus) or 'none'}); expected exactly the "
                f"{len(names)} trained features, in any order"
            )
        x[spec.name] = data.x[spec.name][:, [col[f] for f in names]]
        mask[:, j] = data.mask[:, data.modalities.index(spec.name)]
    return MultiOmicsData(specs=list(specs), x=x, mask=mask, y=data.y,
                          class_names=list(data.class_names), sample_ids=list(data.sample_ids),
                          feature_names=names_out,
                          sources={m: data.sources[m] for m in trained if m in data.sources})
