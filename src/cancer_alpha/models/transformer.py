"""The multi-modal transformer of the MMT paper: modality-specific encoders, cross-modal attention,
hierarchical pooling over present modalities, and a classification head.

Two token granularities (``ModelConfig.token_mode``):

- ``"modality"``: each encoder yields one d_model vector, so the fusion stack sees M tokens
  (the paper's 128-dimensional modality representations);
- ``"locus"``: each encoder keeps its sequence (one token per CpG locus or copy-number bin, and
  one per ``ModelConfig.fragment_pool`` fragment-length bins), with a sinusoidal encoding of
  the genomic coordinate (the Cancer Alpha paper's "positional encoding adapted for genomic
  coordinate systems"; a pooled token has the mean coordinate of its bins), so attention can
  relate methylation at one locus to copy number at another.

Both add a learned modality embedding to every token. The tokens of each modality attend to the
tokens of the other modalities only (queries from one modality, keys and values from the others).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models.attention import (
    CrossModalBlock,
    masked_mean,
    other_group_tokens,
    scatter_attention,
)
from cancer_alpha.models.encoders import (
    BatchNorm1d,
    build_encoder,
    encode_present,
    feature_positions,
    pool_positions,
    sinusoidal_encoding,
)
from cancer_alpha.models.inference import one_thread, small_inference
from cancer_alpha.models.kernels import Linear, pack_attention


class ModelOutput(NamedTuple):
    """What every model returns.

    - ``logits`` (B, K);
    - ``embedding`` (B, D): the fused representation the head classifies (t-SNE, clustering);
    - ``attention`` (B, layers, heads, N, Nk) or None: each query token's attention weights over
      Nk key slots. With ``attention_keys`` given, slot k of query token n is the token
      ``attention_keys[n, k]`` and a slot of -1 holds no key and exactly 0 weight (the
      multi-modal transformer: the keys of a token are the tokens of the other modalities, in
      token order, Nk = N - the smallest modality's token count); without it the slots are
      the N tokens themselves. A row sums to 1 when its query is present and has a present
      key, and is all zeros otherwise (the attention-entropy term counts zeros as 0).
      :meth:`full_attention` gives the weights over all N tokens, (B, layers, heads, N, N);
    - ``aux_logits``: {modality: (B, K)} from per-modality heads (progressive training) or None,
      keys in the order of the mask's columns;
    - ``token_modality`` (N,): the modality index (column of the mask) of each token;
    - ``token_index`` (N,): the feature index of each token within its modality (for a token
      pooled from several features, the first of them);
    - ``modality_weights`` (B, M): learned modality-importance weights (late fusion) or None;
    - ``attention_keys`` (N, Nk) or None: the token index of each key slot of ``attention``.
    """

    logits: Tensor
    embedding: Tensor
    attention: Tensor | None = None
    aux_logits: dict[str, Tensor] | None = None
    token_modality: Tensor | None = None
    token_index: Tensor | None = None
    modality_weights: Tensor | None = None
    attention_keys: Tensor | None = None

    def full_attention(self) -> Tensor | None:
        """Attention weights over all tokens, (B, layers, heads, N, N); zero where a query
        sends no weight (its own modality, a missing one); None without attention."""
        if self.attention is None or self.attention_keys is None:
            return self.attention
        return scatter_attention(self.attention, self.attention_keys)


class ClassifierHead(nn.Sequential):
    """The MMT paper's classification head: dropout, batch normalisation, a linear classifier."""

    def __init__(self, d_model: int, n_classes: int, dropout: float = 0.0):
        super().__init__(nn.Dropout(dropout), BatchNorm1d(d_model), Linear(d_model, n_classes))


class MultiModalTransformer(nn.Module):
    """Modality-specific encoders -> cross-modal attention -> masked pooling -> head.

    ``cross_attention=False`` removes the fusion stack (the representations are fused by
    masked mean pooling alone); ``generic_encoders=True`` gives every modality the same MLP
    encoder design. Both exist for the ablations of Chapter 6 (claims C08, C09).

    ``return_attention`` (True unless set otherwise) makes ``forward`` return the attention
    weights, which the attention-entropy term of the loss needs; False saves copying every
    weight into ``ModelOutput.attention`` (inference, or a loss without that term).
    """

    return_attention: bool = True

    def __init__(self, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig, *,
                 token_mode: str | None = None, cross_attention: bool = True,
                 generic_encoders: bool = False):
        super().__init__()
        self.specs = list(specs)
        self.token_mode = token_mode or model_cfg.token_mode
        locus = self.token_mode == "locus"
        d = model_cfg.d_model
        self.encoders = nn.ModuleDict({
            s.name: build_encoder(s, model_cfg, sequence=locus, generic=generic_encoders)
            for s in self.specs
        })
        # tokens per modality: one per `pool` features in locus mode (pool = 1 except for
        # fragment lengths); one per modality (a pool of all its features) otherwise
        pools = [self.encoders[s.name].pool if locus else s.n_features for s in self.specs]
        self.counts = [-(-s.n_features // p) for s, p in zip(self.specs, pools, strict=True)]
        self.register_buffer("token_modality", torch.repeat_interleave(
            torch.arange(len(self.counts)), torch.tensor(self.counts)), persistent=False)
        self.register_buffer("token_index", torch.cat(
            [torch.arange(0, s.n_features, p) for s, p in zip(self.specs, pools, strict=True)]),
            persistent=False)
        self.modality_embedding = nn.Parameter(torch.randn(len(self.specs), d) * 0.02)
        if locus:
            pos = torch.cat([sinusoidal_encoding(pool_positions(feature_positions(s), p), d)
                             for s, p in zip(self.specs, pools, strict=True)])
        else:
            pos = torch.zeros(len(self.specs), d)  # modalities have no order
        self.register_buffer("position_encoding", pos, persistent=False)  # (N, D)
        self.register_buffer("attention_keys", other_group_tokens(self.counts),
                             persistent=False)  # (N, Nk)
        self.fusion = nn.ModuleList([
            CrossModalBlock(d, model_cfg.n_heads, model_cfg.ff_mult, model_cfg.dropout)
            for _ in range(model_cfg.n_layers)
        ]) if cross_attention else None
        self.aux_heads = nn.ModuleDict({s.name: Linear(d, n_classes) for s in self.specs})
        self.head = ClassifierHead(d, n_classes, model_cfg.dropout)

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        """``x``: {modality: (B, P_m)}, ``mask`` (B, M) -> ModelOutput."""
        if small_inference(mask.shape[0]):  # see models.inference
            with one_thread():
                return self._forward(x, mask)
        return self._forward(x, mask)

    def _forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        locus = self.token_mode == "locus"
        d = self.modality_embedding.shape[1]
        tokens = []
        for m, s in enumerate(self.specs):
            shape = (self.counts[m], d) if locus else (d,)
            h = encode_present(self.encoders[s.name], x[s.name], mask[:, m], shape)
            tokens.append(h if locus else h[:, None])  # (B, N_m, D)
        aux = {s.name: self.aux_heads[s.name](t.mean(dim=1))  # per-modality heads: (B, K)
               for s, t in zip(self.specs, tokens, strict=True)}

        h = torch.cat(tokens, dim=1)  # (B, N, D)
        h = h + (self.position_encoding + self.modality_embedding[self.token_modality]).to(h.dtype)
        # masks cost a pass over every attention matrix: skip them when nothing is missing
        fusion_mask = None if bool(mask.all()) else mask
        returned = self.fusion is not None and self.return_attention
        weights = []
        for block in self.fusion or ():
            h, w = block(h, self.counts, fusion_mask, returned)  # w: row blocks or None
            weights.append(w)

        # hierarchical pooling: tokens within each modality, then the present modalities
        per_modality = torch.stack([t.mean(dim=1) for t in h.split(self.counts, dim=1)],
                                   dim=1)  # (B, M, D)
        embedding = masked_mean(per_modality, mask)  # (B, D)
        # the row blocks padded and stacked by one write per entry, with a backward of views
        # (padding then concatenating writes every weight twice): see models.kernels
        return ModelOutput(
            logits=self.head(embedding),
            embedding=embedding,
            attention=pack_attention(weights, self.attention_keys.shape[1]) if returned else None,
            aux_logits=aux,
            token_modality=self.token_modality,
            token_index=self.token_index,
            attention_keys=self.attention_keys if returned else None,
        )
