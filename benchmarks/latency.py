"""Inference latency: batched milliseconds per sample and single-sample p50/p99.

    python benchmarks/latency.py                  # paper profile
    python benchmarks/latency.py --profile smoke
    python benchmarks/latency.py --models mmt_modality --compare-reference e730943

Untrained models (speed does not depend on the weights) at the profile's features per
modality, in evaluation mode under ``torch.inference_mode``, warm-up calls excluded, run as
``cancer-alpha predict`` runs them: without attention weights (``attention_returned(model,
False)``). The batched figure is the fastest of ``--batch-repeats`` passes, the single-sample
figure the low quantile of the calls (``profiling.LOW_QUANTILE``), the median beside it.
Prints each figure beside the aim and the ratio measured / aim (below 1 meets it), and whether
the machine was quiet while each model was measured (``profiling.quietness``): an aim missed
on a disturbed block says little about the code.

``--compare-reference REV`` also measures the models as they were at git revision REV (same
weights and inputs), the two measured in turn ``--rounds`` times; the figures are medians
over rounds and old / new is printed for both.
"""

import statistics

import _args

AIM_BATCHED_MS = 0.05  # per sample, in batches (the fastest pass)
AIM_SINGLE_MS = 2.0  # one sample at a time (the low quantile of the calls)
MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer", "early_fusion_mlp")


def measure(model, specs, batch_size: int, samples: int, batch_repeats: int = 5):
    """``profiling.inference_latency`` of ``model`` without attention weights."""
    from cancer_alpha.models import attention_returned
    from cancer_alpha.profiling import inference_latency, random_batch

    def make(k: int):
        b = random_batch(specs, k)
        return b["x"], b["mask"]

    with attention_returned(model, False):
        return inference_latency(model.eval(), make, batch_size=batch_size, n_samples=samples,
                                 batch_repeats=batch_repeats)


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models (default: {','.join(MODELS)})")
    parser.add_argument("--batch", type=int, default=256, help="batch size (default: 256)")
    parser.add_argument("--samples", type=int, default=None, help="timed single-sample calls "
                        "(default: the profile's profiling.latency_samples)")
    parser.add_argument("--batch-repeats", type=int, default=5,
                        help="timed passes over the batches (default: 5)")
    parser.add_argument("--compare-reference", metavar="REV", default=None,
                        help="also measure the models of git revision REV and print old / new")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --compare-reference: measurements of each (default: 3)")
    args = _args.parse(parser, argv)

    from train_throughput import paired_models, reference_models

    from cancer_alpha.config import load_profile
    from cancer_alpha.models import build_model
    from cancer_alpha.profiling import QuietnessMonitor, device_label, synthetic_specs

    cfg = load_profile(args.profile)
    n_features = cfg.cohort.n_loci
    samples = args.samples or cfg.profiling.latency_samples
    specs = synthetic_specs(n_features)
    reference = reference_models(args.compare_reference) if args.compare_reference else None
    print(f"profile {args.profile}, {device_label('cpu')}; {n_features} features per modality, "
          f"batch {args.batch}, {samples} single-sample calls")
    print(f"aims: batched <= {AIM_BATCHED_MS} ms/sample, single (low quantile) <= "
          f"{AIM_SINGLE_MS} ms")
    print(f"{'model':<18}{'batched ms':>11}{'/aim':>7}{'samples/s':>11}{'low ms':>9}{'/aim':>7}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'meets':>7}{'quiet':>7}"
          + (f"{'ref batched':>12}{'old/new':>8}{'ref low':>9}{'old/new':>8}" if reference
             else ""))
    monitor = QuietnessMonitor("cpu")
    for name in [m for m in args.models.split(",") if m]:
        extra = ""
        with monitor.block(name) as block:
            if reference is None:
                r = measure(build_model(name, specs, 5, cfg.model), specs, args.batch, samples,
                            args.batch_repeats)
                block.timings(r)
                batched, low, p50, p99 = (r.batched_ms_per_sample, r.single_low_ms,
                                          r.single_p50_ms, r.single_p99_ms)
            else:
                new, old = paired_models(name, reference, specs, cfg.model)
                runs: dict[str, list] = {"new": [], "old": []}
                for i in range(args.rounds):
                    for key in (("new", "old") if i % 2 == 0 else ("old", "new")):
                        runs[key].append(measure(new if key == "new" else old, specs,
                                                 args.batch, samples, args.batch_repeats))
                block.timings(*runs["new"], *runs["old"])
                med = {k: (statistics.median(r.batched_ms_per_sample for r in v),
                           statistics.median(r.single_low_ms for r in v),
                           statistics.median(r.single_p50_ms for r in v),
                           statistics.median(r.single_p99_ms for r in v))
                       for k, v in runs.items()}
                batched, low, p50, p99 = med["new"]
                extra = (f"{med['old'][0]:>12.4f}{med['old'][0] / batched:>8.2f}"
                         f"{med['old'][1]:>9.3f}{med['old'][1] / low:>8.2f}")
        b, s = batched / AIM_BATCHED_MS, low / AIM_SINGLE_MS
        meets = "yes" if b <= 1 and s <= 1 else "no"
        quiet = "no" if block.report.disturbed else "yes"
        print(f"{name:<18}{batched:>11.4f}{b:>7.2f}{1e3 / batched:>11.0f}"
              f"{low:>9.3f}{s:>7.2f}{p50:>9.3f}{p99:>9.3f}{meets:>7}{quiet:>7}{extra}")
    print("was the machine quiet?")
    for report in monitor.reports:
        print(f"  {report.summary}")


if __name__ == "__main__":
    main()
