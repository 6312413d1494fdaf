"""Settings: defaults are the paper scale, profiles override them, bad values are named."""

import pytest

from cancer_alpha import config


def test_defaults_are_the_paper_scale():
    p = config.Profile()
    assert p.cohort.n_samples == 1000
    assert p.cohort.n_loci == 110 and p.cohort.n_fragment_bins == 110
    assert p.train.max_epochs == 50 and p.train.patience == 10
    assert len(p.evaluation.seeds) == 5 and p.evaluation.n_folds == 5
    assert p.model.d_model == 128


@pytest.mark.parametrize("name", ["smoke", "paper", "large"])
def test_every_shipped_profile_loads(name):
    p = config.load_profile(name)
    assert p.name == name


def test_paper_profile_is_the_defaults_but_for_its_compute_budget():
    # the package defaults are the papers' scale; the paper profile only says how a 2-core CPU
    # spends its time (parallel fits, capped runs of slow models, Chapter 8's models, the epoch
    # of the training-size curve's large sizes, the inner folds of a study)
    p = config.load_profile("paper").to_dict()
    d = config.Profile(name="paper").to_dict()
    budget = {"evaluation": {"n_jobs", "max_runs", "real_data_models"},
              "train": {"epoch_samples"}, "tuning": {"inner_folds"}}
    for section, keys in budget.items():
        assert {k for k in p[section] if p[section][k] != d[section][k]} == keys
        for key in keys:
            p[section].pop(key), d[section].pop(key)
    assert p == d
    paper = config.load_profile("paper")
    assert paper.evaluation.max_runs["mmt_locus"] >= 1
    assert "logistic_regression" not in paper.evaluation.max_runs  # 5 folds x 5 seeds
    # the cap leaves the book's cohort whole: only the training-size curve goes above it
    assert paper.train.epoch_samples > paper.cohort.n_samples


def test_unknown_profile_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown profile 'tiny'.*smoke"):
        config.load_profile("tiny")


def test_unknown_section_and_setting_are_named():
    with pytest.raises(ValueError, match="unknown profile section 'cohrt'"):
        config.profile_from_dict({"cohrt": {}})
    with pytest.raises(ValueError, match=r"unknown setting cohort\.n_sample\b"):
        config.profile_from_dict({"cohort": {"n_sample": 3}})


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("cohort", {"n_samples": 0}, r"cohort\.n_samples = 0 is invalid: expected a positive"),
        ("cohort", {"n_loci": -3}, r"cohort\.n_loci = -3"),
        ("cohort", {"missing_rate": 1.5}, r"cohort\.missing_rate = 1\.5"),
        ("cohort", {"class_names": ["a"], "class_priors": [1.0]}, r"at least 2 classes"),
        ("cohort", {"modalities": ["rna"]}, r"cohort\.modalities = \('rna',\)"),
        ("model", {"d_model": 30, "n_heads": 4}, r"model\.d_model = 30 .*multiple of n_heads"),
        ("model", {"token_mode": "gene"}, r"model\.token_mode = 'gene'"),
        ("train", {"lr": 0}, r"train\.lr = 0 is invalid"),
        ("train", {"precision": "8-bit"}, r"train\.precision = '8-bit'"),
        ("evaluation", {"n_folds": 1}, r"evaluation\.n_folds = 1"),
    ],
)
def test_bad_settings_raise_one_clear_error(section, values, message):
    with pytest.raises(ValueError, match=message):
        config.profile_from_dict({section: values})


@pytest.mark.parametrize("overrides", [{"train": {"max_epochs": 7}}, {"train.max_epochs": 7}])
def test_injected_overrides_change_the_named_profile(overrides):
    p = config.from_parameters("smoke", overrides)
    smoke = config.load_profile("smoke")
    assert p.train.max_epochs == 7
    assert p.cohort == smoke.cohort  # the rest of the smoke profile is kept


