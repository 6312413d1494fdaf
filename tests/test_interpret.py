"""Reading a trained model (interpret): mean attention over samples and heads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cancer_alpha import interpret
from tests.tiny_models import MODEL_TINY as TINY
from tests.tiny_models import make_batch, make_model


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
