"""The multi-modal transformer of seed 000: modality-specific encoders, cross-modal attention,
hierarchical pooling over present modalities, and a classification head.

Two token granularities (``ModelConfig.token_mode``):

- ``"modality"``: each encoder yields one d_model vector, so the fusion stack sees M tokens
  (the paper's 128-dimensional modality representations);
- ``"locus"``: each encoder keeps its sequence (one token per CpG locus, fragment-length bin or
  copy-number bin), with a sinusoidal encoding of the genomic coordinate (seed 002:
  "positional encoding adapted for genomic coordinate systems"), so attention can relate
  methylation at one locus to copy number at another.

Both add a learned modality embedding to every token.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models.attention import CrossModalBlock, cross_modal_pairs, masked_mean
from cancer_alpha.models.encoders import (
    BatchNorm1d,
    build_encoder,
    encode_present,
    feature_positions,
    sinusoidal_encoding,
)


class ModelOutput(NamedTuple):
    """What every model returns.

    - ``logits`` (B, K);
    - ``embedding`` (B, D): the fused representation the head classifies (t-SNE, clustering);
    - ``attention`` (B, layers, heads, N, N) or None: attention weights between the N tokens;
    - ``aux_logits``: {modality: (B, K)} from per-modality heads (progressive training) or None,
      keys in the order of the mask's columns;
    - ``token_modality`` (N,): the modality index (column of the mask) of each token;
    - ``token_index`` (N,): the feature index of each token within its modality;
    - ``modality_weights`` (B, M): learned modality-importance weights (late fusion) or None.
    """

    logits: Tensor
    embedding: Tensor
    attention: Tensor | None = None
    aux_logits: dict[str, Tensor] | None = None
    token_modality: Tensor | None = None
    token_index: Tensor | None = None
    modality_weights: Tensor | None = None


class ClassifierHead(nn.Sequential):
    """Seed 000's classification head: dropout, batch normalisation, a linear classifier."""

    def __init__(self, d_model: int, n_classes: int, dropout: float = 0.0):
        super().__init__(nn.Dropout(dropout), BatchNorm1d(d_model), nn.Linear(d_model, n_classes))


class MultiModalTransformer(nn.Module):
    """Modality-specific encoders -> cross-modal attention -> masked pooling -> head.

    ``cross_attention=False`` removes the fusion stack (the representations are fused by
    masked mean pooling alone); ``generic_encoders=True`` gives every modality the same MLP
    encoder design. Both exist for the ablations of Chapter 4 (claims C08, C09).
    """

    def __init__(self, specs: list[ModalitySpec], n_classes: int, cfg: ModelConfig, *,
                 token_mode: str | None = None, cross_attention: bool = True,
                 generic_encoders: bool = False):
        super().__init__()
        self.specs = list(specs)
        self.token_mode = token_mode or cfg.token_mode
        locus = self.token_mode == "locus"
        d = cfg.d_model
        self.encoders = nn.ModuleDict({
            s.name: build_encoder(s, cfg, sequence=locus, generic=generic_encoders)
            for s in self.specs
        })
        self.counts = [s.n_features if locus else 1 for s in self.specs]  # tokens per modality
        self.register_buffer("token_modality", torch.repeat_interleave(
            torch.arange(len(self.counts)), torch.tensor(self.counts)), persistent=False)
        self.register_buffer("token_index", torch.cat([torch.arange(c) for c in self.counts]),
                             persistent=False)
        self.modality_embedding = nn.Parameter(torch.randn(len(self.specs), d) * 0.02)
        if locus:
            pos = torch.cat([sinusoidal_encoding(feature_positions(s), d) for s in self.specs])
        else:
            pos = torch.zeros(len(self.specs), d)  # modalities have no order
        self.register_buffer("position_encoding", pos, persistent=False)  # (N, D)
        self.register_buffer("pairs", cross_modal_pairs(self.token_modality), persistent=False)
        self.fusion = nn.ModuleList([
            CrossModalBlock(d, cfg.n_heads, cfg.ff_mult, cfg.dropout) for _ in range(cfg.n_layers)
        ]) if cross_attention else None
        self.aux_heads = nn.ModuleDict({s.name: nn.Linear(d, n_classes) for s in self.specs})
        self.head = ClassifierHead(d, n_classes, cfg.dropout)

    def forward(self, x: dict[str, Tensor], mask: Tensor) -> ModelOutput:
        """``x``: {modality: (B, P_m)}, ``mask`` (B, M) -> ModelOutput."""
        locus = self.token_mode == "locus"
        d = self.modality_embedding.shape[1]
        tokens = []
        for m, s in enumerate(self.specs):
            shape = (s.n_features, d) if locus else (d,)
            h = encode_present(self.encoders[s.name], x[s.name], mask[:, m], shape)
            tokens.append(h if locus else h[:, None])  # (B, P_m or 1, D)
        aux = {s.name: self.aux_heads[s.name](t.mean(dim=1))  # per-modality heads: (B, K)
               for s, t in zip(self.specs, tokens, strict=True)}

        h = torch.cat(tokens, dim=1)  # (B, N, D)
        h = h + (self.position_encoding + self.modality_embedding[self.token_modality]).to(h.dtype)
        present = mask[:, self.token_modality]  # (B, N)
        weights = []
        for block in self.fusion or ():
            h, w = block(h, present, self.pairs)
            weights.append(w)

        # hierarchical pooling: tokens within each modality, then the present modalities
        per_modality = torch.stack([t.mean(dim=1) for t in h.split(self.counts, dim=1)],
                                   dim=1)  # (B, M, D)
        embedding = masked_mean(per_modality, mask)  # (B, D)
        return ModelOutput(
            logits=self.head(embedding),
            embedding=embedding,
            attention=torch.stack(weights, dim=1) if weights else None,  # (B, L, H, N, N)
            aux_logits=aux,
            token_modality=self.token_modality,
            token_index=self.token_index,
        )
