"""The synthetic cohort generator: shapes, determinism, each modality's shape, the HMM, the joint
cross-modal signal, missingness and bad parameters."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from cancer_alpha.config import CohortConfig, EvaluationConfig, Profile, load_profile
from cancer_alpha.synth import World, standard_cohorts, synthesize
from cancer_alpha.synth.cna import chain, forward_log_likelihood, sample_chain
from cancer_alpha.synth.cohort import HG38_AUTOSOMES, genome_bins
from cancer_alpha.synth.fragments import MONO, PERIOD, length_density

SMALL = CohortConfig(n_loci=40, n_fragment_bins=55, n_fragments=1000)


@pytest.fixture(scope="module")
def world() -> World:
    return World.from_config(SMALL)


@pytest.fixture(scope="module")
def cohort(world):
    return world.sample(600, seed=3)


def test_cohort_shapes_dtypes_and_ranges(cohort, world):
    d, n = cohort.data, 600
    assert [s.name for s in d.specs] == ["methylation", "fragmentomics", "cna"]
    assert [s.kind for s in d.specs] == ["methylation", "fragmentomics", "cna"]
    assert d.x["methylation"].shape == d.x["cna"].shape == (n, 40)
    assert d.x["fragmentomics"].shape == (n, 55)
    assert all(v.dtype == np.float64 for v in d.x.values())
    assert d.mask.all() and d.mask.shape == (n, 3)
    m = d.x["methylation"]
    assert m.min() > 0 and m.max() < 1
    counts = cohort.fragment_counts
    assert counts.dtype.kind == "i" and (counts.sum(axis=1) == SMALL.n_fragments).all()
    np.testing.assert_array_equal(np.rint(d.x["fragmentomics"] * SMALL.n_fragments), counts)
    assert cohort.cn_states.dtype == np.int8 and set(np.unique(cohort.cn_states)) <= {1, 2, 3, 4}
    healthy = cohort.y == 0
    assert (cohort.tumour_fraction[healthy] == 0).all() and (cohort.cn_states[healthy] == 2).all()
    f = cohort.tumour_fraction[~healthy]
    assert f.min() >= 0.01 and f.max() <= SMALL.max_tumour_fraction
    np.testing.assert_allclose(f * 100, np.round(f * 100), atol=1e-9)  # on the 0.01 grid
    assert list(cohort.loci.columns[[0, 2, 3, 4]]) == ["chrom", "start", "end", "position_mb"]
    assert d.specs[0].positions == tuple(cohort.loci["position_mb"])
    assert cohort.fragment_bins[0] == 80 and cohort.fragment_bins[-1] == 520
    assert d.specs[1].positions[0] == pytest.approx(84.0)  # 8-bp bins at 55 bins
    assert len(cohort.joint_loci) == SMALL.n_joint_loci
    assert np.bincount(cohort.y, minlength=5).min() > 0


def test_class_frequencies_follow_the_priors():
    y = World.from_config(SMALL).sample(20000, seed=0).y
    freq = np.bincount(y, minlength=5) / len(y)
    se = np.sqrt(np.array(SMALL.class_priors) * (1 - np.array(SMALL.class_priors)) / len(y))
    # 4 binomial standard errors: a false failure has probability below 1e-4 per class
    np.testing.assert_array_less(np.abs(freq - SMALL.class_priors), 4 * se)


def test_same_seeds_give_the_same_cohort_bit_for_bit():
    a, b = synthesize(SMALL, 200, seed=7), synthesize(SMALL, 200, seed=7)
    for m in a.data.modalities:
        np.testing.assert_array_equal(a.data.x[m], b.data.x[m])
    np.testing.assert_array_equal(a.cn_states, b.cn_states)
    np.testing.assert_array_equal(a.tumour_fraction, b.tumour_fraction)
    c = synthesize(SMALL, 200, seed=8)
    assert not np.array_equal(a.data.x["methylation"], c.data.x["methylation"])
    assert not np.array_equal(a.y, c.y)
    other = World.from_config(dataclasses.replace(SMALL, world_seed=1))
    assert not np.allclose(other.methylation.normal_mean, a.world.methylation.normal_mean)


def test_standard_cohorts_are_drawn_with_data_seed_and_the_next_seed():
    profile = Profile(cohort=dataclasses.replace(SMALL, n_samples=50),
                      evaluation=EvaluationConfig(data_seed=5, test_samples=70))
    train, test = standard_cohorts(profile)
    assert train.data.n_samples == 50 and test.data.n_samples == 70
    np.testing.assert_array_equal(train.data.x["cna"], synthesize(SMALL, 50, 5).data.x["cna"])
    np.testing.assert_array_equal(test.data.x["cna"], synthesize(SMALL, 70, 6).data.x["cna"])


def test_a_modality_subset_keeps_the_other_modalities_identical():
    full = synthesize(SMALL, 100, seed=4)
    sub = synthesize(dataclasses.replace(SMALL, modalities=("cna", "methylation")),
                     100, seed=4)
    assert sub.data.modalities == ["cna", "methylation"] and sub.fragment_counts is None
    for m in ("cna", "methylation"):
        np.testing.assert_array_equal(sub.data.x[m], full.data.x[m])


def test_genome_bins_cover_every_autosome_in_proportion_to_its_length():
    loci = genome_bins(110)
    counts = loci.groupby("chrom_index").size().to_numpy()
    assert len(loci) == 110 and len(counts) == 22 and counts.min() >= 1
    share = np.array(HG38_AUTOSOMES) / sum(HG38_AUTOSOMES)
    assert np.abs(counts - 88 * share - 1).max() < 1  # one each + largest-remainder share
    assert np.all(np.diff(loci["position_mb"]) > 0)
    for c, g in loci.groupby("chrom_index"):
        assert g["start"].iloc[0] == 0 and g["end"].iloc[-1] == HG38_AUTOSOMES[c]
        np.testing.assert_array_equal(g["start"].to_numpy()[1:], g["end"].to_numpy()[:-1])
    assert genome_bins(22)["chrom_index"].tolist() == list(range(22))


def test_methylation_is_bimodal():
    # paper scale: at 40 loci the 8 intermediate joint loci would be a fifth of the regions
    x = World.from_config(CohortConfig()).sample(300, seed=1, classes=0).data.x["methylation"]
    x = x.ravel()
    hist, _ = np.histogram(x, bins=10, range=(0, 1))
    low, mid, high = hist[:3].max(), hist[3:7].max(), hist[7:].max()
    assert mid < 0.5 * low and mid < 0.5 * high  # a dip between two modes


def test_tumour_methylation_shifts_toward_the_class_tumour_mean():
    w = World.from_config(CohortConfig(effect_size=1.0))
    c = w.sample(2000, seed=1, classes=1, tumour_fraction=0.5)
    free = np.setdiff1d(np.arange(110), w.joint_loci)
    expected = w.methylation.normal_mean + 0.5 * (w.methylation.tumour_mean[1]
                                                  - w.methylation.normal_mean)
    # the beta standard deviation is below 0.11 at precision >= 20: 2000 samples put the mean
    # within 0.011 at 4 standard errors
    np.testing.assert_allclose(c.data.x["methylation"][:, free].mean(0), expected[free], atol=0.011)


def test_fragment_peaks_sit_near_167_and_334_bp_and_tumour_fragments_are_shorter(world):
    frag = world.fragments
    normal = frag.normal
    mono = frag.centres[np.argmax(np.where(frag.centres < 250, normal, 0))]
    di = frag.centres[np.argmax(np.where(frag.centres > 250, normal, 0))]
    assert abs(mono - 167) <= 8  # one 8-bp bin
    assert abs(di - 334) <= 16  # two bins: the dinucleosomal peak is broad
    c = world.sample(3000, seed=5, classes=0)
    observed = c.data.x["fragmentomics"].mean(0)
    assert frag.centres[np.argmax(np.where(frag.centres < 250, observed, 0))] == mono
    for k in range(1, world.n_classes):
        peak = frag.centres[np.argmax(np.where(frag.centres < 250, frag.tumour[k], 0))]
        assert peak < mono


def test_fragment_ladder_has_a_10_bp_period_below_the_main_peak():
    lengths = np.arange(100, MONO - 15, 0.05)  # the ladder fades in just below the peak
    log_dens = np.log(length_density(lengths, MONO, 11.0, 0.06, 0.12))
    ripple = log_dens - np.polyval(np.polyfit(lengths, log_dens, 4), lengths)  # detrended
    peaks = lengths[1:-1][(ripple[1:-1] > ripple[:-2]) & (ripple[1:-1] > ripple[2:])]
    assert len(peaks) >= 4
    # the smooth envelope still bends the maxima a little: half a base pair of tolerance
    np.testing.assert_allclose(np.diff(peaks), PERIOD, atol=0.5)


def test_forward_log_likelihood_equals_hmmlearn_score(world):
    cna, rng = world.cna, np.random.default_rng(0)
    for k in range(world.n_classes):
        for chrom in (0, 6, 21):
            loci = cna.loci_of(chrom)
            for f in (0.0, 0.17, 0.6):
                hmm = cna.to_hmmlearn(k, chrom, f)
                x = rng.normal(0, 0.3, size=(5, len(loci)))
                u = cna.chain_of[k, chrom]
                le = stats.norm.logpdf(x[:, :, None], hmm.means_[:, 0], cna.noise_sd)
                mine = forward_log_likelihood(le, cna.startprob[u], cna.transmat[u])
                ref = [hmm.score(row[:, None]) for row in x]
                np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-8)


def test_copy_number_log_likelihood_is_the_sum_of_hmmlearn_scores(world, cohort):
    cna, d = world.cna, cohort.data
    idx = np.arange(12)
    mine = cna.log_likelihood(d.x["cna"][idx], cohort.y[idx], cohort.tumour_fraction[idx])
    ref = [sum(cna.to_hmmlearn(cohort.y[i], c, cohort.tumour_fraction[i])
               .score(d.x["cna"][i, cna.loci_of(c)][:, None]) for c in range(22)) for i in idx]
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-8)


def _runs(states: np.ndarray) -> list[tuple[int, int, bool]]:
    """(state, length, touches an end) of every run in each row."""
    out = []
    for row in states:
        cut = np.flatnonzero(np.diff(row)) + 1
        starts, ends = np.r_[0, cut], np.r_[cut, len(row)]
        out += [(row[a], b - a, a == 0 or b == len(row)) for a, b in zip(starts, ends, strict=True)]
    return out


def test_vectorised_sampler_and_hmmlearn_draw_the_same_chains():
    world = World.from_config(CohortConfig())
    cna = world.cna
    k, chrom = np.argwhere(cna.driver == 1)[0]  # a gain driver: all four states reachable
    u, length, n = cna.chain_of[k, chrom], len(cna.loci_of(chrom)), 3000
    start, trans = cna.startprob[u], cna.transmat[u]
    mine = sample_chain(start, trans, n, length, np.random.default_rng(1))
    hmm, rs = cna.to_hmmlearn(k, chrom, 0.3), np.random.RandomState(2)
    theirs = np.array([hmm.sample(length, random_state=rs)[1] for _ in range(n)])
    # state occupancy at every position against the exact marginal start @ trans^t;
    # 4.5 binomial standard errors over 4 * length cells: false failure below 1e-3
    exact = np.array([start @ np.linalg.matrix_power(trans, t) for t in range(length)])
    se = np.sqrt(exact * (1 - exact) / n)
    for states in (mine, theirs):
        occupancy = np.stack([(states == s).mean(0) for s in range(4)], axis=1)
        assert (np.abs(occupancy - exact) <= 4.5 * se + 1e-12).all()
    # run-length distributions: chi-square homogeneity of the two samplers (lengths >= 4
    # pooled so that every cell is well filled), at level 1e-3
    table = np.zeros((2, 4), int)
    for row, states in enumerate((mine, theirs)):
        lengths = np.array([r[1] for r in _runs(states)])
        table[row] = np.bincount(np.minimum(lengths, 4), minlength=5)[1:]
    assert stats.chi2_contingency(table).pvalue > 1e-3


def test_mean_run_length_is_one_over_one_minus_the_stay_probability():
    start, trans = chain(0.2, 0.25, 0.1, stay=0.8)
    states = sample_chain(start, trans, 4, 25000, np.random.default_rng(3))
    runs = [r for r in _runs(states) if not r[2]]  # runs cut by a chromosome end are shorter
    for s in range(4):
        lengths = np.array([r[1] for r in runs if r[0] == s])
        p = trans[s, s]
        # geometric run lengths: mean 1 / (1 - p), sd sqrt(p) / (1 - p); 4 standard errors
        se = np.sqrt(p) / (1 - p) / np.sqrt(len(lengths))
        assert abs(lengths.mean() - 1 / (1 - p)) < 4 * se


def test_copy_number_segments_do_not_cross_chromosomes(world):
    # a chain restarts at each chromosome: the first bin follows the start distribution even
    # when the previous chromosome ended in a gain
    tables = world.cna.transition_tables()
    first = np.r_[True, world.cna.chromosome[1:] != world.cna.chromosome[:-1]]
    for k in range(world.n_classes):
        for j in np.flatnonzero(first):
            u = world.cna.chain_of[k, world.cna.chromosome[j]]
            np.testing.assert_array_equal(tables[k, j], np.tile(world.cna.startprob[u], (4, 1)))


def test_joint_signal_lives_only_in_the_joint_distribution():
    w = World.from_config(CohortConfig(effect_size=1.0))
    plus, minus = (int(np.flatnonzero(w.coupling == s)[0]) for s in (1, -1))
    a = w.sample(4000, seed=11, classes=plus, tumour_fraction=0.5)
    b = w.sample(4000, seed=12, classes=minus, tumour_fraction=0.5)
    j = w.joint_loci
    corr = []
    for c in (a, b):
        meth, cn = c.data.x["methylation"][:, j], c.data.x["cna"][:, j]
        corr.append(np.corrcoef(meth.ravel(), cn.ravel())[0, 1])
    assert corr[0] > 0.3 and corr[1] < -0.3
    for i in range(len(j)):
        # the same marginals: 2 x 8 tests at level 1e-3 each, false failure below 2%
        for m in ("methylation", "cna"):
            assert stats.ks_2samp(a.data.x[m][:, j[i]], b.data.x[m][:, j[i]]).pvalue > 1e-3
    # and the joint loci sit where no class has a copy-number driver
    assert (w.cna.driver[:, w.cna.chromosome[j]] == 0).all()


def test_missing_modalities_are_nan_rows_and_no_sample_loses_everything():
    cfg = dataclasses.replace(SMALL, missing_rate=0.4)
    c = synthesize(cfg, 5000, seed=2)
    d = c.data
    assert d.mask.any(axis=1).all()
    for i, m in enumerate(d.modalities):
        np.testing.assert_array_equal(np.isnan(d.x[m]).all(axis=1), ~d.mask[:, i])
        assert not np.isnan(d.x[m][d.mask[:, i]]).any()
    # P(missing) = r - r^M / M after the keep-one rule (r = 0.4, M = 3); 4 binomial SEs
    expected = 0.4 - 0.4**3 / 3
    se = np.sqrt(expected * (1 - expected) / d.mask.size)
    assert abs((~d.mask).mean() - expected) < 4 * se


@pytest.mark.parametrize("names", [("healthy", "cancer"),
                                   tuple(f"c{i}" for i in range(8))])
def test_any_number_of_classes_works(names):
    priors = tuple(np.full(len(names), 1 / len(names)))
    w = World.from_config(CohortConfig(n_loci=30, n_fragment_bins=20, class_names=names,
                                       class_priors=priors))
    c = w.sample(400, seed=0)
    assert set(np.unique(c.y)) == set(range(len(names)))
    assert set(w.coupling[1:]) <= {-1, 1} and w.coupling[0] == 0
    assert (w.cna.driver[1:] != 0).sum(axis=1).min() >= 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"n_loci": 0}, r"cohort\.n_loci = 0 is invalid"),
        ({"n_loci": 10}, r"cohort\.n_loci = 10 is invalid: expected an integer >= 22"),
        ({"n_fragments": -5}, r"cohort\.n_fragments = -5 is invalid"),
        ({"n_fragment_bins": 0}, r"cohort\.n_fragment_bins = 0 is invalid"),
        ({"missing_rate": 1.5}, r"cohort\.missing_rate = 1\.5 is invalid"),
        ({"class_priors": (0.5, 0.5, 0.2, -0.1, -0.1)}, r"cohort\.class_priors"),
        ({"class_names": ("a",), "class_priors": (1.0,)}, r"at least 2 classes"),
        ({"modalities": ("methylation", "rna")}, r"cohort\.modalities = .*'rna'"),
        ({"effect_size": 2.0}, r"cohort\.effect_size = 2\.0 is invalid: expected a number <= "),
        ({"max_tumour_fraction": 0.605}, r"cohort\.max_tumour_fraction = 0\.605 is invalid"),
        ({"tumour_fraction_resolution": 0}, r"cohort\.tumour_fraction_resolution = 0"),
        ({"n_joint_loci": -1}, r"cohort\.n_joint_loci = -1 is invalid"),
    ],
)
def test_bad_cohort_settings_raise_one_clear_error(values, message):
    with pytest.raises(ValueError, match=message):
        CohortConfig(**values)


def test_bad_sampling_arguments_raise_one_clear_error(world):
    with pytest.raises(ValueError, match=r"sample\.n_samples = 0 is invalid"):
        world.sample(0)
    with pytest.raises(ValueError, match=r"sample\.seed = -1 is invalid"):
        world.sample(10, seed=-1)
    with pytest.raises(ValueError, match=r"sample\.classes = 9 is invalid"):
        world.sample(10, classes=9)
    with pytest.raises(ValueError, match=r"sample\.tumour_fraction = 0\.9 is invalid"):
        world.sample(10, tumour_fraction=0.9)
    with pytest.raises(ValueError, match=r"cohort\.n_joint_loci = 30 is invalid: expected at "):
        World.from_config(CohortConfig(n_loci=30, n_joint_loci=30))


def test_large_profile_has_longer_sequences_than_paper(large):
    profile, world = large
    paper = load_profile("paper")
    lengths = {s.name: s.n_features for s in world.specs()}
    assert lengths == {"methylation": profile.cohort.n_loci,
                       "fragmentomics": profile.cohort.n_fragment_bins,
                       "cna": profile.cohort.n_loci}
    assert min(lengths.values()) > paper.cohort.n_loci
    assert profile.cohort.n_samples == 100_000
