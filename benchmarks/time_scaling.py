"""Wall time of one training epoch against the number of training samples.

    python benchmarks/time_scaling.py                  # paper profile
    python benchmarks/time_scaling.py --profile smoke

For each size of ``profiling.dataset_sizes``, the median time of a Lightning training epoch
(the book's recipe) of one model at the profile's features per modality. Prints each time as
a ratio of the smallest size's beside the ratios n and n log n predict, then the fitted
log-log exponent and which of the fixed laws a n and a n log n fits better.
"""

import math

import _args


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--model", default="mmt_modality", help="model (default: mmt_modality)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed epochs per size (default: the profile's profiling.repeats)")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.profiling import compare_nlogn, device_label, epoch_seconds

    profile = load_profile(args.profile)
    sizes = profile.profiling.dataset_sizes
    repeats = args.repeats or profile.profiling.repeats
    n_features = profile.cohort.n_loci
    print(f"profile {args.profile}, {device_label('cpu')}; {args.model}, {n_features} features "
          f"per modality, batch {profile.train.batch_size}, median of {repeats} after 1 warm-up")
    print(f"{'samples':>9}{'seconds':>10}{'ms/sample':>11}{'t/t0':>8}{'n/n0':>8}"
          f"{'nlogn/n0logn0':>15}")
    times = []
    for n in sizes:
        t = epoch_seconds(args.model, n, n_features, profile.train, profile.model, repeats=repeats)
        times.append(t.median_s)
        n0 = sizes[0]
        print(f"{n:>9}{t.median_s:>10.3f}{1e3 * t.median_s / n:>11.3f}{t.median_s / times[0]:>8.2f}"
              f"{n / n0:>8.2f}{n * math.log(n) / (n0 * math.log(n0)):>15.2f}")
    law = compare_nlogn(sizes, times)
    fit = law.power_law
    print(f"exponent {fit.exponent:.3f} (95% CI {fit.ci95[0]:.3f} to {fit.ci95[1]:.3f}, "
          f"r2 {fit.r2:.3f}); log residuals: a n {law.linear.rss:.4f}, a n log n "
          f"{law.nlogn.rss:.4f}; better: {law.preferred}")


if __name__ == "__main__":
    main()
