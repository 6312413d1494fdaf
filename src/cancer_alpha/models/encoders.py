"""Modality-specific encoders (the MMT paper, section 2.1) and the layers they share.

Each encoder maps one modality's features ``(batch, features)`` either to one vector
``(batch, d_model)`` (``sequence=False``: one token per modality) or to a sequence of tokens
``(batch, tokens, d_model)`` (``sequence=True``): one per CpG locus or copy-number bin, and one
per ``pool`` consecutive fragment-length bins (``encoder.pool``: feature bins per token).
Every encoder ends with a residual connection and layer normalisation, as the paper states.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec

# Linear and BiGRU are nn.Linear and a summed bidirectional nn.GRU (the same parameters and
# function) that train faster on a CPU; models.kernels holds them and the composed form
from cancer_alpha.models.kernels import BiGRU, Linear, conv_block_mean_after, plain_for

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
            # fast path, the same function: convolutions and average composed from the small
            # kernels, so that the (B, C, P) feature maps are never formed
            if not plain_for(x):
                return self.norm(self.proj(conv_block_mean_after(self.conv, self.stem, x)))
            # average, then project: the same as projecting every bin first (both are linear)
            return self.norm(self.proj(self.conv(self.stem(x)).mean(dim=2)))  # (B, D)
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
    of Chapter 6 the transformer with an averaging copy-number encoder stayed near chance
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
