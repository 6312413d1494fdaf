"""Modality-specific encoders (seed 000, section 2.1) and the layers they share.

Each encoder maps one modality's features ``(batch, features)`` either to one vector
``(batch, d_model)`` (``sequence=False``: one token per modality) or to one vector per feature
``(batch, features, d_model)`` (``sequence=True``: one token per locus or fragment-length bin).
Every encoder ends with a residual connection and layer normalisation, as the paper states.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec


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
        self.fc1 = nn.Linear(dim, dim * mult)
        self.bn = BatchNorm1d(dim * mult)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(dim * mult, dim)

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


class MLPEncoder(nn.Module):
    """Generic encoder for any modality: a multi-layer perceptron with batch normalisation,
    dropout, a residual connection and layer normalisation."""

    def __init__(self, n_features: int, d_model: int = 128, ff_mult: int = 2,
                 dropout: float = 0.1, sequence: bool = False):
        super().__init__()
        self.sequence = sequence
        if sequence:
            # one token per feature: a learned embedding scaled by the feature's value
            self.value_weight = nn.Parameter(torch.randn(n_features, d_model) * 0.02)
            self.value_bias = nn.Parameter(torch.zeros(n_features, d_model))
        else:
            self.proj = nn.Linear(n_features, d_model)
        self.mlp = TokenMLP(d_model, ff_mult, dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        if self.sequence:
            h = x[..., None] * self.value_weight + self.value_bias  # (B, P, D)
        else:
            h = self.proj(x)  # (B, D)
        return self.norm(h + self.mlp(h))


class MethylationEncoder(MLPEncoder):
    """Methylation encoder of seed 000: beta values -> a d_model-dimensional representation
    (128 at the paper-scale default, claim C01) through an MLP with batch normalisation and
    dropout, closed by a residual connection and layer normalisation."""


class ConvBlock(nn.Module):
    """Residual 1-D convolution block over a sequence of channels: (B, C, L) -> (B, C, L)."""

    def __init__(self, channels: int, kernel_size: int = 5, dropout: float = 0.0):
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=pad)
        self.bn = BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=pad)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.drop(F.gelu(self.bn(self.conv1(x)))))


class FragmentomicsEncoder(nn.Module):
    """Fragment-length histogram encoder of seed 000: 1-D convolutions along the length axis
    (``channels`` wide), a projection to d_model, then global average pooling (or, with
    ``sequence=True``, one token per length bin)."""

    def __init__(self, n_features: int, d_model: int = 128, dropout: float = 0.1,
                 sequence: bool = False, channels: int = 32, kernel_size: int = 5):
        super().__init__()
        self.sequence = sequence
        self.stem = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)
        self.conv = ConvBlock(channels, kernel_size, dropout)
        self.proj = nn.Linear(channels, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv(self.stem(x[:, None, :]))  # (B, C, P)
        h = self.proj(h.transpose(1, 2))  # (B, P, D)
        return self.norm(h) if self.sequence else self.norm(h.mean(dim=1))  # pooled: (B, D)


class CNAEncoder(nn.Module):
    """Copy-number encoder of seed 000: 1-D convolutions (``channels`` wide) for local
    alterations, then a bidirectional GRU along the genomic bins for chromosome-scale
    patterns with a residual connection around it, projected to d_model."""

    def __init__(self, n_features: int, d_model: int = 128, dropout: float = 0.1,
                 sequence: bool = False, channels: int = 32, kernel_size: int = 5):
        super().__init__()
        self.sequence = sequence
        self.stem = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)
        self.conv = ConvBlock(channels, kernel_size, dropout)
        # the recurrence runs at the convolution's width: a d_model-wide GRU over every bin
        # made this encoder cost more than the whole transformer on a CPU
        self.gru = nn.GRU(channels, channels, batch_first=True, bidirectional=True)
        self.proj = nn.Linear(channels, d_model)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        c = self.conv(self.stem(x[:, None, :])).transpose(1, 2)  # (B, P, C)
        r, _ = self.gru(c)  # (B, P, 2C)
        r = r.unflatten(-1, (2, -1)).sum(dim=2)  # forward + backward directions: (B, P, C)
        h = self.norm(self.proj(c + r))  # residual around the recurrence, then (B, P, D)
        return h if self.sequence else h.mean(dim=1)  # pooled: (B, D)


ENCODERS: dict[str, type[nn.Module]] = {
    "methylation": MethylationEncoder,
    "fragmentomics": FragmentomicsEncoder,
    "cna": CNAEncoder,
}


def build_encoder(spec: ModalitySpec, cfg: ModelConfig, *, sequence: bool = False,
                  generic: bool = False) -> nn.Module:
    """The encoder for a modality's kind; a generic MLP for other kinds or when ``generic``."""
    if generic or spec.kind not in ENCODERS:
        return MLPEncoder(spec.n_features, cfg.d_model, cfg.ff_mult, cfg.dropout, sequence)
    if spec.kind == "methylation":
        return MethylationEncoder(spec.n_features, cfg.d_model, cfg.ff_mult, cfg.dropout,
                                  sequence)
    return ENCODERS[spec.kind](spec.n_features, cfg.d_model, cfg.dropout, sequence,
                               cfg.conv_channels)


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
