# %% [markdown]
# # Compute: memory, time and latency, measured
#
# The MMT paper states that memory grows linearly with the input sequence length, that
# training time grows about as $n \log n$ with the number of samples, that 1000 samples with
# 110 features per modality need about 2.3 GB of GPU memory and that training takes under two
# hours on a modern GPU {cite}`mmt2025`. The Cancer Alpha paper states 15 ms of inference per
# sample and 40% less memory than a standard transformer {cite}`stillwell2025`. This chapter
# measures each on the device this run had, names that device, fits the scaling laws and plots
# the raw points.
#
# Cells whose output is a timing or a memory reading are marked so that notebook validation
# (nbval) does not compare them between runs: those numbers change from run to run, the code
# that produces them does not.
#
# Timings are only as good as the machine was quiet. Other work on it only ever adds time, so
# every timing here is repeated and read at its fast end, a low quantile of the repeats (the
# minimum of a few, a low percentile of hundreds of calls), with the median beside it; the
# two arms of a ratio are timed in turn, round after round. And every block of
# timings is checked for disturbance: the machine's matrix-multiply rate probed before and
# after it, the spread of its repeats, and the CPU time other processes took meanwhile. A
# claim whose timings came from a disturbed block is registered as *not judged (noisy
# machine)*, with the verdict its rule would have given kept in the record; the last section
# shows, block by block, whether the machine was quiet.

# %% [markdown]
# :::{admonition} Key results
# :class: tip
#
# - This CPU's float32 matrix-multiply peak was {glue:text}`matmul_peak:.0f` GFLOP/s; training the
#   transformer with modality tokens reaches {glue:text}`train_gflops:.1f` GFLOP/s of it.
# - One sample is classified in {glue:text}`lat_p50:.2f` ms (median); in batches a sample costs
#   {glue:text}`lat_batched:.4f` ms. Peak training memory of the transformer with locus tokens
#   grows with the number of features to the power {glue:text}`locus_exponent:.2f`.
# - Claims tested here: {glue:text}`verdicts_here`. {glue:text}`n_disturbed` of
#   {glue:text}`n_blocks` timing blocks were disturbed by other work on the machine.
# :::

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
import torch

from cancer_alpha import claims, plots, results
from cancer_alpha import profiling as prof
from cancer_alpha.models import TRANSFORMER
from cancer_alpha.profiling import evidence, sweeps
from cancer_alpha.tables import readable

device = "cuda" if torch.cuda.is_available() else "cpu"
label = prof.device_label(device)
run = results.start_run("07_compute_profiling", profile, overrides, results_dir, device=label)
profile = run.profile
paper_features = profile.profiling.claim_features  # the papers': 110 features per modality
monitor = prof.QuietnessMonitor(device)  # checks each block of timings below
run.glue_all(evidence.setting_glue(label, paper_features))

# %% tags=["nbval-ignore-output", "hide-input"]
peak = prof.matmul_peak_gflops(device=device)
run.glue("matmul_peak", peak)
print(f"{label}; float32 matrix multiply peak {peak:.1f} GFLOP/s")

# %% [markdown]
# Every measurement below ran on **{glue:text}`device`**, whose float32 matrix-multiply peak,
# measured in this run, was {glue:text}`matmul_peak:.0f` GFLOP/s.
#
# Timings are read at the {glue:text}`low_quantile_pct:.0f`th percentile of their repeats,
# taken as an observed time (so the minimum of a few repeats). A block of timings counts as
# disturbed when a {glue:text}`probe_size` x {glue:text}`probe_size` matrix-multiply probe
# just before or after it ran more than {glue:text}`peak_tolerance_pct:.0f`% below the best
# probe of this run, when the median of its repeats exceeds their low quantile more than
# {glue:text}`spread_tolerance:.1f` times, or when other processes used more than
# {glue:text}`foreign_tolerance_pct:.0f`% of the CPU time meanwhile.
#
# ## Memory against sequence length (claims C03 and C14)
#
# The sequence length of these models is the number of features per modality. For each
# length we measure the peak memory of one training step (forward, backward and AdamW update,
# batch of {glue:text}`memory_batch`) as the largest amount of live tensor storage during the
# step, above what the model, its gradients and its optimiser state already hold. The
# multi-modal transformer with locus tokens attends over all tokens of the other modalities,
# like a standard full-attention transformer; Perceiver IO attends from a fixed-size latent
# array instead. Memory peaks are counts of bytes, not times: a busy machine slows their
# measurement down but does not change them, so these blocks run without the quietness check.

