"""Lightning's training loop against a plain PyTorch loop on the same model and data.

    python benchmarks/lightning_overhead.py                  # paper profile
    python benchmarks/lightning_overhead.py --profile smoke

Both loops train one epoch with the same model, batches and training step (the training loss
of ``losses.batch_loss``, gradient clipping, AdamW and its learning-rate schedule:
``profiling.plain_epoch_fn``). The timings alternate (Lightning, plain, Lightning, ...) so
that a change of machine load hits both; the ratio of their medians is the overhead.
"""

import statistics
import time

import _args

AIM_RATIO = 1.15  # Lightning at most 15% slower than the plain loop


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--model", default="mmt_modality", help="model (default: mmt_modality)")
    parser.add_argument("--samples", type=int, default=640,
                        help="training samples of the epoch (default: 640)")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs of each loop "
                        "(default: the profile's profiling.repeats, at least 3)")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.profiling import device_label, plain_epoch_fn

    profile = load_profile(args.profile)
    repeats = args.repeats or max(3, profile.profiling.repeats)
    n_features = profile.cohort.n_loci
    lightning_epoch, plain_epoch = plain_epoch_fn(args.model, args.samples, n_features,
                                                  profile.train, profile.model)
    lightning_epoch(), plain_epoch()  # warm-up: first calls pay imports and allocations
    times: dict[str, list[float]] = {"Lightning": [], "plain PyTorch": []}
    for _ in range(repeats):
        for label, fn in (("Lightning", lightning_epoch), ("plain PyTorch", plain_epoch)):
            t0 = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - t0)

    steps = -(-args.samples // profile.train.batch_size)
    print(f"profile {args.profile}, {device_label('cpu')}; {args.model}, {args.samples} "
          f"samples, {n_features} features per modality, batch {profile.train.batch_size} "
          f"({steps} steps), median of {repeats}")
    print(f"{'loop':<15}{'s/epoch':>9}{'ms/step':>9}{'min s':>8}{'max s':>8}")
    med = {k: statistics.median(v) for k, v in times.items()}
    for label, ts in times.items():
        print(f"{label:<15}{med[label]:>9.3f}{1e3 * med[label] / steps:>9.2f}{min(ts):>8.3f}"
              f"{max(ts):>8.3f}")
    ratio = med["Lightning"] / med["plain PyTorch"]
    print(f"overhead ratio {ratio:.3f} (aim <= {AIM_RATIO}): "
          f"{'meets' if ratio <= AIM_RATIO else 'misses'} the aim; Lightning adds "
          f"{1e3 * (med['Lightning'] - med['plain PyTorch']) / steps:.2f} ms per step")


if __name__ == "__main__":
    main()
