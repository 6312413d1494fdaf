"""The bring-your-own-data folder format: reading, validating and writing it.

A researcher's own data is a folder of tables (see :func:`read_folder`):

    <dir>/<modality>.csv|tsv|parquet   rows = samples, first column = sample id, header = features
    <dir>/labels.csv|tsv|parquet       two columns: sample id, class name
    <dir>/modalities.json|yml          optional: kind and positions of each modality, class order
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cancer_alpha.data import KINDS, ModalitySpec, MultiOmicsData

TABLE_FORMATS: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".parquet": None}


METADATA_FILES: tuple[str, ...] = ("modalities.json", "modalities.yml", "modalities.yaml")


LABELS = "labels"


CONSTANT_POLICIES: tuple[str, ...] = ("error", "drop", "keep")


@dataclass
class _Table:
    path: Path
    ids: list[str]
    features: list[str]
    values: np.ndarray  # (n_rows, n_features), finite


def _preview(items: Sequence[str], k: int = 5) -> str:
    shown = ", ".join(repr(s) for s in items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def _scan_folder(folder: Path) -> tuple[dict[str, Path], Path | None, Path | None]:
    """Modality tables by name, the labels table and the metadata file of a folder."""
    tables: dict[str, Path] = {}
    labels: Path | None = None
    metadata: Path | None = None
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith("."))
    allowed = f"<modality>.csv|.tsv|.parquet, labels.<same>, or one of {list(METADATA_FILES)}"
    if not entries:
        raise ValueError(f"folder {folder} is empty: expected {allowed}")
    for entry in entries:
        if entry.name in METADATA_FILES:
            if metadata is not None:
                raise ValueError(f"folder {folder} has both {metadata.name} and {entry.name}: "
                                 "expected one metadata file")
            metadata = entry
            continue
        if not entry.is_file():
            raise ValueError(f"{entry}: unexpected folder inside the data folder: expected "
                             f"only files ({allowed})")
        ext = entry.suffix.lower()
        if ext not in TABLE_FORMATS:
            raise ValueError(f"{entry}: unknown file extension {entry.suffix!r}: expected "
                             f"{allowed}")
        name = entry.name[: -len(entry.suffix)]
        if name == LABELS:
            if labels is not None:
                raise ValueError(f"folder {folder} has two labels tables, {labels.name} and "
                                 f"{entry.name}: expected one")
            labels = entry
        elif name in tables:
            raise ValueError(f"folder {folder} has two tables for modality {name!r}, "
                             f"{tables[name].name} and {entry.name}: expected one")
        else:
            tables[name] = entry
    if not tables:
        raise ValueError(f"folder {folder} holds no modality table: expected at least one "
                         "<modality>.csv|.tsv|.parquet (rows = samples, first column = id)")
    return tables, labels, metadata


def _read_frame(path: Path, *, as_text: bool) -> tuple[list[str], pd.DataFrame]:
    """The raw header (duplicates kept) and the rows of a table file."""
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
            if as_text:
                frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
                frame = frame.where(frame != "", None)
            else:
                # ids stay text ("007" is not 7); values are parsed as floats where they can be
                frame = pd.read_csv(path, sep=sep, converters={0: str})
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty: expected a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read as a {path.suffix} table ({exc})") from None
    frame.columns = range(frame.shape[1])  # positions: header names may repeat
    return header, frame


def _sample_ids(path: Path, column: pd.Series) -> list[str]:
    ids = column.astype(object).where(column.notna(), "").astype(str).tolist()
    seen: dict[str, int] = {}
    for i, sid in enumerate(ids):
        if not sid.strip():
            raise ValueError(f"{path}: data row {i + 1} has no sample id in the first column")
        if sid in seen:
            raise ValueError(f"{path}: duplicate sample id {sid!r} in data rows {seen[sid] + 1} "
                             f"and {i + 1}: expected each sample once")
        seen[sid] = i
    return ids


def _read_table(path: Path) -> _Table:
    header, frame = _read_frame(path, as_text=False)
    features = header[1:]
    if not features:
        raise ValueError(f"{path}: no feature columns: expected a sample id column followed by "
                         "one column per feature")
    if len(frame) == 0:
        raise ValueError(f"{path}: the modality has no samples: expected at least one data row")
    for j, name in enumerate(features):
        if not name.strip():
            raise ValueError(f"{path}: column {j + 2} has an empty feature name")
    seen: dict[str, int] = {}
    for j, name in enumerate(features):
        if name in seen:
            raise ValueError(f"{path}: feature {name!r} appears twice (columns {seen[name] + 2} "
                             f"and {j + 2}): expected unique feature names")
        seen[name] = j
    ids = _sample_ids(path, frame.iloc[:, 0])

    values = np.empty((len(frame), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        col = frame.iloc[:, j + 1]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        parsed = col if numeric else pd.to_numeric(col, errors="coerce")
        bad = np.ones(len(col), bool) if pd.api.types.is_bool_dtype(col) else (
            parsed.isna().to_numpy() & col.notna().to_numpy())
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{path}: non-numeric value {col.iloc[i]!r} for sample {ids[i]!r} "
                             f"(data row {i + 1}) in column {name!r}: expected a number in "
                             "every feature cell")
        values[:, j] = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(values)
    empty = np.isnan(values).all(axis=0)
    if empty.any():
        names = [f for f, e in zip(features, empty, strict=True) if e]
        raise ValueError(f"{path}: empty feature(s) {_preview(names)}: no sample has a value; "
                         "remove these columns")
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        what = "missing value" if np.isnan(values[i, j]) else f"non-finite value {values[i, j]}"
        raise ValueError(
            f"{path}: {what} for sample {ids[i]!r} (data row {i + 1}) in column "
            f"{features[j]!r}. Values inside a present sample's row must all be finite: missing "
            "values are refused, not imputed, because a silent imputation would change "
            "results. Impute them yourself before writing the table, or remove the sample's "
            "row from this table to mark the whole modality as missing for that sample."
        )
    return _Table(path, ids, features, values)


def _read_labels(path: Path) -> tuple[list[str], list[str]]:
    header, frame = _read_frame(path, as_text=True)
    if len(header) != 2:
        raise ValueError(f"{path}: {len(header)} columns {header}: expected exactly 2, the "
                         "sample id and the class name")
    if len(frame) == 0:
        raise ValueError(f"{path}: no labelled samples: expected at least one data row")
    ids = _sample_ids(path, frame.iloc[:, 0])
    labels = ["" if v is None or pd.isna(v) else str(v) for v in frame.iloc[:, 1]]
    for i, label in enumerate(labels):
        if not label.strip():
            raise ValueError(f"{path}: sample {ids[i]!r} (data row {i + 1}) has no label: "
                             "expected a class name")
    return ids, labels


def _read_metadata(path: Path) -> tuple[dict[str, tuple[str, tuple[float, ...] | None]],
                                        list[str] | None]:
    """Kind and positions of each listed modality, and the class order, from a metadata file."""
    text = path.read_text()
    if path.suffix == ".json":
        try:
            meta = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    else:
        import yaml

        try:
            meta = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a mapping with keys 'modalities' and 'classes'")
    unknown = sorted(str(k) for k in set(meta) - {"modalities", "classes"})
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]!r}: expected 'modalities' and/or "
                         "'classes'")
    mods = meta.get("modalities") or {}
    if not isinstance(mods, dict):
        raise ValueError(f"{path}: 'modalities' must map each modality name to its kind or to "
                         "{kind: ..., positions: [...]}")
    out: dict[str, tuple[str, tuple[float, ...] | None]] = {}
    for name, entry in mods.items():
        entry = {"kind": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: modality {name!r} must be a kind or a mapping with "
                             f"'kind' and 'positions', got {entry!r}")
        extra = sorted(set(entry) - {"kind", "positions"})
        if extra:
            raise ValueError(f"{path}: modality {name!r} has unknown key {extra[0]!r}: "
                             "expected 'kind' and/or 'positions'")
        kind = entry.get("kind", "generic")
        if kind not in KINDS:
            raise ValueError(f"{path}: modality {name!r} has kind {kind!r}: expected one of "
                             f"{list(KINDS)}")
        positions = entry.get("positions")
        if positions is not None:
            ok = isinstance(positions, list) and all(
                isinstance(p, int | float) and not isinstance(p, bool) and np.isfinite(p)
                for p in positions)
            if not ok:
                raise ValueError(f"{path}: modality {name!r}: positions must be a list of "
                                 "finite numbers, one per feature column")
            positions = tuple(float(p) for p in positions)
        out[str(name)] = (kind, positions)
    classes = meta.get("classes")
    if classes is not None:
        if (not isinstance(classes, list) or not classes
                or not all(isinstance(c, str) and c.strip() for c in classes)
                or len(set(classes)) != len(classes)):
            raise ValueError(f"{path}: 'classes' = {classes!r}: expected a list of distinct "
                             "class names")
        classes = [str(c) for c in classes]
    return out, classes


def _drop_constant(table: _Table, positions: tuple[float, ...] | None, *,
                   refuse: bool) -> tuple[float, ...] | None:
    """Refuse (or drop in place) the features of ``table`` that are constant; new positions."""
    const = np.ptp(table.values, axis=0) == 0
    if not const.any():
        return positions
    if refuse:
        bad = [f for f, c in zip(table.features, const, strict=True) if c]
        raise ValueError(
            f"{table.path}: constant feature(s) {_preview(bad)} (the same value in all "
            f"{len(table.ids)} samples): they carry no information; remove them, or read with "
            "constant='drop' to drop them or constant='keep' to keep them"
        )
    if const.all():
        raise ValueError(f"{table.path}: every feature is constant: nothing is left after "
                         "dropping them")
    keep = ~const
    table.values = table.values[:, keep]
    table.features = [f for f, k in zip(table.features, keep, strict=True) if k]
    return None if positions is None else tuple(np.asarray(positions)[keep].tolist())


def read_folder(path: str | os.PathLike[str], *, labels: bool | None = None,
                constant: str = "error") -> MultiOmicsData:
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
    names; a class with a single sample is refused.

    Missing values inside a present sample's row are refused, never imputed. Features that
    are constant over the samples of a labelled folder's table carry no information and often
    betray a broken export: ``constant="error"`` refuses them, ``"drop"`` removes them,
    ``"keep"`` keeps them. Prediction reads (no labels) keep them: a small batch may
    legitimately be constant, and :func:`align_features` checks features against the trained
    run instead.
    """
    folder = Path(path)
    if labels not in (None, True, False):
        raise ValueError(f"labels = {labels!r} is invalid: expected None, True or False")
    if constant not in CONSTANT_POLICIES:
        raise ValueError(f"constant = {constant!r} is invalid: expected one of "
                         f"{list(CONSTANT_POLICIES)}")
    if not folder.is_dir():
        raise ValueError(f"path = {str(folder)!r} is invalid: expected an existing folder")
    table_paths, labels_path, meta_path = _scan_folder(folder)
    meta, meta_classes = _read_metadata(meta_path) if meta_path else ({}, None)
    unlisted = [m for m in meta if m not in table_paths]
    if unlisted:
        raise ValueError(f"{meta_path}: modality {unlisted[0]!r} has no table in {folder}: "
                         f"expected {unlisted[0]}.csv|.tsv|.parquet (if no sample has it, "
                         f"remove it from {meta_path.name})")
    names = list(meta) + sorted(m for m in table_paths if m not in meta)
    if labels is True and labels_path is None:
        raise ValueError(f"folder {folder} has no labels table: expected labels.csv, "
                         "labels.tsv or labels.parquet (columns: sample id, class name)")
    with_labels = labels_path is not None and labels is not False

    tables = {m: _read_table(table_paths[m]) for m in names}
    positions: dict[str, tuple[float, ...] | None] = {}
    for m, table in tables.items():
        pos = meta.get(m, ("generic", None))[1]
        if pos is not None and len(pos) != len(table.features):
            raise ValueError(f"{meta_path}: modality {m!r} has {len(pos)} positions for "
                             f"{len(table.features)} features in {table.path.name}: expected "
                             "one per feature column")
        # one sample is constant in every feature: constancy only means something from two on
        if with_labels and constant != "keep" and len(table.ids) >= 2:
            pos = _drop_constant(table, pos, refuse=constant == "error")
        positions[m] = pos

    y: np.ndarray | None = None
    class_names = list(meta_classes or [])
    if with_labels and labels_path is not None:
        ids, label_values = _read_labels(labels_path)
        known = set(ids)
        for table in tables.values():
            for i, sid in enumerate(table.ids):
                if sid not in known:
                    raise ValueError(
                        f"{table.path}: sample {sid!r} (data row {i + 1}) is absent from "
                        f"{labels_path.name}: every sample of a labelled folder needs a label "
                        "(add it, remove its rows, or read with labels=False to predict)"
                    )
        class_names = list(meta_classes) if meta_classes else sorted(set(label_values))
        index = {c: k for k, c in enumerate(class_names)}
        for i, label in enumerate(label_values):
            if label not in index:
                raise ValueError(f"{labels_path}: sample {ids[i]!r} has label {label!r}, not "
                                 f"one of the classes {class_names} of {meta_path}")
        y = np.array([index[label] for label in label_values], dtype=np.int64)
        counts = np.bincount(y, minlength=len(class_names))
        rare = [c for c, k in zip(class_names, counts, strict=True) if k == 1]
        if rare:
            raise ValueError(f"{labels_path}: class {rare[0]!r} has a single sample: expected "
                             "at least 2 samples per class (merge or remove rare classes)")
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
        raise ValueError(f"{labels_path}: sample {ids[empty[0]]!r} has no row in any modality "
                         f"table ({len(empty)} such samples): expected each labelled sample in "
                         "at least one table")
    specs = [ModalitySpec(m, meta.get(m, ("generic", None))[0], len(tables[m].features),
                          positions[m]) for m in names]
    return MultiOmicsData(specs=specs, x=x, mask=mask, y=y, class_names=class_names,
                          sample_ids=ids, feature_names={m: t.features for m, t in tables.items()})


