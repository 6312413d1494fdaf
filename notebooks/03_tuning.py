# %% [markdown]
# # Every model at its best: tuning on an equal budget
#
# A negative verdict is only as strong as the effort given to the losing model. The papers
# train every neural model with one recipe (AdamW at a learning rate of 10⁻³, dropout 0.1,
# early stopping with patience 10 {cite}`mmt2025,stillwell2025`), and so does this book's
# published-recipe comparison. That recipe was never tuned for these data: it overfits the
# training cohort within a few epochs. So before the comparison of Chapter 4, every model gets
# the same, stated chance to find its best settings.
#
# **The protocol.** Each model has a search space (the table below). A study draws settings
# with a tree-structured Parzen estimator {cite}`bergstra2011tpe` from a fixed seed, trains the
# model on each of {glue:text}`inner_folds` stratified inner folds of the training cohort,
# and scores the settings by the **mean validation log-loss** over the folds. Log-loss rather
# than accuracy: it is a proper scoring rule, it rewards calibrated probabilities, and on
# validation folds of a few hundred samples it moves smoothly where accuracy moves in steps and
# ties. Every trial is trained as Chapter 4 trains: a neural model picks its number of epochs
# by early stopping on a fifth of the inner training fold, then learns from the whole inner
# training fold for that many epochs.
#
# **One pruner for every model.** Successive halving {cite}`akiba2019optuna` measures a trial's
# progress in epochs trained: a neural trial reports its validation log-loss after every
# epoch, and every trial reports its mean log-loss after every inner fold (a fold counts as
# the epochs a neural fit may run). At {glue:text}`prune_min_words`, then at
# {glue:text}`prune_factor` times as many, and so on, a trial goes on only if it is among the
# best {glue:text}`prune_share` of the trials of its study that reached that point; the others
# are stopped (pruned). Most trials of a poor region of the search space thus cost a few
# epochs, which makes room for more trials.
#
# **The budget is equal.** Every model gets {glue:text}`n_trials` trials. The voting ensemble
# has no search of its own (it combines its members' tuned settings). The transformer with
# locus tokens, whose fits cost several times a modality-token fit, has the same search space
# and {glue:text}`locus_trials` trials on {glue:text}`locus_inner_folds` inner folds, as the
# tables say.
#
# **The held-out cohort is never seen.** This chapter draws only the training cohort; the
# held-out cohort on which Chapter 4 scores every model does not exist here.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - Every model had {glue:text}`n_trials` trials on {glue:text}`inner_folds` inner folds of the
#   {glue:text}`n_train`-sample training cohort: {glue:text}`n_trials_total` trials in all, of
#   which {glue:text}`n_pruned` were stopped early.
# - Is that budget enough? The studies of three models went on to
#   {glue:text}`sensitivity_trials` trials: {glue:text}`budget_words`
# - The setting that mattered most for the transformer with modality tokens was
#   {glue:text}`mmt_top_setting`.
# - The studies took {glue:text}`tuning_minutes:.1f` minutes of computing on this machine, summed
#   over models. Their chosen settings are what Chapters 4 to 6 call *tuned*.
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["remove-output", "hide-input"]
from cancer_alpha import plots, results, synth
from cancer_alpha import tuning as tuner
from cancer_alpha.models import TRANSFORMER
from cancer_alpha.tables import readable

run = results.start_run("03_tuning", profile, overrides, results_dir,
                        seeds=lambda p: [p.tuning.seed])
profile = run.profile
world = synth.World.from_config(profile.cohort)
train_data = world.sample(profile.cohort.n_samples, seed=profile.evaluation.data_seed).data
models = tuner.tuned_models(profile)
run.glue_all(tuner.budget_glue(profile, train_data.n_samples, len(models)))

# %% [markdown]
# ## What is searched
#
# The neural models share the optimiser's settings (learning rate, weight decay, batch size,
# warm-up, the focal loss's γ, where 0 is plain cross-entropy, modality dropout and dropout);
# each adds the settings of its own architecture. The classical models search what matters
# most for each.

# %% tags=["hide-input"]
tuner.search_space_table().set_index(["model", "setting"])

# %% [markdown]
# ## The studies
#
# {glue:text}`n_models` studies on the {glue:text}`n_train`-sample training cohort.

