# %% [markdown]
# # Synthetic multi-modal cohorts and their Bayes-optimal ceiling
#
# The MMT paper validates its architecture on synthetic data only: beta-distributed
# methylation, fragment-length mixtures and copy-number profiles from hidden Markov models
# {cite}`mmt2025`. The Cancer Alpha paper reports accuracies of up to 99% on synthetic
# benchmarks {cite}`stillwell2025`. Neither paper says how hard its data was, so neither number
# can be judged.
#
# This chapter builds the generator every later chapter trains on, following the MMT paper's
# recipe for each modality, and then does what only the author of a generator can do: it
# computes the **Bayes-optimal classifier**, the posterior probability of each class given
# everything observed, under the very model that drew the data. No classifier can beat it on average
# {cite}`devroye1996probabilistic`, so its accuracy is the ceiling beside which every later
# score is shown.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - With all three modalities no classifier can beat an accuracy of {glue:text}`bayes_joint:.3f` on
#   the held-out cohort of {glue:text}`n_test` samples (95% interval
#   {glue:text}`bayes_joint_lo:.3f` to {glue:text}`bayes_joint_hi:.3f`). This Bayes ceiling is the
#   yardstick of every accuracy in the book.
# - The best single modality, {glue:text}`best_single_name`, allows {glue:text}`best_single:.3f`;
#   always guessing the commonest class scores {glue:text}`chance:.3f`.
# - When each modality is missing with probability {glue:text}`missing_rate`, the ceiling
#   falls to {glue:text}`bayes_missing:.3f`.
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
import pandas as pd

from cancer_alpha import plots, results, synth
from cancer_alpha.synth import evidence
from cancer_alpha.tables import readable

run = results.start_run("01_data_synthesis", profile, overrides, results_dir,
                        seeds=lambda p: [p.evaluation.data_seed])
profile = run.profile
world = synth.World.from_config(profile.cohort)
train_cohort, test_cohort = synth.standard_cohorts(profile)
run.glue_all(evidence.cohort_glue(profile, world, train_cohort, test_cohort))

# %% [markdown]
# ## The cohort
#
# A cohort has {glue:text}`n_classes` classes: healthy donors and four cancer types, with
# imbalanced priors as in a screening population. Every sample has a latent **tumour
# fraction**, the share of its cell-free DNA shed by a tumour: exactly zero for healthy donors,
# mostly below 0.2 for cancers, drawn from a prior that differs between cancer types (some
# shed more than others). All three modalities are read from the same plasma, so they share it:
# a sample with a small tumour fraction looks healthy in every modality at once, which is where
# most of the irreducible error of this problem comes from.
#
# The training cohort has {glue:text}`n_train` samples and a held-out cohort from the same
# generator has {glue:text}`n_test`; the held-out cohort measures every ceiling in this chapter
# and every test score in Chapter 4.

# %% tags=["hide-input"]
fig = run.figure(plots.class_balance(train_cohort.y, world.class_names, train_cohort.data.mask,
                                     train_cohort.data.modalities), "class_balance",
                 caption=("Samples per class in the training cohort, and the share of samples "
                          "missing each modality."))

# %% [markdown]
# ## Methylation
#
# One beta value (the methylated fraction of a CpG region) per genomic locus, drawn from a beta
# distribution whose mean mixes the normal-plasma mean of the region with the tumour mean of the
# sample's class in proportion to its tumour fraction. Normal means are bimodal across regions,
# as on methylation arrays {cite}`du2010mvalue`: most regions are either methylated or not.
# Cancers share a partial hypomethylation of methylated regions and each type adds its own
# hypermethylated CpG islands.

# %% tags=["hide-input"]
fig = run.figure(plots.methylation_densities(train_cohort), "methylation_densities",
                 caption=("Pooled methylation beta values of each class in the training cohort: "
                          "the bimodal shape of methylation arrays."))

# %% [markdown]
# ## Fragment lengths
#
# The lengths of cell-free DNA fragments follow the nucleosome: a main peak near 167 bp (one
# nucleosome plus linker), a second near 334 bp, and a 10-bp periodicity below the main peak
# {cite}`snyder2016cfdna`. Tumour-derived fragments are shorter {cite}`underhill2016fragment`; here
# each cancer type shifts and widens the main peak by its own amount, and each sample's histogram
# counts a finite number of fragments ({glue:text}`n_fragments` per sample), so it is noisy.

# %% tags=["hide-input"]
fig = run.figure(plots.fragment_lengths(train_cohort), "fragment_lengths",
                 caption=("Mean cell-free DNA fragment-length distribution of each class, with "
                          "the nucleosomal peaks marked."))

# %% [markdown]
# ## Copy number
#
# Copy-number log2 ratios over the same {glue:text}`n_loci` genomic bins as the methylation
# regions, spread over the 22 autosomes in proportion to their length. Each chromosome is a
# hidden Markov chain over copy-number states 1 to 4 {cite}`rabiner1989hmm`; cancers share a
# background of gains and losses and each type has driver chromosomes with more frequent
# gains or losses {cite}`zack2013scna`. The observed ratio is diluted by the tumour fraction and
# blurred by noise. Below, the sample with the highest tumour fraction of each cancer type, with
# its hidden states.