def _check_writable(data: MultiOmicsData) -> None:
    """Refuse what :func:`read_folder` would refuse, before anything is written."""
    if data.n_samples == 0:
        raise ValueError("data has no samples: a folder needs at least one")
    ids = [str(s) for s in data.sample_ids]
    if len(set(ids)) != len(ids) or not all(s.strip() for s in ids):
        dup = next((s for s in ids if ids.count(s) > 1 or not s.strip()), None)
        raise ValueError(f"sample id {dup!r} is empty or repeated: expected distinct ids")
    for j, spec in enumerate(data.specs):
        m = spec.name
        if not m or m.startswith(".") or m == LABELS or any(c in m for c in "/\\"):
            raise ValueError(f"modality name {m!r} cannot be a file name: expected a non-empty "
                             "name without '/' or '\\', not starting with '.', not 'labels'")
        feats = [str(f) for f in data.feature_names[m]]
        if len(set(feats)) != len(feats) or not all(f.strip() for f in feats):
            raise ValueError(f"modality {m!r}: feature names must be distinct and non-empty")
        present = data.x[m][data.mask[:, j]]
        if not np.isfinite(present).all():
            i = int(np.flatnonzero(data.mask[:, j])[np.argmax(~np.isfinite(present).all(1))])
            raise ValueError(f"modality {m!r}: sample {ids[i]!r} is marked present but has "
                             "missing or non-finite values: impute them or set its mask False")
    if data.mask.shape[0] and not data.mask.any(axis=1).all():
        i = int(np.argmin(data.mask.any(axis=1)))
        raise ValueError(f"sample {ids[i]!r} has no modality: a folder cannot hold it")
    if data.y is not None and data.y.size and (
            data.y.min() < 0 or data.y.max() >= len(data.class_names)):
        raise ValueError(f"y holds class indices outside [0, {len(data.class_names)})")


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
        raise ValueError(f"fmt = {fmt!r} is invalid: expected 'csv', 'tsv' or 'parquet'")
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise ValueError(f"path = {str(target)!r} is invalid: it is a file, expected a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ValueError(f"path = {str(target)!r} is invalid: the folder is not empty "
                         "(pass overwrite=True to replace it)")
    _check_writable(data)
    ids = [str(s) for s in data.sample_ids]
    target.parent.mkdir(parents=True, exist_ok=True)
    # a hidden sibling on the same file system, so the final rename is atomic
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
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
        (tmp / "modalities.json").write_text(json.dumps(meta, indent=1) + "\n")
        _replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _replace_folder(new: Path, target: Path) -> None:
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


