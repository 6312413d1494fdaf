"""Chapter 2's measurements of the models as built: the methylation encoder's evidence for
C01, the size and cost of every model, the cost ratios the chapter quotes, and attention before
and after a short training run on one batch.

Every model is built after ``torch.manual_seed(seed)``, so that the same seed gives the same
weights whichever function builds it and in whatever order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .config import ModelConfig, Profile
from .data import ModalitySpec


def build_seeded(name: str, specs: Sequence[ModalitySpec], n_classes: int,
                 model_cfg: ModelConfig, seed: int) -> Any:
    """Model ``name`` built after ``torch.manual_seed(seed)``."""
    import torch

    from .models import build_model

    torch.manual_seed(seed)
    return build_model(name, list(specs), n_classes, model_cfg)


def methylation_evidence(encoder: Any, x: Any) -> tuple[int, dict[str, int], float]:
    """C01's evidence, measured on the encoder: the width of its output on ``x``, the count of
    each kind of layer it holds, and the relative gap between the input of its final layer
    normalisation and its MLP's input plus output (0 for a residual connection)."""
    from .models import complexity

    width = int(encoder.eval()(x).shape[-1])
    return width, complexity.layer_kinds(encoder), \
        complexity.residual_gap(encoder, (x,), "mlp", "norm")


def model_costs(names: Iterable[str], specs: Sequence[ModalitySpec], n_classes: int,
                model_cfg: ModelConfig, batch: Mapping[str, Any], seed: int
                ) -> dict[str, dict[str, float]]:
    """Parameters and forward FLOPs per sample of each model, built with ``seed``, counted on
    ``batch`` (:func:`cancer_alpha.models.complexity.model_costs`)."""
    from .models import complexity

    return {name: complexity.model_costs(
        build_seeded(name, specs, n_classes, model_cfg, seed), batch) for name in names}


def cost_ratios(locus_tokens: int, costs: Mapping[str, Mapping[str, float]],
                preset_costs: Mapping[str, Mapping[str, float]], preset: ModelConfig,
                model_cfg: ModelConfig) -> dict[str, float]:
    """The chapter's comparisons of cost: tokens of the locus-token transformer, its FLOPs
    per sample over the modality-token transformer's, and the Cancer Alpha paper's preset's
    width and parameters over this profile's."""
    return {"n_tokens_locus": locus_tokens,
            "locus_ratio": costs["mmt_locus"]["flops_per_sample"]
            / costs["mmt_modality"]["flops_per_sample"],
            "cancer_alpha_width_ratio": preset.d_model / model_cfg.d_model,
            "cancer_alpha_param_ratio": preset_costs["mmt_modality"]["parameters"]
            / costs["mmt_modality"]["parameters"]}


def first_samples(batch: Mapping[str, Any], n: int) -> dict[str, Any]:
    """The first ``n`` samples of a batch of tensors (inputs, mask and labels)."""
    return {"x": {k: v[:n] for k, v in batch["x"].items()}, "mask": batch["mask"][:n],
            **({"y": batch["y"][:n]} if "y" in batch else {})}


def one_batch_training(name: str, specs: Sequence[ModalitySpec], n_classes: int,
                       profile: Profile, batch: Mapping[str, Any], steps: int, seed: int
                       ) -> tuple[tuple[Any, Any], dict[str, float]]:
    """Train model ``name`` (built with ``seed``) for ``steps`` optimiser steps on one
    ``batch`` with the book's recipe (the composite loss, AdamW, warm-up and cosine schedule,
    gradient clipping). Returns the mean attention of each layer before and after
    (:func:`cancer_alpha.interpret.mean_attention`), and the training loss of the first and
    last step with the mean attention entropy before, after and of uniform weights."""
    import torch

    from . import interpret, training
    from .losses import attention_entropy

    model = build_seeded(name, specs, n_classes, profile.model, seed)
    with torch.no_grad():
        before = model.eval()(batch["x"], batch["mask"])
    module = training.ClassifierModule(model.train(), profile.train, n_classes)
    training.make_trainer(profile.train, max_epochs=steps).fit(
        module, train_dataloaders=training.batch_loader(dict(batch), len(batch["y"])))
    with torch.no_grad():
        after = model.cpu().eval()(batch["x"], batch["mask"])
    keys = (after.attention_keys >= 0).sum(dim=1).double()
    summary = {"loss, first step": module.history[0]["train_loss"],
               "loss, last step": module.history[-1]["train_loss"],
               "entropy untrained": float(attention_entropy(before.attention)),
               "entropy trained": float(attention_entropy(after.attention)),
               "entropy of uniform weights": float(keys.log().mean())}
    return (interpret.mean_attention(before), interpret.mean_attention(after)), summary


