"""Cross-modal attention (the MMT paper, section 2.1) and the masked pooling every model shares.

Missing modalities are handled by masks, never by values: a masked key receives exactly zero
attention, a query with no valid key attends to nothing (its weights are all zero, its output
is its residual), and pooling averages over present entries only. Nothing divides by zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from cancer_alpha.models.kernels import Linear, is_plain, one_token_per_group


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over dim 1 of ``x`` (B, N, D) where ``mask`` (B, N) is True; zeros if none is."""
    m = mask[..., None]
    total = torch.where(m, x, torch.zeros((), dtype=x.dtype, device=x.device)).sum(dim=1)
    return total / m.sum(dim=1).clamp_min(1).to(x.dtype)


def masked_softmax(scores: Tensor, allowed: Tensor, dim: int = -1) -> Tensor:
    """Softmax over entries where ``allowed``; exactly 0 elsewhere and on fully masked rows."""
    filled = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    return filled.softmax(dim=dim) * allowed  # an all-masked row is uniform before this: -> 0


def attend(q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None = None,
           row_mask: Tensor | None = None, weights: bool = True
           ) -> tuple[Tensor, Tensor | None]:
    """softmax(q k^T) v for queries ``q`` (B, H, Nq, d_k) already scaled and keys and values
    ``k``, ``v`` (B, H, Nk, d_k). ``key_mask`` (broadcast to (B, H, Nq, Nk)) marks allowed keys,
    ``row_mask`` (broadcast to (B, H, Nq, 1)) the rows that may attend at all: a row with no
    allowed key must be False there. None: all. Returns the output (B, H, Nq, d_k) and the
    weights (B, H, Nq, Nk), exactly 0 on masked keys and rows; with ``weights=False`` the
    weights are None and the output comes from the fused kernel, which never forms them."""
    if not weights:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, scale=1.0)
        return (out if row_mask is None else out * row_mask), None
    scores = q @ k.transpose(-1, -2)
    # masks cost passes over every (Nq, Nk) entry: only when given, and the key mask as an
    # in-place addition, whose backward is free (a masked fill's is another full pass)
    if key_mask is not None:
        lowest = torch.finfo(scores.dtype).min
        scores += torch.zeros(key_mask.shape, dtype=scores.dtype, device=scores.device
                              ).masked_fill_(~key_mask, lowest)
    w = scores.softmax(dim=-1)
    if row_mask is not None:
        w = w * row_mask  # a fully masked row is uniform before this
    # no dropout on the weights: those returned are those applied (and it is cheaper)
    return w.to(v.dtype) @ v, w


