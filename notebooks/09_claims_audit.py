# %% [markdown]
# # Claims audit
#
# Every quantitative claim of the MMT paper {cite}`mmt2025` and the Cancer Alpha paper
# {cite}`stillwell2025` has an identifier (C01 to C15) and one verdict rule in the package
# (`cancer_alpha.claims`), whose thresholds are listed at the end of this page. The chapter that
# tests a claim measures the evidence and registers what the rule makes of it. Each card below
# shows the claim as the papers state it and where, the value stated beside the value measured
# here (with its spread and unit), the device it was measured on, the verdict, the rule's
# reason, and a link to the section of the chapter that holds the evidence. The page is
# generated from the run records (`results/<profile>/*.json`); a claim that no chapter has
# registered yet is listed as *pending*.

# %% tags=["parameters", "hide-input"]
profile = "paper"  # a profile of profiles/ by name, or the path of a YAML file
# optional settings over the profile's, dotted or by section: {"train.max_epochs": 5}
overrides = {}
results_dir = "results"

# %% tags=["hide-input"]
from IPython.display import HTML

from cancer_alpha import audit, claims, plots, results, stamps

run = results.start_run("09_claims_audit", profile, overrides, results_dir)
profile = run.profile
chapters = [c.name for c in stamps.chapters() if c.name != run.chapter]
records = audit.read_records(profile.name, chapters, results_dir)
rows = audit.rows(profile.name, results_dir)
HTML(audit.render_notes(audit.reader_notes(profile.name, claims.judges_claims(profile),
                                           records)))

# %% [markdown]
# ## Verdicts at a glance
#
# Claims about speed and memory (C03 to C07, C13, C14) are measured from wall-clock times and
# memory peaks, which change from run to run; their verdicts can too, so validation does not
# compare the counts and the cards of those claims. Every other verdict is reproduced exactly
# by a rerun.

# %% tags=["hide-input", "nbval-ignore-output"]
counts = audit.count_glue(rows)
run.glue_all(counts)
alt = f"Claims by verdict: {counts['verdict_sentence']}"
fig = run.figure(plots.verdict_summary(rows), "verdicts",
                 caption="The claims of both papers by verdict.", alt=alt)
run.glue("verdict_figure", HTML(audit.figure_html(
    fig, alt=alt, caption=f"The {len(rows)} claims by verdict at the {profile.name} profile.")),
    display=False)

# %% [markdown]
# Of the {glue:text}`n_claims` claims, {glue:text}`n_reproduced` reproduced,
# {glue:text}`n_partly` reproduced in part, {glue:text}`n_not_reproduced` did not reproduce,
# {glue:text}`n_not_testable_here` cannot be tested on the hardware or data available here and
# {glue:text}`n_not_judged` were not judged at this profile; {glue:text}`n_pending` are still
# pending.

# %% [markdown]
# ## Claims about what a model learns

# %% tags=["hide-input"]
HTML(audit.render([r for r in rows if not r["compute"]], profile.name))

# %% [markdown]
# ## Claims about speed and memory
#
# Measured on the device named on each card; the numbers change from run to run.

# %% tags=["hide-input", "nbval-ignore-output"]
HTML(audit.render([r for r in rows if r["compute"]], profile.name))

# %% [markdown]
# ## What each verdict needs
#
# The rule of each claim, with its thresholds, as `cancer_alpha.claims` applies it; the
# package's tests check every rule just inside and just outside each threshold.

# %% tags=["hide-input"]
HTML(audit.render_criteria())

# %% [markdown]
# ## Run record
#
# The headline numbers of the book's introduction are read here from the records of the
# comparison (Chapter 4) and the real data (Chapter 8), so that the introduction shows the
# numbers of the same run as the chapters.

# %% tags=["remove-input"]
run.glue_all(audit.findings(records))
run.glue("changed_conclusions", HTML(audit.changed_conclusions_html(records)))
run.glue("judging_note", audit.judging_note(profile.name, claims.judges_claims(profile),
                                            len(rows)))
run.glue("missing_note", " ".join(audit.missing_records(records, profile.name)))
run.metric("verdicts", {r["id"]: r["verdict"] for r in rows})
run.metric("findings", audit.findings(records))
record_path = run.save()
