"""Labelled multi-modal cohorts from one generative "world", with their latent truth.

A :class:`World` is drawn once from ``CohortConfig.world_seed``: the genome layout, each class's
tumour-fraction prior, and the methylation, fragmentomics and copy-number models. Samples are
then drawn from it with a separate seed (same world seed and same sample seed: the same cohort,
bit for bit). Class 0 is healthy: its tumour fraction is exactly 0, so all its modalities follow
the normal-plasma distributions.

The tumour fraction f of a cancer sample is shared by its three modalities (all are read from
the same plasma cfDNA). Its prior is a class-specific Beta shape discretised on the levels
{r, 2r, ..., f_max}; a discrete prior lets the Bayes classifier integrate f out as an exact
finite sum instead of an approximate quadrature.

The joint cross-modal signal: at ``joint_loci`` (on chromosomes that carry no class's
copy-number driver) the tumour methylation follows the hidden copy-number state with a
class-specific sign (gain -> high and loss -> low for one class, the reverse for another).
Copy number there is gain/loss symmetric and identical for every cancer class, so methylation
alone and copy number alone have the same distribution at those loci for every cancer class (at
a given tumour fraction); only their joint distribution tells the sign.

The interaction world (``CohortConfig.signal = "interaction"``) keeps only that joint signal:
two cancer classes (no healthy class) with one tumour-fraction prior, coupling signs +1 and -1,
no class- or cancer-specific methylation elsewhere, the normal fragment-length shape for both,
and the symmetric background copy-number chains on every chromosome for both (no drivers). Each
modality alone then has exactly the same distribution under both classes, so its Bayes
posterior is the prior; the class is written only in the methylation x copy-number interaction
at the same loci. It is the positive control of cross-modal attention (Chapter 6).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from ..config import CohortConfig, Profile, require
from ..data import ModalitySpec, MultiOmicsData
from .cna import CopyNumberModel
from .fragments import FragmentModel
from .methylation import MethylationModel

# hg38 autosome lengths in bp, chr1..chr22 (GRCh38 primary assembly)
HG38_AUTOSOMES = (
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
)
FRACTION_MEAN = (0.08, 0.20)  # class mean tumour fraction ("shedding"), uniform range
FRACTION_SHAPE = (2.0, 4.0)  # Beta shape a, uniform range: density vanishes at f -> 0
MIN_DRIVER_CHROMOSOMES = 3  # chromosomes kept free of joint loci, for the drivers


def genome_bins(n_loci: int) -> pd.DataFrame:
    """Equal-width bins on the 22 autosomes: one each, the rest in proportion to length."""
    lengths = np.array(HG38_AUTOSOMES)
    share = (n_loci - len(lengths)) * lengths / lengths.sum()
    counts = 1 + np.floor(share).astype(int)
    rest = n_loci - counts.sum()
    counts[np.argsort(-(share - np.floor(share)), kind="stable")[:rest]] += 1
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    rows = []
    for c, (length, m, off) in enumerate(zip(lengths, counts, offsets, strict=True)):
        edges = (np.arange(m + 1) * length) // m
        for start, end in zip(edges[:-1], edges[1:], strict=True):
            rows.append((f"chr{c + 1}", c, int(start), int(end), (off + (start + end) / 2) / 1e6))
    return pd.DataFrame(rows, columns=["chrom", "chrom_index", "start", "end", "position_mb"])


def fraction_prior(levels: np.ndarray, r: float, mean: float, shape: float) -> np.ndarray:
    """Beta(shape, shape (1 - mean) / mean) mass of the cell of width r around each level
    (the first cell reaches down to 0), renormalised over the levels."""
    edges = np.r_[0.0, levels[:-1] + r / 2, levels[-1] + r / 2]
    mass = np.diff(beta_dist.cdf(np.minimum(edges, 1.0), shape, shape * (1 - mean) / mean))
    return mass / mass.sum()


@dataclass(eq=False)
class Cohort:
    """A synthetic cohort: what models see (``data``) and the truth that generated it."""

    data: MultiOmicsData
    y: np.ndarray  # (n,) class indices
    class_names: list[str]
    tumour_fraction: np.ndarray  # (n,) latent; 0 for healthy samples
    cn_states: np.ndarray  # (n, n_loci) hidden copy numbers 1..4
    fragment_counts: np.ndarray | None  # (n, n_fragment_bins); None without fragmentomics
    joint_loci: np.ndarray  # locus indices of the planted methylation x copy-number signal
    loci: pd.DataFrame  # chrom, chrom_index, start, end (bp), position_mb (genome-wide)
    fragment_bins: np.ndarray  # (n_fragment_bins + 1,) bin edges in bp
    world: World


@dataclass(frozen=True, eq=False)
class World:
    """The generator: genome, class priors, tumour-fraction priors and the modality models."""

    config: CohortConfig
    loci: pd.DataFrame
    fraction_levels: np.ndarray  # (L + 1,) 0, r, 2r, ..., f_max
    fraction_prior: np.ndarray  # (K, L + 1) per class; healthy = all mass at 0
    joint_loci: np.ndarray
    methylation: MethylationModel
    fragments: FragmentModel
    cna: CopyNumberModel

    @classmethod
    def from_config(cls, cohort_cfg: CohortConfig) -> World:
        """Draw the world's parameters from ``cohort_cfg.world_seed``."""
        genome_rng, prior_rng, meth_rng, frag_rng, cna_rng = (
            np.random.default_rng(s)
            for s in np.random.SeedSequence(cohort_cfg.world_seed).spawn(5))
        k = len(cohort_cfg.class_names)
        loci = genome_bins(cohort_cfg.n_loci)
        chrom = loci["chrom_index"].to_numpy()
        n_chrom = len(HG38_AUTOSOMES)
        counts = np.bincount(chrom, minlength=n_chrom)
        bin_mb = np.array(HG38_AUTOSOMES) / counts / 1e6

        # joint loci live on chromosomes reserved from drivers, spread over about twice as
        # many loci as needed so that they do not all share one segment
        reserved, held = [], 0
        for c in genome_rng.permutation(n_chrom):
            if (held >= 2 * cohort_cfg.n_joint_loci
                    or n_chrom - len(reserved) <= MIN_DRIVER_CHROMOSOMES):
                break
            reserved.append(c)
            held += counts[c]
        require(held >= cohort_cfg.n_joint_loci, "cohort", "n_joint_loci", cohort_cfg.n_joint_loci,
                 f"at most {held} (the loci left on chromosomes free of copy-number drivers)")
        pool = np.flatnonzero(np.isin(chrom, reserved))
        joint = np.sort(genome_rng.choice(pool, size=cohort_cfg.n_joint_loci, replace=False))
        candidates = np.setdiff1d(np.arange(n_chrom), reserved)
        signs = np.resize([1, -1], k - 1)
        coupling = np.r_[0, genome_rng.permutation(signs)]

        n_levels = round(cohort_cfg.max_tumour_fraction / cohort_cfg.tumour_fraction_resolution)
        levels = cohort_cfg.tumour_fraction_resolution * np.arange(n_levels + 1)
        prior = np.zeros((k, n_levels + 1))
        prior[0, 0] = 1.0
        for i in range(1, k):
            mean, shape = prior_rng.uniform(*FRACTION_MEAN), prior_rng.uniform(*FRACTION_SHAPE)
            prior[i, 1:] = fraction_prior(levels[1:], cohort_cfg.tumour_fraction_resolution,
                                          mean, shape)

        e = cohort_cfg.effect_size
        world = cls(
            config=cohort_cfg, loci=loci, fraction_levels=levels, fraction_prior=prior,
            joint_loci=joint,
            methylation=MethylationModel.draw(meth_rng, cohort_cfg.n_loci, k, joint, coupling, e),
            fragments=FragmentModel.draw(frag_rng, cohort_cfg.n_fragment_bins, k,
                                         cohort_cfg.n_fragments, e),
            cna=CopyNumberModel.draw(cna_rng, chrom, bin_mb, k, candidates, e),
        )
        return world._interaction_only() if cohort_cfg.signal == "interaction" else world

    def _interaction_only(self) -> World:
        """This world with every signal but the methylation x copy-number coupling removed
        (two classes, both cancers; see the module's docstring)."""
        meth, frag, cna = self.methylation, self.fragments, self.cna
        k = self.n_classes
        # the background chain of chromosome c was stored at index c + 1 (cna.draw)
        background = np.tile(np.arange(1, cna.chain_of.shape[1] + 1), (k, 1))
        return dataclasses.replace(
            self,
            fraction_prior=np.tile(self.fraction_prior[1], (k, 1)),
            methylation=dataclasses.replace(
                meth, tumour_mean=np.tile(meth.normal_mean, (k, 1)),
                coupling=np.array([1, -1])),
            fragments=dataclasses.replace(frag, shape=np.tile(frag.shape[0], (k, 1))),
            cna=dataclasses.replace(cna, chain_of=background,
                                    driver=np.zeros_like(cna.driver)),
        )

    @property
    def healthy_class(self) -> int | None:
        """The class whose tumour fraction is 0 (class 0), or None (the interaction world)."""
        return 0 if self.config.signal == "full" else None

    @property
    def class_names(self) -> list[str]:
        return list(self.config.class_names)

    @property
    def class_priors(self) -> np.ndarray:
        return np.asarray(self.config.class_priors, float)

    @property
    def n_classes(self) -> int:
        return len(self.config.class_names)

    @property
    def effect_size(self) -> float:
        return float(self.config.effect_size)

    @property
    def coupling(self) -> np.ndarray:
        """Sign of the copy-number effect on methylation at the joint loci, per class."""
        return self.methylation.coupling

    def specs(self) -> list[ModalitySpec]:
        """The modality specs of this world's cohorts, in ``config.modalities`` order."""
        pos = tuple(float(p) for p in self.loci["position_mb"])
        spec = {
            "methylation": ModalitySpec("methylation", "methylation", len(pos), pos),
            "fragmentomics": ModalitySpec(
                "fragmentomics", "fragmentomics", len(self.fragments.centres),
                tuple(float(c) for c in self.fragments.centres)),
            "cna": ModalitySpec("cna", "cna", len(pos), pos),
        }
        return [spec[m] for m in self.config.modalities]

    def sample_tumour_fraction(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Tumour fractions of samples of classes y, from their classes' discrete priors."""
        cum = np.cumsum(self.fraction_prior, axis=1)
        cum /= cum[:, -1:]  # exactly 1 at the end: u in [0, 1) always finds a level
        u = rng.random(len(y))
        idx = np.empty(len(y), int)
        for k in range(self.n_classes):
            sel = y == k
            idx[sel] = np.searchsorted(cum[k], u[sel], side="right")
        return self.fraction_levels[idx]

    def sample(self, n_samples: int, seed: int = 0, *, classes: np.ndarray | None = None,
               tumour_fraction: float | np.ndarray | None = None) -> Cohort:
        """Draw a cohort of ``n_samples``; ``classes`` / ``tumour_fraction`` fix those latents
        instead of drawing them (healthy samples keep tumour fraction 0)."""
        require(isinstance(n_samples, int | np.integer) and n_samples > 0, "sample",
                 "n_samples", n_samples, "a positive integer")
        require(isinstance(seed, int | np.integer) and seed >= 0, "sample", "seed", seed,
                 "an integer >= 0")
        cohort_cfg, n, k = self.config, int(n_samples), self.n_classes
        class_rng, frac_rng, cna_rng, meth_rng, frag_rng, miss_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(6))

        if classes is None:
            y = class_rng.choice(k, size=n, p=self.class_priors)
        else:
            y = np.broadcast_to(np.asarray(classes), (n,)).astype(np.int64)
            require(bool(np.all((y >= 0) & (y < k))), "sample", "classes", classes,
                     f"class indices in [0, {k - 1}]")
        if tumour_fraction is None:
            f = self.sample_tumour_fraction(y, frac_rng)
        else:
            f = np.broadcast_to(np.asarray(tumour_fraction, float), (n,)).copy()
            require(bool(np.all((f >= 0) & (f <= cohort_cfg.max_tumour_fraction))), "sample",
                     "tumour_fraction", tumour_fraction,
                     f"values in [0, max_tumour_fraction={cohort_cfg.max_tumour_fraction}]")
        if self.healthy_class is not None:
            f = np.where(y == self.healthy_class, 0.0, f)

        cn_states = self.cna.sample_states(y, cna_rng)
        x: dict[str, np.ndarray] = {}
        counts = None
        if "cna" in cohort_cfg.modalities:
            x["cna"] = self.cna.sample(y, f, cna_rng, copy_number=cn_states)[0]
        if "methylation" in cohort_cfg.modalities:
            x["methylation"] = self.methylation.sample(y, f, cn_states, meth_rng)
        if "fragmentomics" in cohort_cfg.modalities:
            counts = self.fragments.sample(y, f, frag_rng)
            x["fragmentomics"] = counts / cohort_cfg.n_fragments

        mask = self._missingness(n, miss_rng)
        for j, m in enumerate(cohort_cfg.modalities):
            x[m][~mask[:, j]] = np.nan
        data = MultiOmicsData(
            specs=self.specs(), x={m: x[m] for m in cohort_cfg.modalities}, mask=mask, y=y,
            class_names=self.class_names, feature_names=self._feature_names(),
        )
        return Cohort(data=data, y=y, class_names=self.class_names, tumour_fraction=f,
                      cn_states=cn_states, fragment_counts=counts, joint_loci=self.joint_loci,
                      loci=self.loci, fragment_bins=self.fragments.edges, world=self)

    def _missingness(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Observed-modality mask (n, M): each modality missing at random with probability
        ``missing_rate``; a sample that would have none keeps one at random."""
        n_mod = len(self.config.modalities)
        mask = rng.random((n, n_mod)) >= self.config.missing_rate
        keep = rng.integers(n_mod, size=n)
        empty = ~mask.any(axis=1)
        mask[empty, keep[empty]] = True
        return mask

    def _feature_names(self) -> dict[str, list[str]]:
        loci = [f"{c}:{s}-{e}" for c, s, e in
                self.loci[["chrom", "start", "end"]].itertuples(index=False)]
        edges = self.fragments.edges
        bins = [f"{lo:g}-{hi:g}bp" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        names = {"methylation": loci, "fragmentomics": bins, "cna": loci}
        return {m: names[m] for m in self.config.modalities}


def synthesize(cohort_cfg: CohortConfig, n_samples: int | None = None, seed: int = 0) -> Cohort:
    """Draw a cohort of ``n_samples`` (default ``cohort_cfg.n_samples``) from
    ``cohort_cfg``'s world."""
    n = cohort_cfg.n_samples if n_samples is None else n_samples
    return World.from_config(cohort_cfg).sample(n, seed)


def standard_cohorts(profile: Profile) -> tuple[Cohort, Cohort]:
    """The book's training cohort (seed ``data_seed``, ``cohort.n_samples``) and held-out
    cohort (seed ``data_seed + 1``, ``evaluation.test_samples``) from one world."""
    world = World.from_config(profile.cohort)
    seed = profile.evaluation.data_seed
    return (world.sample(profile.cohort.n_samples, seed),
            world.sample(profile.evaluation.test_samples, seed + 1))
