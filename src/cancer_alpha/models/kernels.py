"""The models' CPU speed paths, apart from the architecture they compute.

Every function here computes what a layer of ``encoders``, ``attention`` or ``transformer``
states, in a cheaper equal form: oneDNN's matrix products, hand-written backward passes
(custom ``torch.autograd.Function``), kernels composed before they are applied instead of
feature maps formed, attention without reordering heads, and the packing of attention
weights into the layout the loss reads. :func:`plain_computation` switches them all off: the
models then compute every layer as written, with torch's own layers; FLOP counts use it, and
``tests/models/test_kernels.py`` checks each fast form against it (outputs and gradients).

Nothing here imports the architecture: the functions that speed up a module's forward take
the module and read its parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The switch: the plain computation (every layer as written) or the fast forms below.

_PLAIN = False  # see plain_computation


@contextmanager
def plain_computation() -> Iterator[None]:
    """Within the block, the models compute every layer as written, as torch's own layers
    (``F.linear``, ``nn.GRU``) forming each feature map and each attention group, instead of
    by the cheaper equal forms (:class:`Linear`'s oneDNN products, :class:`BiGRU`'s training
    loop, :func:`conv_mean`, :func:`patches_after`, :func:`conv_block_mean_after`, the
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


# Linear layers whose large float32 CPU products run in oneDNN.

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


# Convolutions, averages and patches are linear: where one follows another, their product can
# be formed from the (small) kernels instead of the (large) feature maps. The helpers below do
# so for stride-1 convolutions that keep the length (odd kernel, zero padding kernel // 2).


def plain_for(x: Tensor) -> bool:
    """Whether an encoder computes batch ``x`` as written: where :func:`is_plain`, and for a
    single sample, where composing the kernels costs more than it saves."""
    return is_plain(x) or x.shape[0] < 2


def _same_padding(conv: nn.Conv1d) -> int:
    (k,), (p,), (s,), (d,) = conv.kernel_size, conv.padding, conv.stride, conv.dilation
    if not (k % 2 == 1 and p == k // 2 and s == d == 1 and conv.groups == 1
            and conv.padding_mode == "zeros"):
        raise ValueError(f"expected a stride-1 convolution with padding kernel // 2, got {conv}")
    return p


@functools.lru_cache(maxsize=64)
def _windows(length: int, k: int, p: int, device: torch.device) -> Tensor:
    """(length, k) 0/1: input position i lies under tap j of a length-keeping convolution."""
    i, j = torch.arange(length, device=device)[:, None], torch.arange(k, device=device)
    return ((i >= j - p) & (i < length + j - p)).float()


def conv_mean(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """``conv(x).mean(dim=-1)`` without forming ``conv(x)``: (B, C_in, L) -> (B, C_out).

    The average of the output is the kernel applied to the sums of the inputs under each of
    its taps: C_in x K sums (one small product with a 0/1 matrix) and a product with the
    kernel, instead of the convolution at every position.
    """
    p = _same_padding(conv)
    length = x.shape[-1]
    windows = _windows(length, conv.kernel_size[0], p, x.device).to(x.dtype)  # (L, K)
    if x.stride(1) == 1 and x.shape[1] > 1:  # channels last: sum without reordering x
        sums = windows.t() @ x.transpose(1, 2)  # (B, K, C_in)
        kernel = conv.weight.transpose(1, 2).flatten(1)  # (C_out, K C_in)
    else:
        sums, kernel = x @ windows, conv.weight.flatten(1)  # (B, C_in, K), (C_out, C_in K)
    return torch.addmm(conv.bias, sums.flatten(1), kernel.t(), alpha=1 / length)


def after_stem(stem: nn.Conv1d, weight: Tensor, bias: Tensor, x: Tensor, n: int,
               stride: int = 1, pad: int = 0) -> Tensor:
    """A linear map by ``weight`` (O, C, K) and ``bias`` (O,) of each window of ``stem(x)``,
    without forming ``stem(x)``: x (B, 1, L) -> (B, n, O), channels last.

    Window t covers stem positions t * stride - pad + j, j < K; positions outside [0, L) are
    zeros (a following convolution's padding, or a last patch past the end). The stem reads
    one channel, so each output is one short product of a window of ``x`` (K + stem taps - 1
    wide) with the composed kernel; the few windows reaching past an end get a kernel and a
    bias without the positions they miss.
    """
    p1, k1 = _same_padding(stem), stem.kernel_size[0]
    length, k = x.shape[-1], weight.shape[-1]
    width = k + k1 - 1
    right = max(0, (n - 1) * stride - pad + width - p1 - length)
    windows = F.pad(x[:, 0], (pad + p1, right)).unfold(-1, width, stride)[:, :n]  # (B, n, W)
    # the composed kernel by window position and stem tap, then summed along the entry read
    pairs = (weight.transpose(1, 2) @ stem.weight[:, 0]).flatten(1)  # (O, K k1)
    spread = _spread(k, k1, x.device).to(x.dtype)  # (K k1, W)
    from_stem_bias = weight.transpose(1, 2) @ stem.bias  # (O, K)
    y = linear(windows, pairs @ spread, bias + from_stem_bias.sum(-1))  # (B, n, O)
    rows, present = _partial_windows(length, n, k, k1, stride, pad, x.device)
    if rows.numel():
        present = present.to(x.dtype)  # (R, K k1): which products of each such window exist
        kernels = (pairs * present[:, None]) @ spread  # (R, O, W)
        y[:, rows] = (torch.bmm(windows[:, rows].transpose(0, 1), kernels.transpose(1, 2))
                      .transpose(0, 1) + bias + present[:, ::k1] @ from_stem_bias.t())
    return y


@functools.lru_cache(maxsize=64)
def _spread(k: int, k1: int, device: torch.device) -> Tensor:
    """(k k1, k + k1 - 1) 0/1: stem tap l at window position j reads entry j + l."""
    j, tap, u = (torch.arange(m, device=device) for m in (k, k1, k + k1 - 1))
    return (j[:, None, None] + tap[None, :, None] == u).flatten(0, 1).float()


@functools.lru_cache(maxsize=64)
def _partial_windows(length: int, n: int, k: int, k1: int, stride: int, pad: int,
                     device: torch.device) -> tuple[Tensor, Tensor]:
    """The windows (of :func:`after_stem`) with positions outside [0, length), and which of
    their positions are inside, repeated for each stem tap: (R,) and (R, k k1)."""
    q = torch.arange(n)[:, None] * stride - pad + torch.arange(k)  # (n, k) stem positions
    inside = (q >= 0) & (q < length)
    rows = (~inside.all(dim=1)).nonzero().squeeze(1)
    return rows.to(device), inside[rows].repeat_interleave(k1, dim=1).to(device)


def conv_block_mean_after(block: nn.Module, stem: nn.Conv1d, x: Tensor) -> Tensor:
    """``block(stem(x)).mean(dim=-1)`` for a residual convolution block (``encoders.ConvBlock``:
    ``conv1``, ``bn``, ``drop``, ``conv2``) after a one-channel stem, (B, 1, L) -> (B, C),
    without forming the stem's features or the block's output: the first convolution of
    the stem's features from windows of ``x`` (:func:`after_stem`), channels last; the
    second convolution and the average as one product (:func:`conv_mean`)."""
    length, pad = x.shape[-1], _same_padding(block.conv1)
    weight, bias = block.conv1.weight, block.conv1.bias
    bn = block.bn
    if not bn.training and bn.track_running_stats:
        # in evaluation the normalisation is affine: folded into the convolution's kernel
        scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
        weight, bias = weight * scale[:, None, None], (bias - bn.running_mean) * scale + bn.bias
        bn = None
    h = after_stem(stem, weight, bias, x, length, pad=pad)  # (B, L, C)
    h = F.gelu(h if bn is None else bn(h.flatten(0, 1)).view(h.shape))
    return conv_mean(stem, x) + conv_mean(block.conv2, block.drop(h.transpose(1, 2)))


def patches_after(patches: nn.Module, stem: nn.Conv1d, x: Tensor) -> Tensor:
    """``patches(stem(x))`` for patches of ``patches.size`` positions (``encoders.Patches``)
    after a one-channel stem, (B, 1, L) -> (B, ceil(L / size), C), without forming the
    stem's features (:func:`after_stem`)."""
    n = -(-x.shape[-1] // patches.size)
    return after_stem(stem, patches.proj.weight.unflatten(1, (-1, patches.size)),
                      patches.proj.bias, x, n, stride=patches.size)


# The bidirectional GRU of the copy-number encoder, with a hand-written backward pass.

_GRU_PARAMETERS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


class _BiGRUFunction(torch.autograd.Function):
    """Both directions of a one-layer GRU, summed: x (B, T, I) and the parameters of the two
    directions stacked on a leading axis (W_ih (2, 3H, I), W_hh (2, 3H, H), b_ih, b_hh (2, 3H),
    gates in nn.GRU's order r, z, n) -> (B, T, H).

    The directions advance together (one batched product per step for the pair) and the
    backward pass is written out: on a CPU, autograd through ``nn.GRU`` records about a dozen
    small operations per step and direction, and runs them one by one again backwards, which
    at these sizes costs more than the arithmetic. The input products (and, in the backward,
    the weight gradients) are one large product over all steps at once.
    """

    @staticmethod
    def forward(ctx, x: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
                ) -> Tensor:
        b, t, _ = x.shape
        hid = w_hh.shape[2]
        # each direction's inputs in its own time order, time-major: (2, T * B, I)
        xs = torch.stack([x, x.flip(1)]).transpose(1, 2).reshape(2, t * b, -1)
        gi = torch.stack([matmul_t(xs[d], w_ih[d], b_ih[d]) for d in range(2)]
                         ).view(2, t, b, 3 * hid)  # W_i x + b_i, every step
        hs = x.new_empty((2, t + 1, b, hid))  # hs[:, s] enters step s; hs[:, 0] = h_0 = 0
        hs[:, 0].zero_()
        gh = x.new_empty((2, t, b, 3 * hid))  # per step: r, z (after the sigmoid), W_hn h + b_hn
        ns = x.new_empty((2, t, b, hid))  # n, after the tanh
        # per-step views, made once (indexing inside the loop costs more than the arithmetic)
        h_in, h_out = hs[:, :-1].unbind(1), hs[:, 1:].unbind(1)
        g_s, rz_s, r_s, z_s, hn_s, gi_rz, gi_n, n_s = (v.unbind(1) for v in (
            gh, gh[..., :2 * hid], gh[..., :hid], gh[..., hid:2 * hid], gh[..., 2 * hid:],
            gi[..., :2 * hid], gi[..., 2 * hid:], ns))
        w_hh_t, bias = w_hh.transpose(1, 2), b_hh[:, None]
        for s in range(t):
            torch.baddbmm(bias, h_in[s], w_hh_t, out=g_s[s])  # W_h h + b_h: (2, B, 3H)
            rz_s[s].add_(gi_rz[s]).sigmoid_()
            n = torch.addcmul(gi_n[s], r_s[s], hn_s[s], out=n_s[s]).tanh_()
            torch.addcmul(n, z_s[s], h_in[s] - n, out=h_out[s])  # (1 - z) n + z h
        ctx.save_for_backward(xs, w_ih, w_hh, hs, gh, ns)
        out = hs[:, 1:]  # (2, T, B, H), each direction in its own order
        return (out[0] + out[1].flip(0)).transpose(0, 1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor, ...]:
        xs, w_ih, w_hh, hs, gh, ns = ctx.saved_tensors
        _, t, b, hid = ns.shape
        g = grad.transpose(0, 1)  # (T, B, H)
        d_out = torch.stack([g, g.flip(0)])  # (2, T, B, H), each direction in its own order
        # gradients before the activations: n on the input side, then r, z, n on the hidden
        # side (r and z are shared by both sides)
        dg = gh.new_empty((2, t, b, 4 * hid))
        dan_s, dr_s, dz_s, drz_s, dhn_s, dgh_s = (v.unbind(1) for v in (
            dg[..., :hid], dg[..., hid:2 * hid], dg[..., 2 * hid:3 * hid],
            dg[..., hid:3 * hid], dg[..., 3 * hid:], dg[..., hid:]))
        rz_s, r_s, z_s, hn_s = (v.unbind(1) for v in (
            gh[..., :2 * hid], gh[..., :hid], gh[..., hid:2 * hid], gh[..., 2 * hid:]))
        n_s, hp_s, d_out_s = ns.unbind(1), hs[:, :-1].unbind(1), d_out.unbind(1)
        dh = None
        for s in range(t - 1, -1, -1):
            dh = d_out_s[s] if dh is None else dh.add_(d_out_s[s])
            n = n_s[s]
            torch.mul(dh, hp_s[s] - n, out=dz_s[s])
            dhz = dh * z_s[s]
            an = torch.ops.aten.tanh_backward.grad_input(dh - dhz, n, grad_input=dan_s[s])
            torch.mul(an, hn_s[s], out=dr_s[s])
            torch.mul(an, r_s[s], out=dhn_s[s])
            torch.ops.aten.sigmoid_backward.grad_input(drz_s[s], rz_s[s], grad_input=drz_s[s])
            dh = torch.baddbmm(dhz, dgh_s[s], w_hh)  # into h of the step before
        d_gh = dg[..., hid:].reshape(2, t * b, 3 * hid)
        d_gi = torch.cat([dg[..., hid:3 * hid], dg[..., :hid]], dim=-1).view(2, t * b, 3 * hid)
        h_prev = hs[:, :-1].reshape(2, t * b, hid)
        dxs = torch.stack([matmul_t(d_gi[d], w_ih[d].t()) for d in range(2)]).view(2, t, b, -1)
        return ((dxs[0] + dxs[1].flip(0)).transpose(0, 1),
                torch.stack([matmul_t(d_gi[d].t(), xs[d].t()) for d in range(2)]),
                torch.stack([matmul_t(d_gh[d].t(), h_prev[d].t()) for d in range(2)]),
                d_gi.sum(1), d_gh.sum(1))


class BiGRU(nn.GRU):
    """A one-layer bidirectional, batch-first ``nn.GRU`` (the same parameters) whose forward
    returns the sum of its two directions' outputs: (B, T, I) -> (B, T, H).

    Training on the CPU runs :class:`_BiGRUFunction`. Without gradients (inference) and on a
    GPU it is ``nn.GRU`` itself: its C++ loop, and cuDNN's fused kernel, have no autograd
    overhead to save, and the C++ loop is the faster at large batches.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if is_plain(x) or x.device.type != "cpu" or not (
                torch.is_grad_enabled() and (x.requires_grad or self.weight_hh_l0.requires_grad)):
            return super().forward(x)[0].unflatten(-1, (2, -1)).sum(dim=2)
        weights = [torch.stack([getattr(self, n), getattr(self, n + "_reverse")])
                   for n in _GRU_PARAMETERS]
        return _BiGRUFunction.apply(x, *weights)


# Cross-modal attention: single-token groups at once, and the weights packed for the loss.


def one_token_per_group(attn: nn.Module, tokens: Tensor, mask: Tensor | None, weights: bool
                        ) -> tuple[Tensor, Tensor | None]:
    """Attention of N single-token groups, each to the others, by the projections of ``attn``
    (``attention.CrossModalAttention``: ``to_q``, ``to_kv``, ``scale``, ``n_heads``): the
    heads' outputs merged (B, N, D) and, with ``weights``, the weights (B, H, N, N - 1) over
    the other tokens in token order, as ``CrossModalAttention.across_groups`` computes them.

    With so few tokens every score is one element-wise product and sum in the
    projections' own layout (B, N, H, d_k): no reordering of heads, and no batched
    matrix products of a few rows each.
    """
    n = tokens.shape[1]
    q = (attn.to_q(tokens) * attn.scale).unflatten(-1, (attn.n_heads, -1))  # (B, N, H, d)
    k, v = (t.unflatten(-1, (attn.n_heads, -1)) for t in attn.to_kv(tokens).chunk(2, -1))
    scores = (q[:, :, None] * k[:, None]).sum(dim=-1)  # (B, N queries, N keys, H)
    allowed = ~torch.eye(n, dtype=torch.bool, device=tokens.device)  # (N, N): the others
    if mask is not None:
        allowed = allowed & mask[:, None, :]  # (B, N, N)
    scores += torch.zeros(allowed.shape, dtype=scores.dtype, device=scores.device
                          ).masked_fill_(~allowed, torch.finfo(scores.dtype).min)[..., None]
    w = scores.softmax(dim=2)
    if mask is not None:
        # a missing query, or one without any present key, attends to nothing
        w = w * (mask & allowed.any(dim=-1))[:, :, None, None]
    out = (w[..., None] * v[:, None]).sum(dim=2).flatten(2)  # (B, N, D)
    if not weights:
        return out, None
    # (B, H, N, N) without the diagonal: the other tokens in token order
    keys = (~torch.eye(n, dtype=torch.bool, device=tokens.device)).nonzero()[:, 1]
    w = w.permute(0, 3, 1, 2)
    return out, w.gather(-1, keys.view(1, 1, n, n - 1).expand(*w.shape[:3], n - 1))


class _PackRows(torch.autograd.Function):
    """Row blocks (B, H, N_i, K_i), ``per_layer`` of them a layer, -> (B, layers, H, sum N_i,
    width), each row zero-padded to width.

    One write per entry into the layout the loss reads; the backward hands each block a view
    of the incoming gradient. (Padding each block, then concatenating, writes every entry
    twice; packing heads before layers makes the backward copy the whole gradient.)
    """

    @staticmethod
    def forward(ctx, width: int, per_layer: int, *blocks: Tensor) -> Tensor:
        b, h = blocks[0].shape[:2]
        layers = len(blocks) // per_layer
        n = sum(w.shape[2] for w in blocks[:per_layer])
        out = blocks[0].new_empty((b, layers, h, n, width))
        ctx.spans = []
        for i, w in enumerate(blocks):
            layer, row = divmod(i, per_layer)
            if row == 0:
                start = 0
            rows, k = w.shape[2], w.shape[3]
            out[:, layer, :, start:start + rows, :k].copy_(w)
            out[:, layer, :, start:start + rows, k:].zero_()
            ctx.spans.append((layer, start, rows, k))
            start += rows
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        return None, None, *(grad[:, layer, :, start:start + rows, :k]
                             for layer, start, rows, k in ctx.spans)


def pack_attention(weights: list[list[Tensor]], width: int) -> Tensor:
    """(B, layers, H, N, width) from per-layer lists of row blocks (B, H, N_i, K_i), stacked
    in row order and each row zero-padded to ``width`` keys."""
    return _PackRows.apply(width, len(weights[0]), *(w for layer in weights for w in layer))
