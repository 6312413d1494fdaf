"""Model size and cost (parameter counts, forward FLOPs per sample) and the shapes a forward
pass goes through."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from cancer_alpha.models.kernels import plain_computation


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared ones once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _fused_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None,
                           **kwargs) -> int:
    """The two matrix products of softmax(Q K^T) V: 2 B H Nq Nk (d_k + d_v)."""
    *batch, nq, d_k = query_shape
    return 2 * math.prod(batch) * nq * key_shape[-2] * (d_k + value_shape[-1])


def _linear_flops(input_shape, weight_shape, *args, out_shape=None, **kwargs) -> int:
    """x W^T: 2 x rows x in x out."""
    return 2 * math.prod(input_shape) * weight_shape[0]


# kernels that FlopCounterMode has no formula for: the CPU's fused attention (it has the CUDA
# ones) and the oneDNN matrix product of ``models.kernels.matmul_t``
_EXTRA_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                   _fused_attention_flops}
if hasattr(torch.ops, "mkldnn") and hasattr(torch.ops.mkldnn, "_linear_pointwise"):
    _EXTRA_FORMULAS[torch.ops.mkldnn._linear_pointwise] = _linear_flops


def flops_per_sample(model: nn.Module, example_batch: Mapping[str, Any]) -> float:
    """Forward-pass FLOPs per sample on ``example_batch`` ({"x", "mask", ...}), in eval mode.

    Counted by ``torch.utils.flop_counter.FlopCounterMode``: matrix products (oneDNN's
    included), convolutions and attention kernels (a multiply-add is 2 FLOPs), including the
    matrix products inside ``nn.GRU`` when it runs on the CPU and the CPU's fused attention
    kernel. Not counted:
    element-wise work (activations, softmax, normalisation, masking), embedding look-ups, and
    the recurrent layer on a CUDA GPU, where ``nn.GRU`` runs cuDNN's fused kernel
    (``aten._cudnn_rnn`` has no FLOP formula): count on the CPU for a complete figure.

    The count is of the architecture as written (:func:`~cancer_alpha.models.kernels.
    plain_computation`): the cheaper equal forms the models use otherwise (a convolution and
    an average as one product, for instance) do not lower it.
    """
    x, mask = example_batch["x"], example_batch["mask"]
    was_training = model.training
    model.eval()
    try:
        # gradients stay enabled: FlopCounterMode's module tracker fails on views of
        # parameters made under no_grad (Perceiver IO's latent array); no backward is run
        with (FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS) as counter,
              plain_computation()):
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


def model_costs(model: nn.Module, example_batch: Mapping[str, Any]) -> dict[str, float]:
    """{"parameters", "flops_per_sample"} of ``model``, FLOPs counted on ``example_batch``."""
    return {"parameters": count_parameters(model),
            "flops_per_sample": flops_per_sample(model, example_batch)}


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Parameters of each top-level part of ``model`` in definition order: a submodule, a
    parameter held directly, or each member of a top-level ModuleDict or ModuleList."""
    parts: dict[str, int] = {}
    for name, child in model.named_children():
        members = (child.named_children() if isinstance(child, nn.ModuleDict | nn.ModuleList)
                   else [("", child)])
        for sub, module in members:
            parts[f"{name}.{sub}" if sub else name] = count_parameters(module)
    for name, p in model.named_parameters(recurse=False):
        parts[name] = p.numel()
    return parts


def layer_kinds(module: nn.Module) -> dict[str, int]:
    """How many leaf layers of each class ``module`` holds, e.g. {"Linear": 3, "LayerNorm": 1}."""
    kinds: dict[str, int] = {}
    for m in module.modules():
        if not any(True for _ in m.children()):
            kinds[type(m).__name__] = kinds.get(type(m).__name__, 0) + 1
    return kinds


def residual_gap(module: nn.Module, inputs: tuple, branch: str, merge: str) -> float:
    """How far the input of submodule ``merge`` is from the input plus the output of submodule
    ``branch`` in one forward pass of ``module(*inputs)`` in eval mode: the largest absolute
    difference relative to the largest absolute input of ``merge``. 0 (up to rounding) when a
    residual connection adds ``branch``'s input back to its output before ``merge``."""
    seen: dict[str, Tensor] = {}

    def keep_branch(m, args, out):
        seen["branch_in"], seen["branch_out"] = args[0], out

    def keep_merge(m, args):
        seen["merge_in"] = args[0]

    handles = [module.get_submodule(branch).register_forward_hook(keep_branch),
               module.get_submodule(merge).register_forward_pre_hook(keep_merge)]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    merged = seen["merge_in"]
    gap = (merged - (seen["branch_in"] + seen["branch_out"])).abs().max()
    return float(gap / merged.abs().max().clamp_min(torch.finfo(merged.dtype).tiny))
