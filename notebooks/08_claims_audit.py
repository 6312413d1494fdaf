# %% [markdown]
# # Claims audit
#
# Every quantitative claim of the MMT paper {cite}`mmt2025` and the Cancer Alpha paper
# {cite}`stillwell2025` has an identifier (C01 to C15). Each claim has one verdict rule in the
# package (`cancer_alpha.claims`), whose thresholds are listed below. The chapter that tests a
# claim measures the evidence, and registers what the rule makes of it: the value the paper
# states, the value measured here with its spread and unit, the device it was measured on, the
# verdict and its reason. This page is generated from those run records
# (`results/<profile>/*.json`); a claim that no chapter has registered yet is listed as
# *pending*. A profile too small to judge any claim (the smoke profile of continuous
# integration) registers every claim as *not judged*, and the rule's own verdict beside it.

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
from cancer_alpha import claims, config, plots, results

profile = config.from_parameters(profile, cohort=cohort, model=model, train=train,
                             evaluation=evaluation, profiling=profiling, ablation=ablation)
run = results.Run("08_claims_audit", profile, results_dir)
rows = results.claims_table(profile.name, results_dir)

# %% [markdown]
# ## Verdicts at a glance
#
# Claims about speed and memory (C03 to C07, C13, C14) are measured from wall-clock times and
# memory peaks, which change from run to run; their verdicts can too, so validation does not
# compare the next two cells. Every other verdict is reproduced exactly by a rerun.

# %% tags=["nbval-ignore-output"]
counts = {v: sum(r["verdict"] == v for r in rows) for v in (*config.VERDICTS, "pending")}
for verdict, n in counts.items():
    run.glue(f"n_{verdict.replace(' ', '_')}", n)
run.glue("n_claims", len(rows))
fig = run.figure(plots.verdict_summary(rows), "verdicts")

# %% [markdown]
# Of the {glue:text}`n_claims` claims, {glue:text}`n_reproduced` reproduced,
# {glue:text}`n_partly` reproduced in part, {glue:text}`n_not_reproduced` did not reproduce,
# {glue:text}`n_not_testable_here` cannot be tested on the hardware or data available here and
# {glue:text}`n_not_judged` were not judged at this profile; {glue:text}`n_pending` are still
# pending.

# %% [markdown]
# ## Claims about what a model learns

# %%
import pandas as pd

table = pd.DataFrame(rows).set_index("id")
table["measured"] = [
    "" if r["measured"] is None else results.format_measure(r["measured"], r["spread"], r["unit"])
    for r in rows
]
shown = ["paper", "claim", "stated", "measured", "device", "verdict", "chapter", "note"]
if not claims.judges_claims(profile):
    shown.insert(shown.index("verdict") + 1, "rule_verdict")
table.loc[~table["compute"], shown]

# %% [markdown]
# ## Claims about speed and memory
#
# Measured on the device named in each row; the numbers change from run to run.

# %% tags=["nbval-ignore-output"]
table.loc[table["compute"], shown]

# %% [markdown]
# ## What each verdict needs
#
# The rule of each claim, with its thresholds, as `cancer_alpha.claims` applies it; the
# package's tests check every rule just inside and just outside each threshold.

# %%
pd.DataFrame({"paper": {c.id: c.source for c in claims.CLAIMS.values()},
              "stated": {c.id: c.stated for c in claims.CLAIMS.values()},
              "rule": claims.CRITERIA,
              "tested in": {c.id: f"{c.chapter}: {c.chapter_section}"
                            for c in claims.CLAIMS.values()}})

# %%
run.metric("verdicts", {r["id"]: r["verdict"] for r in rows})
record_path = run.save()
