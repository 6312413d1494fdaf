"""Model size and cost (parameter counts, forward FLOPs per sample) and the shapes a forward
pass goes through."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _fused_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None,
                           **kwargs) -> int:
    """The two matrix products of softmax(Q K^T) V: 2 B H Nq Nk (d_k + d_v)."""
    *batch, nq, d_k = query_shape
    return 2 * math.prod(batch) * nq * key_shape[-2] * (d_k + value_shape[-1])


# fused attention kernels that FlopCounterMode has no formula for (it has the CUDA ones)
_EXTRA_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                   _fused_attention_flops}


def flops_per_sample(model: nn.Module, example_batch: Mapping[str, Any]) -> float:
    """Forward-pass FLOPs per sample on ``example_batch`` ({"x", "mask", ...}), in eval mode.

    Counted by ``torch.utils.flop_counter.FlopCounterMode``: matrix products, convolutions
    and attention kernels (a multiply-add is 2 FLOPs), including the matrix products inside
    ``nn.GRU`` when it runs on the CPU and the CPU's fused attention kernel. Not counted:
    element-wise work (activations, softmax, normalisation, masking), embedding look-ups, and
    the recurrent layer on a CUDA GPU, where ``nn.GRU`` runs cuDNN's fused kernel
    (``aten._cudnn_rnn`` has no FLOP formula): count on the CPU for a complete figure.
    """
    x, mask = example_batch["x"], example_batch["mask"]
    was_training = model.training
    model.eval()
    try:
        # gradients stay enabled: FlopCounterMode's module tracker fails on views of
        # parameters made under no_grad (Perceiver IO's latent array); no backward is run
        with FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS) as counter:
            model(x, mask)
    finally:
        model.train(was_training)
    return counter.get_total_flops() / mask.shape[0]


def stage_shapes(model: nn.Module, example_batch: Mapping[str, Any], max_depth: int = 2
                 ) -> list[tuple[str, str, tuple]]:
    """(submodule name, class name, output shape) for each submodule down to ``max_depth``
    levels of nesting, in the order they run during one forward pass in eval mode; a module
    returning several tensors gets a tuple of shapes."""
    records: list[tuple[str, str, tuple]] = []

    def shape(out: Any) -> tuple:
        if isinstance(out, torch.Tensor):
            return tuple(out.shape)
        return tuple(tuple(o.shape) for o in out if isinstance(o, torch.Tensor))

    def hook(name: str):
        return lambda module, args, out: records.append((name, type(module).__name__,
                                                         shape(out)))

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if n and n.count(".") < max_depth]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example_batch["x"], example_batch["mask"])
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return records
