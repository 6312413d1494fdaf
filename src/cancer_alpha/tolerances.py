"""The schema of the run records: the kind of every recorded value, and how a rerun is compared
with the published reference (``cancer-alpha verify``).

Each value of a record (``results/<profile>/<chapter>.json``) is reached by a path of keys:
``metrics.models.mmt_modality.accuracy_mean``, ``claims.C12.measured`` (claims by id),
``metrics.time_points.seconds.2`` (list items by position). A chapter's rules below give every
path one of four kinds, with the reason:

- **exact**: the same on every rerun with the same profile, seeds and thread count: synthetic
  data, the Bayes ceiling, seeded training, tuned settings, counts and names. Numbers agree to
  :data:`EXACT_RELATIVE`; everything else is equal.
- **stochastic**: may move a little on a rerun; agrees within the stated absolute and relative
  tolerance.
- **machine-dependent**: timings, memory readings, the device and what is computed from them.
  Never compared number by number; the verdicts of the claims they judge are.
- **not compared**: bookkeeping that differs on every rerun by design (the commit, the clock,
  content hashes of the records read), each with why.

Rules are tried in order: keys that name a time or memory reading (:data:`NAMED`), the
chapter's own rules, those of every record (:data:`COMMON`), then the chapter's defaults; the
first whose pattern matches gives the kind. A pattern is a dotted path in which a segment may
hold shell wildcards (``*seconds*``) and ``**`` stands for any number of segments. A value
that no rule matches is *undeclared*: a verification names it and fails, so a new key in a
record must be declared here. Rules may name the claims whose evidence they cover, so that a
verification reports, claim by claim, the numbers behind each verdict.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .claims import CLAIMS

EXACT, STOCHASTIC, MACHINE, NOT_COMPARED = ("exact", "stochastic", "machine-dependent",
                                            "not compared")
KINDS = (EXACT, STOCHASTIC, MACHINE, NOT_COMPARED)

EXACT_RELATIVE = 1e-9
"""Exact numbers agree to this relative difference: a double written to JSON reads back the
same, and float64 sums of the same terms in another order (numpy's pairwise sums follow the
memory layout) differ by far less; float32 training differs by far more when it differs."""


@dataclass(frozen=True)
class Kind:
    """How one recorded value is compared: its kind, and for stochastic values the tolerance
    ``|rerun - published| <= absolute + relative * max(|rerun|, |published|)``."""

    name: str
    absolute: float = 0.0
    relative: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in KINDS:
            raise ValueError(f"unknown tolerance kind {self.name!r}: expected one of {KINDS}")
        if self.absolute < 0 or self.relative < 0:
            raise ValueError(f"tolerances must be >= 0, got absolute={self.absolute}, "
                             f"relative={self.relative}")
        if self.name == STOCHASTIC and not (self.absolute > 0 or self.relative > 0):
            raise ValueError("a stochastic kind needs an absolute or relative tolerance > 0")

    @property
    def compared(self) -> bool:
        return self.name in (EXACT, STOCHASTIC)

    def describe(self) -> str:
        if self.name == STOCHASTIC:
            parts = [f"{self.absolute:g} absolute" if self.absolute else "",
                     f"{self.relative:g} relative" if self.relative else ""]
            return f"stochastic (within {' + '.join(p for p in parts if p)})"
        return self.name

    def allowed(self, published: float, rerun: float) -> float:
        """The largest difference this kind allows between two numbers."""
        scale = max(abs(published), abs(rerun))
        if self.name == EXACT:
            return EXACT_RELATIVE * scale
        return self.absolute + self.relative * scale

    def agrees(self, published: Any, rerun: Any) -> tuple[bool, float | None]:
        """Whether a rerun's value agrees with the published one, and the absolute difference
        of two numbers (None for other values). Machine-dependent and not-compared values
        always agree: they are not compared."""
        if not self.compared:
            return True, None
        if _is_number(published) and _is_number(rerun):
            if math.isnan(published) or math.isnan(rerun):
                return math.isnan(published) and math.isnan(rerun), None
            deviation = abs(float(rerun) - float(published))
            return deviation <= self.allowed(float(published), float(rerun)), deviation
        return published == rerun and type(published) is type(rerun), None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def exact() -> Kind:
    return Kind(EXACT)


def stochastic(*, absolute: float = 0.0, relative: float = 0.0) -> Kind:
    return Kind(STOCHASTIC, absolute, relative)


def machine() -> Kind:
    return Kind(MACHINE)


def not_compared() -> Kind:
    return Kind(NOT_COMPARED)


@dataclass(frozen=True)
class Rule:
    """The kind of the values whose path matches ``pattern``, with the reason; ``claims``:
    the claims whose evidence these values are."""

    pattern: str
    kind: Kind
    reason: str
    claims: tuple[str, ...] = ()
    segments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError(f"rule {self.pattern!r}: every kind needs its reason")
        unknown = [c for c in self.claims if c not in CLAIMS]
        if unknown:
            raise ValueError(f"rule {self.pattern!r}: unknown claim ids {unknown}")
        object.__setattr__(self, "segments", tuple(self.pattern.split(".")))

    def matches(self, path: Sequence[str]) -> bool:
        return _match(self.segments, tuple(path))


def _match(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match(rest, path[1:])


# ------------------------------------------------------------------------------ the schema

_SEEDED = "seeded: the same profile, seeds and thread count give the same number"
_TIMING = "a wall-clock time, or computed from one: it changes from run to run and machine to " \
          "machine"
_MEMORY = "a memory reading, or computed from one: it depends on the machine, the allocator " \
          "and the library build"
COMPUTE_CLAIMS = tuple(c.id for c in CLAIMS.values() if c.compute)
_COMPUTE_EVIDENCE = "measured from times or memory (a compute claim): compared by its verdict " \
                    "only"

COMMON: tuple[Rule, ...] = (
    Rule("chapter", exact(), "which chapter the record is of"),
    Rule("profile", exact(), "the profile it ran at: a reference of another profile is refused"),
    Rule("provenance.git_commit", not_compared(),
         "the rerun's commit is the reviewer's checkout; the manifest records the reference's"),
    Rule("provenance.dirty", not_compared(), "whether the rerun's checkout had local edits"),
    Rule("provenance.started_utc", not_compared(), "when the chapter ran"),
    Rule("provenance.wall_seconds", machine(), _TIMING),
    Rule("provenance.load_average.**", machine(),
         "the machine's load when the chapter started and ended"),
    Rule("provenance.threads.**", machine(),
         "the threads this machine gave; verify sets OMP_NUM_THREADS as the reference had it"),
    Rule("provenance.device", machine(), "the device the chapter ran on"),
    Rule("provenance.versions.**", not_compared(),
         "pinned by the lock file; verify warns when its hash differs from the manifest's"),
    Rule("provenance.params.**", exact(),
         "the profile's settings: a rerun at other settings is another experiment"),
    Rule("provenance.seeds.**", exact(), "the seeds of the run"),
    Rule("provenance.inputs.**", not_compared(),
         "content hashes of the records read, which hold wall times; their numbers are "
         "compared in their own chapters"),
    Rule("provenance.outputs.**", exact(), "the result files the chapter wrote"),
    Rule("provenance.modules.**", not_compared(),
         "the package modules imported: what a rebuild watches, not a result"),
    Rule("figures.**", exact(), "the figures drawn"),
    Rule("figure_data.**", exact(), "the files of the figures' data"),
    *(Rule(f"claims.{cid}.verdict", exact(),
           "the verdict of a compute claim (a rerun on a noisy machine that could not judge "
           "it is reported as such, with the rule's verdict compared)", (cid,))
      for cid in COMPUTE_CLAIMS),
    *(Rule(f"claims.{cid}.**", machine(), _COMPUTE_EVIDENCE, (cid,)) for cid in COMPUTE_CLAIMS),
    Rule("claims.*.device", machine(), "the device the claim was measured on"),
    Rule("claims.**", exact(),
         "a claim's measurement, spread, verdict and reasons, from exact evidence"),
)
"""Rules of every chapter's record, tried after the chapter's own."""

NAMED: tuple[Rule, ...] = (
    Rule("metrics.**.*seconds*.**", machine(), _TIMING),
    Rule("metrics.**.*minutes*.**", machine(), _TIMING),
    Rule("metrics.**.*_ms*.**", machine(), _TIMING),
    Rule("metrics.**.*gflops*.**", machine(), _TIMING),
    Rule("metrics.**.*_mb.**", machine(), _MEMORY),
)
"""Values whose key names a time or a memory reading, anywhere in the metrics: tried first, so
that no chapter's rule can declare a timing exact by accident."""

