"""Throughput of the synthetic cohort generator and of the exact Bayes classifier, on one thread.

    python benchmarks/synth.py                 # paper scale (the CohortConfig defaults)
    python benchmarks/synth.py --profile smoke

Prints samples per second (best of ``--repeats`` timings). BLAS and OpenMP are pinned to one
thread before numpy is imported, so the numbers are per core whatever the environment says.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its BLAS

import argparse  # noqa: E402
import time  # noqa: E402

SUBSETS = (None, ("methylation",), ("fragmentomics",), ("cna",),
           ("methylation", "fragmentomics"), ("methylation", "cna"), ("fragmentomics", "cna"))


def best_time(fn, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls of fn (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="paper",
                        help="cohort settings of this profile (default: paper)")
    parser.add_argument("--samples", type=int, default=20000,
                        help="samples per generator timing (default: 20000)")
    parser.add_argument("--bayes-samples", type=int, default=4000,
                        help="samples per Bayes-classifier timing (default: 4000)")
    parser.add_argument("--repeats", type=int, default=3, help="timings per row (default: 3)")
    args = parser.parse_args(argv)

    from cancer_alpha.bayes import BayesClassifier, subset_ceilings
    from cancer_alpha.config import CohortConfig, load_profile
    from cancer_alpha.synth import World

    cohort_cfg = CohortConfig() if args.profile == "paper" else load_profile(args.profile).cohort
    world = World.from_config(cohort_cfg)
    cohort = world.sample(args.bayes_samples, seed=1)
    clf = BayesClassifier(world)

    rows = [("generator", args.samples,
             best_time(lambda: world.sample(args.samples, seed=2), args.repeats))]
    for subset in SUBSETS:
        name = "bayes " + ("+".join(subset) if subset else "joint")
        rows.append((name, args.bayes_samples, best_time(
            lambda s=subset: clf.predict_proba(cohort.data, modalities=s), args.repeats)))
    rows.append(("bayes all 7 subsets, shared work", args.bayes_samples, best_time(
        lambda: subset_ceilings(clf, cohort.data), args.repeats)))

    print(f"profile {args.profile}: {cohort_cfg.n_loci} loci, {cohort_cfg.n_fragment_bins} "
          f"fragment bins, {len(cohort_cfg.class_names)} classes, 1 thread, "
          f"best of {args.repeats}")
    print(f"{'what':<36}{'samples':>9}{'seconds':>10}{'samples/s':>12}")
    for name, n, sec in rows:
        print(f"{name:<36}{n:>9}{sec:>10.3f}{n / sec:>12.0f}")


if __name__ == "__main__":
    main()
