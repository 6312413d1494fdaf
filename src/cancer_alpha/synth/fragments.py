"""Fragmentomics: a histogram of cfDNA fragment lengths per sample.

Plasma cfDNA from normal (mostly haematopoietic) cells has a sharp mononucleosomal peak near
167 bp, a dinucleosomal peak near 334 bp and a 10.4-bp periodicity below the main peak (the DNA
helical repeat exposed to nucleases on the nucleosome). Tumour-derived fragments are shorter:
their main peak is shifted left by a class-specific amount, wider, with a stronger short-fragment
shoulder. A sample's length density is (1 - w) g_N + w g_T[k], w = effect_size * tumour
fraction, binned over [80, 520) bp; it observes ``n_fragments`` fragments, so counts are
multinomial. Models see proportions (counts / n_fragments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import gammaln

LENGTH_RANGE = (80.0, 520.0)  # bp; at 110 bins each bin is 4 bp wide
MONO, DI, PERIOD = 167.0, 334.0, 10.4  # bp
# Normal cfDNA: (peak, width, short-shoulder weight, dinucleosome weight); the rest is the
# mononucleosomal peak plus a flat 3% floor that keeps every bin's probability positive.
NORMAL = (MONO, 11.0, 0.06, 0.12)
TUMOUR_SHIFT = (8.0, 25.0)  # bp shorter main peak, uniform range per class
TUMOUR_WIDEN = (1.2, 1.6)  # main peak width factor
TUMOUR_SHORT = (0.15, 0.30)  # short-fragment shoulder weight
TUMOUR_DI = (0.05, 0.10)  # dinucleosome weight
FLOOR, PERIODIC_AMPLITUDE = 0.03, 0.35
_GRID_STEP = 0.25  # bp; densities are integrated on this grid into the bins


def length_density(lengths: np.ndarray, peak: float, width: float, short: float,
                   di: float) -> np.ndarray:
    """Unnormalised fragment-length density at ``lengths`` (bp) for one cfDNA source."""
    gauss = lambda mu, sd: np.exp(-0.5 * ((lengths - mu) / sd) ** 2) / sd  # noqa: E731
    mono = (1 - short - di - FLOOR) * gauss(peak, width)
    shoulder = short * gauss(peak - 30.0, 20.0)
    # the 10.4-bp ladder below the main peak, faded in over a few bp
    gate = 1.0 / (1.0 + np.exp((lengths - (peak - 4.0)) / 2.0))
    ladder = 1.0 + PERIODIC_AMPLITUDE * gate * np.cos(2 * np.pi * (lengths - peak) / PERIOD)
    span = LENGTH_RANGE[1] - LENGTH_RANGE[0]
    return (mono + shoulder) * ladder + di * gauss(DI - (MONO - peak), 2 * width) \
        + FLOOR * np.sqrt(2 * np.pi) / span


def binned(edges: np.ndarray, peak: float, width: float, short: float, di: float) -> np.ndarray:
    """Probability of each length bin (sums to 1 over the binned range)."""
    grid = np.arange(edges[0] + _GRID_STEP / 2, edges[-1], _GRID_STEP)
    dens = length_density(grid, peak, width, short, di)
    p = np.bincount(np.searchsorted(edges, grid, side="right") - 1, weights=dens,
                    minlength=len(edges) - 1)
    return p / p.sum()


@dataclass(frozen=True, eq=False)
class FragmentModel:
    """Multinomial fragment-length counts mixing normal and class-specific tumour densities.

    ``shape[k]`` holds (peak, width, short weight, di weight) of class k's tumour fragments;
    row 0 (healthy) is the normal cfDNA shape, never mixed in since its tumour fraction is 0.
    """

    edges: np.ndarray  # (B + 1,) bp
    shape: np.ndarray  # (K, 4)
    n_fragments: int
    effect_size: float

    @classmethod
    def draw(cls, rng: np.random.Generator, n_bins: int, n_classes: int, n_fragments: int,
             effect_size: float) -> FragmentModel:
        """Draw the class-specific tumour fragment shapes of a world."""
        shape = np.tile(np.array(NORMAL), (n_classes, 1))
        m = n_classes - 1
        shape[1:, 0] = MONO - rng.uniform(*TUMOUR_SHIFT, size=m)
        shape[1:, 1] = NORMAL[1] * rng.uniform(*TUMOUR_WIDEN, size=m)
        shape[1:, 2] = rng.uniform(*TUMOUR_SHORT, size=m)
        shape[1:, 3] = rng.uniform(*TUMOUR_DI, size=m)
        edges = np.linspace(*LENGTH_RANGE, n_bins + 1)
        return cls(edges, shape, int(n_fragments), float(effect_size))

    @property
    def centres(self) -> np.ndarray:
        """Bin centres in bp: the positions of the fragmentomics features."""
        return (self.edges[:-1] + self.edges[1:]) / 2

    @cached_property
    def normal(self) -> np.ndarray:
        """Bin probabilities (B,) of normal cfDNA."""
        return binned(self.edges, *self.shape[0])

    @cached_property
    def tumour(self) -> np.ndarray:
        """Bin probabilities (K, B) of each class's tumour-derived cfDNA (row 0: normal)."""
        return np.stack([binned(self.edges, *s) for s in self.shape])

    def probabilities(self, y: np.ndarray, tumour_fraction: np.ndarray) -> np.ndarray:
        """Bin probabilities (n, B) of samples with classes y and these tumour fractions."""
        w = self.effect_size * np.asarray(tumour_fraction, float)[:, None]
        normal, tumour = self.normal, self.tumour
        return (1 - w) * normal + w * tumour[y]

    def sample(self, y: np.ndarray, tumour_fraction: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        """Fragment counts (n, B) of samples with classes y and these tumour fractions."""
        return rng.multinomial(self.n_fragments, self.probabilities(y, tumour_fraction))

    def log_likelihood(self, counts: np.ndarray, y: np.ndarray,
                       tumour_fraction: np.ndarray) -> np.ndarray:
        """Multinomial log p(counts | class, tumour fraction) per sample (n,)."""
        p = self.probabilities(y, tumour_fraction)
        return _log_coefficient(counts) + (counts * np.log(p)).sum(axis=1)

    def component_log_likelihood(self, counts: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """log p(counts | class k, tumour fraction level l): (n, K, L)."""
        w = self.effect_size * np.asarray(fractions, float)[None, :, None]
        p = (1 - w) * self.normal + w * self.tumour[:, None, :]  # (K, L, B)
        k, n_levels, n_bins = p.shape
        ll = counts @ np.log(p).reshape(-1, n_bins).T + _log_coefficient(counts)[:, None]
        return ll.reshape(-1, k, n_levels)


def _log_coefficient(counts: np.ndarray) -> np.ndarray:
    """log of the multinomial coefficient N! / prod(c_b!) per sample."""
    return gammaln(counts.sum(axis=1) + 1) - gammaln(counts + 1).sum(axis=1)