# %% tags=["hide-input"]
show = evidence.brightest_samples(train_cohort, world.n_classes)
fig = run.figure(plots.copy_number_profiles(train_cohort, show), "copy_number_profiles",
                 caption=("Log2 copy-number ratios along the genome for the sample of highest "
                          "tumour fraction in each cancer type, with the hidden copy-number "
                          "states."))

# %% [markdown]
# ## One sample, three views

# %% tags=["hide-input"]
fig = run.figure(plots.sample_views(train_cohort, show[0]), "sample_views",
                 caption="One sample of the training cohort seen through its three modalities.")

# %% [markdown]
# ## A signal that exists only jointly
#
# At {glue:text}`n_joint_loci` planted loci the tumour's methylation follows its copy number:
# for some cancer types a gain raises methylation and a loss lowers it, for the others it is the
# reverse. Copy number at these loci is equally likely to go up or down in every cancer type,
# so methylation alone and copy number alone look the same for all of them; only the two read
# together tell the types apart. No single-modality model can use this signal, and Chapter 6
# asks whether cross-modal attention finds these loci. The figure draws samples of two cancer
# types with opposite signs at a fixed tumour fraction of 0.4, to make the pattern visible.

# %% tags=["hide-input"]
fig = run.figure(plots.joint_signal(world, seed=7), "joint_signal",
                 caption=("Methylation and copy number at the joint loci for two cancer types "
                          "whose joint effects have opposite signs (tumour fraction 0.4)."))

# %% [markdown]
# ## The Bayes-optimal classifier
#
# Given class $k$ and tumour fraction $f$ the three modalities are independent, except at the
# joint loci where methylation depends on the hidden copy-number state. The posterior is
#
# $$
# p(k \mid x) \propto \pi_k \sum_{l} w_{kl}\; p(x_{\text{meth}} \mid k, f_l)\;
# p(x_{\text{frag}} \mid k, f_l)\; p(x_{\text{cna}} \mid k, f_l),
# $$
#
# with the tumour fraction summed over the discrete levels $f_l$ of its prior (weights
# $w_{kl}$), the methylation term a product of beta densities, the fragment term a multinomial
# and the copy-number term the forward algorithm of each chromosome's HMM, into whose emissions
# the methylation of the joint loci is folded so that the hidden states are summed out exactly.
# A modality that is missing, or left out on purpose, is marginalised by dropping its factor.
# The same model objects draw the data and score it.

# %% tags=["hide-input"]
ceilings = evidence.subset_ceilings(world, test_cohort)
readable(pd.DataFrame(ceilings).T)

# %% tags=["hide-input"]
run.glue_all(evidence.ceiling_glue(world, ceilings))
fig = run.figure(plots.subset_ceilings(*evidence.ceiling_points(ceilings)), "subset_ceilings",
                 caption=("Bayes-optimal accuracy on the held-out cohort for each subset of "
                          "modalities, with 95% intervals."))

# %% [markdown]
# On the held-out cohort the Bayes-optimal accuracy with all three modalities is
# {glue:text}`bayes_joint:.3f` (95% interval {glue:text}`bayes_joint_lo:.3f` to
# {glue:text}`bayes_joint_hi:.3f`). The best single modality, {glue:text}`best_single_name`,
# reaches {glue:text}`best_single:.3f`, and always predicting the most frequent class reaches
# {glue:text}`chance:.3f`. These are the numbers against which the models of Chapter 4 are read:
# a model can at best match the ceiling of the modalities it sees.
#
# The default difficulty (the `effect_size` of the cohort settings, which multiplies every
# tumour-derived deviation from normal plasma) was chosen once, before any model was trained,
# so that the joint ceiling at the paper scale lies between 0.85 and 0.92 and the best single
# modality is clearly below it: hard enough that models can differ, easy enough that they can
# learn.

# %% [markdown]
# ## How the ceiling moves with difficulty

# %% tags=["hide-input"]
curve = evidence.effect_size_curve(profile)
fig = run.figure(plots.ceiling_vs_difficulty(curve, chance=evidence.chance(world),
                                             default=profile.cohort.effect_size),
                 "ceiling_vs_difficulty",
                 caption=("Bayes-optimal accuracy against the effect size of the cancer signals,"
                          " for all modalities together and for each alone."))
readable(curve, 3)

# %% [markdown]
# At effect size zero every class generates the same data and the ceiling is the share of the
# largest class; it rises with the effect size for every modality, and the joint ceiling stays
# above each single modality throughout.

# %% [markdown]
# ## Missing modalities
#
# Real cohorts miss modalities. The generator can hide each modality of a sample at random;
# the Bayes classifier then sums the missing modality out. On a held-out cohort in which each
# modality is missing with probability {glue:text}`missing_rate`, the ceiling falls from
# {glue:text}`bayes_joint:.3f` to {glue:text}`bayes_missing:.3f`.

# %% tags=["hide-input"]
missing = evidence.missing_glue(profile)
run.glue_all(missing)

# %% [markdown]
# ## Run record

# %% tags=["hide-input"]
run.metric_all(evidence.record(world, train_cohort, test_cohort, ceilings, curve, missing))
record_path = run.save()