def align_features(data: MultiOmicsData, specs: Sequence[ModalitySpec],
                   feature_names: Mapping[str, Sequence[str]]) -> MultiOmicsData:
    """``data`` with the modalities and feature columns of a trained run, in the run's order.

    Each modality must hold exactly the trained features (any order); a trained modality the
    data lacks becomes absent for every sample (NaN, mask False), the path models take for a
    missing modality; a modality the run did not see is refused. Kinds and positions come
    from ``specs``.
    """
    trained = [s.name for s in specs]
    extra = [m for m in data.modalities if m not in trained]
    if extra:
        raise ValueError(f"modality {extra[0]!r} was not seen in training: expected modalities "
                         f"among {trained}")
    n = data.n_samples
    x: dict[str, np.ndarray] = {}
    mask = np.zeros((n, len(specs)), dtype=bool)
    names_out: dict[str, list[str]] = {}
    for j, spec in enumerate(specs):
        if spec.name not in feature_names:
            raise ValueError(f"feature_names has no entry for modality {spec.name!r}")
        names = [str(f) for f in feature_names[spec.name]]
        if len(names) != spec.n_features:
            raise ValueError(f"modality {spec.name!r}: {len(names)} feature names for "
                             f"n_features = {spec.n_features}")
        names_out[spec.name] = names
        if spec.name not in data.modalities:
            x[spec.name] = np.full((n, spec.n_features), np.nan)
            continue
        have = [str(f) for f in data.feature_names[spec.name]]
        col = {f: i for i, f in enumerate(have)}
        wanted = set(names)
        missing = [f for f in names if f not in col]
        surplus = [f for f in have if f not in wanted]
        if missing or surplus:
            raise ValueError(
                f"modality {spec.name!r}: features do not match the trained run: "
                f"{len(missing)} missing ({_preview(missing) or 'none'}), {len(surplus)} extra "
                f"({_preview(surplus) or 'none'}); expected exactly the {len(names)} trained "
                "features, in any order"
            )
        x[spec.name] = data.x[spec.name][:, [col[f] for f in names]]
        mask[:, j] = data.mask[:, data.modalities.index(spec.name)]
    return MultiOmicsData(specs=list(specs), x=x, mask=mask, y=data.y,
                          class_names=list(data.class_names), sample_ids=list(data.sample_ids),
                          feature_names=names_out)
