# %% [markdown]
# # Training and the model comparison, beside the ceiling
#
# This is the papers' central result: does the multi-modal transformer classify better than
# simpler fusion and than classical models? The Cancer Alpha paper compares its models in a
# table and reports ensembles reaching 99% accuracy on synthetic data {cite}`stillwell2025`; the
# MMT paper reports convergence within 30 to 50 epochs, stable across initialisations, encoded
# features that cluster by class, and attention that is meaningful {cite}`mmt2025`. Here every
# model is trained with one recipe on the same folds and seeds, and every score sits beside the
# Bayes-optimal ceiling of Chapter 1.
#
# **Recipe** (the MMT paper's section 2.3 and the Cancer Alpha paper): AdamW
# {cite}`loshchilov2019adamw`, a cosine learning-rate schedule after a linear warm-up, gradient
# clipping, focal loss {cite}`lin2017focal` plus a small attention-entropy penalty, at most
# {glue:text}`max_epochs` epochs with early stopping on the validation loss (patience
# {glue:text}`patience`; the weights of the best epoch are kept).
#
# **Protocol**: stratified {glue:text}`n_folds`-fold cross-validation of the training cohort,
# repeated with several seeds (each seed draws its own folds and initialisations, shared by all
# models so that their differences are paired). Neural models hold out a stratified fifth of
# each training fold for early stopping; scaling is fitted on the training part only. Every
# trained model is also scored on the large held-out cohort of Chapter 1, where the Bayes
# ceiling was measured. Nothing is selected on test data.

# %% tags=["parameters"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional overrides of single settings, section by section: train = {"max_epochs": 5}
cohort = {}
model = {}
train = {}
evaluation = {}
profiling = {}
ablation = {}
results_dir = "results"

# %%
import numpy as np
import pandas as pd

from cancer_alpha import bayes, claims, config, evaluate, interpret, plots, protocol, results, synth
from cancer_alpha.training import fit_neural

cfg = config.from_parameters(profile, cohort=cohort, model=model, train=train,
                             evaluation=evaluation, profiling=profiling, ablation=ablation)
run = results.Run("03_training", cfg, results_dir)
world = synth.World.from_config(cfg.cohort)
train_cohort, test_cohort = synth.standard_cohorts(cfg)
train_data, test_data = train_cohort.data, test_cohort.data
ceiling = bayes.BayesClassifier(world).score(test_data)
ceiling_ci = evaluate.wilson_ci95(round(ceiling * test_data.n_samples), test_data.n_samples)
chance = float(np.bincount(test_data.y).max() / test_data.n_samples)
run.glue("ceiling", ceiling)
run.glue("n_train", train_data.n_samples)
run.glue("n_test", test_data.n_samples)
run.glue("n_seeds", len(cfg.evaluation.seeds))
run.glue("n_folds", cfg.evaluation.n_folds)
run.glue("max_epochs", cfg.train.max_epochs)
run.glue("patience", cfg.train.patience)

# %% [markdown]
# ## The comparison
#
# {glue:text}`n_folds` folds × {glue:text}`n_seeds` seeds of the {glue:text}`n_train`-sample
# training cohort; metrics on the {glue:text}`n_test`-sample held-out cohort, whose Bayes
# ceiling is {glue:text}`ceiling:.3f`.

# %%
fits = protocol.cross_validate(train_data, cfg, cfg.evaluation.models,
                               evals={"test": test_data}, keep_proba=True,
                               analyse=interpret.NeuralAnalysis(n=2000),
                               n_jobs=cfg.evaluation.n_jobs)
table = protocol.comparison_table(fits, ceiling)
table.loc["Bayes-optimal ceiling", ["accuracy_mean", "share_of_ceiling"]] = [ceiling, 1.0]
columns = ["accuracy_mean", "accuracy_sd", "share_of_ceiling", "cv_accuracy_mean",
           "precision_macro_mean", "recall_macro_mean", "f1_macro_mean", "roc_auc_macro_mean",
           "ece_mean", "n_runs"]