# %% tags=["remove-output", "hide-input"]
studies = tuner.tune(train_data, profile, models)
tuning_path = tuner.save(studies, profile.name, "synthetic", results_dir)

# %% tags=["hide-input"]
run.glue_all(tuner.study_totals(studies))
readable(tuner.study_table(studies))

# %% [markdown]
# Wall time of each study on this machine (seconds; studies of different models ran in
# parallel worker processes, trials of one study one after another). Times change from run to
# run; validation does not compare this cell.

# %% tags=["nbval-ignore-output", "hide-input"]
seconds = tuner.study_seconds(studies)
run.glue("tuning_minutes", sum(seconds) / 60)
readable(seconds, 1)

# %% [markdown]
# ## How the searches went
#
# Every model's trials on one axis, since every study minimises the same quantity: each
# point is a trial's mean validation log-loss, the line the best found so far.

# %% tags=["hide-input"]
loaded = tuner.load_studies(studies, profile.name, "synthetic", results_dir)
fig = run.figure(plots.optimisation_history(list(loaded.values())), "optimisation_history",
                 caption=("Optimisation history of every model's study: the mean inner-fold "
                          "validation log-loss of each trial (lower is better) and the best so "
                          "far."))

# %% [markdown]
# Which settings mattered? The share of the variance of each study's objective that each
# setting explains (fANOVA, on the completed trials of the study):

# %% tags=["hide-input"]
importance = tuner.importances_by_model(loaded, profile.tuning.seed)
run.glue("mmt_top_setting", tuner.top_setting(importance.get(TRANSFORMER)))
fig = run.figure(plots.importance_map(importance), "importance_map",
                 caption=("How much of each study's objective each setting explains (fANOVA "
                          "importance), one column per model; blank where a model has no such "
                          "setting."))

# %% tags=["hide-input"]
fig = run.figure(plots.parameter_importances(loaded[TRANSFORMER], seed=profile.tuning.seed),
                 "importances_mmt_modality",
                 caption=("fANOVA importance of each setting in the study of the modality-token "
                          "transformer."))

# %% [markdown]
# ## Is the budget enough?
#
# A model declared worse after {glue:text}`n_trials` trials might win after more. The studies
# of the MMT paper's transformer, of the best other neural model and of the best classical
# model (by their studies' best log-loss) are continued to {glue:text}`sensitivity_trials`
# trials, with the same pruner. Trials run one after another from a fixed seed, so the first
# {glue:text}`n_trials` trials of each continued study are exactly its study above: the
# settings a budget of {glue:text}`n_trials` chose are still the ones every chapter uses, and
# Chapter 5 scores both choices on the held-out cohort. The table gives each study's best mean
# inner-fold log-loss after each budget, the trial that found the best, and how many of the
# continued study's trials were pruned.

# %% tags=["remove-output", "hide-input"]
roles = tuner.sensitivity_models(studies)
extended = tuner.extend_all(studies, train_data, profile, list(roles.values()),
                            profile.tuning.sensitivity_trials)
tuner.save(extended, profile.name, "synthetic_extended", results_dir)

# %% tags=["hide-input"]
budget, budget_words = tuner.budget_comparison(studies, extended, roles,
                                               profile.tuning.n_trials,
                                               profile.tuning.sensitivity_trials)
run.glue("budget_words", budget_words)
readable(budget, 4)

# %% tags=["hide-input"]
fig = run.figure(plots.budget_curves({m: tuner.best_so_far(r) for m, r in extended.items()},
                                     profile.tuning.n_trials), "budget_curves",
                 caption=("Best mean inner-fold log-loss found so far against the number of "
                          "trials, for the three continued studies; the dashed line is the "
                          "budget every model gets."))

# %% [markdown]
# In short: {glue:text}`budget_words`

# %% [markdown]
# ## The settings chosen, beside the published recipe

# %% tags=["hide-input"]
chosen, neural = tuner.chosen_settings(profile, studies, models)
readable(chosen, significant=3)

# %% tags=["hide-input"]
readable(tuner.classical_settings(studies, models, neural), significant=3)

# %% [markdown]
# ## Run record

# %% tags=["nbval-ignore-output", "hide-input"]
run.metric_all(tuner.record(studies, extended, roles, profile.tuning.sensitivity_trials,
                            importance))
record_path = run.save()
