# %% [markdown]
# # Claims audit
#
# Every quantitative claim of the two source papers {cite}`seed000,seed002` has an identifier
# (C01 to C15). The chapter that tests a claim registers the value the paper states, the value
# measured here with its spread and unit, the device it was measured on and a verdict. This page
# is generated from those run records (`results/<profile>/*.json`); a claim that no chapter has
# registered yet is listed as *pending*.

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
from cancer_alpha import config, plots, results

cfg = config.from_parameters(profile, cohort=cohort, model=model, train=train,
                             evaluation=evaluation, profiling=profiling, ablation=ablation)
run = results.Run("07_claims_audit", cfg, results_dir)
rows = results.claims_table(cfg.name, results_dir)

# %% [markdown]
# ## Verdicts at a glance
#
# Claims about speed and memory (C03 to C07, C13, C14) are measured from wall-clock times and
# memory peaks, which change from run to run; their verdicts can too, so validation does not
# compare the next two cells. Every other verdict is reproduced exactly by a rerun.

# %% tags=["nbval-ignore-output"]
counts = {v: sum(r["verdict"] == v for r in rows) for v in plots.VERDICT_COLORS}
for verdict, n in counts.items():
    run.glue(f"n_{verdict.replace(' ', '_')}", n)
run.glue("n_claims", len(rows))
fig = run.figure(plots.verdict_summary(rows), "verdicts")

# %% [markdown]
# Of the {glue:text}`n_claims` claims, {glue:text}`n_reproduced` reproduced,
# {glue:text}`n_partly` reproduced in part, {glue:text}`n_not_reproduced` did not reproduce and
# {glue:text}`n_not_testable_here` cannot be tested on the hardware or data available here;
# {glue:text}`n_pending` are still pending.

# %% [markdown]
# ## Claims about what a model learns

# %%
import pandas as pd

table = pd.DataFrame(rows).set_index("id")
table["measured"] = [
    "" if r["measured"] is None else results.format_measure(r["measured"], r["spread"], r["unit"])
    for r in rows
]
shown = ["seed", "claim", "stated", "measured", "device", "verdict", "chapter", "note"]
table.loc[~table["compute"], shown]

# %% [markdown]
# ## Claims about speed and memory
#
# Measured on the device named in each row; the numbers change from run to run.

# %% tags=["nbval-ignore-output"]
table.loc[table["compute"], shown]

# %%
run.metric("verdicts", {r["id"]: r["verdict"] for r in rows})
record_path = run.save()
