"""Losses of the MMT paper (section 2.3): focal loss and the composite loss
L = L_cls + lambda * L_attention, whose sparsity term is the entropy of the attention weights;
and :func:`batch_loss`, the one training loss of a batch that every training loop calls (the
LightningModule, Chapter 7's plain PyTorch loop, the memory and throughput measurements).

Importing this module imports torch but not pytorch_lightning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import NamedTuple, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cancer_alpha.config import TrainConfig
from cancer_alpha.models import ModelOutput, MultiModalTransformer, attention_returned


class Batch(TypedDict):
    """A batch as every model and training loop reads it."""

    x: dict[str, Tensor]  # {modality: (B, P_m)}, standardised, 0 where missing
    mask: Tensor  # (B, M) bool: modality m of sample b is present
    y: Tensor  # (B,) int64 class indices


def focal_loss(logits: Tensor, target: Tensor, gamma: float = 2.0,
               class_weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class focal loss of Lin et al. (2017): -alpha_y (1 - p_y)^gamma log p_y.

    ``gamma = 0`` gives cross-entropy; ``class_weight`` (K,) plays the role of alpha. The
    ``"mean"`` reduction divides by the summed weights of the targets, as cross-entropy does.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction = {reduction!r} is invalid: expected 'mean', 'sum' or 'none'")
    logp = F.log_softmax(logits.float(), dim=-1).gather(1, target[:, None]).squeeze(1)  # (B,)
    # 1 - p_y as -expm1(log p_y), clamped so that the gradient stays finite at p_y = 1
    loss = -logp if gamma == 0 else -((-logp.expm1()).clamp_min(1e-12) ** gamma) * logp
    w = None if class_weight is None else class_weight.to(loss.dtype)[target]
    if w is not None:
        loss = loss * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (w.sum() if w is not None else loss.new_tensor(float(loss.numel())))


class _RowEntropy(torch.autograd.Function):
    """-sum_k w_k log max(w_k, eps) over the last axis, in one pass each way: autograd's own
    graph for it keeps three weight-sized intermediates and walks them three times, which is a
    large share of a locus-token training step (its weights are the largest tensors there)."""

    @staticmethod
    def forward(ctx, w: Tensor, eps: float) -> Tensor:
        logw = w.clamp_min(eps).log_()
        ctx.save_for_backward(w, logw)
        ctx.eps = eps
        return -torch.linalg.vecdot(w, logw)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        w, logw = ctx.saved_tensors
        # d/dw of -w log max(w, eps): -(log w + 1) above eps, -log eps below (the clamp)
        return logw.add((w > ctx.eps).to(w.dtype)).mul_(-grad[..., None]), None


def attention_entropy(weights: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean Shannon entropy (nats) of the attention rows, over rows with any weight.

    ``weights`` (..., queries, keys); rows that are all zero (a masked query or a query
    without allowed keys) are left out. Minimising it makes attention sparse (peaked).
    """
    w = weights.float()
    h = _RowEntropy.apply(w, eps)  # 0 * log(eps) = 0: no NaN at w = 0
    valid = w.sum(dim=-1) > 0.5
    return (h * valid).sum() / valid.sum().clamp_min(1)


