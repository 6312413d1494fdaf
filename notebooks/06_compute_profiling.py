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
import pandas as pd
import torch

from cancer_alpha import claims, plots, results
from cancer_alpha import profiling as prof
from cancer_alpha.models import LOCUS_TRANSFORMER, TRANSFORMER
from cancer_alpha.profiling import sweeps
from cancer_alpha.tables import readable

device = "cuda" if torch.cuda.is_available() else "cpu"
label = prof.device_label(device)
run = results.start_run("06_compute_profiling", profile, overrides, results_dir, device=label)
profile = run.profile
paper_features = profile.profiling.claim_features  # the papers': 110 features per modality
run.glue("device", label)
run.glue("paper_features", paper_features)
monitor = prof.QuietnessMonitor(device)  # checks each block of timings below
run.glue("low_quantile_pct", 100 * prof.LOW_QUANTILE)
run.glue("peak_tolerance_pct", 100 * prof.PEAK_TOLERANCE)
run.glue("spread_tolerance", prof.SPREAD_TOLERANCE)
run.glue("foreign_tolerance_pct", 100 * prof.FOREIGN_TOLERANCE)
run.glue("probe_size", prof.quietness.PROBE_SIZE)

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
locus = fits[LOCUS_TRANSFORMER]
run.glue("locus_exponent", locus.exponent)
run.glue("locus_lo", locus.ci95[0])
run.glue("locus_hi", locus.ci95[1])
run.glue("perceiver_exponent", fits["perceiver_io"].exponent)
closest = sweeps.closest_length(profile.profiling.sequence_lengths, paper_features)
longest = max(profile.profiling.sequence_lengths)
ratio = sweeps.memory_ratio(memory, closest)
ratio_long = sweeps.memory_ratio(memory, longest)
run.glue("c14_ratio", ratio)
run.glue("c14_ratio_long", ratio_long)
run.claim(claims.judge_c03(locus.exponent, locus.ci95),
          note=f"peak training-step memory fitted over {list(profile.profiling.sequence_lengths)} "
               "features per modality")
run.claim(claims.judge_c14(1 - ratio),
          note=f"Perceiver IO vs the full-attention multi-modal transformer over the same "
               f"tokens, one training step at {closest} features per modality; at {longest} "
               f"features the reduction is {100 * (1 - ratio_long):.0f}%")

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
run.glue("time_exponent", time_fit.exponent)
run.glue("time_lo", time_fit.ci95[0])
run.glue("time_hi", time_fit.ci95[1])
run.glue("time_law", law.preferred)
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
          note=f"epoch time (low quantile of {profile.profiling.repeats} repeats) over "
               f"{list(profile.profiling.dataset_sizes)} samples")

# %% [markdown]
# ## The paper's configuration: memory and total training time (claims C05 and C06)

# %% tags=["nbval-ignore-output", "hide-input"]
paper_memory = sweeps.paper_memory(paper_features, profile.train.batch_size, profile.train,
                                   profile.model, device=device)
peak_mb = float(paper_memory.loc[TRANSFORMER, "total_mb"])
run.glue("paper_peak_mb", peak_mb)
run.glue("paper_peak_locus_mb", float(paper_memory.loc[LOCUS_TRANSFORMER, "total_mb"]))
readable(paper_memory, 1)

# %% tags=["nbval-ignore-output", "hide-input"]
try:
    training = results.load(profile.name, "04_training", results_dir)["metrics"]["models"]
except FileNotFoundError:
    training = {}
fit_s = training.get(TRANSFORMER, {}).get("fit_seconds_mean")
run.glue("mmt_fit_seconds", float("nan") if fit_s is None else fit_s)
run.claim(claims.judge_c05(peak_mb / 1000),
          note=f"batch {profile.train.batch_size}, {paper_features} features per modality, "
               f"mmt_modality: {peak_mb:.0f} MB of tensors at the peak of a training step "
               f"(locus tokens: {paper_memory.loc['mmt_locus', 'total_mb']:.0f} MB); a GPU "
               "would hold the same tensors plus the memory of its runtime")
run.claim(claims.judge_c06(fit_s),
          note=f"measured on {label} by Chapter 4, whose fits are not checked for a quiet "
               "machine: other work there only lengthens them")

# %% [markdown]
# At the papers' configuration, training the modality-token transformer holds at most
# {glue:text}`paper_peak_mb:.0f` MB of tensors (weights, gradients, optimiser state and the
# activations of one step) ({glue:text}`paper_peak_locus_mb:.0f` MB with
# locus tokens), and a whole fit in Chapter 4 took {glue:text}`mmt_fit_seconds:.0f` seconds on
# this device.
#
# ## Inference latency (claim C13)

# %% tags=["nbval-ignore-output", "hide-input"]
with monitor.block("inference latency (C13)") as latency_block:
    latency = {name: prof.latency_of(name, paper_features, profile.model,
                                     n_samples=profile.profiling.latency_samples)
               for name in [TRANSFORMER, LOCUS_TRANSFORMER, "perceiver_io", "early_fusion_mlp"]}
    latency_block.timings(*latency.values())
