# %% [markdown]
# # Real multi-omics data
#
# The MMT paper leaves validation on real data to future work {cite}`mmt2025`; the Cancer
# Alpha paper says its system integrates TCGA and other public databases
# {cite}`stillwell2025`. This chapter runs every model of Chapter 4 on two public multi-omics
# data sets with fixed train/test splits, beside simple baselines trained on the same split
# with the same seeds, twice: with the published recipe, and with settings tuned on each data
# set's training split alone by the tuner of Chapter 3 (inner folds of the training split;
# the test split is never seen):
#
# - **TCGA breast cancer** (PAM50 subtypes Basal, Her2 and LumA; mRNA, miRNA and protein) as
#   distributed with mixOmics {cite}`rohart2017mixomics`. Its test set has **no protein data at
#   all**, so every test prediction goes through the models' missing-modality path.
# - **ROSMAP** (Alzheimer's disease against normal controls; mRNA, DNA methylation and miRNA) in
#   the split of MOGONET {cite}`wang2021mogonet`, whose published table we compare with.
#
# Both data sets are downloaded (checksummed) into a data home on first use. There is no
# generator here, so no Bayes ceiling: the reference is the strongest simple baseline on the
# same split.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - TCGA breast cancer subtypes: with tuned settings the best model is {glue:text}`breast_best`
#   ({glue:text}`breast_best_acc:.3f` test accuracy; {glue:text}`breast_best_pub`,
#   {glue:text}`breast_best_acc_pub:.3f`, with the published recipe); tuned logistic regression
#   scores {glue:text}`breast_lr_acc:.3f`.
# - ROSMAP: the best tuned model is {glue:text}`rosmap_best` ({glue:text}`rosmap_best_acc:.3f`);
#   the transformer with modality tokens scores {glue:text}`rosmap_mmt_acc:.3f`. The best model
#   {glue:text}`rosmap_aim` the book's aim of {glue:text}`rosmap_aim_value:.2f`.
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd

from cancer_alpha import datasets, plots, real_data, results, synth
from cancer_alpha import tuning as tuner
from cancer_alpha.tables import readable

run = results.start_run("08_real_data", profile, overrides, results_dir)
profile = run.profile
seeds = list(profile.evaluation.seeds)
models, left_out = real_data.models_and_left_out(profile.evaluation.models,
                                                 profile.evaluation.real_data_models)
sets = {"breast_tcga": datasets.load_breast_tcga(), "rosmap": datasets.load_rosmap()}
synthetic_specs = synth.World.from_config(profile.cohort).specs()
run.glue_all(real_data.setting_glue(seeds, left_out, sets, synthetic_specs))
pd.DataFrame(real_data.describe(sets))

# %% [markdown]
# Each model is trained on the training split with each of {glue:text}`seeds_words`
# (a neural model holds out a stratified fifth of it to choose its number of epochs by early
# stopping, then learns from the whole training split for that many) and scored on the test
# split. Scaling and any other preprocessing are fitted on the training split only.
#
# Models of Chapter 4 left out at this profile: {glue:text}`left_out`. The transformer with
# locus tokens makes one token per feature, {glue:text}`breast_features` (breast) and
# {glue:text}`rosmap_features` (ROSMAP) here against Chapter 4's {glue:text}`synth_features`,
# and its attention grows with the square of that number; in Chapter 4 it is already the
# slowest model to train by far. The profile file says which models a profile leaves out; the
# `large` profile, meant for a GPU, keeps them all.

# %% [markdown]
# ## Tuning on each training split
#
# Every model gets {glue:text}`real_trials` trials on each data set, scored by the mean
# validation log-loss over {glue:text}`inner_folds` stratified inner folds of that data set's
# training split, as in Chapter 3.

# %% tags=["remove-output", "hide-input"]
budget = tuner.real_data_budget(profile)
run.glue_all({"real_trials": budget.tuning.n_trials, "inner_folds": budget.tuning.inner_folds})
studies, tuned = real_data.tune_all(sets, profile, models, results_dir)