SPECIFIC: dict[str, tuple[Rule, ...]] = {
    "01_data_synthesis": (),
    "02_architecture": (
        Rule("metrics.methylation_encoder.**", exact(), "layers and widths of the built "
             "encoder; the residual gap of a seeded forward pass", ("C01",)),
        Rule("metrics.glued.c01_*", exact(), "the encoder's measured width and gap", ("C01",)),
        # one batch trained for a few dozen steps: the chapter shows these to 3-4 decimals
        # because float32 sums differ in the last bits with the thread count and the CPU's
        # vector width; half a unit of the fourth decimal never changes what a reader sees
        Rule("metrics.one_batch_training.*.*", stochastic(absolute=5e-5),
             "float32 sums on one batch differ in the last bits with threads and CPU"),
        Rule("metrics.glued.locus_loss_*", stochastic(absolute=5e-5),
             "float32 sums on one batch differ in the last bits with threads and CPU"),
        Rule("metrics.glued.locus_entropy_*", stochastic(absolute=5e-5),
             "float32 sums on one batch differ in the last bits with threads and CPU"),
    ),
    "03_tuning": (
        Rule("metrics.glued.tuning_minutes", machine(), _TIMING),
    ),
    "04_training": (
        Rule("metrics.epochs_to_best.**", exact(), _SEEDED, ("C02",)),
        Rule("metrics.glued.c02_*", exact(), _SEEDED, ("C02",)),
        Rule("metrics.clustering.**", exact(), _SEEDED, ("C11",)),
        Rule("metrics.glued.ari_*", exact(), _SEEDED, ("C11",)),
        Rule("metrics.glued.sil_mmt", exact(), _SEEDED, ("C11",)),
        Rule("metrics.models*.voting_ensemble.**", exact(), _SEEDED, ("C12",)),
        Rule("metrics.strongest_signal.**", exact(), _SEEDED, ("C12",)),
        Rule("metrics.glued.*ensemble*", exact(), _SEEDED, ("C12",)),
        Rule("metrics.attention_shares.**", exact(), _SEEDED, ("C15",)),
        Rule("metrics.glued.top_modalities", exact(), _SEEDED, ("C15",)),
    ),
    "05_fair_comparison": (
        # what refitting and bagging cost: ratios of training times, and the sentence that
        # quotes them beside the (seeded, exact) accuracy gains
        Rule("metrics.full_data_gains.*.*_cost", machine(), _TIMING),
        Rule("metrics.glued.rules_words", machine(), _TIMING),
    ),
    "06_ablations": (
        # the positive control: what the verdicts on cross-modal attention are read against
        Rule("metrics.positive_control.**", exact(), _SEEDED, ("C08", "C09", "C10")),
        Rule("metrics.glued.control_*", exact(), _SEEDED, ("C08", "C09", "C10")),
        # progressive training is judged on seconds to the same validation loss (C07)
        Rule("metrics.progressive_timing.seed.**", exact(), "the seed of the timed pair", ("C07",)),
        Rule("metrics.progressive_timing.target_val_loss.**", exact(), _SEEDED, ("C07",)),
        Rule("metrics.progressive_timing.**", machine(), _TIMING, ("C07",)),
        Rule("metrics.c07_quietness.**", machine(),
             "the quietness check of the timed block: readings of the machine", ("C07",)),
        Rule("metrics.glued.c07_change", machine(), _TIMING, ("C07",)),
        Rule("metrics.glued.c07_lo", machine(), _TIMING, ("C07",)),
        Rule("metrics.glued.c07_hi", machine(), _TIMING, ("C07",)),
        Rule("metrics.published_recipe_verdicts.C07", machine(),
             "a compute claim's verdict with the published recipe, from timings", ("C07",)),
        Rule("metrics.glued.c07_*", exact(), _SEEDED, ("C07",)),
        Rule("metrics.ablations*.progressive.**", exact(), _SEEDED, ("C07",)),
        Rule("metrics.ablations*.no_cross_attention*.**", exact(), _SEEDED, ("C08",)),
        Rule("metrics.glued.c08*", exact(), _SEEDED, ("C08",)),
        Rule("metrics.published_recipe_verdicts.C08", exact(), _SEEDED, ("C08",)),
        Rule("metrics.ablations*.generic_encoders*.**", exact(), _SEEDED, ("C09",)),
        Rule("metrics.c09_gain_over_generic.**", exact(), _SEEDED, ("C09",)),
        Rule("metrics.glued.c09*", exact(), _SEEDED, ("C09",)),
        Rule("metrics.published_recipe_verdicts.C09", exact(), _SEEDED, ("C09",)),
        Rule("metrics.attention_planted*.**", exact(),
             "seeded training and a seeded permutation test", ("C10",)),
        Rule("metrics.glued.auroc_*", exact(), "seeded training and a seeded permutation test",
             ("C10",)),
    ),
    "07_compute_profiling": (
        # the settings of the measurements are exact; every reading is the machine's
        Rule("metrics.glued.paper_features", exact(), "a profile setting"),
        Rule("metrics.glued.memory_batch", exact(), "a profile setting"),
        Rule("metrics.glued.probe_size", exact(), "a setting of the quietness check"),
        Rule("metrics.glued.*_pct", exact(), "a threshold of the quietness check"),
        Rule("metrics.glued.spread_tolerance", exact(), "a threshold of the quietness check"),
        Rule("metrics.glued.lat_batch_repeats", machine(),
             "repeats of the batched latency, chosen by how fast this machine is"),
        Rule("metrics.glued.overhead_rounds", exact(), "a profile setting"),
        Rule("metrics.glued.n_blocks", exact(), "the number of timed blocks"),
        Rule("metrics.low_quantile", exact(), "a setting of the timings"),
        Rule("metrics.quietness_tolerances.**", exact(), "thresholds of the quietness check"),
        Rule("metrics.memory_points.features.**", exact(), "the grid of the measurement"),
        Rule("metrics.memory_points.tokens.**", exact(), "the grid of the measurement"),
        Rule("metrics.memory_points.model.**", exact(), "the grid of the measurement"),
        Rule("metrics.memory_points.**", machine(), _MEMORY, ("C03", "C14")),
        Rule("metrics.memory_exponent*.**", machine(), _MEMORY, ("C03", "C14")),
        Rule("metrics.glued.locus_*", machine(), _MEMORY, ("C03",)),
        Rule("metrics.glued.perceiver_exponent", machine(), _MEMORY, ("C03", "C14")),
        Rule("metrics.glued.c14_*", machine(), _MEMORY, ("C14",)),
        Rule("metrics.glued.paper_peak*", machine(), _MEMORY, ("C05",)),
        Rule("metrics.peak_train_memory_mb.**", machine(), _MEMORY, ("C05",)),
        Rule("metrics.time_points.samples.**", exact(), "the grid of the measurement"),
        Rule("metrics.time_points.model.**", exact(), "the grid of the measurement"),
        Rule("metrics.time_points.repeats.**", exact(), "a profile setting"),
        Rule("metrics.time_points.**", machine(), _TIMING, ("C04",)),
        Rule("metrics.time_exponent.**", machine(), _TIMING, ("C04",)),
        Rule("metrics.glued.time_*", machine(), _TIMING, ("C04",)),
        Rule("metrics.latency.**", machine(), _TIMING, ("C13",)),
        Rule("metrics.inference_*", machine(), _TIMING, ("C13",)),
        Rule("metrics.glued.lat_*", machine(), _TIMING, ("C13",)),
        Rule("metrics.**", machine(),
             "a reading of this machine (device, speed, overhead, quietness) or computed from "
             "one"),
    ),
    "08_real_data": (),
    "09_claims_audit": (
        *(Rule(f"metrics.verdicts.{cid}", machine(),
               "a compute claim's verdict, compared in the chapter that registers it", (cid,))
          for cid in COMPUTE_CLAIMS),
        Rule("metrics.verdicts.*", exact(),
             "a verdict, read from the chapter that registers it"),
        # the counts include the compute claims, whose verdicts a noisy machine can withhold
        Rule("metrics.glued.n_claims", exact(), "the number of claims in the registry"),
        Rule("metrics.glued.n_*", machine(), "verdict counts, compute claims included"),
        Rule("metrics.glued.verdict_sentence", machine(),
             "verdict counts, compute claims included"),
    ),
}
"""Each chapter's own rules, tried first."""

