# %% [markdown]
# # The architecture, as built
#
# The MMT paper describes a multi-modal transformer in words: three modality-specific encoders,
# cross-modal attention, a classification head and a composite loss {cite}`mmt2025`. The Cancer
# Alpha paper names a larger model (8 heads, $d_{model} = 512$) and a zoo of peers:
# TabTransformer, Perceiver IO and a late-fusion module with learned modality-importance weights
# {cite}`stillwell2025`. Neither paper gives layer sizes or code. This chapter shows each model as
# this repository builds it: what every component is, where it departs from the papers'
# words, the shapes a real batch of Chapter 1 goes through, the size and cost of every model,
# and the attention weights before and after a short training run.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - Claims tested here: {glue:text}`verdicts_here`.
# - The transformer with locus tokens attends over {glue:text}`n_tokens_locus` tokens and costs
#   {glue:text}`locus_ratio:.0f` times the floating-point operations per sample of the transformer
#   with modality tokens.
# - The Cancer Alpha paper's configuration is {glue:text}`cancer_alpha_width_ratio:.0f` times as
#   wide as this profile's, with {glue:text}`cancer_alpha_param_ratio:.0f` times the parameters.
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd

from cancer_alpha import architecture, claims, plots, results
from cancer_alpha.models import LOCUS_TRANSFORMER, MODEL_NAMES, TRANSFORMER, complexity
from cancer_alpha.tables import readable

run = results.start_run("02_architecture", profile, overrides, results_dir,
                        seeds=lambda p: p.evaluation.seeds[:1])
profile = run.profile
seed = profile.evaluation.seeds[0]
train_cohort, scaler, batch_size, batch = architecture.example_batch(profile)
specs, n_classes = train_cohort.data.specs, train_cohort.data.n_classes
run.glue_all(architecture.settings_glue(profile, batch_size))

