"""Multi-omics data in memory: modality specs, the data container, splits and scaling.

Every data source (the synthetic generator, the real-data fetchers, a researcher's own folder)
produces one :class:`MultiOmicsData`; every model consumes batches made from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cancer_alpha.errors import CancerAlphaError

KINDS: tuple[str, ...] = ("methylation", "fragmentomics", "cna", "generic")

FLOAT32_MAX = float(np.finfo(np.float32).max)  # models compute in 32-bit floats


@dataclass(frozen=True)
class KindInfo:
    """What a modality kind means: the values it expects and the encoder it selects.

    Values outside ``[low, high]`` are refused when ``strict`` (no other reading of them is
    plausible), otherwise warned about; ``--no-range-check`` accepts them either way.
    """

    values: str
    encoder: str
    low: float = -np.inf
    high: float = np.inf
    strict: bool = True


KIND_INFO: dict[str, KindInfo] = {
    "methylation": KindInfo(
        "beta values: the methylated fraction of each CpG site or region, in [0, 1]",
        "an MLP over the betas (the same network as 'generic': the kind records the data "
        "type and turns on the [0, 1] check)", 0.0, 1.0, strict=True),
    "fragmentomics": KindInfo(
        "a cfDNA fragment-length histogram: proportions (or counts) of fragments per length "
        "bin, >= 0, columns in order of fragment length",
        "1-D convolutions along the columns, then average pooling: neighbouring columns must "
        "be neighbouring length bins", 0.0, np.inf, strict=True),
    "cna": KindInfo(
        "copy-number log2 ratios per genomic bin (0 = two copies), plausibly within [-8, 8], "
        "columns in genome order",
        "1-D convolutions plus a bidirectional GRU along the columns: neighbouring columns "
        "must be neighbouring genome bins", -8.0, 8.0, strict=False),
    "generic": KindInfo(
        "any numeric features (expression, protein, clinical scores, ...)",
        "an MLP over the standardised features; column order does not matter"),
}

# Kinds whose encoder differs from the generic MLP (methylation's is the same network).
SPECIFIC_ENCODER_KINDS: tuple[str, ...] = ("fragmentomics", "cna")


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
    sources: dict[str, str] = field(default_factory=dict)  # modality -> file it was read from

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
            sources=dict(self.sources),
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
            sources={n: self.sources[n] for n in names if n in self.sources},
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

    if not isinstance(n_folds, int) or isinstance(n_folds, bool) or n_folds < 2:
        raise CancerAlphaError(f"n_folds = {n_folds!r} is invalid: expected an integer >= 2")
    counts = np.bincount(y)
    if counts[counts > 0].min() < n_folds:
        raise CancerAlphaError(
            f"n_folds = {n_folds} is invalid for these labels: the smallest class has "
            f"{counts[counts > 0].min()} samples (expected at least one per fold)"
        )
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in skf.split(np.zeros(len(y)), y)]


def train_val_split(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices; the validation part drives early stopping.

    When the data are too small for an exact stratified split (a class with one sample, or
    fewer held-out samples than classes), each class of at least two samples gives
    ``round(val_fraction * count)`` of them, at least one and never all, to validation, and a
    class of one sample stays in training.
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    idx = np.arange(len(y))
    if not 0.0 < val_fraction < 1.0:
        raise CancerAlphaError(f"val_fraction = {val_fraction!r} is invalid: expected a "
                               "fraction in (0, 1)")
    try:
        tr, va = train_test_split(idx, test_size=val_fraction, random_state=seed, stratify=y)
    except ValueError:
        rng = np.random.default_rng(seed)
        va_parts = []
        for k in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == k))
            if len(members) >= 2:
                take = min(max(int(round(val_fraction * len(members))), 1), len(members) - 1)
                va_parts.append(members[:take])
        if not va_parts:
            raise CancerAlphaError(
                f"cannot hold out samples for early stopping: each of the {len(y)} samples "
                "has a class of its own (expected at least one class with 2 samples)") from None
        va = np.concatenate(va_parts)
        tr = np.setdiff1d(idx, va)
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
            with np.errstate(over="ignore", invalid="ignore"):
                z = (data.x[spec.name] - self.mean[spec.name]) / self.scale[spec.name]
                z[~data.mask[:, m]] = 0.0
                z32 = z.astype(np.float32)
            # checked after the cast: a value finite in float64 may overflow float32
            bad = ~np.isfinite(z32)
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                sid = data.sample_ids[i] if i < len(data.sample_ids) else i
                names = data.feature_names.get(spec.name, [])
                feat = names[j] if j < len(names) else j
                raise CancerAlphaError(
                    f"modality {spec.name!r}: value {float(data.x[spec.name][i, j]):.6g} of sample "
                    f"{sid!r} in column {feat!r} is not finite once standardised with the "
                    f"training mean {self.mean[spec.name][j]:.6g} and sd "
                    f"{self.scale[spec.name][j]:.6g} and cast to float32: expected finite "
                    "values on the training scale")
            out[spec.name] = z32
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