table[columns].round(3)

# %% [markdown]
# Every number of this table is reproduced exactly by a rerun with the same profile on the
# same machine. Training times change from run to run, so they have a table of their own
# (seconds per fit on this machine, mean over runs; validation skips comparing this cell):

# %% tags=["nbval-ignore-output"]
table[["fit_seconds_mean", "n_runs"]].drop(index="Bayes-optimal ceiling").round(2)

# %%
models_only = table.drop(index="Bayes-optimal ceiling")
neural = [m for m in models_only.index if m not in ("logistic_regression", "random_forest",
                                                    "gradient_boosting", "voting_ensemble")]
best = models_only["accuracy_mean"].idxmax()
best_neural = models_only.loc[neural, "accuracy_mean"].idxmax()
run.glue("best_model", best)
run.glue("best_acc", models_only.loc[best, "accuracy_mean"])
run.glue("best_neural", best_neural)
run.glue("best_neural_acc", models_only.loc[best_neural, "accuracy_mean"])
run.glue("best_neural_gap", 100 * (ceiling - models_only.loc[best_neural, "accuracy_mean"]))
run.glue("mmt_acc", models_only.loc["mmt_modality", "accuracy_mean"])
run.glue("lr_acc", models_only.loc["logistic_regression", "accuracy_mean"])
fig = run.figure(plots.accuracy_vs_ceiling(models_only, ceiling, ceiling_ci, chance),
                 "accuracy_vs_ceiling")

# %% [markdown]
# The best model is {glue:text}`best_model` (accuracy {glue:text}`best_acc:.3f`); the best
# neural model, {glue:text}`best_neural`, reaches {glue:text}`best_neural_acc:.3f`,
# {glue:text}`best_neural_gap:.1f` points below the ceiling. The multi-modal transformer with
# modality tokens reaches {glue:text}`mmt_acc:.3f` and logistic regression
# {glue:text}`lr_acc:.3f`.

# %% [markdown]
# ## Convergence (claim C02)

# %%
fig = run.figure(plots.learning_curves(protocol.histories(fits)), "learning_curves")

# %%
epochs = protocol.best_epochs(fits)
fig = run.figure(plots.epochs_to_convergence(epochs), "epochs_to_convergence")
mmt_epochs = np.array(epochs["mmt_modality"])
mmt_runs = [f for f in fits if f.model == "mmt_modality"]
stopped = np.mean([f.epochs < cfg.train.max_epochs for f in mmt_runs])
acc_sd = models_only.loc["mmt_modality", "accuracy_sd"]
run.glue("c02_median", float(np.median(mmt_epochs)))
run.glue("c02_min", int(mmt_epochs.min()))
run.glue("c02_max", int(mmt_epochs.max()))
run.glue("c02_stopped", 100 * stopped)
run.glue("c02_sd", 100 * acc_sd)

# %% [markdown]
# The multi-modal transformer (modality tokens) reaches its lowest validation loss after a
# median of {glue:text}`c02_median:.0f` epochs (range {glue:text}`c02_min` to
# {glue:text}`c02_max`); early stopping ended {glue:text}`c02_stopped:.0f`% of its runs before
# the {glue:text}`max_epochs`-epoch limit, and its held-out accuracy varies by
# {glue:text}`c02_sd:.1f` points (sd) across folds and seeds.

# %%
run.claim(claims.judge_c02(mmt_epochs.tolist(), float(stopped), float(acc_sd)))

# %% [markdown]
# ## Where the errors are

# %%
first = next(f for f in fits if f.model == best_neural and f.seed == cfg.evaluation.seeds[0]
             and f.fold == 0)
proba = first.proba["test"]
fig = run.figure(plots.roc_curves(test_data.y, proba, world.class_names), "roc_curves")

# %%
fig = run.figure(plots.confusion(test_data.y, proba.argmax(axis=1), world.class_names,
                                 title=f"{best_neural}, one run"), "confusion_model")

