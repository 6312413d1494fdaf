"""DNA methylation of cfDNA: one beta value per genomic locus (CpG region).

A sample's beta value at locus j is drawn from Beta(m * phi_j, (1 - m) * phi_j) where the mean
m = mu_N[j] + w * (mu_T[j] - mu_N[j]) mixes the normal-plasma mean mu_N with the tumour mean
mu_T of the sample's class by the tumour-derived share w = effect_size * tumour_fraction.
Normal means are bimodal across regions (most regions either methylated or unmethylated, as on
real arrays); tumours share a genome-wide hypomethylation of some methylated regions and carry a
class-specific hypermethylation of some unmethylated (CpG-island) regions.

At the planted joint loci the tumour mean depends on the hidden copy-number state at that locus
(a gain pulls it one way and a loss the other, with a class-specific sign): that signal exists
only jointly with copy number, see :mod:`cancer_alpha.synth.cohort`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

# Normal means by region type, drawn once per world (methylated, unmethylated, intermediate).
REGION_TYPES = {"methylated": (0.45, (34.0, 6.0)), "unmethylated": (0.45, (4.0, 36.0)),
                "intermediate": (0.10, (20.0, 20.0))}
HYPO_RATE = 0.35  # share of methylated regions hypomethylated in every cancer
HYPO_MEAN = (0.15, 0.45)  # tumour mean of a hypomethylated region, uniform range
HYPER_RATE = 0.20  # share of unmethylated regions hypermethylated in a given cancer class
HYPER_MEAN = (0.55, 0.90)  # tumour mean of a hypermethylated region, uniform range
PRECISION = (20.0, 40.0)  # phi_j, uniform range; a, b >= 1 because means stay in [0.05, 0.95]
MEAN_RANGE = (0.05, 0.95)
JOINT_HIGH, JOINT_LOW = 0.9, 0.1  # tumour mean at a joint locus under a gain / a loss (sign +1)
_EPS = 1e-9  # beta draws are kept inside (0, 1) so their logarithms are finite


@dataclass(frozen=True, eq=False)
class MethylationModel:
    """Beta-distributed methylation of every locus, given class, tumour fraction and copy number.

    ``tumour_mean[k]`` is class k's tumour mean (row 0, healthy, equals the normal mean: it is
    never mixed in because healthy samples have tumour fraction 0). ``coupling[k]`` in
    {-1, 0, +1} is the sign of the copy-number effect at ``joint_loci`` (0 for healthy).
    """

    normal_mean: np.ndarray  # (J,)
    tumour_mean: np.ndarray  # (K, J)
    precision: np.ndarray  # (J,)
    joint_loci: np.ndarray  # (J_joint,) locus indices
    coupling: np.ndarray  # (K,) int
    effect_size: float

    @classmethod
    def draw(cls, rng: np.random.Generator, n_loci: int, n_classes: int, joint_loci: np.ndarray,
             coupling: np.ndarray, effect_size: float) -> MethylationModel:
        """Draw the normal and class-specific tumour methylation landscape of a world."""
        names = list(REGION_TYPES)
        kind = rng.choice(len(names), size=n_loci, p=[REGION_TYPES[k][0] for k in names])
        kind[joint_loci] = names.index("intermediate")
        ab = np.array([REGION_TYPES[k][1] for k in names])[kind]
        normal = np.clip(rng.beta(ab[:, 0], ab[:, 1]), *MEAN_RANGE)

        free = np.ones(n_loci, bool)
        free[joint_loci] = False  # joint loci carry only the copy-number-coupled signal
        methylated = free & (kind == names.index("methylated"))
        unmethylated = free & (kind == names.index("unmethylated"))
        tumour = np.tile(normal, (n_classes, 1))
        hypo = methylated & (rng.random(n_loci) < HYPO_RATE)
        tumour[1:, hypo] = rng.uniform(*HYPO_MEAN, size=hypo.sum())
        for k in range(1, n_classes):
            hyper = unmethylated & (rng.random(n_loci) < HYPER_RATE)
            tumour[k, hyper] = rng.uniform(*HYPER_MEAN, size=hyper.sum())
        precision = rng.uniform(*PRECISION, size=n_loci)
        return cls(normal, tumour, precision, np.asarray(joint_loci, int),
                   np.asarray(coupling, int), float(effect_size))

    @property
    def n_loci(self) -> int:
        return self.normal_mean.shape[0]

    def joint_tumour_mean(self, sign: int | np.ndarray, copy_number: np.ndarray) -> np.ndarray:
        """Tumour mean at a joint locus: high for a gain, low for a loss (sign +1; reversed for
        -1), the normal mean when copy number is neutral or the sign is 0."""
        sign = np.asarray(sign)
        direction = sign * np.sign(np.asarray(copy_number) - 2)  # +1 high, -1 low, 0 unchanged
        mu_n = self.normal_mean[self.joint_loci]
        return np.where(direction > 0, JOINT_HIGH, np.where(direction < 0, JOINT_LOW, mu_n))

    def mean(self, y: np.ndarray, tumour_fraction: np.ndarray,
             copy_number: np.ndarray) -> np.ndarray:
        """Mixture mean m (n, J) of samples with classes y, tumour fractions and copy numbers."""
        w = self.effect_size * np.asarray(tumour_fraction, float)[:, None]
        tumour = self.tumour_mean[y]
        if self.joint_loci.size:
            tumour[:, self.joint_loci] = self.joint_tumour_mean(
                self.coupling[y][:, None], copy_number[:, self.joint_loci])
        return self.normal_mean + w * (tumour - self.normal_mean)

    def sample(self, y: np.ndarray, tumour_fraction: np.ndarray, copy_number: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
        """Beta values (n, J) of samples with classes y, tumour fractions and copy numbers."""
        m = self.mean(y, tumour_fraction, copy_number)
        x = rng.beta(m * self.precision, (1 - m) * self.precision)
        return np.clip(x, _EPS, 1 - _EPS)

    def log_likelihood(self, x: np.ndarray, y: np.ndarray, tumour_fraction: np.ndarray,
                       copy_number: np.ndarray) -> np.ndarray:
        """log p(x | class, tumour fraction, copy number) per sample (n,)."""
        a, b = beta_parameters(self.mean(y, tumour_fraction, copy_number), self.precision)
        return beta_logpdf(x, a, b).sum(axis=1)

    def component_log_likelihood(self, x: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """log p(x at the non-joint loci | class k, tumour fraction level l): (n, K, L).

        The Beta log-density summed over loci is linear in log x and log(1 - x), so all classes
        and fraction levels are two matrix products minus a per-component constant.
        """
        free = np.setdiff1d(np.arange(self.n_loci), self.joint_loci)
        w = self.effect_size * np.asarray(fractions, float)  # (L,)
        mu_n, mu_t, phi = self.normal_mean[free], self.tumour_mean[:, free], self.precision[free]
        m = mu_n + w[None, :, None] * (mu_t[:, None, :] - mu_n)  # (K, L, J_free)
        a, b = beta_parameters(m, phi)
        lx, l1x = np.log(x[:, free]), np.log1p(-x[:, free])
        k, n_levels, j = a.shape
        ll = lx @ (a - 1).reshape(-1, j).T + l1x @ (b - 1).reshape(-1, j).T  # (n, K * L)
        ll -= betaln(a, b).sum(axis=-1).reshape(-1)
        return ll.reshape(-1, k, n_levels)

    def joint_log_emission(self, x: np.ndarray, sign: int, fractions: np.ndarray) -> np.ndarray:
        """log p(x at joint locus i | copy-number state s, level l) for a class of this coupling
        sign, laid out (J_joint, 4, L, n) like :meth:`CopyNumberModel.log_emission`."""
        w = self.effect_size * np.asarray(fractions, float)
        mu_n = self.normal_mean[self.joint_loci][:, None, None]  # (Jj, 1, 1)
        tumour = self.joint_tumour_mean(sign, np.arange(1, 5)[:, None]).T[:, :, None]  # (Jj,S,1)
        a, b = beta_parameters(mu_n + w * (tumour - mu_n), self.precision[self.joint_loci][
            :, None, None])  # (Jj, S, L)
        xj = x[:, self.joint_loci].T[:, None, None, :]  # (Jj, 1, 1, n)
        return beta_logpdf(xj, a[..., None], b[..., None])


def beta_parameters(mean: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape parameters (a, b) of a Beta with this mean and precision a + b."""
    return mean * precision, (1 - mean) * precision


def beta_logpdf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise Beta(a, b) log-density at x in (0, 1)."""
    return (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b)
