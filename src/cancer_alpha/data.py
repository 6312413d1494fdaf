"""Multi-omics data in memory: modality specs, the data container, splits and scaling.

Every data source (the synthetic generator, the real-data fetchers, a researcher's own folder)
produces one :class:`MultiOmicsData`; every model consumes batches made from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

KINDS: tuple[str, ...] = ("methylation", "fragmentomics", "cna", "generic")


@dataclass(frozen=True)
class ModalitySpec:
    """One modality as a model sees it: its name, which encoder suits it, and its width.

    ``positions`` (optional, one float per feature) are coordinates used by locus-token
    models for positional encoding: genome-wide position in megabases for loci, fragment
    length in base pairs for fragment-length bins.
    """

    name: str
    kind: str
    n_features: int
    positions: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"modality {self.name!r}: kind={self.kind!r} is invalid: expected one of {KINDS}"
            )
        if not isinstance(self.n_features, int) or self.n_features <= 0:
            raise ValueError(
                f"modality {self.name!r}: n_features={self.n_features!r} is invalid: "
                "expected a positive integer"
            )
        if self.positions is not None and len(self.positions) != self.n_features:
            raise ValueError(
                f"modality {self.name!r}: {len(self.positions)} positions for "
                f"{self.n_features} features"
            )

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_features": self.n_features,
                "positions": None if self.positions is None else list(self.positions)}

    @classmethod
    def from_dict(cls, d: dict) -> ModalitySpec:
        pos = d.get("positions")
        return cls(d["name"], d["kind"], int(d["n_features"]),
                   None if pos is None else tuple(float(p) for p in pos))


@dataclass
class MultiOmicsData:
    """Samples x features per modality, with a per-sample mask of which modalities exist.

    ``x[name]`` is a float array (n_samples, n_features); rows of a missing modality are NaN
    and ``mask[:, m]`` is False for them. ``y`` holds class indices into ``class_names`` (or
    None when labels are unknown).
    """

    specs: list[ModalitySpec]
    x: dict[str, np.ndarray]
    mask: np.ndarray
    y: np.ndarray | None
    class_names: list[str]
    sample_ids: list[str] = field(default_factory=list)
    feature_names: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.mask.shape[0]
        if self.mask.shape != (n, len(self.specs)) or self.mask.dtype != bool:
            raise ValueError(
                f"mask must be a boolean array of shape (n_samples, {len(self.specs)}), "
                f"got {self.mask.dtype} {self.mask.shape}"
            )
        for spec in self.specs:
            arr = self.x.get(spec.name)
            if arr is None:
                raise ValueError(f"no array for modality {spec.name!r}")
            if arr.shape != (n, spec.n_features):
                raise ValueError(
                    f"modality {spec.name!r}: array of shape {arr.shape}, expected "
                    f"({n}, {spec.n_features})"
                )
        if self.y is not None and self.y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {self.y.shape}")
        if not self.sample_ids:
            self.sample_ids = [f"S{i:06d}" for i in range(n)]
        if not self.feature_names:
            self.feature_names = {s.name: [f"{s.name}_{j}" for j in range(s.n_features)]
                                  for s in self.specs}

    @property
    def n_samples(self) -> int:
        return int(self.mask.shape[0])

    @property
    def modalities(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def subset(self, index: Sequence[int] | np.ndarray) -> MultiOmicsData:
        """The samples at ``index`` (a copy)."""
        idx = np.asarray(index)
        return MultiOmicsData(
            specs=list(self.specs),
            x={k: v[idx] for k, v in self.x.items()},
            mask=self.mask[idx],
            y=None if self.y is None else self.y[idx],
            class_names=list(self.class_names),
            sample_ids=[self.sample_ids[i] for i in np.arange(self.n_samples)[idx]],
            feature_names=dict(self.feature_names),
        )

    def select_modalities(self, names: Sequence[str]) -> MultiOmicsData:
        """Only the named modalities, in the order given."""
        unknown = [n for n in names if n not in self.modalities]
        if unknown or not names:
            raise ValueError(
                f"unknown modality {unknown[0] if unknown else None!r}: expected a non-empty "
                f"subset of {self.modalities}"
            )
        cols = [self.modalities.index(n) for n in names]
        return MultiOmicsData(
            specs=[self.specs[c] for c in cols],
            x={n: self.x[n] for n in names},
            mask=self.mask[:, cols],
            y=self.y,
            class_names=list(self.class_names),
            sample_ids=list(self.sample_ids),
            feature_names={n: self.feature_names[n] for n in names},
        )

    def flat(self, fill: float = 0.0) -> np.ndarray:
        """All modalities side by side (n_samples, total features); missing values -> ``fill``."""
        return np.nan_to_num(
            np.concatenate([self.x[s.name] for s in self.specs], axis=1), nan=fill
        )

    def flat_feature_names(self) -> list[str]:
        return [f"{s.name}:{f}" for s in self.specs for f in self.feature_names[s.name]]


# --------------------------------------------------------------------------- splits


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of a shuffled stratified k-fold split."""
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(n_folds, int) or n_folds < 2:
        raise ValueError(f"n_folds = {n_folds!r} is invalid: expected an integer >= 2")
    counts = np.bincount(y)
    if counts[counts > 0].min() < n_folds:
        raise ValueError(
            f"n_folds = {n_folds} is invalid for these labels: the smallest class has "
            f"{counts[counts > 0].min()} samples (expected at least one per fold)"
        )
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(np.zeros(len(y)), y)]


