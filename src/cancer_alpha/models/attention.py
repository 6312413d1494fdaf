"""Cross-modal attention (seed 000, section 2.1) and the masked pooling every model shares.

Missing modalities are handled by masks, never by values: a masked key receives exactly zero
attention, a query with no valid key attends to nothing (its weights are all zero, its output
is its residual), and pooling averages over present entries only. Nothing divides by zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over dim 1 of ``x`` (B, N, D) where ``mask`` (B, N) is True; zeros if none is."""
    m = mask[..., None]
    total = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=1)
    return total / m.sum(dim=1).clamp_min(1).to(x.dtype)


def masked_softmax(scores: Tensor, allowed: Tensor, dim: int = -1) -> Tensor:
    """Softmax over entries where ``allowed``; exactly 0 elsewhere and on fully masked rows."""
    filled = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    return filled.softmax(dim=dim) * allowed  # an all-masked row is uniform before this: -> 0


class CrossModalAttention(nn.Module):
    """Multi-head attention softmax(QK^T / sqrt(d_k)) V whose queries come from one set of
    tokens and keys/values from another, with a residual connection and layer normalisation.

    ``forward`` returns the updated queries (B, Nq, D) and the attention weights
    (B, heads, Nq, Nk). A weight row sums to 1 when its query is present and has at least one
    allowed key, and is all zeros otherwise.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.scale = (d_model // n_heads) ** -0.5
        self.to_q = nn.Linear(d_model, d_model)
        self.to_kv = nn.Linear(d_model, 2 * d_model)
        self.to_out = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, query: Tensor, context: Tensor, key_mask: Tensor | None = None,
                query_mask: Tensor | None = None, pair_mask: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """``key_mask`` (B, Nk), ``query_mask`` (B, Nq), ``pair_mask`` (Nq, Nk): True = allowed."""
        b, nq, nk = query.shape[0], query.shape[1], context.shape[1]
        # scaling the queries, not the scores: one pass over (Nq, d_k) instead of (Nq, Nk)
        q = rearrange(self.to_q(query) * self.scale, "b n (h d) -> b h n d", h=self.n_heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.n_heads)
                for t in self.to_kv(context).chunk(2, dim=-1))
        scores = q @ k.transpose(-1, -2)  # (B, H, Nq, Nk)
        allowed = torch.ones(1, 1, nq, nk, dtype=torch.bool, device=query.device)
        if pair_mask is not None:
            allowed = allowed & pair_mask[None, None]
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :]
        if query_mask is not None:
            allowed = allowed & query_mask[:, None, :, None]
        weights = masked_softmax(scores, allowed.expand(b, 1, nq, nk))
        # no dropout on the weights: those returned are those applied (and it is cheaper)
        out = weights.to(v.dtype) @ v  # (B, H, Nq, d_k)
        out = self.to_out(rearrange(out, "b h n d -> b n (h d)"))
        return self.norm(query + self.drop(out)), weights


class FeedForward(nn.Module):
    """Position-wise feed-forward sublayer with a residual connection and layer normalisation."""

    def __init__(self, d_model: int, mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_model * mult)
        self.fc2 = nn.Linear(d_model * mult, d_model)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.drop(self.fc2(self.drop(F.gelu(self.fc1(x))))))


class CrossModalBlock(nn.Module):
    """One layer of the fusion stack: every token attends to the tokens of the other
    modalities, then a feed-forward sublayer."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.cross_attention = CrossModalAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, ff_mult, dropout)

    def forward(self, tokens: Tensor, present: Tensor, pair_mask: Tensor
                ) -> tuple[Tensor, Tensor]:
        """``tokens`` (B, N, D), ``present`` (B, N); returns tokens and weights (B, H, N, N)."""
        h, weights = self.cross_attention(tokens, tokens, key_mask=present, query_mask=present,
                                          pair_mask=pair_mask)
        return self.ff(h), weights


def cross_modal_pairs(token_modality: Tensor) -> Tensor:
    """(N,) modality index per token -> (N, N) True where query and key come from different
    modalities: queries from one modality, keys and values from the others."""
    return token_modality[:, None] != token_modality[None, :]