DEFAULTS: dict[str, tuple[Rule, ...]] = {
    "01_data_synthesis": (
        Rule("metrics.**", exact(), "synthetic cohorts drawn from fixed seeds and the exact "
             "Bayes classifier of their generator"),
    ),
    "02_architecture": (
        Rule("metrics.**", exact(), "model sizes, costs and shapes of seeded models"),
    ),
    "03_tuning": (
        Rule("metrics.**", exact(), "tuned settings: seeded studies of seeded training"),
    ),
    "04_training": (
        Rule("metrics.**", exact(), _SEEDED),
    ),
    "05_fair_comparison": (
        Rule("metrics.**", exact(), _SEEDED),
    ),
    "06_ablations": (
        Rule("metrics.**", exact(), _SEEDED),
    ),
    "07_compute_profiling": (),
    "08_real_data": (
        Rule("metrics.**", exact(), "fixed public splits and seeded training and tuning"),
    ),
    "09_claims_audit": (
        Rule("metrics.**", exact(), "read from the records of the chapters, whose own numbers "
             "are exact"),
    ),
}
"""Each chapter's defaults, tried last: every other value of its metrics."""


SECTION_READERS: dict[str, tuple[str, ...]] = {"ablation": ("06_ablations",)}
"""Profile sections that only some chapters read (a test holds every other notebook and
module to it). Every record keeps the whole profile, but another chapter's results cannot
depend on such a section: there it is provenance, not compared, so that a new ablation setting
does not fail the verification of chapters that never read it."""


