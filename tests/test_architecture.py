"""The architecture chapter's evidence (architecture): seeded builds, the methylation
evidence, cost ratios and a few training steps on one batch."""

from __future__ import annotations

import dataclasses

import pytest

from cancer_alpha import architecture, data, synth


@pytest.fixture(scope="module")
def small_batch():
    from cancer_alpha import config

    profile = config.load_profile("smoke")
    cohort = synth.World.from_config(profile.cohort).sample(16, seed=0).data
    scaler = data.Standardizer().fit(cohort)
    return profile, cohort, data.to_tensors(cohort, scaler)


def test_a_seeded_build_gives_the_same_weights_whatever_was_built_before(small_batch):
    profile, cohort, _ = small_batch
    args = (cohort.specs, cohort.n_classes, profile.model, 3)
    first = architecture.build_seeded("mmt_modality", *args)
    architecture.build_seeded("perceiver_io", *args)
    again = architecture.build_seeded("mmt_modality", *args)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert (a == b).all()


def test_the_methylation_evidence_is_measured_on_the_encoder(small_batch):
    profile, cohort, batch = small_batch
    model = architecture.build_seeded("mmt_modality", cohort.specs, cohort.n_classes,
                                      profile.model, 0)
    width, kinds, gap = architecture.methylation_evidence(model.encoders["methylation"],
                                                          batch["x"]["methylation"])
    assert width == profile.model.d_model
    assert kinds["LayerNorm"] >= 1 and kinds["Linear"] >= 2
    assert gap < 1e-5  # the encoder's MLP is residual (C01's threshold)


def test_cost_ratios_divide_the_counted_costs(small_batch):
    profile, *_ = small_batch
    costs = {"mmt_modality": {"flops_per_sample": 2.0e6, "parameters": 5e4},
             "mmt_locus": {"flops_per_sample": 5.0e6, "parameters": 6e4}}
    preset = {"mmt_modality": {"parameters": 3e6}}
    wide = dataclasses.replace(profile.model, d_model=512)
    ratios = architecture.cost_ratios(90, costs, preset, wide, profile.model)
    assert ratios == {"n_tokens_locus": 90, "locus_ratio": 2.5,
                      "cancer_alpha_width_ratio": 512 / profile.model.d_model,
                      "cancer_alpha_param_ratio": 60.0}


def test_a_few_steps_on_one_batch_lower_its_loss_and_keep_entropy_below_uniform(small_batch):
    import warnings

    profile, cohort, batch = small_batch
    demo = architecture.first_samples(batch, 8)
    assert demo["y"].shape == (8,) and demo["mask"].shape[0] == 8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (before, after), summary = architecture.one_batch_training(
            "mmt_modality", cohort.specs, cohort.n_classes, profile, demo, steps=8, seed=0)
    assert summary["loss, last step"] < summary["loss, first step"]
    for key in ("entropy untrained", "entropy trained"):
        assert 0 < summary[key] <= summary["entropy of uniform weights"] + 1e-9
    assert len(before) == len(after) == profile.model.n_layers


def test_both_transformers_are_built_with_the_seed_and_their_stages_measured(small_batch):
    import torch

    profile, cohort, batch = small_batch
    models, stages = architecture.transformers_and_stages(cohort.specs, cohort.n_classes,
                                                          profile.model, 3, batch)
    assert list(models) == list(stages) == list(architecture.TRANSFORMERS)
    again = architecture.build_seeded("mmt_locus", cohort.specs, cohort.n_classes,
                                      profile.model, 3)
    for a, b in zip(models["locus tokens"].parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    for title, records in stages.items():
        assert records, title
        assert all(shape[0] == len(batch["y"]) for _, _, shape in records
                   if shape and not isinstance(shape[0], tuple))


def test_the_training_demo_trains_both_transformers_on_the_first_samples(small_batch):
    profile, cohort, batch = small_batch
    attention, summary = architecture.training_demo(cohort.specs, cohort.n_classes, profile,
                                                    batch, seed=0, samples=8, steps=4)
    assert list(attention) == list(summary) == list(architecture.TRANSFORMERS)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning: no validation set on one batch
        alone = architecture.one_batch_training("mmt_modality", cohort.specs, cohort.n_classes,
                                                profile, architecture.first_samples(batch, 8),
                                                4, 0)
    assert summary["modality tokens"] == alone[1]  # the same seed, samples and steps
    panels = architecture.attention_panels(attention["modality tokens"])
    n = profile.model.n_layers
    assert list(panels) == [f"layer {i}, {s}" for i in range(1, n + 1)
                            for s in ("untrained", "trained")]
    assert (panels["layer 1, trained"] == attention["modality tokens"][1][0]).all()


def test_attention_panels_refuse_layers_that_do_not_pair():
    with pytest.raises(ValueError, match="2 layers before training but 1 after"):
        architecture.attention_panels(([1, 2], [1]))
