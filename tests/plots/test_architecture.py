"""Chapter 2's figures (plots.architecture): the diagram drawn from a model, attention heat
maps, the cost chart."""

from __future__ import annotations

import numpy as np
import torch

from cancer_alpha import plots
from cancer_alpha.models.complexity import (
    stage_shapes,
)
from tests.tiny_models import MODEL_B as B
from tests.tiny_models import MODEL_K as K
from tests.tiny_models import MODEL_P as P
from tests.tiny_models import MODEL_TINY as TINY
from tests.tiny_models import make_batch, make_model


def test_architecture_diagram_is_drawn_from_the_models_modules():
    models = {"modality": make_model("mmt_modality"), "locus": make_model("mmt_locus")}
    batch = make_batch()
    stages = {t: stage_shapes(m, batch, max_depth=3) for t, m in models.items()}
    fig = plots.architecture_diagram(models, stages, B)
    texts = ["\n".join(t.get_text() for t in ax.texts) for ax in fig.axes]
    assert len(fig.axes) == 2
    for text, model in zip(texts, models.values(), strict=True):
        assert "CNAEncoder" in text and "GRU" in text
        assert text.count("CrossModalBlock") == TINY.n_layers
        assert f"(B, {sum(model.counts)}, {TINY.d_model})" in text  # the token sequence
        assert f"(B, {K})" in text
    assert f"(B, {P}, {TINY.d_model})" in texts[1]  # one methylation token per locus


def test_attention_heatmaps_share_one_colour_scale_and_label_small_matrices():
    tm = torch.tensor([0, 1, 2])
    a = np.array([[0, 0.5, 0.5], [0.2, 0, 0.8], [0.9, 0.1, 0]])
    fig = plots.attention_heatmaps({"a": a, "b": a / 2}, tm, ["m", "f", "c"])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    assert all(im.get_clim() == (0.0, 0.9) for im in images)
    assert "0.80" in [t.get_text() for t in fig.axes[0].texts]


def test_cost_chart_draws_a_bar_per_model_and_measure():
    costs = {"a": {"parameters": 10, "flops_per_sample": 1e6},
             "b": {"parameters": 1000, "flops_per_sample": 1e3}}
    fig = plots.cost_chart(costs)
    widths = [[p.get_width() for p in ax.patches] for ax in fig.axes]
    assert widths == [[10, 1000], [1e6, 1e3]]
