"""Reading a trained model (interpret): mean attention over samples and heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cancer_alpha import interpret
from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models import build_model

P, K, B = 12, 4, 6


SPECS = [
    ModalitySpec("methylation", "methylation", P, tuple(float(3 * i) for i in range(P))),
    ModalitySpec("fragmentomics", "fragmentomics", P, tuple(100.0 + 10 * i for i in range(P))),
    ModalitySpec("cna", "cna", P),
]


TINY = ModelConfig(d_model=16, n_heads=2, n_layers=2, ff_mult=2, dropout=0.0, n_bins=4,
                   n_latents=8, tab_token_dim=8)


def make_model(name: str = "mmt_modality", seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, SPECS, K, TINY)


def make_batch(n: int = B, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"x": {s.name: torch.randn(n, s.n_features, generator=g) for s in SPECS},
            "mask": torch.ones(n, len(SPECS), dtype=torch.bool)}


def test_mean_attention_averages_samples_and_heads_over_all_tokens():
    model = make_model("mmt_locus").eval()
    batch = make_batch()
    with torch.no_grad():
        out = model(batch["x"], batch["mask"])
    w = interpret.mean_attention(out)
    n = sum(model.counts)
    assert w.shape == (TINY.n_layers, n, n)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-5)  # every query has keys
    own = model.token_modality.numpy()
    assert np.all(w[:, own[:, None] == own[None, :]] == 0)  # never its own modality
    np.testing.assert_allclose(w, out.full_attention().mean(dim=(0, 2)).numpy(), atol=1e-7)


def test_mean_attention_of_a_model_without_attention_raises():
    model = make_model("early_fusion_mlp").eval()
    batch = make_batch()
    with pytest.raises(ValueError, match="attention is None"):
        interpret.mean_attention(model(batch["x"], batch["mask"]))
