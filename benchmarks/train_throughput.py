"""Achieved training GFLOP/s of each model against this machine's matrix-multiply peak.

    python benchmarks/train_throughput.py                  # paper profile
    python benchmarks/train_throughput.py --profile smoke

The peak is the best float32 ``torch.matmul`` rate on 2048 x 2048 matrices, measured in the
same run; a model's rate is its counted forward FLOPs x 3 (forward and backward) per median
training step (forward, backward, AdamW) at the profile's features per modality and batch.
"""

import _args

MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer", "early_fusion_mlp")


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models (default: {','.join(MODELS)})")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed steps per model (default: 5)")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.profiling import device_label, matmul_peak_gflops, train_gflops

    cfg = load_profile(args.profile)
    n_features, batch = cfg.cohort.n_loci, cfg.train.batch_size
    peak = matmul_peak_gflops(device="cpu")
    print(f"profile {args.profile}, {device_label('cpu')}; {n_features} features per modality, "
          f"batch {batch}; float32 matmul peak {peak:.1f} GFLOP/s")
    print(f"{'model':<18}{'GFLOP/step':>11}{'ms/step':>9}{'GFLOP/s':>9}{'of peak':>9}")
    for name in [m for m in args.models.split(",") if m]:
        r = train_gflops(name, n_features, batch, cfg.model, repeats=args.repeats)
        print(f"{name:<18}{r['gflop_per_step']:>11.4f}{1e3 * r['seconds_per_step']:>9.2f}"
              f"{r['gflops']:>9.2f}{r['gflops'] / peak:>9.1%}")


if __name__ == "__main__":
    main()