# %% [markdown]
# ## The components
#
# Every model is built from the list of modality specs of its data (name, kind, number of
# features), so the same code serves the three synthetic modalities and real data with others;
# a kind without a dedicated encoder gets a generic MLP encoder. Settings below are those of
# this run's profile ($d_{model}$ = {glue:text}`d_model`, {glue:text}`n_heads` heads,
# {glue:text}`n_layers` fusion layers). Where a component departs from the papers'
# description, the departure is stated with it.
#
# **MethylationEncoder.** The MMT paper: "a multi-layer perceptron with batch normalization and
# dropout" mapping beta values to "a 128-dimensional representation", and "each encoder
# includes layer normalization and residual connections". Here: a linear projection of the
# beta values to $d_{model}$, then an MLP (linear to {glue:text}`ff_mult`$\times d_{model}$,
# batch normalisation, GELU, dropout, linear back) added to its input, then layer
# normalisation. *Departures:* the input is beta values standardised with the training
# cohort's mean and standard deviation, not raw beta values; the paper gives no depth or width,
# so the MLP has one hidden layer.
#
# **FragmentomicsEncoder.** The MMT paper: "convolutional layers followed by global average
# pooling". Here: a convolution stem ({glue:text}`conv_channels` channels, kernel 5) over the
# fragment-length histogram, a residual convolution block (batch normalisation, channel-wise
# dropout), global average pooling, a projection to $d_{model}$ and layer normalisation.
# *Departure:* the residual connection is around the convolution block, not the whole
# encoder.
#
# **CNAEncoder.** The MMT paper: "a combination of convolutional and recurrent layers". Here: a
# convolution stem over the copy-number bins, patches of {glue:text}`cna_stride` bins (a
# strided convolution), a residual convolution block and a bidirectional GRU over the patches;
# the GRU's output is repeated back to every bin and added to the stem's features, then
# averaged, projected and normalised. *Departures:* the recurrence runs over patches of
# {glue:text}`cna_stride` bins rather than every bin, and at the convolution's width
# ({glue:text}`conv_channels`), not $d_{model}$: a GRU over every bin at full width cost more
# than the rest of the model on a CPU.
#
# **CrossModalAttention.** The MMT paper: multi-head attention
# $\mathrm{softmax}(QK^\top/\sqrt{d_k})V$ where queries, keys and values "are derived from
# different modality encoders" {cite}`vaswani2017`. Here each token's queries come from its own
# modality and its keys and values from the tokens of every *other* modality (a token never
# attends to its own modality), followed by a residual connection and layer normalisation and
# a position-wise feed-forward sublayer, stacked {glue:text}`n_layers` times. Missing
# modalities are masked keys: they receive exactly zero weight. The weights are returned for
# analysis (`ModelOutput.attention`). *Departures:* no dropout on the attention weights (those
# returned are those applied); a learned modality embedding is added to every token; the
# Cancer Alpha paper speaks of "self-attention layers", and this model has cross-modal
# attention only, as the MMT paper describes.
#
# **Two token granularities.** With *modality tokens* each encoder yields one $d_{model}$
# vector, so attention runs over three tokens: the MMT paper's 128-dimensional
# representations. With *locus tokens* each encoder keeps its sequence: one token per CpG
# locus, per copy-number bin and per {glue:text}`fragment_pool` fragment-length bins, each with
# a sinusoidal encoding of its genomic coordinate (the Cancer Alpha paper's "positional
# encoding adapted for genomic coordinate systems"), so attention can relate methylation at one
# locus to copy number at another.
# *Departure:* fragment-length bins are pooled {glue:text}`fragment_pool` to a token (a
# strided convolution after the encoder's convolutions) instead of globally averaged, since
# lengths are not loci and fewer tokens cut the cost of attention.
#
# **Pooling and head.** Tokens are averaged within each modality, then over the modalities a
# sample has (the Cancer Alpha paper's "hierarchical feature fusion"), and the MMT paper's head
# classifies the result: dropout, batch normalisation, a linear classifier. Per-modality
# auxiliary heads serve progressive training (Chapter 4).
#
# **Loss.** Focal loss $-\alpha_y (1-p_y)^\gamma \log p_y$ {cite}`lin2017focal` with
# $\gamma$ = {glue:text}`focal_gamma`, plus the MMT paper's attention regulariser
# $L = L_{cls} + \lambda L_{attention}$ with $\lambda$ = {glue:text}`attention_lambda`.
# The MMT paper says only that the term "encourages sparse attention patterns"; here it is the mean
# Shannon entropy of the attention rows, which is smallest when each query puts its weight on
# few keys.
#
# **Late fusion** (the Cancer Alpha paper's cross-modal fusion module). The same three encoders; a
# sample-dependent importance weight per modality (a softmax, over the modalities present, of
# a learned linear score of each representation plus a learned per-modality offset); the
# weighted sum, a residual feed-forward layer with layer normalisation, and the head.
# *Departure:* the head returns logits; the softmax the Cancer Alpha paper names is applied by
# the loss and at prediction.
#
# **TabTransformer** {cite}`huang2020tabtransformer`, from the package
# `tab-transformer-pytorch`. Its transformer attends over categorical columns only, and omics
# features are all continuous, so every feature is also made a categorical token by quantile
# binning into {glue:text}`n_bins` bins fitted on training data; the raw values still take the
# published continuous path. Tokens are {glue:text}`tab_token_dim` wide, the published width;
# the package's hyper-connections are turned off (the published residual stream).
# *Departures:* heads of {glue:text}`tab_dim_head` channels fill the token width once instead
# of the published 8 heads; the final MLP has one hidden layer of $d_{model}$ units instead of
# widths $4l$ and $2l$ ($l$ the flattened input width); no attention dropout. With one token
# per feature, attention dominates a training step on a CPU.
#
# **Perceiver IO** {cite}`jaegle2022perceiverio`, from the package `perceiver-pytorch`: one
# token per feature (its value times a learned embedding, plus a sinusoidal encoding of its
# coordinate and a modality embedding), a latent array of {glue:text}`n_latents` latents that
# cross-attends to the tokens (missing modalities masked), {glue:text}`n_layers` latent
# self-attention blocks, and a learned query that decodes the class representation.
# *Departures:* position enters by addition, not by concatenated Fourier features; tokens and
# latents are {glue:text}`perceiver_width` wide ($d_{model}/2$), the query $d_{model}$.
#
# **Early fusion MLP.** All features side by side, missing modalities zeroed and the modality
# mask appended; one hidden layer of $d_{model}$ ReLU units, dropout and a linear classifier,
# the network of scikit-learn's `MLPClassifier`. The papers' "concatenation-based feature
# fusion" baseline. It has no batch normalisation: one before the classifier (the MMT paper's
# head) makes the output blind to the scale of the hidden weights, and the weight penalty it is
# tuned with (`train.l2`, scikit-learn's `alpha`) would then constrain nothing.

