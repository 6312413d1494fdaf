"""The tiny three-modality setup that the loss and LightningModule tests share: three
modalities of P features, K classes, and a model configuration small enough to train in
milliseconds."""

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec

P, K = 6, 3
SPECS = [ModalitySpec("methylation", "methylation", P),
         ModalitySpec("fragmentomics", "fragmentomics", P),
         ModalitySpec("cna", "cna", P)]
NAMES = [s.name for s in SPECS]
TINY = ModelConfig(d_model=8, n_heads=2, n_layers=1, dropout=0.0, n_bins=4, n_latents=4,
                   tab_token_dim=8)


# The setup of the model tests (models, their figures, interpret): 12 features per modality,
# the first two with genomic positions so that the convolving encoders see ordered columns,
# 4 classes, batches of 6, and a model configuration that builds every model in milliseconds
MODEL_P, MODEL_K, MODEL_B = 12, 4, 6
MODEL_SPECS = [
    ModalitySpec("methylation", "methylation", MODEL_P,
                 tuple(float(3 * i) for i in range(MODEL_P))),
    ModalitySpec("fragmentomics", "fragmentomics", MODEL_P,
                 tuple(100.0 + 10 * i for i in range(MODEL_P))),
    ModalitySpec("cna", "cna", MODEL_P),
]
MODEL_TINY = ModelConfig(d_model=16, n_heads=2, n_layers=2, ff_mult=2, dropout=0.0, n_bins=4,
                         n_latents=8, tab_token_dim=8)


def make_model(name: str = "mmt_modality", seed: int = 0):
    """A model of the registry with the setup above, its weights drawn from ``seed``."""
    import torch

    from cancer_alpha.models import build_model

    torch.manual_seed(seed)
    return build_model(name, MODEL_SPECS, MODEL_K, MODEL_TINY)


def make_batch(n: int = MODEL_B, seed: int = 0) -> dict:
    """A batch of ``n`` standard-normal samples with every modality present."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return {"x": {s.name: torch.randn(n, s.n_features, generator=g) for s in MODEL_SPECS},
            "mask": torch.ones(n, len(MODEL_SPECS), dtype=torch.bool)}


def tiny_data(n: int = 4, **kw):
    """A data set of ``n`` samples, one generic modality of 2 features and 2 classes, with
    any field replaced through ``kw`` (the data-container, folder and model-folder tests)."""
    import numpy as np

    from cancer_alpha.data import MultiOmicsData

    specs = [ModalitySpec("a", "generic", 2)]
    base = dict(specs=specs, x={"a": np.arange(n * 2, dtype=float).reshape(n, 2)},
                mask=np.ones((n, 1), bool), y=np.arange(n) % 2, class_names=["u", "v"],
                sample_ids=[f"s{i}" for i in range(n)], feature_names={"a": ["f1", "f2"]})
    base.update(kw)
    return MultiOmicsData(**base)
