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
