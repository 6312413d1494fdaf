"""The claims of the two source papers and the rule that gives each its verdict.

The registry holds every quantitative claim of the MMT paper and the Cancer Alpha paper: its id,
the paper it comes from, its text and the value stated there. Each claim's rule takes the
evidence a chapter measured and returns the verdict with its reason; the chapters only measure,
call the rule and register the result, and the claims audit reads the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Claim:
    """A quantitative claim of a source paper, as the paper states it."""

    id: str
    seeds: str  # which source papers make it: "000", "002" or "000, 002"
    text: str
    stated: str
    # measured from wall-clock time or memory, which change from run to run on one machine:
    # the audit lists these apart, and notebook validation does not compare them
    compute: bool = False


CLAIMS: dict[str, Claim] = {
    c.id: c
    for c in [
        Claim("C01", "000", "the methylation encoder maps beta values to a 128-dimensional "
              "representation", "128 dimensions"),
        Claim("C02", "000, 002", "training converges within 30-50 epochs and is stable across "
              "random initialisations", "30-50 epochs"),
        Claim("C03", "000", "memory scales linearly with input sequence length",
              "exponent 1", compute=True),
        Claim("C04", "000", "training time scales about O(n log n) with dataset size",
              "O(n log n)", compute=True),
        Claim("C05", "000", "about 2.3 GB of GPU memory for 1000 samples x 110 features per "
              "modality", "2.3 GB", compute=True),
        Claim("C06", "000", "total training time under 2 hours on modern GPU hardware",
              "< 2 hours", compute=True),
        Claim("C07", "000", "progressive training cuts training time by 30% compared with "
              "end-to-end training", "-30% time", compute=True),
        Claim("C08", "000", "removing cross-modal attention reduces classification performance "
              "by 12%", "-12%"),
        Claim("C09", "000", "modality-specific encoders add 8% over generic encoders", "+8%"),
        Claim("C10", "000", "attention reveals methylation x copy-number interactions",
              "qualitative"),
        Claim("C11", "000", "encoded features cluster by class", "qualitative"),
        Claim("C12", "002", "ensemble models reach 99% accuracy on synthetic data", "99%"),
        Claim("C13", "002", "15 ms average inference time per sample", "15 ms", compute=True),
        Claim("C14", "002", "40% less memory than a standard transformer", "-40%", compute=True),
        Claim("C15", "002", "per-modality attention contributions (a table of percentages, "
              "e.g. methylation 31.2% +- 2.8%)", "table of %"),
    ]
}


def relative_verdict(ci: Sequence[float], stated: float, n: int) -> tuple[str, str]:
    """Verdict on a claimed relative change (``stated`` %, negative = a loss) from the 95%
    interval of the measured one over ``n`` seeds: reproduced when the interval excludes 0 on
    the stated side and contains the stated value; partly when it excludes 0 on that side
    only; not testable with fewer than 2 seeds (no interval)."""
    if n < 2:
        return "not testable here", f"{n} seed gives no confidence interval"
    lo, hi = ci
    same_side = hi < 0 if stated < 0 else lo > 0
    if same_side and lo <= stated <= hi:
        return "reproduced", "the 95% interval excludes 0 and contains the stated value"
    if same_side:
        return "partly", "a change in the stated direction, but the 95% interval excludes " \
                         "the stated size"
    opposite = lo > 0 if stated < 0 else hi < 0
    if opposite:
        return "not reproduced", "a significant change in the opposite direction (the 95% " \
                                 "interval excludes 0 on the other side)"
    return "not reproduced", "the 95% interval does not exclude 0 on the stated side"


def two_difficulty_verdict(default: Mapping[str, Any], easy: Mapping[str, Any], stated: float
                           ) -> tuple[str, str, str]:
    """Verdict on a claimed relative change measured at the default and at the easier
    difficulty (paired differences as from :func:`paired`): the default difficulty's
    :func:`relative_verdict`, raised to partly when only the easier difficulty shows the
    stated direction. Returns (verdict, why at the default difficulty, easy verdict)."""
    verdict, why = relative_verdict(default["relative_percent_ci95"], stated,
                                    default["n_seeds"])
    easy_verdict, _ = relative_verdict(easy["relative_percent_ci95"], stated, easy["n_seeds"])
    if verdict == "not reproduced" and easy_verdict in ("reproduced", "partly"):
        verdict = "partly"
    return verdict, why, easy_verdict


def planted_verdict(summary: Mapping[str, Mapping[str, Any]], alpha: float = 0.05
                    ) -> tuple[str, str]:
    """Verdict on "attention reveals the interaction" from :func:`planted_summary`:
    reproduced when the trained model's planted loci score significantly higher (permutation
    p < ``alpha``) and neither control's do; partly when a control's do too (the attention
    pattern is not owed to learning the labels)."""
    trained = summary["trained"]["p_value"] < alpha
    controls = [g for g in summary if g != "trained" and summary[g]["p_value"] < alpha]
    if trained and not controls:
        return "reproduced", f"planted loci receive more attention (p < {alpha}), controls not"
    if trained:
        return "partly", (f"planted loci receive more attention (p < {alpha}), but so they do "
                          f"in the control(s) {', '.join(controls)}")
    return "not reproduced", f"planted loci do not receive more attention (p >= {alpha})"