# %% tags=["nbval-ignore-output", "hide-input"]
run.glue("memory_batch", profile.profiling.memory_batch)
memory = sweeps.memory_sweep(profile.profiling.sequence_lengths, profile.profiling.memory_batch,
                             profile.train, profile.model, device=device)
readable(memory.pivot(index="features", columns="model", values="peak_mb"), 1)

# %% tags=["nbval-ignore-output", "hide-input"]
fits = sweeps.memory_fits(memory)
exponents = sweeps.exponent_table(fits)
fig = run.figure(plots.scaling(memory, "features", "peak_mb", fits,
                               ylabel="peak memory of a training step (MB)"), "memory_scaling",
                 caption=("Peak memory of one training step against the number of input "
                          "features, per model, with fitted power laws (log-log)."))
readable(exponents, 2)

# %% [markdown]
# A linear law has exponent 1 and a quadratic one exponent 2. The multi-modal transformer
# with locus tokens has a fitted exponent of {glue:text}`locus_exponent:.2f` (95% interval
# {glue:text}`locus_lo:.2f` to {glue:text}`locus_hi:.2f`), Perceiver IO
# {glue:text}`perceiver_exponent:.2f`. At {glue:text}`paper_features` features per modality,
# Perceiver IO's training step needs {glue:text}`c14_ratio:.2f` times the memory of the
# full-attention model, and at the longest sequence measured {glue:text}`c14_ratio_long:.2f`
# times.

# %% tags=["nbval-ignore-output", "hide-input"]
c14 = evidence.memory_claims(memory, fits, profile.profiling.sequence_lengths, paper_features)
locus = c14["locus"]
run.glue_all(c14["glue"])
run.claim(claims.judge_c03(locus.exponent, locus.ci95), note=c14["c03_note"])
run.claim(claims.judge_c14(1 - c14["ratio"]), note=c14["c14_note"])

# %% [markdown]
# ## Time against the number of training samples (claim C04)
#
# Time of one training epoch of the multi-modal transformer (modality tokens, the paper's
# configuration) against the number of training samples, fitted as a power law and compared
# with $a\,n$ and $a\,n \log n$.

# %% tags=["nbval-ignore-output", "hide-input"]
with monitor.block("epoch time against samples (C04)") as time_block:
    timing = sweeps.time_sweep(profile.profiling.dataset_sizes, paper_features, profile.train,
                               profile.model, profile.profiling.repeats, time_block)
time_fit, law = sweeps.time_laws(timing)
fig = run.figure(plots.scaling(timing, "samples", "seconds", {TRANSFORMER: time_fit},
                               ylabel="seconds per training epoch"), "time_scaling",
                 caption=("Seconds per training epoch of the modality-token transformer against "
                          "the number of samples, with a fitted power law (log-log)."))
run.glue_all(evidence.time_glue(time_fit, law))
readable(timing, 3)

# %% [markdown]
# Each point is the low quantile of the repeated epochs at that size (the median beside it in
# the table). The time of an epoch grows with exponent {glue:text}`time_exponent:.2f` (95%
# interval {glue:text}`time_lo:.2f` to {glue:text}`time_hi:.2f`); of the two fixed laws, the
# better description is $a\,${glue:text}`time_law`. An epoch of mini-batch training visits
# every sample once, so its cost is linear in $n$ up to fixed overheads; a total training time
# also depends on the number of epochs, which early stopping decides (Chapter 4).

# %% tags=["nbval-ignore-output", "hide-input"]
run.claim(claims.judge_c04(time_fit.exponent, time_fit.ci95, law.preferred,
                           quiet=[time_block.report]),
          note=evidence.c04_note(profile.profiling.repeats, profile.profiling.dataset_sizes))

# %% [markdown]
# ## The paper's configuration: memory and total training time (claims C05 and C06)

# %% tags=["nbval-ignore-output", "hide-input"]
paper_memory = sweeps.paper_memory(paper_features, profile.train.batch_size, profile.train,
                                   profile.model, device=device)
paper_glue = evidence.paper_memory_glue(paper_memory)
run.glue_all(paper_glue)
readable(paper_memory, 1)

