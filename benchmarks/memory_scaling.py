"""Peak memory of a training step against sequence length, and of paper-scale training.

    python benchmarks/memory_scaling.py                  # paper profile
    python benchmarks/memory_scaling.py --profile smoke

Part 1: for each features-per-modality length of ``profiling.sequence_lengths``, the peak of
live tensor storage during one training step (forward, backward, AdamW) above the model, its
gradients and its optimiser state, with the fitted log-log exponent per model (1 = linear) and
Perceiver IO's memory as a ratio of the full-attention transformer's (``mmt_locus``) measured
in the same run. Part 2: in a fresh process, the resident-set high-water mark of building a
model and training it for one epoch at the profile's cohort size, features and batch, above
the idle process (interpreter, torch and the package already loaded), against the aim.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import _args

if TYPE_CHECKING:  # the package loads after the arguments are parsed
    from cancer_alpha.config import ModelConfig, TrainConfig

AIM_MB = 230.0  # paper-scale training above the idle process: a tenth of the claimed 2.3 GB
MODELS = ("mmt_modality", "mmt_locus", "perceiver_io", "tab_transformer")


def training_rss(name: str, n_features: int, n_samples: int, train_cfg: TrainConfig,
                 model_cfg: ModelConfig) -> dict:
    """RSS and tensor peaks of building ``name`` and training one epoch of ``n_samples`` in
    batches of ``train_cfg.batch_size`` (the book's training step), above the idle process."""
    import torch

    from cancer_alpha.models import build_model
    from cancer_alpha.profiling import optimiser_step, peak_memory, random_batch, synthetic_specs

    specs = synthetic_specs(n_features)
    steps = math.ceil(n_samples / train_cfg.batch_size)

    def train() -> None:
        model = build_model(name, specs, 5, model_cfg).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=train_cfg.lr,
                                      weight_decay=train_cfg.weight_decay)
        for step in range(steps):
            batch = random_batch(specs, train_cfg.batch_size, seed=step)
            optimiser_step(model, optimizer, batch, train_cfg)

    report = peak_memory(train)
    return {"steps": steps, "rss_mb": report.rss_peak_mb, "idle_mb": report.rss_before_mb,
            "tensor_mb": report.tensor_peak_mb, "exact": report.rss_exact}


def main(argv: list[str] | None = None) -> None:
    parser = _args.parser(__doc__)
    parser.add_argument("--batch", type=int, default=16,
                        help="batch of the sequence-length sweep (default: 16)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated models of the sweep (default: {','.join(MODELS)})")
    args = _args.parse(parser, argv)

    from cancer_alpha.config import load_profile
    from cancer_alpha.profiling import (
        device_label,
        fit_power_law,
        run_in_subprocess,
        train_step_memory,
    )

    profile = load_profile(args.profile)
    models = [m for m in args.models.split(",") if m]
    lengths = profile.profiling.sequence_lengths
    print(f"profile {args.profile}, {device_label('cpu')}; batch {args.batch}; "
          "peak live tensor MB of one training step")
    peaks = {m: [] for m in models}
    print(f"{'features':>9}" + "".join(f"{m:>17}" for m in models)
          + (f"{'perceiver/locus':>17}" if {"perceiver_io", "mmt_locus"} <= set(models) else ""))
    for n in lengths:
        row = f"{n:>9}"
        for m in models:
            peaks[m].append(train_step_memory(m, n, args.batch, profile.train,
                                              profile.model).tensor_peak_mb)
            row += f"{peaks[m][-1]:>17.2f}"
        if {"perceiver_io", "mmt_locus"} <= set(models):
            row += f"{peaks['perceiver_io'][-1] / peaks['mmt_locus'][-1]:>17.3f}"
        print(row)
    print(f"{'exponent':>9}" + "".join(
        f"{fit_power_law(lengths, peaks[m]).exponent:>17.2f}" for m in models))
    print(f"{'ci95':>9}" + "".join(
        "{:>17}".format("{:.2f}..{:.2f}".format(*fit_power_law(lengths, peaks[m]).ci95))
        for m in models))

    n_features, n_samples = profile.cohort.n_loci, profile.cohort.n_samples
    batch = profile.train.batch_size
    print(f"\none epoch in a fresh process: {n_samples} samples, {n_features} features per "
          f"modality, batch {batch}; MB above the idle process (aim < {AIM_MB:.0f} MB)")
    print(f"{'model':<16}{'steps':>6}{'idle RSS':>10}{'RSS peak':>10}{'tensors':>9}"
          f"{'aim':>7}{'meets':>7}")
    for m in ("mmt_modality", "mmt_locus"):
        r = run_in_subprocess(training_rss, m, n_features, n_samples, profile.train,
                              profile.model)
        meets = "yes" if r["rss_mb"] is not None and r["rss_mb"] < AIM_MB else "no"
        rss = "n/a" if r["rss_mb"] is None else f"{r['rss_mb']:.1f}"
        print(f"{m:<16}{r['steps']:>6}{r['idle_mb']:>10.1f}{rss:>10}{r['tensor_mb']:>9.1f}"
              f"{AIM_MB:>7.0f}{meets:>7}" + ("" if r["exact"] else "  (RSS not exact)"))


if __name__ == "__main__":
    main()
