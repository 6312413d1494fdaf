"""Modality-specific encoders (the MMT paper, section 2.1) and the layers they share.

Each encoder maps one modality's features ``(batch, features)`` either to one vector
``(batch, d_model)`` (``sequence=False``: one token per modality) or to a sequence of tokens
``(batch, tokens, d_model)`` (``sequence=True``): one per CpG locus or copy-number bin, and one
per ``pool`` consecutive fragment-length bins (``encoder.pool``: feature bins per token).
Every encoder ends with a residual connection and layer normalisation, as the paper states.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models.kernels import Linear, is_plain, linear, matmul_t

# the defaults of ModelConfig.cna_stride and ModelConfig.fragment_pool, which set them
CNA_STRIDE = ModelConfig.cna_stride  # copy-number bins per recurrent step: 110 -> 28 steps
FRAGMENT_POOL = ModelConfig.fragment_pool  # fragment-length bins per token in locus mode


class BatchNorm1d(nn.BatchNorm1d):
    """Batch normalisation that falls back to running statistics when a training batch holds
    a single value per channel (a lone sample, e.g. the only one with a modality present)."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.numel() == x.shape[1]:
            # batch statistics of one value are undefined; PyTorch would raise
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        return super().forward(x)


class TokenMLP(nn.Module):
    """Position-wise MLP with batch normalisation and dropout: (..., dim) -> (..., dim)."""

    def __init__(self, dim: int, mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.fc1 = Linear(dim, dim * mult)
        self.bn = BatchNorm1d(dim * mult)
        self.drop = nn.Dropout(dropout)
        self.fc2 = Linear(dim * mult, dim)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc1(x)
        # statistics per channel over every sample and token
        h = self.bn(h.reshape(-1, h.shape[-1])).reshape(h.shape)
        return self.fc2(self.drop(F.gelu(h)))


def sinusoidal_encoding(positions: Tensor, dim: int, base: float = 10000.0) -> Tensor:
    """Sines and cosines of each coordinate at geometric frequencies: (L,) -> (L, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(base) * torch.arange(half, dtype=torch.float64) / max(half, 1))
    angles = positions.double()[:, None] * freqs[None, :]  # (L, dim // 2)
    enc = torch.cat([angles.sin(), angles.cos()], dim=1)
    if dim % 2:
        enc = F.pad(enc, (0, 1))
    return enc.float()


def feature_positions(spec: ModalitySpec) -> Tensor:
    """One coordinate per feature: ``spec.positions`` (Mb, bp) or else the feature index."""
    if spec.positions is None:
        return torch.arange(spec.n_features, dtype=torch.float32)
    return torch.tensor(spec.positions, dtype=torch.float32)


def pool_positions(positions: Tensor, pool: int) -> Tensor:
    """Mean coordinate of each run of ``pool`` consecutive features (the last run may be
    shorter): (P,) -> (ceil(P / pool),)."""
    group = torch.arange(positions.numel()) // pool
    total = positions.new_zeros(int(group[-1]) + 1).index_add_(0, group, positions)
    return total / torch.bincount(group).to(positions.dtype)


def pad_to_multiple(x: Tensor, k: int) -> Tensor:
    """``x`` (..., L) right-padded with zeros to a length that is a multiple of ``k``."""
    return F.pad(x, (0, -x.shape[-1] % k))


class MLPEncoder(nn.Module):
    """Generic encoder for any modality: a multi-layer perceptron with batch normalisation,
    dropout, a residual connection and layer normalisation."""

    pool = 1  # one token per feature in sequence mode

    def __init__(self, n_features: int, d_model: int = 128, ff_mult: int = 2,
                 dropout: float = 0.1, sequence: bool = False):
        super().__init__()
        self.sequence = sequence
        if sequence:
            # one token per feature: a learned embedding scaled by the feature's value
            self.value_weight = nn.Parameter(torch.randn(n_features, d_model) * 0.02)
            self.value_bias = nn.Parameter(torch.zeros(n_features, d_model))
        else:
            self.proj = Linear(n_features, d_model)
        self.mlp = TokenMLP(d_model, ff_mult, dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        if self.sequence:
            h = x[..., None] * self.value_weight + self.value_bias  # (B, P, D)
        else:
            h = self.proj(x)  # (B, D)
        return self.norm(h + self.mlp(h))


class MethylationEncoder(MLPEncoder):
    """Methylation encoder of the MMT paper: beta values -> a d_model-dimensional representation
    (128 at the paper-scale default, claim C01) through an MLP with batch normalisation and
    dropout, closed by a residual connection and layer normalisation."""


# Convolutions, averages and patches are linear: where one follows another, their product can
# be formed from the (small) kernels instead of the (large) feature maps. The helpers below do
# so for stride-1 convolutions that keep the length (odd kernel, zero padding kernel // 2).


def _plain_for(x: Tensor) -> bool:
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


class ConvBlock(nn.Module):
    """Residual 1-D convolution block over a sequence of channels: (B, C, L) -> (B, C, L).

    Dropout drops whole channels of a sample (spatial dropout, Tompson et al. 2015):
    neighbouring positions of a feature map are strongly correlated, so dropping single
    entries regularises little; it also draws C random numbers per sample instead of C x L.
    """

    def __init__(self, channels: int, kernel_size: int = 5, dropout: float = 0.0):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.bn = BatchNorm1d(channels)
        self.drop = nn.Dropout1d(dropout)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.drop(F.gelu(self.bn(self.conv1(x)))))

    def mean_after(self, stem: nn.Conv1d, x: Tensor) -> Tensor:
        """``self(stem(x)).mean(dim=-1)`` for a one-channel stem, (B, 1, L) -> (B, C),
        without forming the stem's features or the block's output: the first convolution of
        the stem's features from windows of ``x`` (:func:`after_stem`), channels last; the
        second convolution and the average as one product (:func:`conv_mean`)."""
        length, pad = x.shape[-1], _same_padding(self.conv1)
        weight, bias = self.conv1.weight, self.conv1.bias
        bn = self.bn
        if not bn.training and bn.track_running_stats:
            # in evaluation the normalisation is affine: folded into the convolution's kernel
            scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
            weight, bias = weight * scale[:, None, None], (bias - bn.running_mean) * scale + bn.bias
            bn = None
        h = after_stem(stem, weight, bias, x, length, pad=pad)  # (B, L, C)
        h = F.gelu(h if bn is None else bn(h.flatten(0, 1)).view(h.shape))
        return conv_mean(stem, x) + conv_mean(self.conv2, self.drop(h.transpose(1, 2)))


class Patches(nn.Module):
    """Non-overlapping patches of ``size`` positions, each mapped linearly to ``channels``:
    (B, C, L) -> (B, ceil(L / size), C), the last patch zero-padded. A strided convolution
    with kernel = stride = size, written as one matrix product (half the cost of ``nn.Conv1d``
    for these sizes on a CPU)."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.size = size
        self.proj = Linear(channels * size, channels)

    def forward(self, x: Tensor) -> Tensor:
        x = rearrange(pad_to_multiple(x, self.size), "b c (t s) -> b t (c s)", s=self.size)
        return self.proj(x)

    def after(self, stem: nn.Conv1d, x: Tensor) -> Tensor:
        """``self(stem(x))`` for a one-channel stem, (B, 1, L) -> (B, ceil(L / size), C),
        without forming the stem's features (:func:`after_stem`)."""
        n = -(-x.shape[-1] // self.size)
        return after_stem(stem, self.proj.weight.unflatten(1, (-1, self.size)), self.proj.bias,
                          x, n, stride=self.size)


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


class FragmentomicsEncoder(nn.Module):
    """Fragment-length histogram encoder of the MMT paper: 1-D convolutions along the length axis
    (``channels`` wide), a projection to d_model, then global average pooling.

    With ``sequence=True`` the convolutional features are pooled by a strided convolution into
    one token per ``pool`` length bins (110 bins of 4 bp -> 28 tokens of 16 bp): length bins are
    not genomic loci, and fewer of them cut the cost of cross-modal attention, which grows with
    the product of the token counts. Nucleosome-scale (10 bp) periodicity is read by the
    convolutions at full resolution before the pooling.
    """

    def __init__(self, n_features: int, d_model: int = 128, dropout: float = 0.1,
                 sequence: bool = False, channels: int = 32, kernel_size: int = 5,
                 pool: int = FRAGMENT_POOL):
        super().__init__()
        self.sequence = sequence
        self.pool = pool if sequence else 1
        self.stem = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)
        self.conv = ConvBlock(channels, kernel_size, dropout)
        if sequence:
            self.down = Patches(channels, self.pool)
        self.proj = Linear(channels, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, None, :]  # (B, 1, P)
        if not self.sequence:
            # average, then project: the same as projecting every bin first (both are linear)
            if _plain_for(x):
                return self.norm(self.proj(self.conv(self.stem(x)).mean(dim=2)))  # (B, D)
            return self.norm(self.proj(self.conv.mean_after(self.stem, x)))
        h = self.conv(self.stem(x))  # (B, C, P)
        return self.norm(self.proj(self.down(h)))  # (B, ceil(P / pool), D)


LOCUS_CHANNELS = 4  # features per copy-number bin in the modality token (see CNAEncoder)


class CNAEncoder(nn.Module):
    """Copy-number encoder of the MMT paper: 1-D convolutions (``channels`` wide) for local
    alterations and a bidirectional GRU along the genome for chromosome-scale patterns, with
    a residual connection around them, projected to d_model: one token per bin in sequence
    mode; otherwise one token projected from the features of every bin side by side, so that
    it keeps which locus carries which copy number.

    Why not their average (as the fragment-length encoder pools, which the MMT paper
    specifies for it; for copy number it specifies no pooling): an average over the genome
    forgets where an alteration sits, and with it the locus-by-locus alignment with
    methylation that a cross-modal interaction at the same loci needs. On the positive control
    of Chapter 5 the transformer with an averaging copy-number encoder stayed near chance
    where the same transformer with MLP encoders learnt the interaction.

    A convolution stem reads each bin in its neighbourhood; its features are cut into patches
    of ``stride`` bins (a strided convolution), on which the residual convolution block and
    then the GRU run, one step per patch (110 bins -> 28 steps). A patch of 4 of the 110
    paper-scale bins is about one chromosome arm, the scale of the alterations, and the GRU
    still spans the whole genome in both directions. Its output is repeated back to one vector
    per bin and added to the bin's stem features, which keep the bin-level resolution. (A GRU
    over every bin, and convolutions at full resolution, made this the most expensive encoder
    on a CPU: a recurrence is one small matrix product per step and direction.)
    """

    pool = 1  # one token per bin in sequence mode

    def __init__(self, n_features: int, d_model: int = 128, dropout: float = 0.1,
                 sequence: bool = False, channels: int = 32, kernel_size: int = 5,
                 stride: int = CNA_STRIDE):
        super().__init__()
        self.sequence = sequence
        self.stride = stride
        self.stem = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)
        self.down = Patches(channels, stride)
        self.conv = ConvBlock(channels, kernel_size, dropout)
        # the recurrence runs at the convolution's width: a d_model-wide GRU cost more than
        # the whole transformer on a CPU
        self.gru = BiGRU(channels, channels)
        # sequence mode: each bin's features to a token; otherwise each bin's features narrowed
        # to LOCUS_CHANNELS (one map shared by the bins), then all bins side by side to one
        # token: it keeps every locus apart with a tenth of the weights of the full features
        self.narrow = None if sequence else Linear(channels, LOCUS_CHANNELS)
        self.proj = (Linear(channels, d_model) if sequence
                     else Linear(LOCUS_CHANNELS * n_features, d_model))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        p = x.shape[1]
        x = x[:, None, :]  # (B, 1, P)
        c = self.stem(x)  # (B, C, P)
        z = self.conv(self.down(c).transpose(1, 2))  # patches: (B, C, T), T = ceil(P / s)
        r = self.gru(z.transpose(1, 2))  # forward + backward directions: (B, T, C)
        h = c.transpose(1, 2) + r.repeat_interleave(self.stride, dim=1)[:, :p]  # (B, P, C)
        if self.sequence:
            return self.norm(self.proj(h))  # (B, P, D)
        return self.norm(self.proj(self.narrow(h).flatten(1)))  # every bin's features: (B, D)