# %%
bayes_pred = bayes.BayesClassifier(world).predict(test_data)
fig = run.figure(plots.confusion(test_data.y, bayes_pred, world.class_names,
                                 title="Bayes-optimal classifier"), "confusion_bayes")

# %%
healthy = 0  # the first class is the healthy one (tumour fraction 0), as the generator defines
errors = bayes_pred != test_data.y
missed = errors & (test_data.y != healthy) & (bayes_pred == healthy)
cancer = test_data.y != healthy
run.glue("bayes_missed_share", 100 * missed.sum() / max(errors.sum(), 1))
run.glue("missed_fraction", float(np.median(test_cohort.tumour_fraction[missed]))
         if missed.any() else float("nan"))
run.glue("found_fraction", float(np.median(test_cohort.tumour_fraction[cancer & ~errors])))

# %% [markdown]
# Of the Bayes-optimal classifier's own errors, {glue:text}`bayes_missed_share:.0f`% are cancers
# it calls healthy. Their median tumour fraction (the share of tumour-derived DNA in the sample,
# known to the generator) is {glue:text}`missed_fraction:.3f`, against
# {glue:text}`found_fraction:.3f` for the cancers it classifies correctly: these samples carry
# too little tumour signal to be told apart, and no model can avoid those errors.

# %% [markdown]
# ## Do encoded features cluster by class? (claim C11)

# %%
n_embed = min(2000, test_data.n_samples)  # the analysis keeps the first 2000 test samples
head = test_data.subset(np.arange(n_embed))
references = {"raw features": head.flat(),  # standardised below, like the models' inputs
              "Bayes posterior": bayes.BayesClassifier(world).predict_proba(head)}
clusters = evaluate.clustering_table(fits, head.y, references, seed=0)
clusters.round(3)

# %%
emb = next(f for f in fits if f.model == "mmt_modality" and f.seed == cfg.evaluation.seeds[0]
           and f.fold == 0).extras["embedding"]
coords = evaluate.tsne(emb, seed=0)
labels = test_data.y[: len(emb)]
fig = run.figure(plots.embedding_map(coords, labels, world.class_names,
                                     title="mmt_modality, fused representation (t-SNE)"),
                 "tsne")

# %%
mmt_row = clusters.loc["mmt_modality"]
raw_row = clusters.loc["raw features"]
run.glue("ari_mmt", mmt_row["kmeans_ari_mean"])
run.glue("ari_raw", raw_row["kmeans_ari_mean"])
run.glue("ari_bayes", clusters.loc["Bayes posterior"]["kmeans_ari_mean"])
run.glue("sil_mmt", mmt_row["silhouette_mean"])
run.claim(claims.judge_c11(mmt_row["kmeans_ari_mean"], mmt_row["kmeans_ari_sd"],
                           mmt_row["silhouette_mean"], raw_row["kmeans_ari_mean"]),
          note="Bayes posteriors: ARI "
               f"{clusters.loc['Bayes posterior']['kmeans_ari_mean']:.3f}")

# %% [markdown]
# k-means with one cluster per class recovers the classes from the transformer's fused
# representation with an adjusted Rand index of {glue:text}`ari_mmt:.3f`, against
# {glue:text}`ari_raw:.3f` from the standardised input features and {glue:text}`ari_bayes:.3f`
# from the Bayes posterior probabilities, the best representation there is. The t-SNE map
# {cite}`vandermaaten2008tsne` shows the same picture.

# %% [markdown]
# ## Which modality does attention look at? (claim C15)

# %%
shares = interpret.attention_shares(fits)
fig = run.figure(plots.modality_shares(shares, title="share of cross-modal attention each "
                                                     "modality receives (mean, sd over runs)"),
                 "attention_shares")
share_stats = {m: {k: [100 * x for x in evaluate.mean_sd(v)] for k, v in s.items()}
               for m, s in shares.items()}  # {model: {modality: [mean %, sd %]}}
