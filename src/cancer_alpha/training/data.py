"""Batches of in-memory tensors and the DataModule of a fit: its validation split and scaling."""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch

from cancer_alpha.config import TrainConfig
from cancer_alpha.data import MultiOmicsData, Standardizer, to_tensors, train_val_split
from cancer_alpha.losses import Batch


class BatchDataset(torch.utils.data.Dataset):
    """In-memory tensors indexed a whole batch at a time (no per-sample Python overhead)."""

    def __init__(self, tensors: Batch):
        self.tensors = tensors
        self.n = int(tensors["y"].shape[0])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: list[int]) -> Batch:
        idx = torch.as_tensor(index)
        return {"x": {k: v[idx] for k, v in self.tensors["x"].items()},
                "mask": self.tensors["mask"][idx], "y": self.tensors["y"][idx]}


def batch_loader(tensors: Batch, batch_size: int, *, shuffle: bool = False,
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
    """The batches of one fit on labelled ``data``: a stratified part (``val_fraction`` of
    ``train_cfg``, drawn with ``seed``) is held out for early stopping, the scaling is fitted
    on the rest only, and training batches of ``train_cfg.batch_size`` are shuffled with
    ``seed``. With ``validation=False`` every sample trains and there is no validation set
    (timing runs, one distributed epoch, the refit on all samples; give their Trainer
    ``limit_val_batches=0``). ``split`` (training and validation indices) replaces the drawn
    split.

    The split and the scaling are made at construction, not in ``setup``: they are cheap and
    deterministic, every process of a distributed run builds the same ones, and the fit needs
    ``scaler`` and ``val_index`` before and after the Trainer runs (the fitted model keeps
    them; progressive training runs two fits on the same split).
    """

    def __init__(self, data: MultiOmicsData, train_cfg: TrainConfig, seed: int = 0, *,
                 validation: bool = True,
                 split: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__()
        if data.y is None:
            raise ValueError("cannot train on data without labels")
        if split is not None:  # a split chosen by the caller (a fold of a bagged model)
            self.train_index, self.val_index = (np.asarray(i, int) for i in split)
        elif validation:
            self.train_index, self.val_index = train_val_split(data.y, train_cfg.val_fraction,
                                                               seed)
        else:
            self.train_index, self.val_index = np.arange(data.n_samples), np.arange(0)
        fit_part = data.subset(self.train_index)
        self.scaler = Standardizer().fit(fit_part)
        self.train_tensors = to_tensors(fit_part, self.scaler)
        self.val_tensors = (to_tensors(data.subset(self.val_index), self.scaler) if validation
                            else None)
        self.batch_size = train_cfg.batch_size
        self.eval_batch_size = train_cfg.eval_batch_size
        self.seed = seed

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return batch_loader(self.train_tensors, self.batch_size, shuffle=True, seed=self.seed)

    def val_dataloader(self) -> torch.utils.data.DataLoader | list:
        if self.val_tensors is None:
            return []  # no validation loop (Lightning warns unless limit_val_batches=0)
        return batch_loader(self.val_tensors, self.eval_batch_size)
