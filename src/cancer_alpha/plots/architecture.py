"""Figures of Chapter 2 (the architecture): a diagram drawn from a built model, model costs,
and attention heat maps. In the book's figure style. (The table of a forward pass's shapes is
:func:`cancer_alpha.architecture.stage_tables`: this package only draws.)"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from cancer_alpha.architecture import shape_text
from cancer_alpha.models.complexity import count_parameters
from cancer_alpha.plots import style as plots
from cancer_alpha.plots.style import figure

_NEUTRAL = "#bdbdbd"


def _box(ax, x: float, y: float, w: float, h: float, text: str, color: str,
         fontsize: float = 6.5) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.006",
                                facecolor=color, edgecolor="#333333", linewidth=0.6,
                                alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, wrap=False)


def _arrow(ax, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.7,
                            "shrinkA": 0, "shrinkB": 0})


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False))


def _params(n: int) -> str:
    return f"{n / 1e3:.1f}k parameters" if n < 1e6 else f"{n / 1e6:.2f}M parameters"


def _draw_transformer(ax, model: Any, stages: Sequence[tuple[str, str, tuple]],
                      batch_size: int, title: str) -> None:
    """One panel: inputs -> encoders -> tokens -> fusion blocks -> pooling -> head."""
    out = {name: shape for name, _, shape in stages}
    specs, m = model.specs, len(model.specs)
    n_blocks = len(model.fusion) if model.fusion is not None else 0
    rows = 5 + n_blocks  # inputs, encoders, tokens, blocks..., pooling, head
    heights = np.full(rows, min(0.09, 0.6 / rows))
    heights[1] = min(0.16, 1.1 / rows)  # encoders carry the most text
    gap = (0.96 - heights.sum()) / (rows - 1)  # the same space between every two rows
    ys = 0.97 - np.cumsum(heights) + heights / 2 - gap * np.arange(rows)
    width = 0.96 / m
    xs = [width * (i + 0.5) + 0.02 for i in range(m)]
    for i, s in enumerate(specs):
        color = plots.modality_color(s.name)
        kind = "" if s.kind == s.name else f" ({s.kind})"
        _box(ax, xs[i], ys[0], width * 0.9, heights[0],
             f"{s.name}{kind}\n{s.n_features} features", color)
        enc = model.encoders[s.name]
        layers = " \u2192 ".join(type(c).__name__ for c in enc.children())
        text = (f"{type(enc).__name__}\n{_wrap(layers, 24)}\n"
                f"\u2192 {shape_text(out[f'encoders.{s.name}'], batch_size)}\n"
                f"{_params(count_parameters(enc))}")
        _box(ax, xs[i], ys[1], width * 0.9, heights[1], text, color)
        _arrow(ax, xs[i], ys[0] - heights[0] / 2, xs[i], ys[1] + heights[1] / 2)
        _arrow(ax, xs[i], ys[1] - heights[1] / 2, 0.5, ys[2] + heights[2] / 2)
    n_tokens, d = sum(model.counts), model.modality_embedding.shape[1]
    counts = " + ".join(str(c) for c in model.counts)
    position = "genomic-coordinate encoding" if model.token_mode == "locus" else "no position"
    _box(ax, 0.5, ys[2], 0.9, heights[2], _wrap(
         f"tokens: concatenate ({counts} = {n_tokens}) + modality embedding, {position}",
         70) + f"\n\u2192 (B, {n_tokens}, {d})", _NEUTRAL)
    for b in range(n_blocks):
        block = model.fusion[b]
        y = ys[3 + b]
        _arrow(ax, 0.5, ys[2 + b] - heights[2 + b] / 2, 0.5, y + heights[3 + b] / 2)
        _box(ax, 0.5, y, 0.9, heights[3 + b], _wrap(
             f"CrossModalBlock {b + 1}: {block.cross_attention.n_heads}-head attention, queries "
             f"from one modality, keys/values from the others; feed-forward", 70) +
             f"\n\u2192 {shape_text(out[f'fusion.{b}'], batch_size)}, "
             f"{_params(count_parameters(block))}", "#c6dbef")
    yp, yh = ys[3 + n_blocks], ys[4 + n_blocks]
    _arrow(ax, 0.5, ys[2 + n_blocks] - heights[2 + n_blocks] / 2, 0.5,
           yp + heights[3 + n_blocks] / 2)
    _box(ax, 0.5, yp, 0.9, heights[3 + n_blocks],
         f"pooling: mean over each modality's tokens,\nthen over present modalities\n"
         f"\u2192 (B, {d})", _NEUTRAL)
    _arrow(ax, 0.5, yp - heights[3 + n_blocks] / 2, 0.5, yh + heights[4 + n_blocks] / 2)
    head = " \u2192 ".join(type(c).__name__ for c in model.head.children())
    _box(ax, 0.5, yh, 0.9, heights[4 + n_blocks],
         f"{type(model.head).__name__}: {head}\n\u2192 {shape_text(out['head'], batch_size)}, "
         f"{_params(count_parameters(model.head))}", "#fdd0a2")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(title)


@figure
def architecture_diagram(models: Mapping[str, Any],
                         stages: Mapping[str, Sequence[tuple[str, str, tuple]]],
                         batch_size: int):
    """A panel per multi-modal transformer, drawn from its modules: the encoders of its
    modality specs, the token count, each fusion block and the head, with the output shapes of
    ``stages`` (``complexity.stage_shapes`` records, batch ``batch_size``) and parameter
    counts."""
    # no constrained layout: it would shrink the axes around text that fills the boxes
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 6.4), squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95, wspace=0.04)
    axes = axes[0]
    for ax, (title, model) in zip(axes, models.items(), strict=True):
        _draw_transformer(ax, model, stages[title], batch_size, title)
    return fig


@figure
def cost_chart(costs: Mapping[str, Mapping[str, float]]):
    """Parameters and forward FLOPs per sample of each model, side by side, log scale."""
    names = list(costs)
    fig, axes = plots.subplots(1, 2, width=7.6, height=0.3 * len(names) + 1.0, sharey=True)
    for ax, key, label in zip(axes, ("parameters", "flops_per_sample"),
                              ("parameters", "forward FLOPs per sample"), strict=True):
        values = [costs[n][key] for n in names]
        ax.barh(names, values, color="#6baed6")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(axis="y", visible=False)
    axes[0].invert_yaxis()
    return fig


@figure
def attention_heatmaps(panels: Mapping[str, np.ndarray], token_modality: Any,
                       names: Sequence[str], ncols: int | None = None):
    """Heat maps of (N, N) attention matrices (query tokens down, key tokens across) on one
    colour scale, with lines between modalities; small matrices carry their values."""
    tm = np.asarray(token_modality)
    n = len(tm)
    ncols = ncols or len(panels)
    nrows = -(-len(panels) // ncols)
    size = 2.8 if n > 6 else 2.2
    fig, axes = plots.subplots(nrows, ncols, width=size * ncols + 0.8, height=size * nrows,
                               squeeze=False)
    vmax = max(float(np.max(p)) for p in panels.values())
    edges = np.flatnonzero(np.diff(tm)) + 0.5
    centres = [float(np.flatnonzero(tm == m).mean()) for m in range(len(names))]
    for ax, (title, w) in zip(axes.flat, panels.items(), strict=False):
        im = ax.imshow(w, vmin=0.0, vmax=vmax, cmap="magma", interpolation="nearest")
        for e in edges:
            ax.axhline(e, color="white", lw=0.6)
            ax.axvline(e, color="white", lw=0.6)
        ax.set_xticks(centres, names, rotation=30, ha="right")
        ax.set_yticks(centres, names)
        ax.grid(False)
        ax.set_title(title)
        if n <= 6:
            for i in range(n):
                for j in range(n):
                    ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if w[i, j] < 0.6 * vmax else "black")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
    return fig
