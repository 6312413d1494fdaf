# %% [markdown]
# # A fair comparison? The same data, the tuning budget, and more data
#
# Chapter 4 ranks the models with one protocol, one tuning budget and one training cohort. Each
# of the three could favour some models over others, so each is checked here with the same
# folds, seeds and tuned settings as there:
#
# - **the same data for every model**: a neural model stops early on samples it does not learn
#   from, and the rule that gives it every training sample back is measured beside the former
#   one and beside bagging;
# - **the tuning budget**: the studies of three models continued from {glue:text}`n_trials` to
#   {glue:text}`sensitivity_trials` trials, and their settings scored on the held-out cohort;
# - **more data**: held-out accuracy against the number of training samples, to ask whether the
#   multi-modal transformer is short of data or of something else.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - {glue:text}`rules_words`
# - {glue:text}`budget_words`
# - Training-size curve: {glue:text}`curve_summary`
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
from IPython.display import Markdown

from cancer_alpha import comparison, plots, protocol, results
from cancer_alpha.models import TRANSFORMER
from cancer_alpha.tables import readable

run = results.start_run("05_fair_comparison", profile, overrides, results_dir)
profile = run.profile
setting = comparison.setting(profile, results_dir)
ceiling = setting.ceiling
run.glue_all(setting.glue())

# %% [markdown]
# ## The same data for every model
#
# A neural model needs samples it does not learn from to decide when to stop. Kept out for
# good, as in the former protocol of this book, they leave it {glue:text}`n_fit_holdout`
# samples of each {glue:text}`n_fit_fold`-sample training fold, while every scikit-learn model
# learns from all of them. Two ways give the neural models every sample: *refit* (the rule of
# this book: stop early on a fifth, then learn from all samples for the epochs chosen, under
# the same learning-rate schedule) and *bagging* ({glue:text}`bag_k` models, each early-stopped
# on its own fold and learning from the others, probabilities averaged). Both were measured on
# the whole training cohort before choosing, for the two cheapest neural models of the
# comparison with their tuned settings, {glue:text}`rule_seeds_words` each:

# %% tags=["hide-input"]
rule_rows, rules_table, rule_gain, rules_glue = comparison.full_data_rules(setting)
run.glue_all(rules_glue)
readable(rules_table.drop(columns="fit_seconds_mean"), 3)

# %% [markdown]
# Seconds per fit on this machine (they change from run to run, and so does the cost quoted
# below; validation skips this cell):

# %% tags=["nbval-ignore-output", "hide-input"]
run.glue("rules_words", protocol.rules_words(rule_gain))
readable(rules_table[["fit_seconds_mean"]], 2)

# %% [markdown]
# {glue:text}`rules_words`
#
# The book refits: a single model is compared with single models, on the same samples, at a
# fraction of bagging's cost. Averaging several models is what the soft-voting ensemble does
# for the classical models; a bagged neural model belongs beside that ensemble, not beside
# single models, and the table above shows what it would add.

# %% [markdown]
# ## Is the tuning budget enough?
#
# Chapter 3 continued the studies of three models to {glue:text}`sensitivity_trials` trials.
# Here each is trained with the settings of the longer study on the same folds and seeds, and
# scored on the held-out cohort beside the settings every model got
# ({glue:text}`n_trials` trials):

# %% tags=["hide-input"]
tuned_table = comparison.recorded_table(profile.name, results_dir)  # Chapter 4's, read back
budget = comparison.budget_sensitivity(setting, tuned_table, results_dir)
run.glue_all(comparison.budget_glue(profile, budget))
readable(budget, 3)

# %% [markdown]
# {glue:text}`budget_words`

# %% [markdown]
# ## Data-limited or model-limited?
#
# If the transformer stays below the others, is it short of data or of something else? Test
# accuracy against the number of training samples tells: a data-limited model keeps climbing
# towards the ceiling as samples are added, and a model that needs more data than the others
# overtakes them somewhere along the way. The curve follows {glue:text}`curve_model_words`,
# each with its tuned settings and the book's protocol (early stopping on a fifth, then a
# refit on all samples), from {glue:text}`curve_small` to {glue:text}`curve_large` training
# samples drawn from the generator, at the model size of this profile. Every size up to
# {glue:text}`curve_all_seeds_up_to` samples is drawn {glue:text}`curve_seeds` times (seeds),
# larger ones once, as the table's `seeds` column says. {glue:text}`curve_cap_words`
# {glue:text}`curve_epoch_words`

# %% tags=["hide-input"]
curve = comparison.size_curve(setting)
fig = run.figure(plots.accuracy_vs_training_size(curve, ceiling), "training_size",
                 caption=("Held-out accuracy against the number of training samples for the "
                          "tuned models, beside the Bayes ceiling."))
reading = protocol.read_curve(curve, ceiling, TRANSFORMER)
run.glue_all(comparison.profile_curve_glue(curve, profile))
run.glue("curve_words", Markdown(reading.words))
run.glue("curve_summary", comparison.curve_summary(reading))
readable(comparison.curve_table(curve, ceiling), 3)

# %% [markdown]
# ```{glue:md} curve_words
# :format: myst
# ```
#
# Fit times along the curve (seconds on this machine, one fit; they change from run to run):

# %% tags=["nbval-ignore-output", "hide-input"]
readable(curve.pivot_table(index="n_train", columns="model", values="fit_seconds"), 1)

# %% [markdown]
# ## Run record

# %% tags=["nbval-ignore-output", "hide-input"]
record = comparison.checks_record(rules=rule_rows, gains=rule_gain, budget=budget, curve=curve,
                                  reading=reading)
run.metric_all(record)
record_path = run.save()