ENCODERS: dict[str, type[nn.Module]] = {
    "methylation": MethylationEncoder,
    "fragmentomics": FragmentomicsEncoder,
    "cna": CNAEncoder,
}


def build_encoder(spec: ModalitySpec, model_cfg: ModelConfig, *, sequence: bool = False,
                  generic: bool = False) -> nn.Module:
    """The encoder for a modality's kind; a generic MLP for other kinds or when ``generic``."""
    if generic or spec.kind not in ENCODERS:
        return MLPEncoder(spec.n_features, model_cfg.d_model, model_cfg.ff_mult,
                          model_cfg.dropout, sequence)
    if spec.kind == "methylation":
        return MethylationEncoder(spec.n_features, model_cfg.d_model, model_cfg.ff_mult,
                                  model_cfg.dropout, sequence)
    if spec.kind == "fragmentomics":
        return FragmentomicsEncoder(spec.n_features, model_cfg.d_model, model_cfg.dropout, sequence,
                                    model_cfg.conv_channels, pool=model_cfg.fragment_pool)
    return CNAEncoder(spec.n_features, model_cfg.d_model, model_cfg.dropout, sequence,
                      model_cfg.conv_channels, stride=model_cfg.cna_stride)


def encode_present(encoder: nn.Module, x: Tensor, present: Tensor, out_shape: tuple[int, ...]
                   ) -> Tensor:
    """Run ``encoder`` on the rows where the modality is present; other rows are zeros.

    Missing rows never reach the encoder, so their values cannot leak into the output, not
    even through the batch statistics of batch normalisation. ``out_shape`` is the per-sample
    output shape, used when no row is present.
    """
    if bool(present.all()):
        return encoder(x)
    idx = present.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x.new_zeros((x.shape[0], *out_shape))
    h = encoder(x.index_select(0, idx))
    return h.new_zeros((x.shape[0], *h.shape[1:])).index_copy(0, idx, h)
