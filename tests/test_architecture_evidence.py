"""The setting Chapter 2 measures on, computed by cancer_alpha.architecture: the first batch of
Chapter 1's training cohort and the settings the chapter states."""

from cancer_alpha import architecture


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