def _unread_sections(chapter: str) -> tuple[Rule, ...]:
    return tuple(Rule(f"provenance.params.{section}.**", not_compared(),
                      f"the {section} settings shape {' and '.join(readers)} alone")
                 for section, readers in SECTION_READERS.items() if chapter not in readers)


def _verdict_sentence(chapter: str) -> tuple[Rule, ...]:
    """The sentence quoting a chapter's verdicts, where one of them is a compute claim's: a busy
    machine leaves that one 'not judged (noisy machine)', and every verdict is compared claim by
    claim already. Elsewhere the sentence falls to the chapter's defaults."""
    mine = tuple(c.id for c in CLAIMS.values() if c.chapter == chapter)
    if not any(CLAIMS[cid].compute for cid in mine):
        return ()
    return (Rule("metrics.glued.verdicts_here", machine(),
                 "the verdicts in words, a compute claim's included; each verdict is compared "
                 "in the claims", mine),)


def rules(chapter: str) -> tuple[Rule, ...]:
    """The rules of ``chapter``'s record, in the order they are tried."""
    return (NAMED + SPECIFIC.get(chapter, ()) + _unread_sections(chapter)
            + _verdict_sentence(chapter) + COMMON + DEFAULTS.get(chapter, ()))


def rule_for(chapter: str, path: Sequence[str]) -> Rule | None:
    """The rule that gives the value at ``path`` of ``chapter``'s record its kind, or None
    when none does (an undeclared value)."""
    return next((r for r in rules(chapter) if r.matches(path)), None)


