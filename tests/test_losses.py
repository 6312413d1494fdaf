"""Focal loss, the attention-entropy regulariser, the composite and auxiliary losses, modality
dropout, and the training loss of a batch that every training loop calls."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cancer_alpha import losses
from cancer_alpha.config import TrainConfig
from cancer_alpha.losses import (
    attention_entropy,
    auxiliary_loss,
    batch_loss,
    composite_loss,
    focal_loss,
    modality_dropout,
    output_loss,
)
from cancer_alpha.models import build_model
from cancer_alpha.models.attention import masked_softmax
from tests.tiny_models import NAMES, SPECS, TINY, K, P


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


def batch(n: int = 16, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, K, (n,), generator=g)
    return {"x": {s: torch.randn(n, P, generator=g) + y[:, None] for s in NAMES},
            "mask": torch.ones(n, len(NAMES), dtype=torch.bool), "y": y}


def test_output_loss_adds_attention_entropy_and_auxiliary_terms_with_their_weights():
    torch.manual_seed(0)
    model = build_model("mmt_modality", SPECS, K, TINY).eval()
    train_cfg = TrainConfig(focal_gamma=0.0, attention_lambda=0.5, aux_loss_weight=0.25)
    b = batch()
    out = model(b["x"], b["mask"])
    total, parts = output_loss(out, b["y"], b["mask"], train_cfg)
    expected = parts["classification"] + 0.5 * parts["attention"] + 0.25 * parts["auxiliary"]
    assert torch.allclose(total, expected)
    assert torch.allclose(parts["classification"], F.cross_entropy(out.logits, b["y"]))
    assert parts["attention"] > 0
    # progressive pre-training: only the per-modality heads' loss
    pre, parts = output_loss(out, b["y"], b["mask"], train_cfg, classification_weight=0.0,
                             aux_weight=1.0)
    assert torch.allclose(pre, parts["auxiliary"])


def test_batch_loss_reads_gamma_and_lambda_from_the_train_config():
    torch.manual_seed(0)
    model = build_model("mmt_modality", SPECS, K, TINY).eval()
    b = batch()
    out = model(b["x"], b["mask"])
    for gamma, lam in ((0.0, 0.0), (2.0, 0.0), (1.0, 0.7)):
        got = batch_loss(model, b, TrainConfig(focal_gamma=gamma, attention_lambda=lam))
        expected = focal_loss(out.logits, b["y"], gamma) + lam * attention_entropy(out.attention)
        assert torch.allclose(got.loss, expected)


def test_batch_loss_copies_attention_out_only_when_the_loss_uses_it():
    torch.manual_seed(0)
    model = build_model("mmt_modality", SPECS, K, TINY).eval()
    b = batch()
    assert batch_loss(model, b, TrainConfig(attention_lambda=0.1)).output.attention is not None
    assert batch_loss(model, b, TrainConfig(attention_lambda=0.0)).output.attention is None
    pre = batch_loss(model, b, TrainConfig(attention_lambda=0.1), classification_weight=0.0,
                     aux_weight=1.0)
    assert pre.output.attention is None
    assert model.return_attention  # the model's own setting comes back
    # the peers' attention serves analysis only: no regulariser, whatever lambda says
    tab = build_model("tab_transformer", SPECS, K, TINY).eval()
    assert batch_loss(tab, b, TrainConfig(attention_lambda=0.1)).output.attention is None


def test_batch_loss_drops_modalities_of_training_batches_only():
    torch.manual_seed(0)
    model = build_model("early_fusion_mlp", SPECS, K, TINY).eval()
    b = batch(n=64)
    train_cfg = TrainConfig(modality_dropout=0.5)
    torch.manual_seed(1)
    evaluation = batch_loss(model, b, train_cfg, training=False)
    torch.manual_seed(1)
    training = batch_loss(model, b, train_cfg, training=True)
    torch.manual_seed(1)
    _, kept = modality_dropout(b["x"], b["mask"], 0.5, NAMES)
    assert not kept.all()  # the draw hid something
    assert torch.equal(evaluation.output.logits, model(b["x"], b["mask"]).logits)
    x = {s: torch.where(kept[:, m, None], b["x"][s], 0.0) for m, s in enumerate(NAMES)}
    assert torch.equal(training.output.logits, model(x, kept).logits)


def test_modality_dropout_hides_present_modalities_but_never_all_of_a_sample():
    g = torch.Generator().manual_seed(0)
    n = 20000
    mask = torch.ones(n, 3, dtype=torch.bool)
    mask[: n // 4, 0] = False  # already missing: stays missing
    x = {s: torch.randn(n, P, generator=g) for s in NAMES}
    x["cna"][: n // 2] = float("nan")  # garbage behind a mask must not survive either
    mask[: n // 2, 2] = False
    new_x, new_mask = modality_dropout(x, mask, 0.3, NAMES, generator=g)
    assert not (new_mask & ~mask).any()  # nothing reappears
    assert new_mask.any(dim=1).all()
    assert all(torch.isfinite(v).all() for v in new_x.values())
    for m, s in enumerate(NAMES):
        assert (new_x[s][~new_mask[:, m]] == 0).all()
        assert torch.equal(new_x[s][new_mask[:, m]], x[s][new_mask[:, m]])
    # samples with all three present lose each with p = 0.3, except the rescued ones:
    # P(hidden) = 0.3 - 0.3^3 / 3 = 0.291; 4 standard errors of 3 * n/2 draws is about 0.011
    full = mask.all(dim=1)
    hidden = (~new_mask[full]).float().mean().item()
    assert abs(hidden - (0.3 - 0.3**3 / 3)) < 0.011


def test_attention_entropy_gradient_is_autograd_s_in_double_precision():
    # the hand-written backward against numerical differences (positive weights, where the
    # function is smooth) and against autograd's own graph of the same formula, also at exact
    # zeros, where the clamp at eps makes the derivative -log(eps) as autograd defines it
    g = torch.Generator().manual_seed(0)
    w = torch.rand(2, 3, 4, 5, generator=g, dtype=torch.float64) + 0.05
    w = (w / w.sum(dim=-1, keepdim=True)).requires_grad_()
    torch.autograd.gradcheck(lambda x: losses._RowEntropy.apply(x, 1e-12), (w,))
    z = w.detach().clone()
    z[0, 0, 0, :2] = 0.0
    z.requires_grad_()
    upstream = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    ours = torch.autograd.grad(losses._RowEntropy.apply(z, 1e-12), z, upstream)[0]
    theirs = torch.autograd.grad(-(z * z.clamp_min(1e-12).log()).sum(dim=-1), z, upstream)[0]
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-12)


def test_l2_penalty_is_scikit_learns_and_applies_to_training_batches_only():
    torch.manual_seed(0)
    model = build_model("early_fusion_mlp", SPECS, K, TINY).eval()
    b = batch(n=48)
    plain = batch_loss(model, b, TrainConfig(focal_gamma=0.0), training=True).loss
    penalised = batch_loss(model, b, TrainConfig(focal_gamma=0.0, l2=3.0), training=True)
    # scikit-learn's MLPClassifier: alpha * sum of squared weights / (2 * samples in the batch)
    squares = sum(float((m.weight.detach() ** 2).sum()) for m in model.modules()
                  if isinstance(m, torch.nn.Linear))
    added = float((penalised.loss - plain).detach())
    assert added == pytest.approx(3.0 * squares / (2 * 48), rel=1e-5)
    assert float(penalised.parts["l2"]) == pytest.approx(3.0 * squares / 96, rel=1e-5)
    # validation losses are comparable across penalties: the penalty is left out of them
    evaluation = batch_loss(model, b, TrainConfig(focal_gamma=0.0, l2=3.0), training=False)
    assert torch.allclose(evaluation.loss, plain)
    assert "l2" not in evaluation.parts


def test_l2_penalty_leaves_biases_and_normalisation_scales_alone():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LayerNorm(2))
    with torch.no_grad():
        model[0].weight.fill_(2.0)  # 6 weights of 2: squares sum to 24
        model[0].bias.fill_(100.0)
    with torch.no_grad():
        assert float(losses.l2_penalty(model, 1.0, 4)) == pytest.approx(24 / 8)