share_table = pd.DataFrame({m: {k: f"{mean:.1f} ± {sd:.1f}" for k, (mean, sd) in s.items()}
                            for m, s in share_stats.items()}).T
share_table

# %%
run.claim(claims.judge_c15(share_stats["mmt_modality"]))

# %% [markdown]
# Attention weights say where a layer looked, not why the prediction came out as it did
# {cite}`jain2019attention`; Chapter 4 checks attention against loci where the generator
# planted a cross-modal signal, and the next figure ranks features by what happens to accuracy
# when each is shuffled.

# %% [markdown]
# ## The 20 most important features

# %%
fitted = fit_neural(best_neural, train_data, cfg, seed=cfg.evaluation.seeds[0])
importance = evaluate.permutation_importance(fitted.predict_proba, test_data.subset(
    np.arange(min(2000, test_data.n_samples))), n_repeats=3, seed=0)
fig = run.figure(plots.top_features(importance, 20, title=f"{best_neural}: permutation "
                                    "importance on the held-out cohort"), "top_features")
top = pd.Series(importance["modality"][np.argsort(-importance["importance_mean"])[:20]])
run.glue("top_modalities", ", ".join(f"{m} {n}" for m, n in top.value_counts().items()))

# %% [markdown]
# Among the 20 features whose shuffling costs the most accuracy: {glue:text}`top_modalities`.

# %% [markdown]
# ## Negative control: shuffled labels
#
# The same pipeline trained on labels shuffled at random must score at chance; if it did not,
# information would be leaking from the evaluation into training.

# %%
shuffled = train_data.subset(np.arange(train_data.n_samples))
shuffled.y = np.random.default_rng(12345).permutation(train_data.y)
control_models = ["logistic_regression", "early_fusion_mlp", "mmt_modality"]
control = protocol.cross_validate(shuffled, cfg, control_models, evals={"test": test_data},
                                  seeds=cfg.evaluation.seeds[:1], n_jobs=cfg.evaluation.n_jobs)
control_table = pd.DataFrame(protocol.summary(control, "test")).T[["accuracy_mean",
                                                                   "roc_auc_macro_mean"]]
run.glue("control_acc", float(control_table["accuracy_mean"].max()))
run.glue("chance", chance)
control_table.round(3)

# %% [markdown]
# Trained on shuffled labels, the best of these models scores {glue:text}`control_acc:.3f`
# on the held-out cohort, against {glue:text}`chance:.3f` for always predicting the most
# frequent class, and a ROC AUC near 0.5.

# %% [markdown]
# ## The 99% of the Cancer Alpha paper (claim C12)
#
# The Cancer Alpha paper's ensembles reached 99% accuracy "on optimized datasets". Here the
# soft-voting ensemble of the three classical models reaches {glue:text}`ensemble_acc:.3f` at
# the default difficulty, whose ceiling is {glue:text}`ceiling:.3f`: 99% is impossible on these
# data for any model. Whether 99% is reached is a property of the data set, not of the model:
# at the easiest difficulty of Chapter 1 (effect size {glue:text}`easy_effect:.2f`) the ceiling
# is {glue:text}`easy_ceiling:.3f` and the same ensemble reaches {glue:text}`easy_ensemble:.3f`.

# %%
easy_cfg = cfg.replace(cohort={"effect_size": 1.0 / cfg.cohort.max_tumour_fraction})
easy_world = synth.World.from_config(easy_cfg.cohort)
easy_train, easy_test = synth.standard_cohorts(easy_cfg)
easy_ceiling = bayes.BayesClassifier(easy_world).score(easy_test.data)
easy = protocol.cross_validate(easy_train.data, easy_cfg, ["voting_ensemble"],
                               evals={"test": easy_test.data}, seeds=cfg.evaluation.seeds[:1],
                               n_jobs=cfg.evaluation.n_jobs)