# %% [markdown]
# ## The multi-modal transformer, drawn from the model
#
# The diagram below is drawn by reading the built models: their encoders' layers, token
# counts, fusion blocks and head, with the shapes of a forward pass of the first
# {glue:text}`batch_size` samples of the Chapter 1 training cohort (B in the diagram),
# standardised with the cohort's statistics.

# %% tags=["hide-input"]
transformers, stages = architecture.transformers_and_stages(specs, n_classes, profile.model,
                                                            seed, batch)
fig = run.figure(plots.architecture_diagram(transformers, stages, batch_size), "diagram",
                 caption=("The two multi-modal transformers drawn from their modules: the "
                          "encoder of each modality, the tokens, each fusion block and the head,"
                          " with the output shape of each stage."))

# %% [markdown]
# The output shape of every submodule, in the order they ran (a missing entry: the module
# does not exist at that granularity).

# %% tags=["hide-input"]
architecture.stage_tables(stages, batch_size)

# %% [markdown]
# ## Claim C01: a 128-dimensional methylation representation
#
# Measured on the model, not read from its settings: the width of the methylation encoder's
# output on the batch, the layers it holds, and whether the input of its final layer
# normalisation is its MLP's input plus the MLP's output (a residual connection; the gap is
# relative to the size of that input).

# %% tags=["hide-input"]
width, kinds, gap = architecture.methylation_evidence(
    transformers["modality tokens"].encoders["methylation"], batch["x"]["methylation"])
parts = claims.encoder_parts(kinds, gap)
run.glue("c01_width", width)
run.glue("c01_gap", gap)
pd.Series({"output width": width, **kinds, **parts, "residual gap": f"{gap:.1e}"},
          name="methylation encoder").to_frame()

# %% tags=["hide-input"]
c01 = run.claim(claims.judge_c01(width, kinds, gap, profile.model.d_model),
                note="output width measured on a Chapter 1 batch; input: standardised beta "
                     "values, not raw")
print(f"C01: {c01['verdict']} (rule: {c01['rule_verdict']}; {width} dimensions)")

# %% [markdown]
# The methylation encoder's output is {glue:text}`c01_width` wide, and the input of its layer
# normalisation equals the MLP's input plus its output to a relative gap of
# {glue:text}`c01_gap:.1e`: a residual connection.
#
# ## Size and cost of every model
#
# Parameters and forward-pass floating-point operations per sample (a multiply-add counts
# 2; matrix products, convolutions, the GRU and attention are counted, element-wise work is
# not), for every model at this profile's settings and for the multi-modal transformer at the
# Cancer Alpha paper's preset ($d_{model}$ = {glue:text}`cancer_alpha_d_model`,
# {glue:text}`cancer_alpha_heads` heads),
# on the {glue:text}`n_features_total` features of this cohort. The ablations of Chapter 6
# use the modality-token granularity.

# %% tags=["hide-input"]
costs, preset, cancer_alpha_preset = architecture.costs_with_preset(
    MODEL_NAMES, specs, n_classes, profile.model, batch, seed,
    preset_models=(TRANSFORMER, LOCUS_TRANSFORMER))
run.glue("cancer_alpha_d_model", preset.d_model)
run.glue("cancer_alpha_heads", preset.n_heads)
run.glue("n_features_total", sum(s.n_features for s in specs))
chart, table = architecture.cost_table(costs, cancer_alpha_preset)
readable(table, 2)

# %% tags=["hide-input"]
fig = run.figure(plots.cost_chart(chart), "costs",
                 caption=("Parameters and forward floating-point operations per sample of every "
                          "model at this profile (log scale)."))

# %% [markdown]
# Where the parameters of the multi-modal transformer sit (modality tokens, this profile):

# %% tags=["hide-input"]
pd.Series(complexity.parameters_by_part(transformers["modality tokens"]),
          name="parameters").to_frame()

# %% [markdown]
# With modality tokens the fusion layers see three tokens; with locus tokens they see
# {glue:text}`n_tokens_locus`, and every one of them passes through attention and the
# feed-forward sublayers, so the locus model costs {glue:text}`locus_ratio:.0f` times as many
# FLOPs per sample as the modality model with nearly the same number of parameters. The
# Cancer Alpha paper's preset multiplies the width by
# {glue:text}`cancer_alpha_width_ratio:.0f` and the parameters by
# {glue:text}`cancer_alpha_param_ratio:.0f`.

