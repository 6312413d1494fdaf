"""Chapter 2's measurements of the models (models.complexity): costs, parts, layers,
residual connections."""

from __future__ import annotations

import torch
from torch import nn

from cancer_alpha.models.complexity import (
    count_parameters,
    flops_per_sample,
    layer_kinds,
    model_costs,
    parameters_by_part,
    residual_gap,
)
from tests.tiny_models import MODEL_SPECS as SPECS
from tests.tiny_models import MODEL_TINY as TINY
from tests.tiny_models import make_batch, make_model


class Residual(nn.Module):
    def __init__(self, residual: bool):
        super().__init__()
        self.residual = residual
        self.mlp = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        return self.norm(x + self.mlp(x) if self.residual else self.mlp(x))


def test_model_costs_are_the_parameter_and_flop_counts():
    model, batch = make_model("early_fusion_mlp"), make_batch()
    assert model_costs(model, batch) == {"parameters": count_parameters(model),
                                         "flops_per_sample": flops_per_sample(model, batch)}


def test_parameters_by_part_splits_module_dicts_and_lists_and_sums_to_the_total():
    model = make_model("mmt_modality")
    parts = parameters_by_part(model)
    assert sum(parts.values()) == count_parameters(model)
    assert parts["encoders.methylation"] == count_parameters(model.encoders["methylation"])
    assert parts["fusion.1"] == count_parameters(model.fusion[1])
    assert parts["head"] == count_parameters(model.head)
    assert parts["modality_embedding"] == len(SPECS) * TINY.d_model  # a bare parameter


def test_layer_kinds_counts_the_leaf_layers_of_the_methylation_encoder():
    kinds = layer_kinds(make_model().encoders["methylation"])
    # projection, and the MLP's two linear layers, batch norm, dropout; the final layer norm
    assert kinds == {"Linear": 3, "BatchNorm1d": 1, "Dropout": 1, "LayerNorm": 1}


def test_residual_gap_is_zero_with_a_skip_connection_and_large_without():
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    assert residual_gap(Residual(True), (x,), "mlp", "norm") < 1e-6
    # without the skip the merge sees only the branch's output: the gap is the input's size
    assert residual_gap(Residual(False), (x,), "mlp", "norm") > 0.1


def test_residual_gap_finds_the_methylation_encoders_residual_and_restores_the_model():
    encoder = make_model().encoders["methylation"].train()
    x = make_batch()["x"]["methylation"]
    assert residual_gap(encoder, (x,), "mlp", "norm") < 1e-6
    assert encoder.training and not encoder.mlp._forward_hooks
    assert not encoder.norm._forward_pre_hooks
