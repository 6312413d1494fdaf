"""Lightning's training loop against a plain PyTorch loop on the same model and data.

    python benchmarks/lightning_overhead.py                  # paper profile
    python benchmarks/lightning_overhead.py --profile smoke

Both loops train one epoch with the same model, batches and training step (the training loss
of ``losses.batch_loss``, gradient clipping, AdamW and its learning-rate schedule:
``profiling.plain_epoch_fn``). The timings alternate round by round (Lightning, plain, plain,
Lightning, ...: ``profiling.time_interleaved``) so that a change of machine load hits both;
the overhead is the median over rounds of the two loops' ratio within a round, and the
quietness check (``profiling.quietness``) says whether the machine was quiet meanwhile.
"""

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
    from cancer_alpha.profiling import (
        QuietnessMonitor,
        device_label,
        plain_epoch_fn,
        time_interleaved,
    )

    profile = load_profile(args.profile)
    repeats = args.repeats or max(3, profile.profiling.repeats)
    n_features = profile.cohort.n_loci
    lightning_epoch, plain_epoch = plain_epoch_fn(args.model, args.samples, n_features,
                                                  profile.train, profile.model)
    monitor = QuietnessMonitor("cpu")
    with monitor.block("Lightning against a plain loop") as block:
        # warm-up: first calls pay imports and allocations
        loops = time_interleaved({"Lightning": lightning_epoch, "plain PyTorch": plain_epoch},
                                 repeats=repeats, warmup=1)
        block.timings(loops)

    steps = -(-args.samples // profile.train.batch_size)
    print(f"profile {args.profile}, {device_label('cpu')}; {args.model}, {args.samples} "
          f"samples, {n_features} features per modality, batch {profile.train.batch_size} "
          f"({steps} steps), {repeats} interleaved rounds")
    print(f"{'loop':<15}{'low s':>9}{'ms/step':>9}{'median s':>10}{'max s':>8}")
    for label in loops.names:
        t = loops[label]
        print(f"{label:<15}{t.low_s:>9.3f}{1e3 * t.low_s / steps:>9.2f}{t.median_s:>10.3f}"
              f"{t.max_s:>8.3f}")
    ratio = loops.ratio
    added_ms = 1e3 * (loops["Lightning"].low_s - loops["plain PyTorch"].low_s) / steps
    print(f"overhead ratio {ratio:.3f} (median of the rounds' ratios; of the low quantiles "
          f"{loops.ratio_of_lows:.3f}; aim <= {AIM_RATIO}): "
          f"{'meets' if ratio <= AIM_RATIO else 'misses'} the aim; Lightning adds "
          f"{added_ms:.2f} ms per step")
    print(f"was the machine quiet? {block.report.summary}")


if __name__ == "__main__":
    main()