# %% tags=["hide-input"]
real_data.tuning_table(studies)

# %% [markdown]
# Wall time of each study (seconds; changes from run to run, validation does not compare it):

# %% tags=["nbval-ignore-output", "hide-input"]
real_data.tuning_seconds(studies)

# %% tags=["hide-input"]
tables = real_data.fixed_split_tables(sets, profile, models, seeds, tuned)
found = real_data.readings(tables)
run.glue_all(found)

# %% [markdown]
# ## TCGA breast cancer subtypes, with the protein modality missing at test time

# %% tags=["hide-input"]
readable(real_data.scores_by_recipe(tables, "breast_tcga"), 3)

# %% [markdown]
# Seconds per fit on this machine (mean over seeds) change from run to run; validation skips
# comparing this cell.

# %% tags=["nbval-ignore-output", "hide-input"]
readable(real_data.fit_seconds(tables), 2)

# %% tags=["hide-input"]
run.glue("breast_n_train", sets["breast_tcga"][0].n_samples)
fig = run.figure(plots.accuracy_vs_reference(tables["breast_tcga", real_data.TUNED],
                                             "logistic_regression",
                                             baseline=tables["breast_tcga", real_data.PUBLISHED]),
                 "breast_tcga",
                 caption=("Test accuracy on the TCGA breast cancer subtypes with tuned settings "
                          "and with the published recipe, beside logistic regression (dashed)."))

# %% [markdown]
# With tuned settings the best model on the breast-cancer test set is {glue:text}`breast_best`
# with a mean accuracy of {glue:text}`breast_best_acc:.3f` ({glue:text}`breast_best_pub` with
# {glue:text}`breast_best_acc_pub:.3f` with the published recipe); tuned logistic regression,
# the dashed line, reaches {glue:text}`breast_lr_acc:.3f`, on {glue:text}`breast_n_train`
# training samples.

# %% [markdown]
# ## ROSMAP, against the published table

# %% tags=["hide-input"]
rosmap = tables["rosmap", real_data.TUNED]
rosmap_pub = tables["rosmap", real_data.PUBLISHED]
readable(real_data.rosmap_table(tables, datasets.ROSMAP_PUBLISHED), 3)

# %% tags=["hide-input"]
fig = run.figure(plots.accuracy_vs_reference(rosmap, "logistic_regression",
                                             published=datasets.ROSMAP_PUBLISHED,
                                             baseline=rosmap_pub), "rosmap",
                 caption=("Test accuracy on ROSMAP with tuned settings and with the published "
                          "recipe, beside logistic regression (dashed) and published results."))

# %% [markdown]
# On ROSMAP, with tuned settings, logistic regression reaches {glue:text}`rosmap_lr_acc:.3f`
# and a random forest {glue:text}`rosmap_rf_acc:.3f` on the split where the MOGONET paper
# reports {glue:text}`published_rf_acc:.3f` for its random forest baseline; the multi-modal
# transformer with modality tokens reaches {glue:text}`rosmap_mmt_acc:.3f`
# ({glue:text}`rosmap_mmt_acc_pub:.3f` with the published recipe), and the best model here is
# {glue:text}`rosmap_best` ({glue:text}`rosmap_best_acc:.3f`; with the published recipe
# {glue:text}`rosmap_best_pub`, {glue:text}`rosmap_best_acc_pub:.3f`). The book's aim of an
# accuracy of {glue:text}`rosmap_aim_value:.2f` for some model, above MOGONET's published
# {glue:text}`mogonet_acc:.3f`, the best model {glue:text}`rosmap_aim`. A published baseline
# row is only as good as the effort spent on the baseline: here every model, simple or not, is
# trained on the same split with the same seeds and tuned with the same budget.

# %% [markdown]
# ## Run record

# %% tags=["hide-input"]
run.metric_all(real_data.record(tables, studies))
record_path = run.save()