# the two transformers the chapter draws and trains, by the title it gives them
TRANSFORMERS = {"modality tokens": "mmt_modality", "locus tokens": "mmt_locus"}
# the training demo: this many samples of the example batch, this many optimiser steps, enough
# for the attention to move away from its initial pattern in a few seconds
DEMO_SAMPLES, DEMO_STEPS = 16, 32


def transformers_and_stages(specs: Sequence[ModalitySpec], n_classes: int,
                            model_cfg: ModelConfig, seed: int, batch: Mapping[str, Any],
                            max_depth: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two transformers of :data:`TRANSFORMERS`, built with ``seed``, and the output
    shape of each of their stages on ``batch``
    (:func:`cancer_alpha.models.complexity.stage_shapes`), both keyed by title."""
    from .models import complexity

    models = {title: build_seeded(name, specs, n_classes, model_cfg, seed)
              for title, name in TRANSFORMERS.items()}
    return models, {title: complexity.stage_shapes(m, batch, max_depth=max_depth)
                    for title, m in models.items()}


def training_demo(specs: Sequence[ModalitySpec], n_classes: int, profile: Profile,
                  batch: Mapping[str, Any], seed: int, samples: int = DEMO_SAMPLES,
                  steps: int = DEMO_STEPS) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`one_batch_training` of both transformers of :data:`TRANSFORMERS` on the first
    ``samples`` of ``batch``: (attention before and after, summary), keyed by title."""
    import warnings

    demo = first_samples(batch, samples)
    attention, summary = {}, {}
    with warnings.catch_warnings():
        # one batch and no validation set: Lightning says so, and there is nothing to validate
        warnings.filterwarnings("ignore", message=r".*no `val_dataloader`.*")
        for title, name in TRANSFORMERS.items():
            attention[title], summary[title] = one_batch_training(
                name, specs, n_classes, profile, demo, steps, seed)
    return attention, summary


def attention_panels(before_after: tuple[Sequence[Any], Sequence[Any]]) -> dict[str, Any]:
    """The mean attention of every layer before and after training as the heatmaps' panels,
    layer by layer: 'layer 1, untrained', 'layer 1, trained', 'layer 2, untrained', ..."""
    before, after = before_after
    if len(before) != len(after):
        raise ValueError(f"{len(before)} layers before training but {len(after)} after")
    return {f"layer {i + 1}, {state}": w[i] for i in range(len(before))
            for state, w in (("untrained", before), ("trained", after))}


# the settings of the model the chapter states in its prose
GLUED_SETTINGS = ("d_model", "n_heads", "n_layers", "ff_mult", "conv_channels", "n_bins",
                  "n_latents", "tab_token_dim", "cna_stride", "fragment_pool", "tab_dim_head")


def example_batch(profile: Profile) -> tuple[Any, Any, int, dict[str, Any]]:
    """Chapter 1's training cohort at ``profile``, the standardiser fitted on it, and its first
    samples (a training batch, or the whole cohort if smaller) as tensors: (cohort, scaler,
    batch size, batch)."""
    from . import data, synth

    train_cohort, _ = synth.standard_cohorts(profile)
    scaler = data.Standardizer().fit(train_cohort.data)
    batch_size = min(profile.train.batch_size, train_cohort.data.n_samples)
    batch = data.to_tensors(train_cohort.data.subset(range(batch_size)), scaler)
    return train_cohort, scaler, batch_size, batch


def settings_glue(profile: Profile, batch_size: int) -> dict[str, Any]:
    """The model and loss settings the chapter states, with the batch it measures on."""
    glue = {key: getattr(profile.model, key) for key in GLUED_SETTINGS}
    glue["batch_size"] = batch_size
    glue["perceiver_width"] = profile.model.d_model // profile.model.perceiver_width_divisor
    glue["focal_gamma"] = profile.train.focal_gamma
    glue["attention_lambda"] = profile.train.attention_lambda
    return glue


def costs_with_preset(names: Iterable[str], specs: Sequence[ModalitySpec], n_classes: int,
                      model_cfg: ModelConfig, batch: Mapping[str, Any], seed: int,
                      preset_models: Iterable[str] = ("mmt_modality", "mmt_locus"),
                      n_count: int = 4) -> tuple[dict, ModelConfig, dict]:
    """:func:`model_costs` of ``names`` at ``model_cfg`` and of ``preset_models`` at the
    Cancer Alpha preset, counted on the first ``n_count`` samples of ``batch``: (costs, the
    preset's model settings, the preset's costs)."""
    import dataclasses

    from .config import PRESETS

    count_batch = first_samples({"x": batch["x"], "mask": batch["mask"]}, n_count)
    costs = model_costs(names, specs, n_classes, model_cfg, count_batch, seed)
    preset = dataclasses.replace(model_cfg, **PRESETS["cancer_alpha"])
    preset_costs = model_costs(tuple(preset_models), specs, n_classes, preset, count_batch,
                               seed)
    return costs, preset, preset_costs


def cost_table(costs: Mapping[str, Mapping[str, float]],
               preset_costs: Mapping[str, Mapping[str, float]]):
    """Every model's costs, the preset's under their own names: (the chart's data, the table
    with integer parameters and MFLOPs per sample)."""
    import pandas as pd

    chart = {**costs, **{f"{n} (Cancer Alpha preset)": c for n, c in preset_costs.items()}}
    table = pd.DataFrame(chart).T.astype({"parameters": int})
    table["MFLOPs per sample"] = table.pop("flops_per_sample") / 1e6
    return chart, table


LOCUS_TRAINING_GLUE = {"locus_loss_first": "loss, first step",
                       "locus_loss_last": "loss, last step",
                       "locus_entropy_before": "entropy untrained",
                       "locus_entropy_after": "entropy trained",
                       "locus_entropy_uniform": "entropy of uniform weights"}


def locus_training_glue(summary: Mapping[str, float]) -> dict[str, float]:
    """The locus-token transformer's one-batch training as the chapter states it, rounded to
    4 decimals (float sums may differ in the last bits by thread count)."""
    return {key: round(summary[column], 4) for key, column in LOCUS_TRAINING_GLUE.items()}


def record(*, costs: Mapping[str, Any], preset_costs: Mapping[str, Any],
           parts: Mapping[str, int], stages: Mapping[str, Sequence[tuple[str, str, Any]]],
           width: int, kinds: Mapping[str, int], gap: float, demo_samples: int,
           demo_steps: int, summary: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Chapter 2's run record, key by key, in the order it is written: the costs, the
    transformer's parameters by part, the shape of every stage, C01's evidence and the
    one-batch training."""
    return {
        "models": costs,
        "models_cancer_alpha_preset": preset_costs,
        "parameters_by_part_mmt_modality": parts,
        "stage_shapes": {t: [[n, k, list(sh)] for n, k, sh in s] for t, s in stages.items()},
        "methylation_encoder": {"output_width": width, "layers": kinds, "residual_gap": gap},
        "one_batch_training": {"samples": demo_samples, "steps": demo_steps,
                               **{t: v for t, v in summary.items()}},
    }


def shape_text(shape: tuple, batch_size: int) -> str:
    """(32, 110, 128) -> '(B, 110, 128)'; a module returning several tensors shows the first."""
    if shape and isinstance(shape[0], tuple):
        shape = shape[0]
    dims = ["B" if i == 0 and d == batch_size else str(d) for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ")"


def stage_table(stages: Sequence[tuple[str, str, tuple]], batch_size: int) -> Any:
    """The records of ``complexity.stage_shapes`` as a table, the batch dimension written B."""
    import pandas as pd

    return pd.DataFrame([{"stage": n, "module": k, "output shape": shape_text(s, batch_size)}
                         for n, k, s in stages]).set_index("stage")


def stage_tables(stages: Mapping[str, Sequence[tuple[str, str, tuple]]], batch_size: int
                 ) -> Any:
    """Output shapes of several models' stages side by side, a column per model, rows in the
    order of the forward passes ("" where a model has no such stage)."""
    order: list[str] = []
    for records in stages.values():
        at = 0  # a stage missing so far goes after the last stage of its model already listed
        for name, _, _ in records:
            if name in order:
                at = order.index(name) + 1
            else:
                order.insert(at, name)
                at += 1
    import pandas as pd

    columns = {title: stage_table(r, batch_size)["output shape"] for title, r in stages.items()}
    return pd.DataFrame(columns).reindex(order).fillna("")
