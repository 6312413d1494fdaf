"""The exact Bayes-optimal classifier of the synthetic generator: the ceiling of every model.

p(class k | observed modalities) is proportional to

    prior_k * sum_l w_kl * p(methylation | k, f_l) p(fragments | k, f_l) p(copy number | k, f_l)

with the tumour fraction f summed over its discrete levels f_l (prior weights w_kl; healthy has
f = 0 only). Given class and f the modalities are independent except at the joint loci, where
methylation depends on the hidden copy-number state: there its likelihood is folded into the
copy-number HMM's emissions, and the forward algorithm sums the hidden states out exactly. A
modality that a sample lacks (``data.mask``) or that is left out (``modalities=``) contributes
nothing, which marginalises it exactly: without copy number the forward pass runs on the joint
loci's methylation factors only. The same model objects draw the data and score it here.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .config import MODALITIES, CohortConfig
from .data import MultiOmicsData
from .evaluate import wilson_ci95
from .synth.cna import NEUTRAL, ScaledForward, scaled_emission
from .synth.cohort import World


class BayesClassifier:
    """Posterior class probabilities under the generator of ``world`` (scikit-learn style)."""

    def __init__(self, world: World, chunk_size: int = 256) -> None:
        if not isinstance(chunk_size, int) or chunk_size <= 0:
            raise ValueError(f"chunk_size = {chunk_size!r} is invalid: expected a positive "
                             "integer")
        self.world = world
        self.chunk_size = chunk_size
        self.classes_ = np.arange(world.n_classes)
        self.class_names = world.class_names

    def log_joint(self, data: MultiOmicsData,
                  modalities: Sequence[str] | None = None) -> np.ndarray:
        """log p(class k, observed modalities) per sample: (n, K)."""
        return self.log_joint_subsets(data, [modalities])[0]

    def log_joint_subsets(self, data: MultiOmicsData,
                          subsets: Sequence[Sequence[str] | None]) -> list[np.ndarray]:
        """:meth:`log_joint` for several modality subsets at once, sharing the work they have
        in common (each modality's likelihood, each variant of the forward pass)."""
        uses = [self._check(data, s) for s in subsets]
        n = data.n_samples
        out = [np.empty((n, self.world.n_classes)) for _ in uses]
        for lo in range(0, n, self.chunk_size):
            sl = slice(lo, min(lo + self.chunk_size, n))
            x, obs = {}, {}
            for m in set().union(*uses):
                o = data.mask[sl, data.modalities.index(m)]
                if o.any():  # a modality nobody in the chunk has contributes nothing
                    obs[m] = o
                    x[m] = np.where(o[:, None], data.x[m][sl], _FILL[m])
            cache: dict[tuple, np.ndarray] = {}
            for use, res in zip(uses, out, strict=True):
                keep = [m for m in use if m in x]
                res[sl] = self._log_joint({m: x[m] for m in keep}, {m: obs[m] for m in keep},
                                          sl.stop - sl.start, cache)
        return out

    def predict_proba(self, data: MultiOmicsData,
                      modalities: Sequence[str] | None = None) -> np.ndarray:
        """p(class | observed modalities): (n, K), rows summing to 1."""
        lj = self.log_joint(data, modalities)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def predict(self, data: MultiOmicsData,
                modalities: Sequence[str] | None = None) -> np.ndarray:
        """The most probable class of each sample (n,)."""
        return np.argmax(self.log_joint(data, modalities), axis=1)

    def score(self, data: MultiOmicsData, y: np.ndarray | None = None,
              modalities: Sequence[str] | None = None) -> float:
        """Accuracy against ``y`` (default ``data.y``)."""
        y = data.y if y is None else np.asarray(y)
        if y is None:
            raise ValueError("y = None is invalid: expected labels, passed or in data.y")
        return float(np.mean(self.predict(data, modalities) == y))

    # ------------------------------------------------------------------ internals

    def _check(self, data: MultiOmicsData, modalities: Sequence[str] | None) -> list[str]:
        if modalities is None:
            use = [m for m in data.modalities if m in MODALITIES]
        else:
            use = list(modalities)
            bad = [m for m in use if m not in data.modalities or m not in MODALITIES]
            if bad or not use or len(set(use)) != len(use):
                raise ValueError(f"modalities = {list(modalities)!r} is invalid: expected a "
                                 f"non-empty list of distinct names among {data.modalities}")
        w = self.world
        width = {"methylation": w.config.n_loci, "cna": w.config.n_loci,
                 "fragmentomics": w.config.n_fragment_bins}
        for m in use:
            arr = data.x[m]
            if arr.shape[1] != width[m]:
                raise ValueError(f"data.x[{m!r}] has {arr.shape[1]} features: expected "
                                 f"{width[m]}, as in this classifier's world")
            seen = arr[data.mask[:, data.modalities.index(m)]]
            if not np.isfinite(seen).all():
                raise ValueError(f"data.x[{m!r}] has non-finite values in observed rows: "
                                 "expected NaN only where data.mask is False")
            if m == "methylation" and not ((seen > 0) & (seen < 1)).all():
                raise ValueError("data.x['methylation'] has values outside (0, 1): expected "
                                 "beta values")
        return use

    def _log_joint(self, x: dict[str, np.ndarray], obs: dict[str, np.ndarray], n: int,
                   cache: dict[tuple, np.ndarray]) -> np.ndarray:
        """log p(k, x_obs) for one chunk; x holds filled arrays, obs the observed flags, cache
        the terms already computed for this chunk."""
        w = self.world
        levels = w.fraction_levels
        ll = np.zeros((n, w.n_classes, len(levels)))
        if "methylation" in x:
            if "methylation" not in cache:
                cache["methylation"] = obs["methylation"][:, None, None] * \
                    w.methylation.component_log_likelihood(x["methylation"], levels)
            ll += cache["methylation"]
        if "fragmentomics" in x:
            if "fragmentomics" not in cache:
                counts = np.rint(x["fragmentomics"] * w.config.n_fragments)
                cache["fragmentomics"] = obs["fragmentomics"][:, None, None] * \
                    w.fragments.component_log_likelihood(counts, levels)
            ll += cache["fragmentomics"]
        key = ("chain", "methylation" in x, "cna" in x)
        if key not in cache:
            cache[key] = self._chain_log_likelihood(x, obs, n)
        ll += cache[key]
        with np.errstate(divide="ignore"):
            log_w = np.log(w.fraction_prior)  # -inf off each class's support
            log_prior = np.log(w.class_priors)
        return log_prior + logsumexp(ll + log_w, axis=2)

    def _chain_log_likelihood(self, x: dict[str, np.ndarray], obs: dict[str, np.ndarray],
                              n: int) -> np.ndarray:
        """log p(copy number, joint-locus methylation | k, f_l) by the forward algorithm:
        (n, K, L + 1), filled on each class's range of tumour-fraction levels."""
        w = self.world
        cna, meth = w.cna, w.methylation
        levels = w.fraction_levels
        out = np.zeros((n, w.n_classes, len(levels)))
        has_cn, has_meth = "cna" in x, "methylation" in x and w.joint_loci.size > 0
        # without copy number only the joint loci's chromosomes carry methylation information
        chroms = np.unique(cna.chromosome if has_cn else
                           cna.chromosome[w.joint_loci] if has_meth else [])
        # the levels each class needs, as one slice (its support's hull: off-support levels
        # are computed but weigh 0)
        span = [np.flatnonzero(p > 0) for p in w.fraction_prior]
        span = [slice(s.min(), s.max() + 1) for s in span]
        joint_emission = {}  # per coupling sign: (J_joint, 4, L + 1, n), observed rows only
        for c in chroms:
            loci = cna.loci_of(c)
            joint_at = {j: i for i, j in enumerate(w.joint_loci) if j in loci} if has_meth \
                else {}
            chains = np.unique(cna.chain_of[:, c])
            live = (cna.startprob[chains] > 0).any(axis=0) | \
                (cna.transmat[chains] > 0).any(axis=(0, 1))  # states some chain can enter
            groups: dict[tuple[int, int], list[int]] = {}  # classes sharing chain and sign
            for k in range(w.n_classes):
                sign = int(w.coupling[k]) if joint_at else 0
                groups.setdefault((int(cna.chain_of[k, c]), sign), []).append(k)
            for (_, sign) in groups:
                if joint_at and sign not in joint_emission:
                    joint_emission[sign] = obs["methylation"] * \
                        meth.joint_log_emission(x["methylation"], sign, levels)
            # the hull of the classes' tumour-fraction supports: off-support levels weigh 0
            lvs = {g: slice(min(span[k].start for k in ks), max(span[k].stop for k in ks))
                   for g, ks in groups.items()}
            forwards = {g: ScaledForward(cna.startprob[g[0]], cna.transmat[g[0]])
                        for g in groups}
            # one locus at a time, every chain in lockstep: the emissions stay in cache
            for j in loci:
                if has_cn:
                    le = cna.log_emission(x["cna"][:, j:j + 1], levels)[0]  # (4, L + 1, n)
                    if not obs["cna"].all():
                        le *= obs["cna"]  # a missing sample's emissions are 1: states sum out
                else:
                    le = np.zeros((4, len(levels), n))
                e, shift = scaled_emission(le[None], live, NEUTRAL)
                for g, fw in forwards.items():
                    lv = lvs[g]
                    if j in joint_at:  # fold the joint locus's methylation into the emission
                        e_g, s_g = scaled_emission(
                            (le[:, lv] + joint_emission[g[1]][joint_at[j]][:, lv])[None],
                            live, NEUTRAL)
                        fw.step(e_g[0], s_g[0])
                    else:
                        fw.step(e[0][:, lv], shift[0][lv])
            for g, ks in groups.items():
                for k in ks:
                    out[:, k, lvs[g]] += forwards[g].loglik.T
        return out


_FILL = {"methylation": 0.5, "fragmentomics": 0.0, "cna": 0.0}  # stands in for missing rows


def bayes_accuracy(world: World, n_samples: int, seed: int,
                   modalities: Sequence[str] | None = None) -> tuple[float, tuple[float, float]]:
    """Bayes accuracy on a fresh cohort of ``n_samples`` and its 95% Wilson interval."""
    cohort = world.sample(n_samples, seed)
    acc = BayesClassifier(world).score(cohort.data, modalities=modalities)
    return acc, wilson_ci95(round(acc * n_samples), n_samples)


def subset_ceilings(clf: BayesClassifier, data: MultiOmicsData,
                    y: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Bayes accuracy and its 95% Wilson interval for every non-empty subset of the data's
    modalities, keyed like ``"methylation+cna"`` (singles first, all modalities last)."""
    y = data.y if y is None else np.asarray(y)
    subsets = [s for r in range(1, len(data.modalities) + 1)
               for s in itertools.combinations(data.modalities, r)]
    out = {}
    for subset, lj in zip(subsets, clf.log_joint_subsets(data, subsets), strict=True):
        acc = float(np.mean(np.argmax(lj, axis=1) == y))
        out["+".join(subset)] = {"accuracy": acc, "ci95": wilson_ci95(round(acc * len(y)), len(y))}
    return out


def ceiling_curve(cohort_cfg: CohortConfig, effect_sizes: Sequence[float], n_samples: int,
                  seed: int) -> pd.DataFrame:
    """Joint and single-modality Bayes accuracy at each effect size (rows) of
    ``cohort_cfg``'s world.

    Every effect size redraws the same world and the same latent samples (class, tumour
    fraction, copy number), so the curve moves only with the effect size.
    """
    rows = {}
    for e in effect_sizes:
        world = World.from_config(dataclasses.replace(cohort_cfg, effect_size=float(e)))
        data = world.sample(n_samples, seed).data
        clf = BayesClassifier(world)
        rows[float(e)] = {"joint": clf.score(data),
                          **{m: clf.score(data, modalities=[m]) for m in data.modalities}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("effect_size")
