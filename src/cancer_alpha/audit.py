"""The claims audit as a reader sees it, and the findings the book opens with.

The audit chapter reads every run record of a profile and shows each claim of the registry
(:mod:`cancer_alpha.claims`) as a card: its text and where the papers state it, the stated and
the measured value, the device, the verdict as a badge, the rule's reason and a link to the
section of the chapter that holds the evidence. :func:`render` writes the cards as one block of
self-contained HTML (with the book's stylesheet), :func:`render_criteria` the table of what each
verdict needs. :func:`findings` reads the headline numbers of the comparison and the real-data
chapters from their records, formatted for the introduction's prose; a record that is missing
gives "n/a" and is named by :func:`missing_records`. Nothing here decides a verdict: verdicts
come from the records, which hold what each claim's rule gave.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .claims import CLAIMS, CRITERIA, NOT_JUDGED, PAPERS
from .config import VERDICTS
from .results import claims_table, format_measure, load, results_root

PENDING = "pending"
NA = "n/a"
# every verdict a card can show, with the class of its badge
BADGE_CLASSES: dict[str, str] = {v: "v-" + re.sub(r"\W+", "-", v) for v in (*VERDICTS,
                                                                               PENDING)}
TRANSFORMER = "mmt_modality"  # the MMT paper's model, whose rank the findings give
REAL_DATA_SETS: dict[str, str] = {"breast_tcga": "TCGA breast cancer subtypes",
                                  "rosmap": "ROSMAP"}


# ------------------------------------------------------------------------------- links


def section_id(title: str) -> str:
    """The id Sphinx gives a section with this heading (docutils' ``make_id``)."""
    from docutils import nodes

    return nodes.make_id(title)


def chapter_number(chapter: str) -> int:
    """4 for '04_training'."""
    return int(chapter.split("_", 1)[0])


def evidence_href(chapter: str, section: str) -> str:
    """The link, from a chapter page, to the section of ``chapter`` titled ``section``."""
    return f"../notebooks/{chapter}.html#{section_id(section)}"


# ------------------------------------------------------------------------------- rows


def rows(profile: str, results_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Every claim of the registry (:func:`cancer_alpha.results.claims_table`), with the
    rule's own verdict and reason and the chapter's note as the records hold them."""
    registered: dict[str, Mapping[str, Any]] = {}
    for path in sorted((results_root(results_dir) / profile).glob("*.json")):
        for entry in json.loads(path.read_text()).get("claims", []):
            registered[entry["id"]] = entry
    out = []
    for row in claims_table(profile, results_dir):
        got = registered.get(row["id"], {})
        reason = got.get("reason", "")
        rule_reason = got.get("rule_reason", reason)
        row = dict(row, reason=reason or row["note"], rule_reason=rule_reason or row["note"],
                   context=_chapter_note(got))
        out.append(row)
    return out


def _chapter_note(entry: Mapping[str, Any]) -> str:
    """What a chapter added to a registered claim's note, beyond the rule's reason and the
    profile's override (:meth:`cancer_alpha.results.Run.claim` joins the three with '; ')."""
    note = entry.get("note", "")
    for part in (entry.get("reason", ""),
                 "" if entry.get("rule_verdict") == entry.get("verdict") else
                 f"the rule alone: {entry.get('rule_verdict')} ({entry.get('rule_reason')})"):
        if part and note.startswith(part):
            note = note[len(part):].removeprefix("; ")
    return note


def verdict_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many claims have each verdict, every verdict (and pending) listed."""
    counts = dict.fromkeys(BADGE_CLASSES, 0)
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def verdict_label(verdict: str, profile: str) -> str:
    """The badge's text: 'not judged (smoke)' names the profile that did not judge."""
    return f"{verdict} ({profile})" if verdict == NOT_JUDGED else verdict


# ------------------------------------------------------------------------------- HTML

# the audit's style is the book's stylesheet (its ".ca-audit" rules), which the book links on
# every page; the HTML carries it too, so that it looks the same where it is shown outside the
# book (a notebook run in Jupyter)
STYLESHEET = Path(__file__).resolve().parents[2] / "book" / "_static" / "cancer-alpha.css"


def style() -> str:
    """The book's stylesheet as a ``<style>`` element ('' where the package is installed
    without the book)."""
    return f"<style>\n{STYLESHEET.read_text()}</style>\n" if STYLESHEET.is_file() else ""

# text colour on each verdict's badge, chosen for contrast with plots.style.VERDICT_COLORS
_ON_ACCENT = {"partly": "#1b1b1b", "not judged": "#1b1b1b", "pending": "#1b1b1b"}


def _colors() -> dict[str, str]:
    from .plots.style import VERDICT_COLORS

    return VERDICT_COLORS


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _source_html(claim_id: str) -> str:
    """'MMT paper (Cancer Alpha Research Team 2025), section 3.2; ...'."""
    c = CLAIMS[claim_id]
    return "; ".join(
        _esc(f"{PAPERS[p].name.removeprefix('the ')} ({PAPERS[p].author_year}), "
             f"{_section_words(s)}") for p, s in zip(c.papers, c.sections, strict=True))


def _section_words(section: str) -> str:
    """'section 3.1, 3.2' for numbered sections, the section's name otherwise."""
    return f"section {section}" if section[:1].isdigit() else section


def measured_text(measured: Any, spread: Any) -> str:
    """A measurement as the card shows it: '0.874 \u00b1 0.012', '12 [8, 20]', or each
    entry of a mapping ('methylation 31.2 \u00b1 2.8, ...')."""
    if measured is None:
        return "not measured yet"
    if isinstance(measured, Mapping):
        spreads = spread if isinstance(spread, Mapping) else {}
        return ", ".join(f"{k} {format_measure(v, spreads.get(k))}" for k, v in
                         measured.items())
    return format_measure(measured, spread)


def _badge_style(verdict: str) -> str:
    colors = _colors()
    return (f"--ca-accent: {colors.get(verdict, '#d9d9d9')}; "
            f"--ca-on-accent: {_ON_ACCENT.get(verdict, '#fff')};")


def card(row: Mapping[str, Any], profile: str) -> str:
    """One claim as an HTML card (``data-claim``; the verdict in ``.verdict``; the link to
    its evidence in ``a.evidence``)."""
    cid, verdict = row["id"], row["verdict"]
    badge = (f'<span class="verdict {BADGE_CLASSES.get(verdict, "")}">'
             f"{_esc(verdict_label(verdict, profile))}</span>")
    rule = ""
    rule_verdict = row.get("rule_verdict", verdict)
    if verdict == NOT_JUDGED and rule_verdict != NOT_JUDGED:
        rule = (f'<span class="ca-rule">the rule alone: <span class="ca-rule-badge" '
                f'style="--ca-rule: {_colors().get(rule_verdict, "#999")}">'
                f"{_esc(rule_verdict)}</span></span>")
    reason = row.get("rule_reason") if verdict == NOT_JUDGED else row.get("reason")
    reason = reason or row.get("note", "")
    unit = row.get("unit") or ""
    measured = _esc(measured_text(row.get("measured"), row.get("spread")))
    if unit and row.get("measured") is not None:
        measured += f' <span class="ca-unit">{_esc(unit)}</span>'
    facts = [("Stated", _esc(row["stated"])), ("Measured", measured),
             ("Device", _esc(row.get("device") or "none yet"))]
    facts.append(("Reason" if verdict != NOT_JUDGED else "The rule says", _esc(reason)))
    if row.get("context"):
        facts.append(("Context", _esc(row["context"])))
    chapter, section = row["chapter"], row["section"]
    link = (f'<a class="evidence" href="{_esc(evidence_href(chapter, section))}">Chapter '
            f"{chapter_number(chapter)}, \u00a7 {_esc(section)}</a>")
    facts.append(("Evidence", link))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return (f'<section class="ca-card" data-claim="{_esc(cid)}" style="{_badge_style(verdict)}">'
            f'<div class="ca-head"><span class="ca-id">{_esc(cid)}</span>{badge}{rule}'
            f'<span class="ca-source">{_source_html(cid)}</span></div>'
            f'<p class="ca-claim">{_esc(_sentence(row["claim"]))}.</p>'
            f'<dl class="ca-facts">{dl}</dl></section>')


def render(rows: Sequence[Mapping[str, Any]], profile: str) -> str:
    """The claims of ``rows`` as HTML cards, in registry order, with the audit's style."""
    cards = "".join(card(r, profile) for r in rows)
    return f'{style()}<div class="ca-audit">{cards}</div>'


_CRITERION_SPLIT = re.compile(r";\s*(?=(?:reproduced|partly|not reproduced|not testable)\b"
                              r"[^:;]*:)")
_CRITERION_VERDICTS = {"not testable": "not testable here"}


def criteria_parts(text: str) -> list[tuple[str, str]]:
    """A criterion of :data:`cancer_alpha.claims.CRITERIA` split into (verdict, what it
    needs): 'reproduced: a; partly: b' -> [('reproduced', 'a'), ('partly', 'b')]."""
    parts = []
    for part in _CRITERION_SPLIT.split(text):
        head, _, rest = part.partition(":")
        verdict = _CRITERION_VERDICTS.get(head.strip(), head.strip())
        parts.append((verdict, rest.strip()) if verdict in BADGE_CLASSES and rest
                     else ("", part.strip()))
    return parts


def render_criteria() -> str:
    """The table of what each verdict of each claim's rule needs, with a link to where the
    claim is tested."""
    colors = _colors()
    body = []
    for cid, c in CLAIMS.items():
        items = "".join(
            f'<li><span class="ca-rule-badge" style="--ca-rule: {colors.get(v, "#999")}">'
            f"{_esc(v)}</span> {_esc(t)}</li>" if v else f"<li>{_esc(t)}</li>"
            for v, t in criteria_parts(CRITERIA[cid]))
        body.append(
            f'<tr data-criterion="{cid}"><td><strong>{cid}</strong><br>'
            f'<span class="ca-unit">{_esc(_sentence(c.text))}</span></td>'
            f"<td>{_esc(c.stated)}</td><td><ul>{items}</ul></td>"
            f'<td><a href="{_esc(evidence_href(c.chapter, c.chapter_section))}">Chapter '
            f"{chapter_number(c.chapter)}</a></td></tr>")
    head = ("<thead><tr><th>Claim</th><th>Stated</th><th>What each verdict needs</th>"
            "<th>Tested in</th></tr></thead>")
    return (f'{style()}<div class="ca-audit"><table class="ca-criteria">{head}'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def render_notes(notes: Sequence[str]) -> str:
    """Notes to the reader (a record that is missing, a profile that judges nothing)."""
    return style() + '<div class="ca-audit">' + "".join(
        f'<p class="ca-note">{_esc(n)}</p>' for n in notes) + "</div>"


def figure_html(fig: Any, alt: str, caption: str = "") -> str:
    """A matplotlib figure as a self-contained HTML figure (the PNG inline, with its alt
    text): a glued value another page can paste."""
    from .plots.style import figure_html as html_figure

    return html_figure(fig, alt, _esc(caption))


def counts_sentence(counts: Mapping[str, int]) -> str:
    """'3 reproduced, 2 partly, ...': the verdicts that occur, in the registry's order."""
    return ", ".join(f"{n} {v}" for v, n in counts.items() if n)


def count_glue(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The counts the audit's prose states: claims of each verdict ('n_not_reproduced'), all
    claims, and the sentence of :func:`counts_sentence`."""
    counts = verdict_counts(rows)
    return {**{f"n_{v.replace(' ', '_')}": n for v, n in counts.items()},
            "n_claims": len(rows), "verdict_sentence": counts_sentence(counts)}


# ------------------------------------------------------------------------------- findings


def read_records(profile: str, chapters: Iterable[str],
                 results_dir: str | Path | None = None) -> dict[str, dict[str, Any] | None]:
    """The record of each chapter at ``profile``, None where it has not been run."""
    out: dict[str, dict[str, Any] | None] = {}
    for chapter in chapters:
        try:
            out[chapter] = load(profile, chapter, results_dir)
        except FileNotFoundError:
            out[chapter] = None
    return out


def chapter_name(chapter: str) -> str:
    """'Chapter 4 (04_training)'."""
    return f"Chapter {chapter_number(chapter)} ({chapter})"


def missing_records(records: Mapping[str, Any], profile: str) -> list[str]:
    """A sentence for each chapter whose record is missing, saying how to produce it."""
    return [f"No record of {chapter_name(c)} at the {profile} profile: the claims it tests "
            f"show as {PENDING} and its numbers as {NA}. Run: cancer-alpha reproduce "
            f"--profile {profile} --only {c[:2]}" for c, r in records.items() if r is None]


def reader_notes(profile: str, judging: bool, records: Mapping[str, Any]) -> list[str]:
    """What the reader of the audit must know first: that the profile judges nothing, and
    which records are missing."""
    notes = []
    if not judging:
        notes.append(
            f"This book was built at the {profile} profile, which is too small to judge any "
            f"claim: its cohorts are tiny and its models barely train. Every claim is "
            f"therefore marked \u201c{verdict_label(NOT_JUDGED, profile)}\u201d. Beside it, in "
            "outline, is the verdict the claim's rule gives on these numbers; it only shows "
            "that the rules run. The paper profile (make book) gives the verdicts.")
    return notes + missing_records(records, profile)


def judging_note(profile: str, judging: bool, n_claims: int) -> str:
    """The introduction's first sentence on the profile the book was built at."""
    if judging:
        return (f"This book was built at the {profile} profile; its verdicts are those of "
                "the claims' rules on the measurements of this run.")
    return (f"This book was built at the {profile} profile, which is too small to judge any "
            f"claim: all {n_claims} claims are marked {NOT_JUDGED}, and the numbers below "
            "only show that the pipeline runs. The book built at the paper profile "
            "(make book) gives the verdicts and the numbers the papers are compared with.")


def _metric(records: Mapping[str, Any], chapter: str, *keys: str) -> Any:
    value: Any = (records.get(chapter) or {}).get("metrics", {})
    for k in keys:
        if not isinstance(value, Mapping) or k not in value:
            return None
        value = value[k]
    return value


def _acc(scores: Mapping[str, Any] | None) -> str:
    """'0.874 \u00b1 0.012 (5 runs)' from {accuracy_mean, accuracy_sd, n_runs}."""
    if not scores or scores.get("accuracy_mean") is None:
        return NA
    sd, n = scores.get("accuracy_sd"), scores.get("n_runs")
    if n is not None and n <= 1:
        sd = None  # one run has no spread to show
    return (f"{scores['accuracy_mean']:.3f}" + ("" if sd is None else f" \u00b1 {sd:.3f}")
            + ("" if n is None else f" ({int(n)} run{'s' if n != 1 else ''})"))


def _with_runs(models: Mapping[str, Mapping[str, Any]] | None,
               table: Sequence[Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Scores by model, with the number of runs from a table of rows {model, n_runs}."""
    runs = {r.get("model"): r.get("n_runs") for r in table or []}
    return {m: {**s, **({"n_runs": runs[m]} if runs.get(m) is not None else {})}
            for m, s in (models or {}).items()}


def _best(models: Mapping[str, Mapping[str, Any]] | None, keep) -> tuple[str, str]:
    """The name and accuracy of the best of ``models`` that ``keep(name)`` accepts."""
    scored = {m: s for m, s in (models or {}).items()
              if keep(m) and s.get("accuracy_mean") is not None}
    if not scored:
        return NA, NA
    best = max(scored, key=lambda m: scored[m]["accuracy_mean"])
    return best, _acc(scored[best])


def _rank(models: Mapping[str, Mapping[str, Any]] | None, model: str) -> str:
    """'3 of 9': where ``model`` ranks by mean accuracy (1 = best; ties share the best
    rank)."""
    acc = {m: s.get("accuracy_mean") for m, s in (models or {}).items()}
    if acc.get(model) is None:
        return NA
    scored = [a for a in acc.values() if a is not None]
    return f"{1 + sum(a > acc[model] for a in scored)} of {len(scored)}"


def _points_from(value: float, reference: float) -> str:
    """'1.5 points below', '2.0 points above' or 'level with' ``reference``."""
    diff = round(100 * (value - reference), 1)
    if diff == 0:
        return "level with"
    return f"{abs(diff):.1f} points {'above' if diff > 0 else 'below'}"


def findings(records: Mapping[str, Mapping[str, Any] | None]) -> dict[str, str]:
    """The headline numbers of the book, formatted for prose ('n/a' where a record or a key
    is missing): the Bayes ceiling, the best classical and neural model with the published
    recipe and tuned, the transformer's rank, and the best model on each real data set beside
    MOGONET's published ROSMAP accuracy."""
    from .baselines import BASELINES, CLASSICAL
    from .datasets.public import ROSMAP_PUBLISHED

    def classical(m: str) -> bool:
        return m in CLASSICAL

    def neural(m: str) -> bool:
        return m not in BASELINES

    out: dict[str, str] = {}
    ceiling = _metric(records, "04_training", "bayes_accuracy")
    if ceiling is None:
        ceiling = _metric(records, "01_data_synthesis", "bayes_accuracy")
    out["ceiling"] = NA if ceiling is None else f"{ceiling:.3f}"
    for recipe, key in (("pub", "models"), ("tuned", "models_tuned")):
        models = _metric(records, "04_training", key)
        out[f"best_classical_{recipe}"], out[f"best_classical_{recipe}_acc"] = \
            _best(models, classical)
        out[f"best_neural_{recipe}"], out[f"best_neural_{recipe}_acc"] = _best(models, neural)
        out[f"mmt_rank_{recipe}"] = _rank(models, TRANSFORMER)
        out[f"mmt_{recipe}_acc"] = _acc((models or {}).get(TRANSFORMER))
    for name in REAL_DATA_SETS:
        for recipe, key, label in (("pub", "datasets", "published recipe"),
                                   ("tuned", "datasets_tuned", "tuned")):
            models = _with_runs(_metric(records, "08_real_data", key, name),
                                _metric(records, "08_real_data", "tables", f"{name}, {label}"))
            out[f"{name}_best_{recipe}"], out[f"{name}_best_{recipe}_acc"] = \
                _best(models, lambda m: True)
    mogonet = ROSMAP_PUBLISHED["MOGONET (Wang et al. 2021)"]["accuracy"]
    out["mogonet_acc"] = f"{mogonet:.3f}"
    best_rosmap = max((s["accuracy_mean"] for s in
                       (_metric(records, "08_real_data", "datasets_tuned", "rosmap") or {})
                       .values() if s.get("accuracy_mean") is not None), default=None)
    out["rosmap_vs_mogonet"] = NA if best_rosmap is None else _points_from(best_rosmap, mogonet)
    reading = _metric(records, "05_fair_comparison", "training_size_reading") or {}
    out["curve_largest"] = NA if reading.get("largest") is None else f"{reading['largest']:,}"
    out["curve_best"] = reading.get("best_at_largest") or NA
    gap = reading.get("gap_to_ceiling_points")
    out["curve_gap"] = NA if gap is None else f"{gap:.1f}"
    return out


def changed_conclusions_html(records: Mapping[str, Mapping[str, Any] | None]) -> str:
    """Chapter 4's sentences on what tuning changed, as an HTML list."""
    sentences = _metric(records, "04_training", "changed_conclusions") or []
    if not sentences:
        return f"<p>{NA}: Chapter 4 has no record at this profile.</p>"
    return "<ul>" + "".join(f"<li>{_esc(s)}</li>" for s in sentences) + "</ul>"