# %% tags=["nbval-ignore-output", "hide-input"]
fit_s = evidence.chapter4_fit_seconds(profile.name, results_dir)
run.glue_all(evidence.fit_seconds_glue(fit_s))
run.claim(claims.judge_c05(paper_glue["paper_peak_mb"] / 1000),
          note=evidence.c05_note(paper_memory, profile.train.batch_size, paper_features))
run.claim(claims.judge_c06(fit_s), note=evidence.c06_note(label))

# %% [markdown]
# At the papers' configuration, training the modality-token transformer holds at most
# {glue:text}`paper_peak_mb:.0f` MB of tensors (weights, gradients, optimiser state and the
# activations of one step) ({glue:text}`paper_peak_locus_mb:.0f` MB with
# locus tokens), and a whole fit in Chapter 4 took {glue:text}`mmt_fit_seconds:.0f` seconds on
# this device.
#
# ## Inference latency (claim C13)

# %% tags=["nbval-ignore-output", "hide-input"]
latency, latency_quiet = evidence.latencies(monitor, paper_features, profile.model,
                                            profile.profiling.latency_samples)
lat = evidence.latency_table(latency)
run.glue_all(evidence.latency_glue(latency[TRANSFORMER]))
fig = run.figure(plots.latency(lat), "latency",
                 caption="Batched and single-sample inference latency per model (log scale).")
readable(lat, 3)

# %% tags=["nbval-ignore-output", "hide-input"]
run.claim(claims.judge_c13(latency[TRANSFORMER].single_low_ms, quiet=[latency_quiet]),
          note=evidence.c13_note(latency[TRANSFORMER], label, profile.profiling.latency_samples))

# %% [markdown]
# One sample at a time, the modality-token transformer answers in {glue:text}`lat_low:.2f` ms
# at the {glue:text}`low_quantile_pct:.0f`th percentile of the calls after warm-up
# ({glue:text}`lat_p50:.2f` ms at the median); in batches it costs
# {glue:text}`lat_batched:.4f` ms per sample (the fastest of {glue:text}`lat_batch_repeats`
# passes). The figure shows the batched cost beside the median single-sample latency.
#
# ## Where the time goes: Lightning's loop, and achieved throughput

# %% tags=["nbval-ignore-output", "hide-input"]
loops, throughput = evidence.overhead_and_throughput(monitor, profile, paper_features)
run.glue_all(evidence.loop_glue(loops, throughput))
readable(evidence.loop_table(loops), 3)

# %% [markdown]
# The same epoch (model, data, optimiser, gradient clipping) takes {glue:text}`overhead:.2f`
# times as long under Lightning's loop as in a plain PyTorch loop (the median over
# {glue:text}`overhead_rounds` rounds, each timing both loops in turn); the difference is the
# per-step cost of callbacks, metric updates and logging. Training reaches
# {glue:text}`train_gflops:.1f` GFLOP/s against the {glue:text}`matmul_peak:.0f` GFLOP/s of a
# large matrix multiply: models this small are limited by per-operation overheads, not by
# arithmetic.
#
# ## Was the machine quiet?
#
# Each block of timings above, with the matrix-multiply probe just before and after it (and the
# best probe of the run), the spread of its repeats (median over low quantile) and the share
# of the CPU time that other processes used meanwhile. The memory blocks are counts and were
# not checked.

# %% tags=["nbval-ignore-output", "hide-input"]
quiet = sweeps.quietness_table(monitor.reports)
run.glue_all(evidence.quietness_glue(monitor.reports, monitor.disturbed))
readable(quiet, 2)

# %% [markdown]
# Of the {glue:text}`n_blocks` timing blocks, {glue:text}`n_disturbed` were disturbed
# ({glue:text}`disturbed_blocks`). A claim judged on a disturbed block is registered as not
# judged, with the reason and the verdict its rule gave on the disturbed numbers; rerun the
# chapter on a quiet machine to judge it.

# %% [markdown]
# ## Run record

# %% tags=["nbval-ignore-output", "hide-input"]
record = evidence.record(
    label=label, memory=memory, exponents=exponents, paper_memory=paper_memory, locus=locus,
    timing=timing, time_fit=time_fit, law=law, latency=latency, loops=loops,
    throughput=throughput, peak=peak, reports=monitor.reports)
run.metric_all(record)
run.glue("verdicts_here", run.verdict_text())
record_path = run.save()
