"""Batches of in-memory tensors and the DataModule of a fit."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from cancer_alpha.data import (
    MultiOmicsData,
    Standardizer,
    to_tensors,
)


class BatchDataset(torch.utils.data.Dataset):
    """In-memory tensors indexed a whole batch at a time (no per-sample Python overhead)."""

    def __init__(self, tensors: dict[str, Any]):
        self.tensors = tensors
        self.n = int(tensors["y"].shape[0])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> dict[str, Any]:
        idx = torch.as_tensor(index)
        return {"x": {k: v[idx] for k, v in self.tensors["x"].items()},
                "mask": self.tensors["mask"][idx], "y": self.tensors["y"][idx]}


def batch_loader(tensors: dict[str, Any], batch_size: int, *, shuffle: bool = False,
                 seed: int = 0) -> torch.utils.data.DataLoader:
    """Batches of ``tensors``; shuffled with its own seeded generator when ``shuffle``."""
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

    ds = BatchDataset(tensors)
    base = (RandomSampler(ds, generator=torch.Generator().manual_seed(seed)) if shuffle
            else SequentialSampler(ds))
    # a last batch of one sample would give batch normalisation a single value per channel
    drop_last = shuffle and len(ds) % batch_size == 1
    return DataLoader(ds, batch_size=None,
                      sampler=BatchSampler(base, batch_size, drop_last=drop_last))


class CohortDataModule(pl.LightningDataModule):
    """Training and validation batches of a fold, standardised with training statistics."""

    def __init__(self, train: MultiOmicsData, val: MultiOmicsData, scaler: Standardizer,
                 batch_size: int, seed: int = 0):
        super().__init__()
        self.train_tensors = to_tensors(train, scaler)
        self.val_tensors = to_tensors(val, scaler)
        self.batch_size = batch_size
        self.seed = seed

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return batch_loader(self.train_tensors, self.batch_size, shuffle=True, seed=self.seed)

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return batch_loader(self.val_tensors, 512)
