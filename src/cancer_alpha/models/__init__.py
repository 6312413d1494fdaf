"""The neural models: the multi-modal transformer, its ablations and its peers, by name.

Every model is built from a list of modality specs, so the same code serves the three
synthetic modalities and real data with others; every model takes ``x`` {modality: (B, P_m)}
and ``mask`` (B, M) and returns a :class:`ModelOutput`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from torch import nn

from cancer_alpha.config import ModelConfig, require
from cancer_alpha.data import ModalitySpec
from cancer_alpha.model_names import NEURAL_MODELS
from cancer_alpha.models.attention import CrossModalAttention, masked_mean, masked_softmax
from cancer_alpha.models.encoders import (
    CNAEncoder,
    FragmentomicsEncoder,
    MethylationEncoder,
    MLPEncoder,
)
from cancer_alpha.models.peers import (
    AdditiveFusion,
    EarlyFusionMLP,
    LateFusion,
    PerceiverIOClassifier,
    TabTransformerClassifier,
)
from cancer_alpha.models.transformer import ModelOutput, MultiModalTransformer

TRANSFORMER = "mmt_modality"  # the MMT paper's model: one token per modality
LOCUS_TRANSFORMER = "mmt_locus"  # the same transformer with one token per feature

_Builder = Callable[[list[ModalitySpec], int, ModelConfig], nn.Module]

_BUILDERS: dict[str, _Builder] = {
    # the paper's model at its two token granularities
    TRANSFORMER: lambda s, k, c: MultiModalTransformer(s, k, c, token_mode="modality"),
    LOCUS_TRANSFORMER: lambda s, k, c: MultiModalTransformer(s, k, c, token_mode="locus"),
    # ablations (Chapter 6), at the granularity of ModelConfig.token_mode
    "mmt_no_cross_attention": lambda s, k, c: MultiModalTransformer(
        s, k, c, cross_attention=False),
    "mmt_generic_encoders": lambda s, k, c: MultiModalTransformer(
        s, k, c, generic_encoders=True),
    # peers (the Cancer Alpha paper)
    "tab_transformer": TabTransformerClassifier,
    "perceiver_io": PerceiverIOClassifier,
    "early_fusion_mlp": EarlyFusionMLP,
    "late_fusion": LateFusion,
    # the additive negative control of Chapter 6's positive control
    "additive_fusion": AdditiveFusion,
}

MODEL_NAMES: tuple[str, ...] = tuple(NEURAL_MODELS)  # a builder above for each


def build_model(name: str, specs: list[ModalitySpec], n_classes: int, model_cfg: ModelConfig
                ) -> nn.Module:
    """The named model for these modalities and classes."""
    require(name in _BUILDERS, "model", "name", name, f"one of {list(MODEL_NAMES)}")
    require(len(specs) > 0 and all(isinstance(s, ModalitySpec) for s in specs), "model",
             "specs", specs, "a non-empty list of ModalitySpec")
    names = [s.name for s in specs]
    require(len(set(names)) == len(names), "model", "specs", names, "distinct modality names")
    require(isinstance(n_classes, int) and n_classes >= 2, "model", "n_classes", n_classes,
             "an integer >= 2")
    return _BUILDERS[name](list(specs), n_classes, model_cfg)


@contextmanager
def attention_returned(model: nn.Module, on: bool) -> Iterator[nn.Module]:
    """Within the block, ``model`` returns its attention weights exactly when ``on``; its own
    setting comes back afterwards. Models without a ``return_attention`` switch are left as
    they are."""
    before = getattr(model, "return_attention", None)
    if before is None:
        yield model
        return
    model.return_attention = on
    try:
        yield model
    finally:
        model.return_attention = before


__all__ = [
    "attention_returned",
    "MODEL_NAMES", "TRANSFORMER", "LOCUS_TRANSFORMER",
    "build_model", "ModelOutput", "MultiModalTransformer", "CrossModalAttention",
    "MethylationEncoder", "FragmentomicsEncoder", "CNAEncoder", "MLPEncoder",
    "TabTransformerClassifier", "PerceiverIOClassifier", "EarlyFusionMLP", "LateFusion",
    "masked_mean", "masked_softmax",
]
