"""Figures of Chapter 1: the synthetic cohorts, each modality drawn, and the Bayes ceilings."""

from __future__ import annotations

import numpy as np  # noqa: E402

from cancer_alpha.plots.style import (
    CEILING_STYLE,
    class_palette,
    figure,
    modality_color,
    subplots,
)


def _chromosome_boundaries(ax, loci) -> None:
    """Vertical lines between chromosomes and their names along the genome axis."""
    chrom = loci["chrom"].to_numpy()
    pos = loci["position_mb"].to_numpy()
    starts = [0] + [i for i in range(1, len(chrom)) if chrom[i] != chrom[i - 1]]
    for i in starts[1:]:
        ax.axvline((pos[i - 1] + pos[i]) / 2, color="0.85", linewidth=0.6, zorder=0)
    ends = starts[1:] + [len(chrom)]
    ticks = [pos[s:e].mean() for s, e in zip(starts, ends, strict=True)]
    labels = [str(chrom[s]).removeprefix("chr") for s in starts]
    ax.set_xticks(ticks[::2], labels[::2], fontsize=6)
    ax.grid(False)


@figure
def methylation_densities(cohort, bins: int = 50):
    """Pooled beta values per class: the bimodal shape of methylation arrays."""
    x = cohort.data.x["methylation"]
    palette = class_palette(cohort.class_names)
    fig, ax = subplots(width=6.4, height=3.0)
    edges = np.linspace(0, 1, bins + 1)
    for k, name in enumerate(cohort.class_names):
        rows = x[(cohort.y == k) & cohort.data.mask[:, cohort.data.modalities.index("methylation")]]
        if len(rows):
            ax.hist(rows.ravel(), bins=edges, density=True, histtype="step", linewidth=1.2,
                    color=palette[name], label=name)
    ax.set_xlabel("beta value (methylated fraction of a CpG region)")
    ax.set_ylabel("density")
    ax.legend(ncol=len(cohort.class_names), loc="upper center")
    return fig


@figure
def fragment_lengths(cohort):
    """Mean fragment-length distribution per class, with the nucleosomal peaks marked."""
    edges = np.asarray(cohort.fragment_bins)
    centres = (edges[:-1] + edges[1:]) / 2
    x = cohort.data.x["fragmentomics"]
    present = cohort.data.mask[:, cohort.data.modalities.index("fragmentomics")]
    palette = class_palette(cohort.class_names)
    fig, (ax, zoom) = subplots(1, 2, width=8.0, height=3.0, gridspec_kw={"width_ratios": [2, 1]})
    for k, name in enumerate(cohort.class_names):
        rows = x[(cohort.y == k) & present]
        if len(rows):
            mean = rows.mean(axis=0) / np.diff(edges)
            ax.plot(centres, mean, color=palette[name], label=name, linewidth=1.1)
            zoom.plot(centres, mean, color=palette[name], linewidth=1.1)
    for a in (ax, zoom):
        for peak in (167, 334):  # mono- and dinucleosomal fragment lengths
            a.axvline(peak, **{**CEILING_STYLE, "linewidth": 0.7})
    ax.set_xlabel("fragment length (bp)")
    ax.set_ylabel("fraction of fragments per bp")
    ax.legend()
    zoom.set_xlim(90, 200)
    zoom.set_xlabel("fragment length (bp), zoom")
    zoom.set_title("10-bp periodicity below the main peak", fontsize=8)
    return fig


@figure
def copy_number_profiles(cohort, samples):
    """Log2 ratios along the genome for a few samples, with the hidden copy-number states."""
    loci = cohort.loci
    pos = loci["position_mb"].to_numpy()
    x = cohort.data.x["cna"]
    fig, axes = subplots(len(samples), 1, width=7.5, height=1.5 * len(samples), sharex=True,
                         squeeze=False)
    for ax, i in zip(axes[:, 0], samples, strict=True):
        ax.scatter(pos, x[i], s=6, color=modality_color("cna"), label="observed log2 ratio")
        states = cohort.cn_states[i]
        w = cohort.world.effect_size * cohort.tumour_fraction[i]
        expected = np.log2(1 + w * (states - 2) / 2)
        ax.step(pos, expected, where="mid", color="black", linewidth=1.0,
                label="hidden state (expected ratio)")
        name = cohort.class_names[cohort.y[i]]
        ax.set_title(f"sample {i}: {name}, tumour fraction {cohort.tumour_fraction[i]:.2f}",
                     fontsize=8, loc="left")
        ax.set_ylabel("log2 ratio")
        _chromosome_boundaries(ax, loci)
    axes[0, 0].legend(loc="upper right", ncol=2)
    axes[-1, 0].set_xlabel("chromosome")
    return fig