lat = pd.DataFrame({n: {"batched_ms_per_sample": r.batched_ms_per_sample,
                        "single_low_ms": r.single_low_ms, "single_p50_ms": r.single_p50_ms,
                        "single_p99_ms": r.single_p99_ms}
                    for n, r in latency.items()}).T
run.glue("lat_batched", latency[TRANSFORMER].batched_ms_per_sample)
run.glue("lat_batch_repeats", latency[TRANSFORMER].batch_repeats)
run.glue("lat_low", latency[TRANSFORMER].single_low_ms)
run.glue("lat_p50", latency[TRANSFORMER].single_p50_ms)
fig = run.figure(plots.latency(lat), "latency",
                 caption="Batched and single-sample inference latency per model (log scale).")
readable(lat, 3)

# %% tags=["nbval-ignore-output", "hide-input"]
run.claim(claims.judge_c13(latency[TRANSFORMER].single_low_ms,
                           quiet=[latency_block.report]),
          note=f"mmt_modality on {label}; single-sample {100 * prof.LOW_QUANTILE:.0f}th "
               f"percentile of {profile.profiling.latency_samples} calls, median "
               f"{latency['mmt_modality'].single_p50_ms:.3f} ms; batched: "
               f"{latency['mmt_modality'].batched_ms_per_sample:.4f} ms per sample")

# %% [markdown]
# One sample at a time, the modality-token transformer answers in {glue:text}`lat_low:.2f` ms
# at the {glue:text}`low_quantile_pct:.0f`th percentile of the calls after warm-up
# ({glue:text}`lat_p50:.2f` ms at the median); in batches it costs
# {glue:text}`lat_batched:.4f` ms per sample (the fastest of {glue:text}`lat_batch_repeats`
# passes). The figure shows the batched cost beside the median single-sample latency.
#
# ## Where the time goes: Lightning's loop, and achieved throughput

# %% tags=["nbval-ignore-output", "hide-input"]
lightning_epoch, plain_epoch = prof.plain_epoch_fn(
    TRANSFORMER, profile.profiling.overhead_samples, paper_features, profile.train,
    profile.model)
with monitor.block("Lightning against a plain loop") as loop_block:
    loops = prof.time_interleaved({"Lightning": lightning_epoch, "plain PyTorch": plain_epoch},
                                  repeats=profile.profiling.repeats, warmup=1)
    loop_block.timings(loops)
with monitor.block("training throughput") as throughput_block:
    throughput = prof.train_gflops(TRANSFORMER, paper_features, profile.train.batch_size,
                                   profile.model, repeats=profile.profiling.repeats,
                                   train_cfg=profile.train)
    throughput_block.timings(throughput["step_seconds"])
run.glue("overhead", loops.ratio)
run.glue("overhead_rounds", loops.rounds)
run.glue("train_gflops", throughput["gflops"])
readable(pd.DataFrame({"s per epoch (low quantile)": {n: loops[n].low_s for n in loops.names},
                       "s per epoch (median)": {n: loops[n].median_s for n in loops.names}}), 3)

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
run.glue("n_blocks", len(monitor.reports))
run.glue("n_disturbed", len(monitor.disturbed))
run.glue("disturbed_blocks", ", ".join(r.block for r in monitor.disturbed) or "none")
readable(quiet, 2)

# %% [markdown]
# Of the {glue:text}`n_blocks` timing blocks, {glue:text}`n_disturbed` were disturbed
# ({glue:text}`disturbed_blocks`). A claim judged on a disturbed block is registered as not
# judged, with the reason and the verdict its rule gave on the disturbed numbers; rerun the
# chapter on a quiet machine to judge it.

# %% [markdown]
# ## Run record

# %% tags=["nbval-ignore-output", "hide-input"]
run.metric("device", label)
run.metric("memory_points", memory.to_dict(orient="list"))
run.metric("memory_exponents", exponents.reset_index(names="model").to_dict(orient="records"))
run.metric("peak_train_memory_mb", paper_memory["total_mb"].to_dict())
run.metric("memory_exponent", {"value": locus.exponent, "ci95": list(locus.ci95),
                               "model": LOCUS_TRANSFORMER})
run.metric("time_points", timing.to_dict(orient="list"))
run.metric("time_exponent", {"value": time_fit.exponent, "ci95": list(time_fit.ci95),
                             "preferred_law": law.preferred})
run.metric("inference_ms_per_sample_batched", latency[TRANSFORMER].batched_ms_per_sample)
run.metric("inference_ms_single_p50", latency[TRANSFORMER].single_p50_ms)
run.metric("inference_ms_single_low", latency[TRANSFORMER].single_low_ms)
run.metric("low_quantile", prof.LOW_QUANTILE)
run.metric("latency", lat.to_dict(orient="index"))
run.metric("lightning_overhead_ratio", loops.ratio)
run.metric("lightning_overhead", loops.to_dict())
run.metric("train_gflops", throughput["gflops"])
run.metric("matmul_peak_gflops", peak)
run.metric("quietness", [r.to_dict() for r in monitor.reports])
run.metric("quietness_tolerances", {"peak": prof.PEAK_TOLERANCE,
                                    "spread": prof.SPREAD_TOLERANCE,
                                    "foreign_share": prof.FOREIGN_TOLERANCE})
run.glue("verdicts_here", run.verdict_text())
record_path = run.save()