easy_acc = protocol.summary(easy, "test")["voting_ensemble"]["accuracy_mean"]
ensemble_acc = models_only.loc["voting_ensemble", "accuracy_mean"]
run.glue("ensemble_acc", ensemble_acc)
run.glue("easy_effect", easy_cfg.cohort.effect_size)
run.glue("easy_ceiling", easy_ceiling)
run.glue("easy_ensemble", easy_acc)
run.claim(claims.judge_c12(ensemble_acc, models_only.loc["voting_ensemble", "accuracy_sd"]),
          note=f"Bayes ceiling {ceiling:.3f} at the default difficulty; at effect size "
               f"{easy_cfg.cohort.effect_size:.2f} the ceiling is {easy_ceiling:.3f} and the "
               f"ensemble reaches {easy_acc:.3f}")

# %% [markdown]
# ## Data-limited or model-limited?
#
# If the best neural model stays below the ceiling, is it short of data or of capacity? Test
# accuracy against the number of training samples tells: a data-limited model keeps climbing
# towards the ceiling as samples are added.

# %%
pool = world.sample(max(cfg.evaluation.curve_sizes), seed=cfg.evaluation.data_seed + 3).data
curve_models = list(dict.fromkeys(["logistic_regression", best_neural, "mmt_modality"]))
curve = pd.DataFrame(protocol.training_size_curve(
    pool, test_data, cfg, curve_models, cfg.evaluation.curve_sizes,
    seeds=cfg.evaluation.seeds[:1], n_jobs=cfg.evaluation.n_jobs))
fig = run.figure(plots.accuracy_vs_training_size(curve, ceiling), "training_size")
by_size = curve.pivot_table(index="n_train", columns="model", values="accuracy")
small, large = by_size.index.min(), by_size.index.max()
run.glue("curve_small", int(small))
run.glue("curve_large", int(large))
run.glue("curve_mmt_small", by_size.loc[small, "mmt_modality"])
run.glue("curve_mmt_large", by_size.loc[large, "mmt_modality"])
run.glue("curve_best_large", by_size.loc[large].max())
run.glue("curve_best_large_model", by_size.loc[large].idxmax())
run.glue("curve_gap_large", 100 * (ceiling - by_size.loc[large].max()))
by_size.round(3)

# %% [markdown]
# From {glue:text}`curve_small` to {glue:text}`curve_large` training samples the multi-modal
# transformer goes from {glue:text}`curve_mmt_small:.3f` to {glue:text}`curve_mmt_large:.3f`.
# With {glue:text}`curve_large` samples the best of these models,
# {glue:text}`curve_best_large_model`, reaches {glue:text}`curve_best_large:.3f`,
# {glue:text}`curve_gap_large:.1f` points below the ceiling. A curve still rising at its right
# end says the model is short of data; one that has flattened well below the ceiling says it
# is short of capacity or of a better recipe.

# %% [markdown]
# ## Run record

# %% tags=["nbval-ignore-output"]
keys = ["accuracy_mean", "accuracy_sd", "f1_macro_mean", "roc_auc_macro_mean", "ece_mean",
        "fit_seconds_mean", "n_runs"]
run.metric("bayes_accuracy", ceiling)
run.metric("bayes_accuracy_ci95", ceiling_ci)
run.metric("models", {m: {k: float(models_only.loc[m, k]) for k in keys}
                      for m in models_only.index})
run.metric("share_of_ceiling", models_only["share_of_ceiling"].to_dict())
run.metric("cv_accuracy", models_only["cv_accuracy_mean"].to_dict())
run.metric("epochs_to_best", epochs)
run.metric("clustering", clusters.to_dict(orient="index"))
run.metric("attention_shares", {m: {k: [float(x) for x in v] for k, v in s.items()}
                                for m, s in shares.items()})
run.metric("permuted_label_accuracy", control_table["accuracy_mean"].to_dict())
run.metric("training_size_curve", curve.to_dict(orient="list"))
run.metric("easy_setting", {"effect_size": easy_cfg.cohort.effect_size,
                            "bayes_accuracy": easy_ceiling, "voting_ensemble": easy_acc})
record_path = run.save()
