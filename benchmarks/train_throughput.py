"""Achieved training GFLOP/s of each model against this machine's matrix-multiply peak.

    python benchmarks/train_throughput.py                  # paper profile
    python benchmarks/train_throughput.py --profile smoke
    python benchmarks/train_throughput.py --compare-reference e730943 --threads 1

The peak is the best float32 ``torch.matmul`` rate on 2048 x 2048 matrices, measured in the
same run; a model's rate is its counted forward FLOPs x 3 (forward and backward) per training
step (forward, backward, AdamW; the low quantile of the timed steps) at the profile's features
per modality and batch. Each model is timed inside a quietness check
(``profiling.quietness``): whether the machine was quiet is printed beside its rate.
FLOPs are those of the architecture as written (``models.complexity.flops_per_sample``), so
a cheaper equal computation shows as a higher rate. ``torch.matmul`` runs MKL's sgemm, which
on AMD CPUs takes an AVX2 code path; oneDNN's rate on the same product, which the models'
large products use, is printed beside it and the share of both is given.

``--compare-reference REV`` times the models as they were at git revision REV (imported
from ``git show``, with the same weights and batch) beside the current ones, one step of
each in turn (``profiling.time_interleaved``), and prints old / new.
"""

import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _args

MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer", "early_fusion_mlp")
ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = "src/cancer_alpha/models/"


def reference_models(rev: str):
    """``cancer_alpha.models`` as of git revision ``rev``, imported as a package of its own
    (``cancer_alpha_models_<rev>``) beside the current one; the rest of ``cancer_alpha``
    is the current code."""
    name = "cancer_alpha_models_" + "".join(c if c.isalnum() else "_" for c in rev)
    if name in sys.modules:
        return sys.modules[name]
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, MODELS_DIR],
                             capture_output=True, text=True, check=True).stdout.split()
    package = Path(tempfile.mkdtemp(prefix="reference_models_")) / name
    package.mkdir()
    for path in (p for p in listing if p.endswith(".py")):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
                              capture_output=True, text=True, check=True).stdout
        (package / Path(path).name).write_text(text.replace("cancer_alpha.models", name))
    sys.path.insert(0, str(package.parent))
    return importlib.import_module(name)


def paired_models(name: str, reference, specs, cfg):
    """The current model and the reference one, with the same weights."""
    import torch

    from cancer_alpha.models import build_model

    torch.manual_seed(0)
    new = build_model(name, specs, 5, cfg)
    old = reference.build_model(name, specs, 5, cfg)
    old.load_state_dict(new.state_dict())
    return new, old


def onednn_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of the oneDNN float32 product the models use, on size x size matrices."""
    import torch

    from cancer_alpha.models.kernels import matmul_t

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=g), torch.randn(size, size, generator=g)
    matmul_t(a, b)
    best = min(_seconds(lambda: matmul_t(a, b)) for _ in range(repeats))
    return 2.0 * size**3 / best / 1e9


def _seconds(f) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models (default: {','.join(MODELS)})")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timed steps per model (default: 5)")
    parser.add_argument("--compare-reference", metavar="REV", default=None,
                        help="also time the models of git revision REV, in turn with the "
                        "current ones, and print old / new")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.models import build_model
    from cancer_alpha.models.complexity import flops_per_sample
    from cancer_alpha.profiling import (
        QuietnessMonitor,
        device_label,
        matmul_peak_gflops,
        random_batch,
        synthetic_specs,
        time_interleaved,
        train_gflops,
        training_step_fn,
    )

    cfg = load_profile(args.profile)
    n_features, batch_size = cfg.cohort.n_loci, cfg.train.batch_size
    peak = matmul_peak_gflops(device="cpu")
    dnn_peak = onednn_peak_gflops()
    print(f"profile {args.profile}, {device_label('cpu')}; {n_features} features per modality, "
          f"batch {batch_size}; float32 matmul peak {peak:.1f} GFLOP/s (torch.matmul), "
          f"{dnn_peak:.1f} GFLOP/s (oneDNN)")
    reference = reference_models(args.compare_reference) if args.compare_reference else None
    head = (f"{'model':<18}{'GFLOP/step':>11}{'ms/step':>9}{'GFLOP/s':>9}{'of peak':>9}"
            f"{'of dnn':>8}{'quiet':>7}")
    print(head + (f"{'ref ms':>9}{'old/new':>9}" if reference else ""))
    specs = synthetic_specs(n_features)
    monitor = QuietnessMonitor("cpu")
    for name in [m for m in args.models.split(",") if m]:
        with monitor.block(name) as block:
            if reference is None:
                r = train_gflops(name, n_features, batch_size, cfg.model, repeats=args.repeats,
                                 train_cfg=cfg.train)
                block.timings(r["step_seconds"])
                flops, seconds, extra = r["gflop_per_step"] * 1e9, r["seconds_per_step"], ""
            else:
                new, old = paired_models(name, reference, specs, cfg.model)
                flops = flops_per_sample(build_model(name, specs, 5, cfg.model),
                                         random_batch(specs, 8)) * 3 * batch_size
                batch = random_batch(specs, batch_size)
                steps = time_interleaved({"new": training_step_fn(new, batch, cfg.train),
                                          "old": training_step_fn(old, batch, cfg.train)},
                                         args.repeats, warmup=2)
                block.timings(steps)
                seconds, old_seconds = steps["new"].low_s, steps["old"].low_s
                extra = f"{1e3 * old_seconds:>9.2f}{1 / steps.ratio:>9.2f}"
        gflops = flops / seconds / 1e9
        quiet = "no" if block.report.disturbed else "yes"
        print(f"{name:<18}{flops / 1e9:>11.4f}{1e3 * seconds:>9.2f}{gflops:>9.2f}"
              f"{gflops / peak:>9.1%}{gflops / dnn_peak:>8.1%}{quiet:>7}{extra}")
    print("was the machine quiet?")
    for report in monitor.reports:
        print(f"  {report.summary}")


if __name__ == "__main__":
    main()
