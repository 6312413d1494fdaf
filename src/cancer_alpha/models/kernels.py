"""The models' CPU speed paths, apart from the architecture they compute.

Every function here computes what a layer of ``encoders``, ``attention`` or ``transformer``
states, in a cheaper equal form: oneDNN's matrix products, hand-written backward passes
(custom ``torch.autograd.Function``), kernels composed before they are applied instead of
feature maps formed, attention without reordering heads, and the packing of attention
weights into the layout the loss reads. :func:`plain_computation` switches them all off: the
models then compute every layer as written, with torch's own layers; FLOP counts use it, and
``tests/test_models_equivalence.py`` checks each fast form against it (outputs and gradients).

Nothing here imports the architecture: the functions that speed up a module's forward take
the module and read its parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_PLAIN = False  # see plain_computation


@contextmanager
def plain_computation() -> Iterator[None]:
    """Within the block, the models compute every layer as written, as torch's own layers
    (``F.linear``, ``nn.GRU``) forming each feature map and each attention group, instead of
    by the cheaper equal forms (:class:`Linear`'s oneDNN products, :class:`BiGRU`'s training
    loop, :func:`conv_mean`, :meth:`Patches.after`, :meth:`ConvBlock.mean_after`, the
    one-token-per-group attention). FLOP counts use it, so that they measure the
    architecture, and tests compare against it."""
    global _PLAIN
    before, _PLAIN = _PLAIN, True
    try:
        yield
    finally:
        _PLAIN = before


def is_plain(x: Tensor) -> bool:
    """Whether input ``x`` is to be computed as written: under :func:`plain_computation`,
    and under autocast (the equal forms are arranged for float32; in a lower precision their
    different rounding would matter)."""
    return _PLAIN or torch.is_autocast_enabled(x.device.type)


# oneDNN's matrix product, which torch reaches for float32 only through this operator (the
# one its compiler uses); None where torch was built without oneDNN
_ONEDNN_LINEAR = getattr(getattr(torch.ops, "mkldnn", None), "_linear_pointwise", None)
if not torch.backends.mkldnn.is_available():
    _ONEDNN_LINEAR = None
# below about this many multiply-adds a call, MKL's lower call overhead wins
ONEDNN_MIN_MACS = 1 << 21


def _onednn_suits(a: Tensor, b_t: Tensor) -> bool:
    return (_ONEDNN_LINEAR is not None and not _PLAIN and a.device.type == "cpu"
            and a.dtype == torch.float32
            and b_t.dtype == torch.float32 and a.numel() * b_t.shape[0] >= ONEDNN_MIN_MACS
            and not torch.is_autocast_enabled("cpu"))


def matmul_t(a: Tensor, b_t: Tensor, bias: Tensor | None = None) -> Tensor:
    """``a @ b_t.T (+ bias)`` for ``a`` (..., K) and ``b_t`` (N, K), either possibly a
    transposed view; outside autograd (the products inside hand-written backward passes).

    Large float32 products on the CPU run in oneDNN: on this project's AMD CPUs MKL's sgemm,
    torch's default, takes an AVX2 code path and reaches about half the rate of oneDNN's
    AVX-512 kernels. Elsewhere (a GPU, other dtypes, autocast, small products) ``F.linear``.
    """
    if _onednn_suits(a, b_t):
        return _ONEDNN_LINEAR(a, b_t, bias, "none", [], "")
    return F.linear(a, b_t, bias)


class _LinearFunction(torch.autograd.Function):
    """x W^T + b for x (rows, in), with every product (forward and both backward ones) by
    :func:`matmul_t`."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return matmul_t(x, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        gx = matmul_t(grad, weight.t()) if ctx.needs_input_grad[0] else None
        gw = matmul_t(grad.t(), x.t()) if ctx.needs_input_grad[1] else None
        gb = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear`` whose large float32 products on the CPU run in oneDNN, forward and
    backward (:func:`matmul_t`)."""
    if not _onednn_suits(x, weight):
        return F.linear(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad
                                    or (bias is not None and bias.requires_grad)):
        out = _LinearFunction.apply(x.reshape(-1, x.shape[-1]), weight, bias)
        return out.view(*x.shape[:-1], -1)
    return matmul_t(x, weight, bias)


class Linear(nn.Linear):
    """``nn.Linear`` (the same parameters and function) computed by :func:`linear`."""

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