def composite_loss(logits: Tensor, target: Tensor, attention: Tensor | None = None, *,
                   gamma: float = 2.0, attention_lambda: float = 0.0,
                   class_weight: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """L = focal(logits, target) + attention_lambda * entropy(attention); returns L and parts.

    The attention term is the mean entropy of the attention rows (:func:`attention_entropy`);
    it is 0 for models without attention weights.
    """
    cls = focal_loss(logits, target, gamma, class_weight)
    att = attention_entropy(attention) if attention is not None else cls.new_zeros(())
    return cls + attention_lambda * att, {"classification": cls.detach(),
                                          "attention": att.detach()}


def auxiliary_loss(aux_logits: Mapping[str, Tensor], target: Tensor, mask: Tensor,
                   gamma: float = 2.0, class_weight: Tensor | None = None) -> Tensor:
    """Mean over modalities of each auxiliary head's focal loss on the samples where that
    modality is present; ``aux_logits`` keys follow the order of ``mask``'s columns."""
    losses = []
    for m, logits in enumerate(aux_logits.values()):
        present = mask[:, m]
        if bool(present.any()):
            losses.append(focal_loss(logits[present], target[present], gamma, class_weight))
    if not losses:
        return mask.new_zeros((), dtype=torch.float32)
    return torch.stack(losses).mean()


def modality_dropout(x: dict[str, Tensor], mask: Tensor, p: float, names: Sequence[str],
                     generator: torch.Generator | None = None
                     ) -> tuple[dict[str, Tensor], Tensor]:
    """Hide each present modality of each sample with probability ``p``, never all of a
    sample's modalities: the mask turns False and the values turn 0. ``names`` are the
    modalities in the order of the mask's columns."""
    if p <= 0:
        return x, mask
    u = torch.rand(mask.shape, generator=generator, device="cpu").to(mask.device)
    keep = mask & (u >= p)
    # a sample that would lose everything keeps the present modality with the largest draw
    emptied = mask.any(dim=1) & ~keep.any(dim=1)
    rescue = torch.nn.functional.one_hot(torch.where(mask, u, -1.0).argmax(dim=1),
                                         mask.shape[1]).bool()
    keep = keep | (rescue & emptied[:, None])
    zero = torch.zeros((), device=mask.device)
    x = {n: torch.where(keep[:, m, None], x[n], zero.to(x[n].dtype))
         for m, n in enumerate(names)} | {k: v for k, v in x.items() if k not in names}
    return x, keep


def output_loss(out: ModelOutput, y: Tensor, mask: Tensor, train_cfg: TrainConfig, *,
                aux_weight: float | None = None, classification_weight: float = 1.0,
                class_weight: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """The training loss of a model output and its detached parts:
    ``classification_weight * (focal + attention_lambda * attention entropy)
    + aux_weight * auxiliary focal loss of the per-modality heads``.

    Focal gamma and attention lambda come from ``train_cfg``; ``aux_weight`` defaults to
    ``train_cfg.aux_loss_weight``. Progressive pre-training sets ``classification_weight=0``
    and ``aux_weight=1``.
    """
    aux_weight = train_cfg.aux_loss_weight if aux_weight is None else float(aux_weight)
    main, parts = composite_loss(
        out.logits, y, out.attention, gamma=train_cfg.focal_gamma,
        attention_lambda=train_cfg.attention_lambda, class_weight=class_weight)
    total = classification_weight * main
    if aux_weight > 0 and out.aux_logits:
        aux = auxiliary_loss(out.aux_logits, y, mask, train_cfg.focal_gamma, class_weight)
        total = total + aux_weight * aux
        parts["auxiliary"] = aux.detach()
    return total, parts


class BatchLoss(NamedTuple):
    """What :func:`batch_loss` returns."""

    loss: Tensor  # the scalar to back-propagate
    output: ModelOutput  # the model's output on the batch (after modality dropout)
    parts: dict[str, Tensor]  # detached: classification, attention, auxiliary


def batch_loss(model: nn.Module, batch: Batch, train_cfg: TrainConfig, *,
               training: bool = True, aux_weight: float | None = None,
               classification_weight: float = 1.0, class_weight: Tensor | None = None
               ) -> BatchLoss:
    """The loss of one batch as training computes it: modality dropout
    (``train_cfg.modality_dropout``, training batches only), the forward pass, then
    :func:`output_loss` with the weights given, plus :func:`l2_penalty` (``train_cfg.l2``) on
    training batches only, so that validation losses stay comparable across penalties.

    The multi-modal transformer copies its attention weights out only when the loss uses
    them (``attention_lambda > 0`` and ``classification_weight > 0``). The peers compute
    attention weights only for analysis, so the regulariser of the MMT paper's own model does
    not apply to them.
    """
    x, mask, y = batch["x"], batch["mask"], batch["y"]
    if training:
        x, mask = modality_dropout(x, mask, train_cfg.modality_dropout,
                                   [s.name for s in model.specs])
    uses_attention = train_cfg.attention_lambda > 0 and classification_weight > 0
    with (attention_returned(model, uses_attention) if isinstance(model, MultiModalTransformer)
          else nullcontext()):
        out = model(x, mask)
    loss, parts = output_loss(out, y, mask, train_cfg, aux_weight=aux_weight,
                              classification_weight=classification_weight,
                              class_weight=class_weight)
    if training and train_cfg.l2 > 0:
        penalty = l2_penalty(model, train_cfg.l2, y.shape[0])
        loss = loss + penalty
        parts["l2"] = penalty.detach()
    return BatchLoss(loss, out, parts)


def l2_penalty(model: nn.Module, alpha: float, batch_size: int) -> Tensor:
    """scikit-learn's MLP penalty: ``alpha * sum(W**2) / (2 * batch_size)`` over every weight
    matrix of ``model`` (parameters of two or more dimensions; biases and normalisation
    scales are not penalised)."""
    squares = [p.pow(2).sum() for p in model.parameters() if p.ndim >= 2 and p.requires_grad]
    if not squares:
        return torch.zeros(())
    return alpha * torch.stack(squares).sum() / (2 * batch_size)