def train_val_split(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices; the validation part drives early stopping."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=y)
    return np.sort(tr), np.sort(va)


# --------------------------------------------------------------------------- scaling


@dataclass
class Standardizer:
    """Per-feature centring and scaling, fitted on present (unmasked) training samples only."""

    mean: dict[str, np.ndarray] = field(default_factory=dict)
    scale: dict[str, np.ndarray] = field(default_factory=dict)

    def fit(self, data: MultiOmicsData) -> Standardizer:
        """Learn mean and standard deviation per feature from ``data`` (a training fold)."""
        for m, spec in enumerate(data.specs):
            rows = data.x[spec.name][data.mask[:, m]]
            if len(rows) == 0:
                raise ValueError(
                    f"cannot fit scaling for modality {spec.name!r}: no training sample has it"
                )
            mean = rows.mean(axis=0)
            sd = rows.std(axis=0)
            # a feature constant on the training fold carries no information; scale 1 keeps
            # it finite instead of dividing by zero
            self.mean[spec.name] = mean.astype(np.float64)
            self.scale[spec.name] = np.where(sd > 1e-12, sd, 1.0).astype(np.float64)
        return self

    def transform(self, data: MultiOmicsData) -> dict[str, np.ndarray]:
        """Standardised float32 arrays; missing modalities become zeros (their mask is False)."""
        if not self.mean:
            raise ValueError("Standardizer.transform called before fit")
        out = {}
        for m, spec in enumerate(data.specs):
            if spec.name not in self.mean:
                raise ValueError(f"modality {spec.name!r} was not seen when the scaling was fit")
            z = (data.x[spec.name] - self.mean[spec.name]) / self.scale[spec.name]
            z[~data.mask[:, m]] = 0.0
            if not np.isfinite(z).all():
                raise ValueError(f"modality {spec.name!r}: non-finite values in present samples")
            out[spec.name] = z.astype(np.float32)
        return out

    def to_dict(self) -> dict[str, dict[str, list[float]]]:
        return {"mean": {k: v.tolist() for k, v in self.mean.items()},
                "scale": {k: v.tolist() for k, v in self.scale.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> Standardizer:
        return cls({k: np.asarray(v) for k, v in d["mean"].items()},
                   {k: np.asarray(v) for k, v in d["scale"].items()})


def to_tensors(data: MultiOmicsData, scaler: Standardizer) -> dict:
    """A whole data set as one batch dict: {"x": {name: (n, p)}, "mask": (n, M), "y": (n,)}."""
    import torch

    x = {k: torch.from_numpy(v) for k, v in scaler.transform(data).items()}
    y = data.y if data.y is not None else np.full(data.n_samples, -1)
    return {"x": x, "mask": torch.from_numpy(data.mask.copy()),
            "y": torch.from_numpy(np.asarray(y, dtype=np.int64))}
