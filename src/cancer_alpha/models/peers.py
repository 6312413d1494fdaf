"""The peers of the multi-modal transformer on the same inputs (the Cancer Alpha paper's model zoo):
TabTransformer, Perceiver IO, an early-fusion MLP and late fusion with learned
modality-importance weights.

All take the batch of every model, ``x`` {modality: (B, P_m)} and ``mask`` (B, M), and return a
:class:`ModelOutput`. Where a model sees all features at once (TabTransformer, Perceiver IO,
early fusion), the values of a missing modality are replaced by zeros before anything else, so
they cannot reach the output; late fusion never encodes them at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from perceiver_pytorch import PerceiverIO
from tab_transformer_pytorch import TabTransformer
from tab_transformer_pytorch.tab_transformer_pytorch import Attention as TabAttention
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models.attention import FeedForward, masked_mean, masked_softmax
from cancer_alpha.models.encoders import (
    build_encoder,
    encode_present,
    feature_positions,
    sinusoidal_encoding,
)
from cancer_alpha.models.kernels import Linear
from cancer_alpha.models.transformer import ClassifierHead, ModelOutput

# the defaults of ModelConfig.perceiver_width_divisor and ModelConfig.tab_dim_head, which set them
PERCEIVER_WIDTH_DIVISOR = ModelConfig.perceiver_width_divisor  # tokens d_model / 2 wide
TAB_DIM_HEAD = ModelConfig.tab_dim_head  # a head's width; heads x width = the token width


class _FlatInputs(nn.Module):
    """Base of the models that see every feature: concatenation and per-feature presence."""

    def __init__(self, specs: list[ModalitySpec]):
        super().__init__()
        self.specs = list(specs)
        counts = torch.tensor([s.n_features for s in self.specs])
        self.register_buffer("token_modality", torch.repeat_interleave(
            torch.arange(len(self.specs)), counts), persistent=False)
        self.register_buffer("token_index", torch.cat(
            [torch.arange(s.n_features) for s in self.specs]), persistent=False)

    def flat(self, x: dict[str, Tensor], mask: Tensor) -> tuple[Tensor, Tensor]:
        """Values (B, N) with missing modalities set to 0, and presence (B, N)."""
        values = torch.cat([x[s.name] for s in self.specs], dim=1)
        present = mask[:, self.token_modality]
        return torch.where(present, values, torch.zeros((), dtype=values.dtype,
                                                        device=values.device)), present


class _FusedTabAttention(nn.Module):
    """The attention layer of ``tab-transformer-pytorch`` on the same projections (``to_qkv``,
    ``to_out``), computed by the fused kernel ``F.scaled_dot_product_attention`` unless
    ``return_weights`` is set, and then as the package computes it, returning the weights
    (B, H, N, N). Without weights it returns an empty tensor, which the package stacks as it
    stacks weights. There is no attention dropout (see :class:`TabTransformerClassifier`)."""

    def __init__(self, attention: TabAttention):
        super().__init__()
        self.heads, self.scale = attention.heads, attention.scale
        self.to_qkv, self.to_out = attention.to_qkv, attention.to_out
        self.return_weights = False

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads)
                   for t in self.to_qkv(x).chunk(3, dim=-1))
        if self.return_weights:
            weights = (q @ k.transpose(-1, -2) * self.scale).softmax(dim=-1)  # (B, H, N, N)
            out = weights @ v
        else:
            weights = x.new_empty(0)
            out = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        return self.to_out(rearrange(out, "b h n d -> b n (h d)")), weights


class TabTransformerClassifier(_FlatInputs):
    """TabTransformer (Huang et al. 2020, arXiv:2012.06678) from ``tab-transformer-pytorch``.

    The published design passes categorical columns through a transformer (each column a token:
    a per-column value embedding plus a shared column embedding of width dim/8) and joins the
    layer-normalised continuous columns afterwards, without attention. Omics features are all
    continuous, so here every feature is also made a categorical token by quantile binning into
    ``ModelConfig.n_bins`` bins; the raw values still take the continuous path. Bin edges start
    at standard-normal quantiles (inputs arrive standardised) and must be fitted on training
    data only with :meth:`fit_bins` (``ClassifierModule`` does so from its training dataloader
    when a fit starts and the edges are not fitted yet).

    A missing modality's features become the package's special token (index -1) and their
    continuous values 0. Settings: ``num_residual_streams=1`` (the published residual stream,
    not the package's default hyper-connections), ``mlp_act=nn.ReLU()``, token width
    ``ModelConfig.tab_token_dim`` (32 in the paper), depth ``n_layers``, and heads of
    ``TAB_DIM_HEAD`` = 16 (the package's default) as many as fill the token width (2 at 32).

    Departures: the published final MLP has hidden widths 4l and 2l, with l the flattened input
    width (about 10^4 here); this one has a single hidden layer of d_model units, whose
    activations are the embedding. The published model has 8 heads (with the package's head
    width of 16, 4x the token width together); here they fill the token width once: with one
    token per feature, attention over N = 330 tokens is most of a training step on a CPU and
    its cost grows with the number of heads. There is no
    attention dropout (the published model has it; ``ModelConfig.dropout`` still acts in the
    feed-forward sublayers and the head): a dropout mask over every (N x N) attention matrix
    cost as much as the rest of a step, and without it attention runs as one fused kernel that
    never stores the weights. The weights are computed only when ``return_attention`` is set
    (for analysis); ``attention`` is None otherwise, so the attention-entropy term of the
    composite loss (the MMT paper's regulariser of its own model) does not apply to this peer.
    """

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig):
        super().__init__(specs)
        n, nb = int(self.token_modality.numel()), model_cfg.n_bins
        levels = torch.arange(1, nb, dtype=torch.float64) / nb
        self.register_buffer("bin_edges", torch.special.ndtri(levels).float().repeat(n, 1))
        self.register_buffer("bins_fitted", torch.tensor(False))
        self.net = TabTransformer(
            categories=(nb,) * n, num_continuous=n, dim=model_cfg.tab_token_dim,
            depth=model_cfg.n_layers,
            heads=max(1, model_cfg.tab_token_dim // model_cfg.tab_dim_head),
            dim_head=model_cfg.tab_dim_head,
            dim_out=model_cfg.d_model, mlp_hidden_mults=(),
            mlp_act=nn.ReLU(), num_special_tokens=1, attn_dropout=0.0,
            ff_dropout=model_cfg.dropout, num_residual_streams=1,
        )
        for attention, _ in self.net.transformer.layers:  # the same weights, a fused kernel
            attention.branch.fn = _FusedTabAttention(attention.branch.fn)
        self.head = ClassifierHead(model_cfg.d_model, n_classes, model_cfg.dropout)

    @property
    def return_attention(self) -> bool:
        """Whether ``forward`` computes and returns the attention weights (B, L, H, N, N)."""
        return all(a.branch.fn.return_weights for a, _ in self.net.transformer.layers)

    @return_attention.setter
    def return_attention(self, value: bool) -> None:
        for attention, _ in self.net.transformer.layers:
            attention.branch.fn.return_weights = bool(value)

    @torch.no_grad()
    def fit_bins(self, x: Mapping[str, Any], mask: Any = None) -> TabTransformerClassifier:
        """Fit per-feature quantile bin edges on training data: ``x`` {modality: (n, P_m)}
        arrays or tensors (NaN where missing), ``mask`` (n, M) or None."""
        cols = []
        for m, s in enumerate(self.specs):
            v = np.array(_numpy(x[s.name]), dtype=np.float64)
            if mask is not None:
                v[~_numpy(mask)[:, m].astype(bool)] = np.nan
            cols.append(v)
        values = np.concatenate(cols, axis=1)
        nb = self.bin_edges.shape[1] + 1
        observed = ~np.isnan(values).all(axis=0)
        edges = self.bin_edges.detach().cpu().numpy().astype(np.float64)
        if observed.any():
            edges[observed] = np.nanquantile(values[:, observed], np.arange(1, nb) / nb,
                                             axis=0).T
        # a feature never observed keeps its previous edges
        self.bin_edges.copy_(torch.as_tensor(edges, dtype=self.bin_edges.dtype))
        self.bins_fitted.fill_(True)
        return self

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        values, present = self.flat(x, mask)  # (B, N)
        edges = self.bin_edges.to(values.dtype)
        bins = torch.searchsorted(edges, values.T.contiguous()).T  # (B, N) in [0, n_bins)
        categ = torch.where(present, bins, -1)  # -1: the special token for "missing"
        hidden, attn = self.net(categ, values, return_attn=True)  # attn: (L, B, H, N, N)
        embedding = F.relu(hidden)
        return ModelOutput(
            logits=self.head(embedding), embedding=embedding,
            attention=attn.transpose(0, 1) if self.return_attention else None,
            token_modality=self.token_modality, token_index=self.token_index,
        )


class PerceiverIOClassifier(_FlatInputs):
    """Perceiver IO (Jaegle et al. 2021) from ``perceiver-pytorch``: one token per feature,
    one cross-attention from a latent array (``ModelConfig.n_latents`` latents) to the tokens,
    ``n_layers`` latent self-attention blocks, and a learned classification query of width
    d_model decoded by cross-attention to the latents.

    A token is the feature's value times a learned per-feature embedding, plus a sinusoidal
    encoding of its coordinate and a learned modality embedding (the published model
    concatenates Fourier features instead). The tokens of missing modalities are masked in the
    input cross-attention (the package's ``mask`` argument) and their values zeroed. The
    package exposes no attention weights, so ``attention`` is None.

    Widths: the tokens, the single-head input cross-attention and the latent array are
    d_model / ``PERCEIVER_WIDTH_DIVISOR`` wide (64 at the default d_model of 128); the query
    and the embedding are d_model wide. At d_model everywhere, the package's latent
    feed-forward layers (4x wide, gated) and the key/value projection of every token took
    most of a training step on a CPU; the latent array is the published model's bottleneck
    and its width a free choice.
    """

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig):
        super().__init__(specs)
        n, d = int(self.token_modality.numel()), model_cfg.d_model
        # at least a channel per head
        w = max(d // model_cfg.perceiver_width_divisor, model_cfg.n_heads)
        self.value_weight = nn.Parameter(torch.randn(n, w) * 0.02)
        self.value_bias = nn.Parameter(torch.zeros(n, w))
        self.modality_embedding = nn.Parameter(torch.randn(len(self.specs), w) * 0.02)
        pos = torch.cat([sinusoidal_encoding(feature_positions(s), w) for s in self.specs])
        self.register_buffer("position_encoding", pos, persistent=False)  # (N, W)
        self.net = PerceiverIO(
            depth=model_cfg.n_layers, dim=w, queries_dim=d, logits_dim=None,
            num_latents=model_cfg.n_latents, latent_dim=w, cross_heads=1, cross_dim_head=w,
            latent_heads=model_cfg.n_heads, latent_dim_head=w // model_cfg.n_heads, decoder_ff=True,
        )
        self.query = nn.Parameter(torch.randn(1, d) * 0.02)  # the classification query
        self.head = ClassifierHead(d, n_classes, model_cfg.dropout)

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        values, present = self.flat(x, mask)  # (B, N)
        # value x embedding + (bias + position + modality): one pass over (B, N, W)
        offset = self.value_bias + self.position_encoding + self.modality_embedding[
            self.token_modality]  # (N, W)
        tokens = torch.addcmul(offset, values[..., None], self.value_weight)  # (B, N, W)
        embedding = self.net(tokens, mask=present, queries=self.query)[:, 0]  # (B, D)
        return ModelOutput(logits=self.head(embedding), embedding=embedding,
                           token_modality=self.token_modality, token_index=self.token_index)


class EarlyFusionMLP(_FlatInputs):
    """Early fusion: an MLP over all features side by side, missing modalities zeroed and the
    modality mask appended so that a zero can be told from a missing value. One hidden layer
    of ``d_model`` ReLU units, then dropout and a linear classifier: the network a reviewer
    would write first (scikit-learn's ``MLPClassifier``).

    It has no batch normalisation. A batch normalisation after the hidden layer (as in the MMT
    paper's head) makes the classifier's input blind to the scale of the hidden weights, so a
    weight penalty (``train.l2``) no longer limits what the network can fit; with one, the
    tuned model's validation loss rose after the second epoch and it stayed 2 to 3 points
    below scikit-learn's MLP on the paper cohort (Chapter 4's MLP check)."""

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig):
        super().__init__(specs)
        n, d = int(self.token_modality.numel()), model_cfg.d_model
        self.net = nn.Sequential(Linear(n + len(self.specs), d), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(model_cfg.dropout), Linear(d, n_classes))

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        values, _ = self.flat(x, mask)
        embedding = self.net(torch.cat([values, mask.to(values.dtype)], dim=1))  # (B, D)
        return ModelOutput(logits=self.head(embedding), embedding=embedding)


class LateFusion(nn.Module):
    """The Cancer Alpha paper's cross-modal fusion module: modality-specific encoders, then a
    late fusion of their representations weighted by learned, sample-dependent
    modality-importance weights (a softmax over the present modalities), a residual
    feed-forward with layer normalisation, and the classification head. ``modality_weights``
    (B, M) are returned."""

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig):
        super().__init__()
        self.specs = list(specs)
        d = model_cfg.d_model
        self.encoders = nn.ModuleDict({s.name: build_encoder(s, model_cfg) for s in self.specs})
        self.importance = Linear(d, 1, bias=False)  # the modality_bias is the offset
        self.modality_bias = nn.Parameter(torch.zeros(len(self.specs)))
        self.ff = FeedForward(d, model_cfg.ff_mult, model_cfg.dropout)
        self.aux_heads = nn.ModuleDict({s.name: Linear(d, n_classes) for s in self.specs})
        self.head = ClassifierHead(d, n_classes, model_cfg.dropout)

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        d = self.importance.in_features
        h = torch.stack([encode_present(self.encoders[s.name], x[s.name], mask[:, m], (d,))
                         for m, s in enumerate(self.specs)], dim=1)  # (B, M, D)
        scores = self.importance(h).squeeze(-1) + self.modality_bias  # (B, M)
        weights = masked_softmax(scores, mask)  # 0 for missing modalities
        fused = (weights[..., None].to(h.dtype) * h).sum(dim=1)  # (B, D)
        embedding = self.ff(fused)
        aux = {s.name: self.aux_heads[s.name](h[:, m]) for m, s in enumerate(self.specs)}
        return ModelOutput(logits=self.head(embedding), embedding=embedding, aux_logits=aux,
                           modality_weights=weights)


class AdditiveFusion(nn.Module):
    """The additive negative control: one encoder and one classifier per modality, their logits
    added over the present modalities (a product of per-modality experts). No term depends on
    two modalities, so the class log-odds are a sum of one function of each modality: such a
    model cannot represent an interaction between modalities (Chapter 6's positive control).
    The per-modality logits are returned as ``aux_logits``."""

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig):
        super().__init__()
        self.specs = list(specs)
        self.d_model = model_cfg.d_model
        self.encoders = nn.ModuleDict({s.name: build_encoder(s, model_cfg) for s in self.specs})
        self.heads = nn.ModuleDict({s.name: ClassifierHead(self.d_model, n_classes,
                                                           model_cfg.dropout)
                                    for s in self.specs})
        self.bias = nn.Parameter(torch.zeros(n_classes))

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        d = self.d_model
        h = [encode_present(self.encoders[s.name], x[s.name], mask[:, m], (d,))
             for m, s in enumerate(self.specs)]
        per = {s.name: self.heads[s.name](h[m]) * mask[:, m, None].to(h[m].dtype)
               for m, s in enumerate(self.specs)}  # (B, K) each, 0 where missing
        logits = torch.stack(list(per.values()), dim=0).sum(dim=0) + self.bias
        embedding = masked_mean(torch.stack(h, dim=1), mask)  # (B, D)
        return ModelOutput(logits=logits, embedding=embedding, aux_logits=per)


def _numpy(a: Any) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)