@figure
def sample_views(cohort, i: int):
    """One sample's three modalities side by side."""
    fig, (a, b, c) = subplots(1, 3, width=9.0, height=2.6)
    loci = cohort.loci
    pos = loci["position_mb"].to_numpy()
    a.scatter(pos, cohort.data.x["methylation"][i], s=6, color=modality_color("methylation"))
    a.set_ylim(0, 1)
    a.set_ylabel("beta value")
    a.set_title("methylation", fontsize=9)
    _chromosome_boundaries(a, loci)
    edges = np.asarray(cohort.fragment_bins)
    b.stairs(cohort.data.x["fragmentomics"][i], edges, color=modality_color("fragmentomics"))
    b.set_xlabel("fragment length (bp)")
    b.set_ylabel("fraction of fragments")
    b.set_title("fragment lengths", fontsize=9)
    c.scatter(pos, cohort.data.x["cna"][i], s=6, color=modality_color("cna"))
    c.set_ylabel("log2 ratio")
    c.set_title("copy number", fontsize=9)
    _chromosome_boundaries(c, loci)
    fig.suptitle(f"sample {i}: {cohort.class_names[cohort.y[i]]}, tumour fraction "
                 f"{cohort.tumour_fraction[i]:.2f}", fontsize=9)
    return fig


@figure
def class_balance(y, class_names, mask, modalities):
    """Samples per class, and the share of samples missing each modality."""
    fig, (a, b) = subplots(1, 2, width=7.5, height=2.6)
    counts = np.bincount(y, minlength=len(class_names))
    palette = class_palette(class_names)
    a.bar(class_names, counts, color=[palette[c] for c in class_names])
    a.set_ylabel("samples")
    a.set_title("class balance", fontsize=9)
    a.tick_params(axis="x", rotation=30)
    missing = 1 - mask.mean(axis=0)
    b.bar(modalities, missing, color=[modality_color(m) for m in modalities])
    b.set_ylabel("share of samples missing it")
    b.set_ylim(0, max(0.05, float(missing.max()) * 1.3))
    b.set_title("missing modalities", fontsize=9)
    return fig


@figure
def ceiling_vs_difficulty(table, chance: float, default: float | None = None):
    """Bayes accuracy against the effect size, joint and per modality."""
    fig, ax = subplots(width=6.4, height=3.2)
    if default is not None:
        ax.axvline(default, color="0.7", linewidth=4, alpha=0.4, label="default difficulty")
    for column in table.columns:
        style = {"color": "black", "linewidth": 2} if column == "joint" else {
            "color": modality_color(column)}
        ax.plot(table.index, table[column], marker="o", label=column, **style)
    ax.axhline(chance, color="0.5", linestyle=":", label="chance (largest prior)")
    ax.set_xlabel("effect size (multiplies every tumour-derived deviation)")
    ax.set_ylabel("Bayes-optimal accuracy")
    ax.legend()
    return fig


@figure
def subset_ceilings(ceilings, intervals=None):
    """Bayes accuracy for each subset of modalities, as horizontal bars with their intervals."""
    names = list(ceilings)
    values = [ceilings[n] for n in names]
    fig, ax = subplots(width=6.4, height=0.35 * len(names) + 0.8)
    ax.barh(names, values, color="0.6")
    if intervals:
        lo = [values[i] - intervals[n][0] for i, n in enumerate(names)]
        hi = [intervals[n][1] - values[i] for i, n in enumerate(names)]
        ax.errorbar(values, names, xerr=[lo, hi], fmt="none", color="black", capsize=2)
    ax.set_xlim(min(values) - 0.1, 1.0)
    ax.set_xlabel("Bayes-optimal accuracy")
    ax.invert_yaxis()
    return fig


@figure
def joint_signal(world, seed: int, n: int = 400, tumour_fraction: float = 0.4):
    """Methylation and copy number at the joint loci for two cancer classes of opposite sign."""
    plus = int(np.flatnonzero(world.coupling == 1)[0])
    minus = int(np.flatnonzero(world.coupling == -1)[0])
    palette = class_palette(world.class_names)
    fig, (a, b, c) = subplots(1, 3, width=9.0, height=2.8)
    for k in (plus, minus):
        # a seed per class: with one seed both classes would share their copy-number draws
        co = world.sample(n, seed + k, classes=k, tumour_fraction=tumour_fraction)
        meth = co.data.x["methylation"][:, world.joint_loci].ravel()
        cna = co.data.x["cna"][:, world.joint_loci].ravel()
        name = world.class_names[k]
        a.hist(meth, bins=30, range=(0, 1), histtype="step", color=palette[name], label=name)
        b.hist(cna, bins=30, histtype="step", color=palette[name], label=name)
        c.scatter(cna, meth, s=3, alpha=0.35, color=palette[name], label=name)
        slope, intercept = np.polyfit(cna, meth, 1)
        grid = np.linspace(cna.min(), cna.max(), 2)
        c.plot(grid, intercept + slope * grid, color=palette[name], linewidth=1.5)
    a.set_xlabel("methylation (beta)")
    a.set_title("methylation alone", fontsize=9)
    b.set_xlabel("copy number (log2 ratio)")
    b.set_title("copy number alone", fontsize=9)
    c.set_xlabel("copy number (log2 ratio)")
    c.set_ylabel("methylation (beta)")
    c.set_title("together", fontsize=9)
    a.legend()
    return fig
