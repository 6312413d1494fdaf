"""Losses of seed 000 (section 2.3): focal loss and the composite loss
L = L_cls + lambda * L_attention, whose sparsity term is the entropy of the attention weights.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor


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


def attention_entropy(weights: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean Shannon entropy (nats) of the attention rows, over rows with any weight.

    ``weights`` (..., queries, keys); rows that are all zero (a masked query or a query
    without allowed keys) are left out. Minimising it makes attention sparse (peaked).
    """
    w = weights.float()
    h = -(w * w.clamp_min(eps).log()).sum(dim=-1)  # 0 * log(eps) = 0: no NaN at w = 0
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
