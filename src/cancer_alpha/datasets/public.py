"""The two public multi-omics data sets of Chapter 8, loaded from the data home with their
fixed train/test splits, and the published results they are compared with."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cancer_alpha.data import ModalitySpec, MultiOmicsData
from cancer_alpha.datasets.registry import data_home, fetch

ROSMAP_CLASSES: tuple[str, ...] = ("NC", "AD")  # labels 0 = normal control, 1 = Alzheimer's


ROSMAP_VIEWS: tuple[tuple[str, int], ...] = (("mrna", 1), ("methylation", 2), ("mirna", 3))


ROSMAP_SAMPLES: dict[str, int] = {"tr": 245, "te": 106}


ROSMAP_FEATURES = 200


BREAST_TCGA_CLASSES: tuple[str, ...] = ("Basal", "Her2", "LumA")


BREAST_TCGA_FEATURES: dict[str, int] = {"mrna": 200, "mirna": 184, "protein": 142}


BREAST_TCGA_SAMPLES: dict[str, int] = {"data.train": 150, "data.test": 70}


def _check_shape(path: Path, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    if shape != expected:
        raise ValueError(
            f"{path}: shape {shape}, expected {expected}: the file is not the registered "
            "version; delete it so that it is downloaded again"
        )


def _load_text_matrix(relpath: str, shape: tuple[int, ...]) -> np.ndarray:
    path = fetch(relpath)
    try:
        values = np.loadtxt(path, delimiter=",", ndmin=len(shape), dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric comma-separated table ({exc})") from None
    _check_shape(path, values.shape, shape)
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: contains missing or non-finite values, expected none")
    return values


def _load_names(relpath: str, n: int) -> list[str]:
    path = fetch(relpath)
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    _check_shape(path, (len(names),), (n,))
    if len(set(names)) != n:
        raise ValueError(f"{path}: feature names are not unique")
    return names


def _rosmap_split(split: str, feature_names: dict[str, list[str]]) -> MultiOmicsData:
    n = ROSMAP_SAMPLES[split]
    x = {name: _load_text_matrix(f"mogonet/ROSMAP/{view}_{split}.csv", (n, ROSMAP_FEATURES))
         for name, view in ROSMAP_VIEWS}
    relpath = f"mogonet/ROSMAP/labels_{split}.csv"
    labels = _load_text_matrix(relpath, (n,))
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(f"{data_home() / relpath}: labels must be 0 or 1, found "
                         f"{sorted(set(labels.tolist()))}")
    return MultiOmicsData(
        specs=[ModalitySpec(name, "generic", ROSMAP_FEATURES) for name, _ in ROSMAP_VIEWS],
        x=x,
        mask=np.ones((n, len(ROSMAP_VIEWS)), dtype=bool),
        y=labels.astype(np.int64),
        class_names=list(ROSMAP_CLASSES),
        sample_ids=[f"{split}_{i:03d}" for i in range(n)],
        feature_names={k: list(v) for k, v in feature_names.items()},
    )


def load_rosmap() -> tuple[MultiOmicsData, MultiOmicsData]:
    """ROSMAP (Alzheimer's disease vs normal control) in MOGONET's fixed train/test split.

    Modalities ``mrna``, ``methylation`` and ``mirna``, 200 features each, all of kind
    "generic": the methylation view holds array beta values that MOGONET min-max scaled over
    the whole matrix after feature selection, without genomic positions, so nothing
    methylation-specific applies (the project's methylation encoder is an MLP either way).
    Labels: 0 = "NC" (normal control), 1 = "AD". Sample ids ``tr_000`` ... and ``te_000`` ...
    (the files carry none).
    """
    names = {name: _load_names(f"mogonet/ROSMAP/{view}_featname.csv", ROSMAP_FEATURES)
             for name, view in ROSMAP_VIEWS}
    return _rosmap_split("tr", names), _rosmap_split("te", names)


def _r_matrix(block: Any, where: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Values, row names and column names of a matrix converted by ``rdata``."""
    if not hasattr(block, "dims") or len(block.dims) != 2:
        raise ValueError(f"{where}: expected a named matrix, got {type(block).__name__}")
    rows = [str(v) for v in block.coords[block.dims[0]].values]
    cols = [str(v) for v in block.coords[block.dims[1]].values]
    return np.asarray(block.values, dtype=np.float64), rows, cols


def _breast_part(path: Path, part: Mapping[str, Any], key: str,
                 reference: Mapping[str, list[str]] | None) -> MultiOmicsData:
    n = BREAST_TCGA_SAMPLES[key]
    names = list(BREAST_TCGA_FEATURES)
    present = [m for m in names if m in part]
    expected = names if reference is None else ["mrna", "mirna"]
    if present != expected or "subtype" not in part:
        raise ValueError(f"{path}: {key} holds {sorted(part)}, expected {expected + ['subtype']}")
    x: dict[str, np.ndarray] = {}
    feature_names: dict[str, list[str]] = {}
    ids: list[str] | None = None
    for m in present:
        where = f"{path}: {key}${m}"
        values, rows, cols = _r_matrix(part[m], where)
        _check_shape(path, values.shape, (n, BREAST_TCGA_FEATURES[m]))
        if ids is not None and rows != ids:
            raise ValueError(f"{where}: samples differ from those of {key}${present[0]}")
        if reference is not None and cols != reference[m]:
            raise ValueError(f"{where}: features differ from those of data.train${m}")
        if not np.isfinite(values).all():
            raise ValueError(f"{where}: contains missing or non-finite values, expected none")
        ids, x[m], feature_names[m] = rows, values, cols
    subtype = [str(s) for s in np.asarray(part["subtype"])]
    unknown = sorted(set(subtype) - set(BREAST_TCGA_CLASSES))
    if len(subtype) != n or unknown:
        raise ValueError(f"{path}: {key}$subtype has {len(subtype)} values (expected {n}) and "
                         f"unknown classes {unknown} (expected {list(BREAST_TCGA_CLASSES)})")
    mask = np.ones((n, len(names)), dtype=bool)
    for j, m in enumerate(names):
        if m not in x:  # the test set has no protein data: absent for every sample
            x[m] = np.full((n, BREAST_TCGA_FEATURES[m]), np.nan)
            feature_names[m] = list(reference[m]) if reference is not None else []
            mask[:, j] = False
    return MultiOmicsData(
        specs=[ModalitySpec(m, "generic", BREAST_TCGA_FEATURES[m]) for m in names],
        x=x,
        mask=mask,
        y=np.array([BREAST_TCGA_CLASSES.index(s) for s in subtype], dtype=np.int64),
        class_names=list(BREAST_TCGA_CLASSES),
        sample_ids=list(ids or []),
        feature_names=feature_names,
    )


def load_breast_tcga() -> tuple[MultiOmicsData, MultiOmicsData]:
    """TCGA breast cancer subtypes Basal / Her2 / LumA from mixOmics' ``breast.TCGA``.

    Train: 150 samples with ``mrna`` (200), ``mirna`` (184) and ``protein`` (142) features.
    Test: 70 samples with the same three modalities in its specs, but ``protein`` is absent
    for every sample (NaN values, mask False), as upstream publishes it. Sample ids are the
    matrices' row names; all modalities are of kind "generic".
    """
    import rdata

    path = fetch("mixomics/breast.TCGA.rda")
    try:
        obj = rdata.read_rda(path)["breast.TCGA"]
    except KeyError:
        raise ValueError(f"{path}: no object named 'breast.TCGA'") from None
    parts = {str(k): v for k, v in obj.items()}
    if sorted(parts) != sorted(BREAST_TCGA_SAMPLES):
        raise ValueError(f"{path}: breast.TCGA holds {sorted(parts)}, "
                         f"expected {sorted(BREAST_TCGA_SAMPLES)}")
    train = _breast_part(path, {str(k): v for k, v in parts["data.train"].items()},
                         "data.train", None)
    test = _breast_part(path, {str(k): v for k, v in parts["data.test"].items()},
                        "data.test", train.feature_names)
    return train, test


# Published results on ROSMAP's fixed MOGONET split, quoted for comparison (not computed here):
# mean (and sd where published) of accuracy, F1 (binary, AD positive) and ROC AUC.
ROSMAP_PUBLISHED: dict[str, dict[str, Any]] = {
    "MOGONET (Wang et al. 2021)": {"accuracy": 0.815, "accuracy_sd": 0.023, "f1": 0.821,
                                   "f1_sd": 0.022, "auc": 0.874, "auc_sd": 0.012,
                                   "source": "wang2021mogonet"},
    "random forest (as reported by Wang et al. 2021)": {"accuracy": 0.726, "f1": 0.734,
                                                        "auc": 0.811,
                                                        "source": "wang2021mogonet"},
    "Multimodal Dynamics (Han et al. 2022)": {"accuracy": 0.842, "f1": 0.846, "auc": 0.912,
                                              "source": "han2022dynamics"},
}
