"""The setting Chapter 2 measures on, computed by cancer_alpha.architecture: the first batch of
Chapter 1's training cohort and the settings the chapter states."""

from cancer_alpha import architecture
from tests.tiny_models import MODEL_B as B
from tests.tiny_models import MODEL_K as K


def test_the_example_batch_is_the_first_samples_of_the_training_cohort(smoke):
    cohort, scaler, batch_size, batch = architecture.example_batch(smoke)
    assert batch_size == min(smoke.train.batch_size, cohort.data.n_samples)
    assert len(batch["y"]) == batch_size
    assert tuple(batch["mask"].shape) == (batch_size, len(cohort.data.specs))
    for spec in cohort.data.specs:
        assert batch["x"][spec.name].shape[0] == batch_size
    assert batch["y"].tolist() == cohort.data.y[:batch_size].tolist()


def test_the_settings_glue_states_the_model_the_loss_and_the_batch(smoke):
    glue = architecture.settings_glue(smoke, 7)
    assert list(glue)[:len(architecture.GLUED_SETTINGS)] == list(architecture.GLUED_SETTINGS)
    assert glue["d_model"] == smoke.model.d_model and glue["batch_size"] == 7
    assert glue["perceiver_width"] == smoke.model.d_model // smoke.model.perceiver_width_divisor
    assert glue["focal_gamma"] == smoke.train.focal_gamma
    assert glue["attention_lambda"] == smoke.train.attention_lambda


def test_the_cost_table_names_the_preset_and_counts_mflops():
    costs = {"a": {"parameters": 10.0, "flops_per_sample": 2e6}}
    preset = {"a": {"parameters": 20.0, "flops_per_sample": 5e6}}
    chart, table = architecture.cost_table(costs, preset)
    assert list(chart) == ["a", "a (Cancer Alpha preset)"]
    assert table["MFLOPs per sample"].tolist() == [2.0, 5.0]
    assert table["parameters"].tolist() == [10, 20] and table["parameters"].dtype.kind == "i"
    assert "flops_per_sample" not in table


def test_costs_with_the_preset_count_the_preset_models_at_its_settings(smoke):
    from cancer_alpha import config

    cohort, _, _, batch = architecture.example_batch(smoke)
    specs, n_classes = cohort.data.specs, cohort.data.n_classes
    costs, preset, preset_costs = architecture.costs_with_preset(
        ["early_fusion_mlp"], specs, n_classes, smoke.model, batch, 0,
        preset_models=("mmt_modality",))
    assert list(costs) == ["early_fusion_mlp"] and list(preset_costs) == ["mmt_modality"]
    for key, value in config.PRESETS["cancer_alpha"].items():
        assert getattr(preset, key) == value
    assert preset_costs["mmt_modality"]["parameters"] > 0


def test_the_locus_training_glue_is_rounded_to_four_decimals():
    summary = dict(zip(architecture.LOCUS_TRAINING_GLUE.values(),
                       (1.234567, 0.5, 0.69314718, 0.1, 0.6931), strict=True))
    glue = architecture.locus_training_glue(summary)
    assert list(glue) == list(architecture.LOCUS_TRAINING_GLUE)
    assert glue["locus_loss_first"] == 1.2346 and glue["locus_entropy_before"] == 0.6931


def test_the_run_record_keeps_its_keys_in_order_and_lists_the_shapes():
    rec = architecture.record(
        costs={"a": {"parameters": 1}}, preset_costs={}, parts={"head": 3},
        stages={"modality tokens": [("encoder", "Linear", (4, 8))]}, width=8,
        kinds={"Linear": 2}, gap=0.0, demo_samples=16, demo_steps=32,
        summary={"modality tokens": {"loss, first step": 1.0}})
    assert list(rec) == ["models", "models_cancer_alpha_preset",
                         "parameters_by_part_mmt_modality", "stage_shapes",
                         "methylation_encoder", "one_batch_training"]
    assert rec["stage_shapes"] == {"modality tokens": [["encoder", "Linear", [4, 8]]]}
    assert rec["methylation_encoder"] == {"output_width": 8, "layers": {"Linear": 2},
                                          "residual_gap": 0.0}
    assert rec["one_batch_training"] == {"samples": 16, "steps": 32,
                                         "modality tokens": {"loss, first step": 1.0}}


def test_stage_table_writes_the_batch_dimension_as_b():
    stages = [("enc", "Linear", (B, 110, 16)), ("gru", "GRU", ((B, 28, 64), (2, B, 32))),
              ("head", "Linear", (B, K))]
    table = architecture.stage_table(stages, B)
    assert table["output shape"].tolist() == ["(B, 110, 16)", "(B, 28, 64)", f"(B, {K})"]
    assert table.loc["gru", "module"] == "GRU"


def test_stage_tables_keep_the_forward_order_and_leave_missing_stages_blank():
    stages = {"a": [("enc.proj", "Linear", (B, 16)), ("enc", "E", (B, 16)),
                    ("head", "H", (B, K))],
              "b": [("enc", "E", (B, 9, 16)), ("enc.down", "P", (B, 3, 16)),
                    ("head", "H", (B, K))]}
    table = architecture.stage_tables(stages, B)
    assert table.index.tolist() == ["enc.proj", "enc", "enc.down", "head"]
    assert table.loc["enc.proj", "b"] == "" and table.loc["enc.down", "a"] == ""
    assert table.loc["enc", "b"] == "(B, 9, 16)"