# ------------------------------------------------------------------------- flat records


def flatten(record: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """Every value of a record by its path: mappings by key, the claims list by claim id,
    other lists by position. An empty mapping or list is a value of its own."""
    out: dict[tuple[str, ...], Any] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if path == ("claims",) and isinstance(value, list) and \
                all(isinstance(c, Mapping) and "id" in c for c in value):
            value = {c["id"]: c for c in value}
        if isinstance(value, Mapping) and value:
            for k, v in value.items():
                walk(v, (*path, str(k)))
        elif isinstance(value, list) and value:
            for i, v in enumerate(value):
                walk(v, (*path, str(i)))
        else:
            out[path] = value

    walk(record, ())
    return out


def dotted(path: Sequence[str]) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class Difference:
    """One value of a chapter's record compared between the reference and a rerun."""

    chapter: str
    path: tuple[str, ...]
    kind: str  # a kind of KINDS, or "undeclared"
    tolerance: str
    reason: str
    claims: tuple[str, ...]
    published: Any
    rerun: Any
    compared: bool
    within: bool
    deviation: float | None
    problem: str = ""  # why it moved: "" when within

    @property
    def key(self) -> str:
        return f"{self.chapter}:{dotted(self.path)}"


MISSING = "<missing>"


def compare_records(chapter: str, published: Mapping[str, Any], rerun: Mapping[str, Any]
                    ) -> list[Difference]:
    """Every value of ``chapter``'s two records, each compared by the kind its rule declares
    (values present in one record only are compared as missing)."""
    before, after = flatten(published), flatten(rerun)
    out = []
    for path in sorted(before.keys() | after.keys()):
        rule = rule_for(chapter, path)
        old, new = before.get(path, MISSING), after.get(path, MISSING)
        claims = rule.claims if rule else ()
        if len(path) >= 2 and path[0] == "claims" and path[1] in CLAIMS:
            claims = tuple(dict.fromkeys((path[1], *claims)))
        if rule is None:
            out.append(Difference(chapter, path, "undeclared", "", "", claims, old, new,
                                  False, False, None,
                                  "no tolerance declared (cancer_alpha.tolerances)"))
            continue
        kind = rule.kind
        if MISSING in (old, new) and kind.name != NOT_COMPARED:
            where = "the rerun" if new is MISSING else "the reference"
            out.append(Difference(chapter, path, kind.name, kind.describe(), rule.reason,
                                  claims, old, new, kind.compared, False, None,
                                  f"missing from {where}"))
            continue
        within, deviation = kind.agrees(old, new)
        out.append(Difference(chapter, path, kind.name, kind.describe(), rule.reason, claims,
                              old, new, kind.compared and MISSING not in (old, new), within,
                              deviation, "" if within else f"outside {kind.describe()}"))
    return out


def undeclared(chapter: str, record: Mapping[str, Any]) -> list[str]:
    """The paths of ``record`` that no rule of ``chapter`` declares."""
    return [dotted(p) for p in flatten(record) if rule_for(chapter, p) is None]


def kinds_of(chapter: str, record: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, kind) of every value of a record, for the documentation and the tests."""
    for path in flatten(record):
        rule = rule_for(chapter, path)
        yield dotted(path), rule.kind.name if rule else "undeclared"
