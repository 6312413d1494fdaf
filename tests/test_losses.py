"""Focal loss, the attention-entropy regulariser, the composite and auxiliary losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cancer_alpha.losses import attention_entropy, auxiliary_loss, composite_loss, focal_loss
from cancer_alpha.models.attention import masked_softmax


def logits_and_targets(n: int = 32, k: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 3, torch.randint(0, k, (n,), generator=g)


def test_focal_loss_equals_cross_entropy_at_gamma_zero():
    logits, y = logits_and_targets()
    assert torch.allclose(focal_loss(logits, y, gamma=0.0), F.cross_entropy(logits, y))
    w = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.1])
    assert torch.allclose(focal_loss(logits, y, gamma=0.0, class_weight=w),
                          F.cross_entropy(logits, y, weight=w))
    assert torch.allclose(focal_loss(logits, y, gamma=0.0, reduction="none"),
                          F.cross_entropy(logits, y, reduction="none"))


def test_focal_loss_follows_lin_et_al_formula():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = torch.tensor([0, 2])
    p = torch.softmax(logits, dim=1)[torch.arange(2), y]
    expected = -((1 - p) ** 2) * torch.log(p)
    assert torch.allclose(focal_loss(logits, y, gamma=2.0, reduction="none"), expected)
    assert torch.allclose(focal_loss(logits, y, gamma=2.0, reduction="sum"), expected.sum())


def test_focal_loss_down_weights_easy_examples():
    logits = torch.tensor([[4.0, 0.0], [0.1, 0.0]])  # an easy and a hard example of class 0
    y = torch.tensor([0, 0])
    ratio = (focal_loss(logits, y, 2.0, reduction="none")
             / F.cross_entropy(logits, y, reduction="none"))
    assert ratio[0] < 0.001 < 0.2 < ratio[1] < 1.0


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_loss_gradient_is_finite_when_a_prediction_is_certain(gamma):
    logits = torch.tensor([[200.0, -200.0], [0.3, 0.1]], requires_grad=True)
    focal_loss(logits, torch.tensor([0, 1]), gamma).backward()
    assert torch.isfinite(logits.grad).all()


def test_focal_loss_rejects_an_unknown_reduction():
    logits, y = logits_and_targets()
    with pytest.raises(ValueError, match="reduction = 'max' is invalid"):
        focal_loss(logits, y, reduction="max")


def test_attention_entropy_is_log_n_for_uniform_rows_and_zero_for_one_hot_rows():
    uniform = torch.full((2, 3, 4), 0.25)
    assert math.isclose(attention_entropy(uniform).item(), math.log(4), rel_tol=1e-6)
    one_hot = F.one_hot(torch.tensor([[0, 3, 1]]), 4).float()
    assert attention_entropy(one_hot).item() == 0.0


def test_attention_entropy_ignores_empty_rows_and_has_finite_gradients_at_zero():
    scores = torch.randn(3, 3, requires_grad=True)
    # rows with a masked key, then an empty row: weights exactly 0 where masked
    allowed = torch.tensor([[True, True, False], [True, True, False], [False, False, False]])
    w = masked_softmax(scores, allowed)
    h = attention_entropy(w)
    p = w[:2].detach()
    expected = -(p * p.clamp_min(1e-12).log()).sum(-1).mean()  # the empty row left out
    assert torch.allclose(h, expected)
    h.backward()
    assert torch.isfinite(scores.grad).all()


def test_composite_loss_is_classification_plus_lambda_times_attention_entropy():
    logits, y = logits_and_targets()
    att = torch.softmax(torch.randn(32, 1, 2, 3, 3), dim=-1)
    total, parts = composite_loss(logits, y, att, gamma=2.0, attention_lambda=0.3)
    assert torch.allclose(parts["classification"], focal_loss(logits, y, 2.0))
    assert torch.allclose(parts["attention"], attention_entropy(att))
    assert torch.allclose(total, parts["classification"] + 0.3 * parts["attention"])
    no_attention, parts = composite_loss(logits, y, None, gamma=2.0, attention_lambda=0.3)
    assert torch.allclose(no_attention, focal_loss(logits, y, 2.0))
    assert parts["attention"] == 0


def test_auxiliary_loss_uses_only_samples_where_the_modality_is_present():
    logits, y = logits_and_targets(8, 3)
    mask = torch.tensor([[True, True]] * 4 + [[True, False]] * 4)
    aux = {"a": logits, "b": logits.clone()}
    aux["b"][4:] = 1e4 * F.one_hot((y[4:] + 1) % 3, 3)  # confidently wrong, but missing
    expected = (F.cross_entropy(logits, y) + F.cross_entropy(logits[:4], y[:4])) / 2
    assert torch.allclose(auxiliary_loss(aux, y, mask, gamma=0.0), expected)
    assert auxiliary_loss(aux, y, torch.zeros_like(mask), gamma=0.0) == 0
