"""Copy-number alterations: segmented log2 ratios from one hidden Markov chain per chromosome.

Hidden states are copy numbers {1, 2, 3, 4} (loss, neutral, gain, amplification). Each autosome
is its own chain over its genomic bins (segments never cross chromosomes) with class- and
chromosome-specific start and transition probabilities. Healthy plasma is always neutral. Cancer
classes share a background that is symmetric in gains and losses (no amplifications) and have a
few class-specific driver chromosomes with elevated gain and amplification, or loss, rates; the
drivers are random draws in the spirit of recurrent arm-level events (8q gain, 17p loss, ...),
not a model of any named cancer. A bin's observed log2 ratio is
Normal(log2(1 + w (c - 2) / 2), noise_sd^2): copy number c diluted by the tumour-derived share
w = effect_size * tumour fraction.

Sampling and scoring are vectorised over samples (a Markov-chain sampler and a scaled forward
algorithm); :meth:`CopyNumberModel.to_hmmlearn` gives the same model as an hmmlearn
``GaussianHMM``, against which both are tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from hmmlearn.hmm import GaussianHMM

COPY_NUMBERS = np.array([1, 2, 3, 4])  # the hidden states, in this order
NEUTRAL = 1  # index of copy number 2
NOISE_SD = 0.08  # log2-ratio noise of one bin
SEGMENT_MB = 60.0  # mean distance between breakpoints, about a chromosome arm
BACKGROUND_RATE = 0.12  # stationary probability of a loss, and of a gain, off driver chromosomes
DRIVERS_PER_CLASS = 3
DRIVER_GAIN = ((0.35, 0.55), (0.08, 0.20))  # (gain, amplification) probability ranges
DRIVER_LOSS = (0.45, 0.65)  # loss probability range
DRIVER_OTHER = 0.02  # probability of the opposite event on a driver chromosome
DRIVER_STAY = 0.9  # driver events persist longer than background ones: arm or whole chromosome


def chain(p_loss: float, p_gain: float, p_amp: float,
          stay: float) -> tuple[np.ndarray, np.ndarray]:
    """(startprob, transmat) of a chain that keeps its state with probability ``stay`` and
    otherwise redraws it from its stationary distribution (p_loss, neutral, p_gain, p_amp)."""
    pi = np.array([p_loss, 1.0 - p_loss - p_gain - p_amp, p_gain, p_amp])
    return pi, stay * np.eye(4) + (1 - stay) * pi[None, :]


@dataclass(frozen=True, eq=False)
class CopyNumberModel:
    """Per-class, per-chromosome copy-number HMMs with Gaussian log2-ratio emissions.

    ``chain_of[k, c]`` indexes the (startprob, transmat) pair of class k on chromosome c;
    chains shared by several classes (the background) are stored once. ``driver[k, c]`` is +1
    for a gain driver, -1 for a loss driver, 0 for background.
    """

    chromosome: np.ndarray  # (J,) chromosome index of each locus, non-decreasing
    startprob: np.ndarray  # (U, 4)
    transmat: np.ndarray  # (U, 4, 4)
    chain_of: np.ndarray  # (K, C)
    driver: np.ndarray  # (K, C)
    noise_sd: float
    effect_size: float

    @classmethod
    def draw(cls, rng: np.random.Generator, chromosome: np.ndarray, bin_mb: np.ndarray,
             n_classes: int, candidates: np.ndarray, effect_size: float) -> CopyNumberModel:
        """Draw a world's driver chromosomes and event rates.

        ``bin_mb[c]`` is the bin length of chromosome c (it sets how often a breakpoint falls
        between neighbouring bins); drivers are drawn among ``candidates`` only.
        """
        n_chrom = len(bin_mb)
        stay = np.exp(-np.asarray(bin_mb) / SEGMENT_MB)
        chains = [chain(0, 0, 0, 0.0)]  # healthy: always neutral, on every chromosome
        chain_of = np.zeros((n_classes, n_chrom), int)
        driver = np.zeros((n_classes, n_chrom), int)
        for c in range(n_chrom):
            chains.append(chain(BACKGROUND_RATE, BACKGROUND_RATE, 0.0, stay[c]))
            chain_of[1:, c] = len(chains) - 1
        n_drivers = min(DRIVERS_PER_CLASS, len(candidates))
        for k in range(1, n_classes):
            for c in rng.choice(candidates, size=n_drivers, replace=False):
                if rng.random() < 0.5:
                    gain, amp = rng.uniform(*DRIVER_GAIN[0]), rng.uniform(*DRIVER_GAIN[1])
                    chains.append(chain(DRIVER_OTHER, gain, amp, max(stay[c], DRIVER_STAY)))
                    driver[k, c] = 1
                else:
                    loss = rng.uniform(*DRIVER_LOSS)
                    chains.append(chain(loss, DRIVER_OTHER, 0.0, max(stay[c], DRIVER_STAY)))
                    driver[k, c] = -1
                chain_of[k, c] = len(chains) - 1
        start, trans = (np.stack(a) for a in zip(*chains, strict=True))
        return cls(np.asarray(chromosome, int), start, trans, chain_of, driver, NOISE_SD,
                   float(effect_size))

    @property
    def n_loci(self) -> int:
        return self.chromosome.shape[0]

    def loci_of(self, c: int) -> np.ndarray:
        """Indices of the loci on chromosome c."""
        return np.flatnonzero(self.chromosome == c)

    def emission_mean(self, tumour_fraction: np.ndarray) -> np.ndarray:
        """Expected log2 ratio (..., 4) of each copy number at these tumour fractions."""
        w = self.effect_size * np.asarray(tumour_fraction, float)[..., None]
        return np.log2(1 + w * (COPY_NUMBERS - 2) / 2)

    def transition_tables(self) -> np.ndarray:
        """P(state at locus j | state at j - 1) per class: (K, J, 4, 4); at a chromosome's
        first locus every row is the start distribution."""
        first = np.r_[True, self.chromosome[1:] != self.chromosome[:-1]]
        u = self.chain_of[:, self.chromosome]  # (K, J)
        starts = np.broadcast_to(self.startprob[u][:, :, None, :], (*u.shape, 4, 4))
        return np.where(first[None, :, None, None], starts, self.transmat[u])

    def sample_states(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Copy numbers (n, J) of samples of classes y."""
        return COPY_NUMBERS[sample_markov(self.transition_tables(), y, rng)].astype(np.int8)

    def sample(self, y: np.ndarray, tumour_fraction: np.ndarray, rng: np.random.Generator,
               copy_number: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Log2 ratios (n, J) and the hidden copy numbers (n, J) of samples of classes y."""
        if copy_number is None:
            copy_number = self.sample_states(y, rng)
        mean = self.emission_mean(tumour_fraction)  # (n, 4)
        mu = np.take_along_axis(mean, copy_number.astype(int) - 1, axis=1)
        return mu + self.noise_sd * rng.standard_normal(mu.shape), copy_number

    def log_emission(self, x: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """log N(x_ij; mean(level l, state s), noise_sd^2) for samples i, loci j, tumour
        fraction levels l and states s, laid out (J, 4, L, n) for :func:`scaled_forward`."""
        mean = self.emission_mean(fractions).T  # (4, L)
        le = x.T[:, None, None, :] - mean[None, :, :, None]
        le *= le  # in place: these arrays are the classifier's largest
        le *= -0.5 / self.noise_sd**2
        le -= np.log(self.noise_sd * np.sqrt(2 * np.pi))
        return le

    def log_likelihood(self, x: np.ndarray, y: np.ndarray,
                       tumour_fraction: np.ndarray) -> np.ndarray:
        """log p(x | class, tumour fraction) per sample (n,), hidden states summed out."""
        y = np.asarray(y)
        f = np.asarray(tumour_fraction, float)
        out = np.zeros(len(y))
        for k in np.unique(y):
            idx = np.flatnonzero(y == k)
            z = (x[idx, :, None] - self.emission_mean(f[idx])[:, None, :]) / self.noise_sd
            le = -0.5 * z * z - np.log(self.noise_sd * np.sqrt(2 * np.pi))  # (n_k, J, 4)
            for c in np.unique(self.chromosome):
                u = self.chain_of[k, c]
                out[idx] += forward_log_likelihood(le[:, self.loci_of(c)], self.startprob[u],
                                                   self.transmat[u])
        return out

    def to_hmmlearn(self, k: int, chrom: int, tumour_fraction: float) -> GaussianHMM:
        """Class k's chain on chromosome ``chrom`` at this tumour fraction, as an hmmlearn HMM."""
        from hmmlearn.hmm import GaussianHMM

        u = self.chain_of[k, chrom]
        hmm = GaussianHMM(n_components=4, covariance_type="spherical", init_params="",
                          params="")
        hmm.startprob_ = self.startprob[u].copy()
        hmm.transmat_ = self.transmat[u].copy()
        hmm.means_ = self.emission_mean(tumour_fraction)[:, None]
        hmm.covars_ = np.full(4, self.noise_sd**2)
        return hmm


def sample_markov(tables: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """State indices (n, T) of Markov chains; sample i follows ``tables[y[i]]`` (K, T, S, S),
    row s of ``tables[k, t]`` being P(state_t | state_{t-1} = s)."""
    y = np.asarray(y)
    n, length = len(y), tables.shape[1]
    cum = np.cumsum(tables, axis=-1)
    # dividing by the total makes trailing zero-probability states' boundaries exactly 1, so
    # rounding can never draw a state that a chain cannot enter
    cum = (cum / cum[..., -1:])[..., :-1]
    u = rng.random((n, length))
    states = np.empty((n, length), np.int64)
    prev = np.zeros(n, np.int64)
    for t in range(length):
        prev = (u[:, t, None] >= cum[y, t, prev]).sum(axis=1)
        states[:, t] = prev
    return states


def sample_chain(startprob: np.ndarray, transmat: np.ndarray, n_sequences: int, length: int,
                 rng: np.random.Generator) -> np.ndarray:
    """State indices (n_sequences, length) of one homogeneous Markov chain."""
    tables = np.broadcast_to(transmat, (1, length, *transmat.shape)).copy()
    tables[0, 0] = startprob[None, :]
    return sample_markov(tables, np.zeros(n_sequences, int), rng)


def forward_log_likelihood(log_emission: np.ndarray, startprob: np.ndarray,
                           transmat: np.ndarray) -> np.ndarray:
    """log p(x_1..T) of an HMM for each sequence of a batch: log_emission (..., T, S) -> (...)."""
    batch, (t, s) = log_emission.shape[:-2], log_emission.shape[-2:]
    emission, shift = scaled_emission(np.moveaxis(log_emission.reshape(-1, t, s), 0, -1))
    ll = scaled_forward(emission, startprob, transmat) + shift.sum(axis=0)
    return ll.reshape(batch)


def scaled_emission(log_emission: np.ndarray, live: np.ndarray | None = None,
                    reference: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Emissions (T, S, ...) divided by a positive factor per step and sequence, and the log of
    that factor (T, ...).

    Only ``live`` states (a boolean mask over S, default all) are exponentiated; the others,
    which no chain in use can enter, get 0. The factor is the emission of state ``reference``
    when given, whose scaled emission is then exactly 1 (one exponential fewer per state),
    unless another live state exceeds it by more than exp(600); otherwise it is the maximum
    over live states.
    """
    live = np.ones(log_emission.shape[1], bool) if live is None else np.asarray(live, bool)
    states = np.flatnonzero(live)
    out = np.zeros_like(log_emission)
    if reference is not None and live[reference]:
        shift = log_emission[:, reference].copy()
        others = states[states != reference]
        d = log_emission[:, others] - shift[:, None]
        if d.size == 0 or d.max() <= _MAX_EXPONENT:  # NaN or overflow fall through
            out[:, others] = np.exp(d, out=d)
            out[:, reference] = 1.0
            return out, shift
    shift = log_emission[:, states].max(axis=1)
    out[:, states] = np.exp(log_emission[:, states] - shift[:, None])
    return out, shift


_MAX_EXPONENT = 600.0  # exp(600) stays far below the float64 overflow at exp(709.8)


def scaled_forward(emission: np.ndarray, startprob: np.ndarray,
                   transmat: np.ndarray) -> np.ndarray:
    """log p(x_1..T) by the scaled forward recursion: emission (T, S, ...) -> (...)."""
    forward = ScaledForward(startprob, transmat)
    for e in emission:
        forward.step(e)
    return forward.loglik


class ScaledForward:
    """The forward recursion of one chain over a batch of sequences, advanced a step at a time.

    The forward variable is renormalised at every step and the logs of the normalisers summed,
    so long sequences do not underflow. States lead the layout (S, ...) so that each step is
    one (S, S) x (S, batch) product. Emissions may be scaled by any positive factor per step
    and sequence (see :func:`scaled_emission`) when the log of that factor is passed as
    ``shift``. Stepping several chains through the same loci lets them share the emissions
    while those are still in cache.
    """

    def __init__(self, startprob: np.ndarray, transmat: np.ndarray) -> None:
        self.startprob = np.asarray(startprob, float)
        self.trans_t = np.ascontiguousarray(np.asarray(transmat, float).T)
        self.alpha: np.ndarray | None = None
        self.loglik: np.ndarray | float = 0.0

    def step(self, emission: np.ndarray, shift: np.ndarray | float = 0.0) -> None:
        """Advance by one observation with emission probabilities (S, ...)."""
        if self.alpha is None:
            alpha = self.startprob.reshape(-1, *[1] * (emission.ndim - 1)) * emission
        else:
            s = self.alpha.shape[0]
            alpha = (self.trans_t @ self.alpha.reshape(s, -1)).reshape(self.alpha.shape)
            alpha *= emission
        norm = alpha.sum(axis=0)
        alpha /= norm
        self.alpha = alpha
        self.loglik = self.loglik + np.log(norm) + shift