class CrossModalAttention(nn.Module):
    """Multi-head attention softmax(QK^T / sqrt(d_k)) V whose queries come from one set of
    tokens and keys/values from another, with a residual connection and layer normalisation.

    ``forward`` returns the updated queries (B, Nq, D) and the attention weights
    (B, heads, Nq, Nk). A weight row sums to 1 when its query is present and has at least one
    allowed key, and is all zeros otherwise. :meth:`across_groups` is the fusion layer's form:
    the tokens of each modality attend to those of the other modalities only.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.scale = (d_model // n_heads) ** -0.5
        self.to_q = Linear(d_model, d_model)
        self.to_kv = Linear(d_model, 2 * d_model)
        self.to_out = Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def _project(self, query: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries (scaled), keys and values, each (B, H, N, d_k)."""
        # scaling the queries, not the scores: one pass over (Nq, d_k) instead of (Nq, Nk)
        q = rearrange(self.to_q(query) * self.scale, "b n (h d) -> b h n d", h=self.n_heads)
        k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.n_heads)
                for t in self.to_kv(context).chunk(2, dim=-1))
        return q, k, v

    def _residual(self, query: Tensor, out: Tensor) -> Tensor:
        """Heads (B, H, Nq, d_k) merged, projected and added to the queries: (B, Nq, D)."""
        out = self.to_out(rearrange(out, "b h n d -> b n (h d)"))
        return self.norm(query + self.drop(out))

    def forward(self, query: Tensor, context: Tensor, key_mask: Tensor | None = None,
                query_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``key_mask`` (B, Nk), ``query_mask`` (B, Nq): True = present."""
        q, k, v = self._project(query, context)
        keys = rows = None
        if key_mask is not None:
            keys = key_mask[:, None, None, :]  # (B, 1, 1, Nk)
            rows = key_mask.any(dim=1)[:, None, None, None]  # (B, 1, 1, 1)
        if query_mask is not None:
            queries = query_mask[:, None, :, None]  # (B, 1, Nq, 1)
            rows = queries if rows is None else rows & queries
        out, weights = attend(q, k, v, keys, rows)
        return self._residual(query, out), weights

    def across_groups(self, tokens: Tensor, sizes: list[int], mask: Tensor | None = None,
                      weights: bool = True) -> tuple[Tensor, list[Tensor] | None]:
        """Each group of tokens attends to the tokens of the other groups only.

        ``tokens`` (B, N, D) are ``len(sizes)`` groups (modalities) of consecutive tokens;
        ``mask`` (B, groups) says which groups are present (None: all). Returns the tokens
        (B, N, D) and the weights as row blocks: stacked in token order, each row zero-padded
        to N - min(sizes) key slots, they are the weights of every token over the other
        groups' tokens in token order (:func:`~cancer_alpha.models.kernels.pack_attention`).
        With ``weights=False`` the weights are None and never formed.

        The attention is computed per query group against the concatenated tokens of the
        other groups, so no same-group score is ever formed, and each group's weights
        (B, H, N_m, N - N_m) are one block.
        """
        # fast path, the same function: with one token per group all tokens attend at once,
        # their own masked; one product over N x N scores costs less than a loop over groups
        if len(sizes) > 1 and max(sizes) == 1 and not is_plain(tokens):
            out, w = one_token_per_group(self, tokens, mask, weights)
            return self.norm(tokens + self.drop(self.to_out(out))), None if w is None else [w]
        q, k, v = self._project(tokens, tokens)
        # split into views; their backward is one concatenation, not a zero-filled copy each
        qs, ks, vs = (t.split(sizes, dim=2) for t in (q, k, v))
        present = None
        if mask is not None:
            present = mask.repeat_interleave(torch.tensor(sizes, device=mask.device), dim=1)
            present = present.split(sizes, dim=1)  # (B, N_m) per group
        outs, blocks = [], []
        for m in range(len(sizes)):
            keys, values = (_others(t, m, dim=2) for t in (ks, vs))  # (B, H, N - N_m, d_k)
            key_mask = row_mask = None
            if present is not None:
                key_mask = _others(present, m, dim=1)  # (B, N - N_m)
                # a missing query, or one without any present key, attends to nothing
                row_mask = (mask[:, m] & key_mask.any(dim=1))[:, None, None, None]
                key_mask = key_mask[:, None, None, :]
            if keys.shape[2] == 0:  # a lone group: nothing to attend to
                out = torch.zeros_like(qs[m])
                w = out.new_zeros((*out.shape[:3], 0)) if weights else None
            else:
                out, w = attend(qs[m], keys, values, key_mask, row_mask, weights)
            outs.append(out)
            blocks.append(w)
        return self._residual(tokens, torch.cat(outs, dim=2)), blocks if weights else None


def _others(parts: tuple[Tensor, ...], m: int, dim: int) -> Tensor:
    """Every part but the m-th, concatenated along ``dim`` (empty when there is none)."""
    rest = parts[:m] + parts[m + 1:]
    return torch.cat(rest, dim=dim) if rest else parts[m].narrow(dim, 0, 0)


class FeedForward(nn.Module):
    """Position-wise feed-forward sublayer with a residual connection and layer normalisation.

    Dropout acts on the sublayer's output, as in Vaswani et al. (2017), not also on its hidden
    layer: on a CPU, drawing a dropout mask costs more than the layer's matrix products.
    """

    def __init__(self, d_model: int, mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.fc1 = Linear(d_model, d_model * mult)
        self.fc2 = Linear(d_model * mult, d_model)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x + self.drop(self.fc2(F.gelu(self.fc1(x)))))


class CrossModalBlock(nn.Module):
    """One layer of the fusion stack: every token attends to the tokens of the other
    modalities, then a feed-forward sublayer."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int = 2, dropout: float = 0.0):
        super().__init__()
        self.cross_attention = CrossModalAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, ff_mult, dropout)

    def forward(self, tokens: Tensor, sizes: list[int], mask: Tensor | None = None,
                weights: bool = True) -> tuple[Tensor, list[Tensor] | None]:
        """``tokens`` (B, N, D) in groups of ``sizes`` tokens, one per modality, ``mask``
        (B, M) or None; returns tokens and the weights as row blocks
        (:meth:`CrossModalAttention.across_groups`), None without ``weights``."""
        h, w = self.cross_attention.across_groups(tokens, sizes, mask, weights)
        return self.ff(h), w


def other_group_tokens(sizes: list[int]) -> Tensor:
    """(N, K) token index of the k-th key of each query token: the tokens of the other groups
    in token order, then -1 where its group has fewer than K = N - min(sizes) keys."""
    group = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    n = int(group.numel())
    keys = torch.full((n, n - min(sizes)), -1, dtype=torch.long)
    for m in range(len(sizes)):
        others = (group != m).nonzero().squeeze(1)
        keys[group == m, :others.numel()] = others
    return keys


def scatter_attention(attention: Tensor, keys: Tensor) -> Tensor:
    """Weights (..., N, K) over the keys listed in ``keys`` (N, K; -1 = none) -> (..., N, N)
    over all tokens, zeros where a query has no weight."""
    n = keys.shape[0]
    index = torch.where(keys < 0, n, keys).expand(attention.shape)  # -1 -> a spare column
    full = attention.new_zeros((*attention.shape[:-1], n + 1))
    return full.scatter_add_(-1, index, attention)[..., :n]
