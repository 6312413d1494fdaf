"""Training the neural models: the LightningModule and what it shares with code outside
Lightning (``module``), the DataModule with its split and scaling, and its batches (``data``),
the Trainer recipe, fitting and the fitted model (``fit``), and model folders, a trained model
written and read back (``model_folder``).

The training loss of a batch, :func:`cancer_alpha.losses.batch_loss`, lives outside this
package so that code measuring training steps need not import Lightning.
"""

from cancer_alpha.losses import modality_dropout
from cancer_alpha.training.data import (
    BatchDataset,
    CohortDataModule,
    batch_loader,
)
from cancer_alpha.training.fit import (
    BaggedModel,
    EpochProgress,
    FittedModel,
    fit_bagged,
    fit_neural,
    make_trainer,
    quiet_lightning,
)
from cancer_alpha.training.model_folder import (
    MODEL_FOLDER_FORMAT,
    load_model_folder,
    save_model_folder,
)
from cancer_alpha.training.module import (
    ClassifierModule,
    class_probabilities,
    fit_quantile_bins,
    make_optimizer,
    predict_batches,
    resolve_precision,
    warmup_cosine,
)

__all__ = [
    "BatchDataset", "CohortDataModule", "batch_loader", "EpochProgress",
    "BaggedModel", "FittedModel", "fit_bagged",
    "fit_neural", "make_trainer", "quiet_lightning", "resolve_precision",
    "ClassifierModule", "class_probabilities", "fit_quantile_bins", "make_optimizer",
    "predict_batches", "warmup_cosine", "modality_dropout", "MODEL_FOLDER_FORMAT",
    "load_model_folder", "save_model_folder",
]