def test_dotted_and_nested_overrides_combine():
    p = config.from_parameters("smoke", {"train": {"max_epochs": 7}, "train.patience": 2,
                                         "evaluation": {}})
    assert (p.train.max_epochs, p.train.patience) == (7, 2)
    assert p.evaluation == config.load_profile("smoke").evaluation


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"trian.max_epochs": 1}, "unknown profile section 'trian'"),
     ({"train.max_epochs.x": 1}, "expected 'section.setting'"),
     ({"train": 5}, "profile section 'train' must be a mapping"),
     ({"train.max_epoch": 1}, "unknown setting train.max_epoch"),
     (["train"], "overrides must be a mapping")],
)
def test_bad_overrides_raise_one_clear_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        config.from_parameters("smoke", overrides)


def test_injected_profile_sections_are_idempotent():
    raw = config.read_profile_file(config.profile_path("smoke"))
    sections = {k: v for k, v in raw.items() if k != "profile"}
    assert config.from_parameters("smoke", sections) == config.load_profile("smoke")


def test_the_strongest_effect_size_is_the_largest_the_generator_allows():
    cohort = config.load_profile("smoke").cohort
    assert cohort.strongest_effect_size == 1.0 / cohort.max_tumour_fraction
    assert cohort.strongest_effect_size != config.load_profile("smoke").ablation.easy_effect_size
    config.Profile().replace(cohort={"effect_size": cohort.strongest_effect_size,
                                     "max_tumour_fraction": cohort.max_tumour_fraction})


def test_replace_validates():
    p = config.Profile()
    assert p.replace(cohort={"effect_size": 0.5}).cohort.effect_size == 0.5
    with pytest.raises(ValueError, match="effect_size"):
        p.replace(cohort={"effect_size": -1})


def test_every_setting_of_every_section_has_a_declared_constraint():
    import dataclasses

    for section, cls in config.SECTIONS.items():
        names = {f.name for f in dataclasses.fields(cls)}
        assert names == set(config.PARAMETER_CONSTRAINTS[section]), section


@pytest.mark.parametrize(
    ("constraint", "good", "bad", "text"),
    [
        (config.POSITIVE_INT, [1, 7], [0, -1, 1.5, True, "3"], "a positive integer"),
        (config.Interval(float, 0, 1, closed="left"), [0, 0.5], [1, -0.1, None],
         "a number in [0, 1)"),
        (config.Interval(float, 0, closed="neither"), [1e-9, 3], [0, -2], "a number > 0"),
        (config.Options(("a", "b")), ["a", "b"], ["c", None], "'a' or 'b'"),
        (config.FLAG, [True, False], [1, 0, "yes"], "True or False"),
        (config.ListOf(config.POSITIVE_INT, min_len=2), [[1, 2], (3, 4, 5)], [[1], [1, 0], 5],
         "a list of at least 2 values, each a positive integer"),
    ],
)
def test_constraints_accept_exactly_what_they_describe(constraint, good, bad, text):
    assert all(constraint.allows(v) for v in good)
    assert not any(constraint.allows(v) for v in bad)
    assert str(constraint) == text


def test_a_profile_can_be_named_or_given_as_a_yaml_path(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text("profile: mine\ntrain: {max_epochs: 3}\n")
    p = config.from_parameters(str(path), {"evaluation": {"n_folds": 3}})
    assert (p.name, p.train.max_epochs, p.evaluation.n_folds) == ("mine", 3, 3)
    assert config.from_parameters("smoke") == config.load_profile("smoke")
    with pytest.raises(ValueError, match="unknown profile section 'trian'"):
        config.from_parameters("smoke", {"trian": {"max_epochs": 1}})


def test_a_profile_that_is_not_utf8_text_names_its_file(tmp_path, capsys):
    from cancer_alpha import cli

    path = tmp_path / "binary.yml"
    path.write_bytes(b"profile: x\ntrain:\n  lr: 0.1\n\xb9\x00\xff")
    with pytest.raises(ValueError, match=r"binary\.yml: not UTF-8 text \(byte 0xb9 on line 4\)"
                                         r": expected a YAML file of settings"):
        config.load_profile(path)
    assert cli.main(["tune", "--profile", str(path), "--models", "logistic_regression"]) == 2
    assert f"profile {path}: not UTF-8 text" in capsys.readouterr().err
