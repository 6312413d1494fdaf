"""Inference latency: batched milliseconds per sample and single-sample p50/p99.

    python benchmarks/latency.py                  # paper profile
    python benchmarks/latency.py --profile smoke

Untrained models (speed does not depend on the weights) at the profile's features per
modality, in evaluation mode under ``torch.inference_mode``, warm-up calls excluded. Prints
each figure beside the aim and the ratio measured / aim (below 1 meets it).
"""

import _args

AIM_BATCHED_MS = 0.05  # per sample, in batches
AIM_SINGLE_P50_MS = 2.0  # one sample at a time, median
MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer", "early_fusion_mlp")


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models (default: {','.join(MODELS)})")
    parser.add_argument("--batch", type=int, default=256, help="batch size (default: 256)")
    parser.add_argument("--samples", type=int, default=None, help="timed single-sample calls "
                        "(default: the profile's profiling.latency_samples)")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.profiling import device_label, latency_of

    cfg = load_profile(args.profile)
    n_features = cfg.cohort.n_loci
    samples = args.samples or cfg.profiling.latency_samples
    print(f"profile {args.profile}, {device_label('cpu')}; {n_features} features per modality, "
          f"batch {args.batch}, {samples} single-sample calls")
    print(f"aims: batched <= {AIM_BATCHED_MS} ms/sample, single p50 <= {AIM_SINGLE_P50_MS} ms")
    print(f"{'model':<18}{'batched ms':>11}{'/aim':>7}{'samples/s':>11}{'p50 ms':>9}{'/aim':>7}"
          f"{'p99 ms':>9}{'meets':>7}")
    for name in [m for m in args.models.split(",") if m]:
        r = latency_of(name, n_features, cfg.model, n_samples=samples, batch_size=args.batch)
        b, s = r.batched_ms_per_sample / AIM_BATCHED_MS, r.single_p50_ms / AIM_SINGLE_P50_MS
        meets = "yes" if b <= 1 and s <= 1 else "no"
        print(f"{name:<18}{r.batched_ms_per_sample:>11.4f}{b:>7.2f}{r.batched_samples_per_s:>11.0f}"
              f"{r.single_p50_ms:>9.3f}{s:>7.2f}{r.single_p99_ms:>9.3f}{meets:>7}")


if __name__ == "__main__":
    main()
