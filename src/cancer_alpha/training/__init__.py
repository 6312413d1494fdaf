"""Training the neural models: the LightningModule (``module``), the DataModule and its batches
(``data``), the Trainer recipe, fitting and prediction (``fit``), and run folders (``runs``)."""

from cancer_alpha.training.data import BatchDataset, CohortDataModule, batch_loader
from cancer_alpha.training.fit import (
    EpochProgress,
    FittedModel,
    KeepBest,
    fit_neural,
    make_trainer,
    quiet_lightning,
    resolve_precision,
)
from cancer_alpha.training.module import ClassifierModule, modality_dropout, warmup_cosine
from cancer_alpha.training.runs import RUN_FORMAT, load_run, save_run

__all__ = [
    "BatchDataset", "CohortDataModule", "batch_loader", "EpochProgress", "FittedModel",
    "KeepBest", "fit_neural", "make_trainer", "quiet_lightning", "resolve_precision",
    "ClassifierModule", "modality_dropout", "warmup_cosine", "RUN_FORMAT", "load_run",
    "save_run",
]