# %% tags=["hide-input"]
ratios = architecture.cost_ratios(sum(transformers["locus tokens"].counts), costs,
                                  cancer_alpha_preset, preset, profile.model)
run.glue_all(ratios)

# %% [markdown]
# ## Attention before and after a short training run
#
# Each transformer is trained for {glue:text}`demo_steps` optimiser steps on one batch (the
# first {glue:text}`demo_samples` samples of the cohort) with the recipe of every later
# chapter: the composite loss, AdamW, warm-up and cosine schedule, gradient clipping. This
# shows what the weights can do, not what a trained model learns; Chapter 6 reads the
# attention of models trained on the whole cohort. The heat maps average the weights over the
# samples and heads of the last layer: a query row (down) spreads its weight over the tokens
# of the other modalities (across); its own modality's block stays 0.

# %% tags=["hide-input"]
demo_samples, demo_steps = architecture.DEMO_SAMPLES, architecture.DEMO_STEPS
run.glue_all({"demo_samples": demo_samples, "demo_steps": demo_steps})
attention, summary = architecture.training_demo(specs, n_classes, profile, batch, seed,
                                                demo_samples, demo_steps)
readable(pd.DataFrame(summary), 3)

# %% tags=["hide-input"]
panels = architecture.attention_panels(attention["modality tokens"])
fig = run.figure(plots.attention_heatmaps(panels, transformers["modality tokens"].token_modality,
                                           [s.name for s in specs], ncols=2),
                 "attention_modality_tokens",
                 caption=("Attention between the modality tokens of the modality-token "
                          "transformer in each layer, before and after training (query tokens "
                          "down, key tokens across)."))

# %% tags=["hide-input"]
loc = attention["locus tokens"]
fig = run.figure(plots.attention_heatmaps(
    {"untrained, last layer": loc[0][-1], "trained, last layer": loc[1][-1]},
    transformers["locus tokens"].token_modality, [s.name for s in specs]),
    "attention_locus_tokens",
                 caption=("Attention in the last layer of the locus-token transformer before and"
                          " after training, with lines between the modalities."))

# %% [markdown]
# Untrained, attention is close to uniform: the mean entropy of a row is near that of uniform
# weights over its keys. After {glue:text}`demo_steps` steps on one batch the training loss
# of the locus model falls from {glue:text}`locus_loss_first:.3f` to
# {glue:text}`locus_loss_last:.3f` and its attention entropy from
# {glue:text}`locus_entropy_before:.3f` to {glue:text}`locus_entropy_after:.3f` nats (uniform
# weights: {glue:text}`locus_entropy_uniform:.3f`). A few dozen steps on one batch are enough
# to memorise it; they move the attention weights only a little.

# %% tags=["hide-input"]
run.glue_all(architecture.locus_training_glue(summary["locus tokens"]))

# %% [markdown]
# ## Departures in one place
#
# | component | the papers | here |
# |---|---|---|
# | methylation encoder | raw beta values | standardised beta values; one hidden layer |
# | fragmentomics encoder | residual around each encoder | residual around the convolution block |
# | copy-number encoder | convolution + recurrence | GRU over patches, convolution width |
# | cross-modal attention | attention dropout unstated | none; a learned modality embedding |
# | transformer (Cancer Alpha paper) | "self-attention layers" | cross-modal attention only |
# | locus tokens, fragments | global average pooling | pooled to tokens of several bins |
# | attention regulariser | "sparse attention" | mean entropy of the attention rows |
# | TabTransformer | categorical columns | quantile-binned omics features |
# | TabTransformer | 8 heads; MLP 4l, 2l | heads fill the token width once; one layer |
# | TabTransformer | attention dropout | none |
# | Perceiver IO | concatenated Fourier features | added sinusoidal encoding; half-width latents |
# | late fusion | softmax head | logits, softmax in the loss |
#
# ## Run record

# %% tags=["hide-input"]
record = architecture.record(
    costs=costs, preset_costs=cancer_alpha_preset,
    parts=complexity.parameters_by_part(transformers["modality tokens"]), stages=stages,
    width=width, kinds=kinds, gap=gap, demo_samples=demo_samples, demo_steps=demo_steps,
    summary=summary)
run.metric_all(record)
run.glue("verdicts_here", run.verdict_text())
record_path = run.save()
