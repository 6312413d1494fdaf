"""The claims audit as rendered HTML, and the findings the introduction reads."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cancer_alpha import audit, claims, config, results
from cancer_alpha.claims import CLAIMS, CRITERIA


class _Cards(HTMLParser):
    """The cards of rendered HTML: claim id -> its verdict text, evidence hrefs, text."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, dict] = {}
        self._card: str | None = None
        self._depth = 0
        self._in_verdict = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-claim" in a:
            self._card, self._depth = a["data-claim"], 0
            self.cards[self._card] = {"verdict": "", "evidence": [], "text": ""}
        if self._card is None:
            return
        self._depth += 1
        classes = (a.get("class") or "").split()
        self._in_verdict = self._in_verdict or "verdict" in classes
        if tag == "a" and "evidence" in classes:
            self.cards[self._card]["evidence"].append(a["href"])

    def handle_endtag(self, tag):
        if self._card is None:
            return
        self._in_verdict = self._in_verdict and tag != "span"
        self._depth -= 1
        if self._depth == 0:
            self._card = None

    def handle_data(self, data):
        if self._card is not None:
            self.cards[self._card]["text"] += data
            if self._in_verdict:
                self.cards[self._card]["verdict"] += data


def _cards(html: str) -> dict[str, dict]:
    parser = _Cards()
    parser.feed(html)
    return parser.cards


def _row(cid: str, **kw) -> dict:
    c = CLAIMS[cid]
    row = {"id": cid, "paper": c.source, "claim": c.text, "stated": c.stated,
           "measured": 0.5, "spread": 0.1, "unit": "accuracy", "device": "cpu",
           "verdict": "reproduced", "rule_verdict": "reproduced", "note": "a note",
           "reason": "the reason", "rule_reason": "the reason", "context": "",
           "chapter": c.chapter, "section": c.chapter_section, "compute": c.compute}
    row.update(kw)
    return row


def test_every_claim_of_the_registry_gets_a_card_in_registry_order():
    html = audit.render([_row(cid) for cid in CLAIMS], "paper")
    cards = _cards(html)
    assert list(cards) == list(CLAIMS) == [f"C{i:02d}" for i in range(1, 16)]
    for cid, card in cards.items():
        # the whole claim text, capitalised, never cut
        assert CLAIMS[cid].text[1:] in card["text"], cid
        assert CLAIMS[cid].stated in card["text"]


@pytest.mark.parametrize("verdict", [*config.VERDICTS, "pending"])
def test_each_verdict_gets_its_own_badge(verdict):
    html = audit.render([_row("C12", verdict=verdict, rule_verdict=verdict)], "paper")
    badge = re.search(r'<span class="verdict ([^"]+)">([^<]+)</span>', html)
    assert badge.group(1) == audit.BADGE_CLASSES[verdict]
    assert badge.group(2) == (f"{verdict} (paper)" if verdict == claims.NOT_JUDGED
                              else verdict)
    assert len(set(audit.BADGE_CLASSES.values())) == len(audit.BADGE_CLASSES)


def test_the_evidence_link_is_the_chapter_page_and_the_id_of_its_section():
    cards = _cards(audit.render([_row(cid) for cid in CLAIMS], "paper"))
    assert cards["C02"]["evidence"] == ["../notebooks/04_training.html#convergence-claim-c02"]
    assert cards["C12"]["evidence"] == [
        "../notebooks/04_training.html#the-99-of-the-cancer-alpha-paper-claim-c12"]
    for cid, card in cards.items():
        c = CLAIMS[cid]
        page, anchor = card["evidence"][0].split("#")
        assert page == f"../notebooks/{c.chapter}.html"
        assert anchor == audit.section_id(c.chapter_section)
        assert cid.lower() in anchor  # every evidence heading names its claim


def test_a_profile_that_judges_nothing_says_so_and_keeps_the_rule_secondary(smoke, tmp_path):
    run = results.Run("04_training", smoke, tmp_path)
    run.claim(claims.judge_c12(0.81, 0.01), note="Bayes ceiling 0.9")
    run.save()
    rows = audit.rows("smoke", tmp_path)
    c12 = next(r for r in rows if r["id"] == "C12")
    assert c12["verdict"] == claims.NOT_JUDGED and c12["rule_verdict"] == "not reproduced"
    assert c12["rule_reason"] == "accuracy 0.810" and c12["context"] == "Bayes ceiling 0.9"
    card = _cards(audit.render(rows, "smoke"))["C12"]
    assert card["verdict"] == "not judged (smoke)"
    assert "the rule alone: not reproduced" in card["text"]
    assert "accuracy 0.810" in card["text"]
    notes = audit.reader_notes("smoke", False, {"04_training": {}})
    assert len(notes) == 1 and "not judged (smoke)" in notes[0]
    assert audit.reader_notes("paper", True, {"04_training": {}}) == []


def test_a_judging_profile_shows_no_rule_beside_the_verdict():
    html = audit.render([_row("C12", verdict="partly", rule_verdict="partly")], "paper")
    assert "the rule alone" not in html


def test_claim_text_and_measurements_are_html_escaped():
    row = _row("C12", claim="<script>alert(1)</script> & more", device='gpu "x"',
               measured="<b>", unit="a<b")
    html = audit.render([row], "paper")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "gpu &quot;x&quot;" in html and "&lt;b&gt;" in html and "a&lt;b" in html


def test_a_pending_claim_says_it_is_not_measured_yet():
    card = _cards(audit.render([_row("C05", verdict="pending", measured=None, spread=None,
                                     device=None)], "paper"))["C05"]
    assert card["verdict"] == "pending" and "not measured yet" in card["text"]


def test_a_mapping_measurement_shows_each_entry_with_its_spread():
    text = audit.measured_text({"methylation": 31.2, "cna": 40.0},
                               {"methylation": 2.8, "cna": 1.0})
    assert text == "methylation 31.2 \u00b1 2.8, cna 40 \u00b1 1"


def test_criteria_split_into_verdicts_and_keep_every_word():
    for cid, text in CRITERIA.items():
        parts = audit.criteria_parts(text)
        assert "; ".join(f"{v}: {t}" if v else t for v, t in parts).replace(
            "not testable here:", "not testable:") == text, cid
    assert [v for v, _ in audit.criteria_parts(CRITERIA["C02"])] == ["reproduced", "partly"]
    html = audit.render_criteria()
    assert html.count("data-criterion=") == len(CLAIMS)


def _records(**chapters) -> dict:
    return {c: ({"metrics": m} if m is not None else None) for c, m in chapters.items()}


def _scores(acc: float, sd: float = 0.01, n_runs: float = 5.0) -> dict:
    return {"accuracy_mean": acc, "accuracy_sd": sd, "n_runs": n_runs}


def test_findings_name_the_best_classical_and_neural_model_and_the_transformers_rank():
    models = {"logistic_regression": _scores(0.80), "gradient_boosting": _scores(0.84),
              "mmt_modality": _scores(0.82), "perceiver_io": _scores(0.83)}
    tuned = {"logistic_regression": _scores(0.86), "random_forest": _scores(0.81),
             "mmt_modality": _scores(0.85, 0.02), "late_fusion": _scores(0.84)}
    real = {"breast_tcga": {"logistic_regression": _scores(0.88), "mmt_modality": _scores(0.9)},
            "rosmap": {"random_forest": _scores(0.8), "mmt_modality": _scores(0.79)}}
    # Chapter 8 keeps the number of runs in its tables, not beside the scores
    for scores in real.values():
        for s in scores.values():
            s.pop("n_runs")
    tables = {"breast_tcga, published recipe": [{"model": "mmt_modality", "n_runs": 3.0}]}
    found = audit.findings(_records(
        **{"01_data_synthesis": {"bayes_accuracy": 0.5},
           "04_training": {"bayes_accuracy": 0.9, "models": models, "models_tuned": tuned},
           "05_fair_comparison": {"training_size_reading": {
               "largest": 16000, "best_at_largest": "random_forest",
               "gap_to_ceiling_points": 1.25}},
           "08_real_data": {"datasets": real, "datasets_tuned": real, "tables": tables}}))
    assert found["ceiling"] == "0.900"  # the comparison's own ceiling first
    assert (found["best_classical_pub"], found["best_classical_pub_acc"]) == (
        "gradient_boosting", "0.840 \u00b1 0.010 (5 runs)")
    assert found["rosmap_best_tuned_acc"] == "0.800 \u00b1 0.010"  # no table: no run count
    assert found["best_neural_pub"] == "perceiver_io"
    assert found["best_classical_tuned"] == "logistic_regression"
    assert found["best_neural_tuned"] == "mmt_modality"
    assert found["mmt_rank_pub"] == "3 of 4" and found["mmt_rank_tuned"] == "2 of 4"
    assert found["mmt_tuned_acc"] == "0.850 \u00b1 0.020 (5 runs)"
    assert found["breast_tcga_best_pub_acc"] == "0.900 \u00b1 0.010 (3 runs)"
    assert found["breast_tcga_best_tuned"] == "mmt_modality"
    assert found["rosmap_best_tuned"] == "random_forest"
    assert found["mogonet_acc"] == "0.815" and found["rosmap_vs_mogonet"] == "1.5 points below"
    assert (found["curve_largest"], found["curve_best"], found["curve_gap"]) == (
        "16,000", "random_forest", "1.2")


def test_a_missing_record_gives_n_a_and_a_sentence_saying_what_to_run():
    records = _records(**{"01_data_synthesis": {"bayes_accuracy": 0.7}, "04_training": None,
                          "08_real_data": None})
    found = audit.findings(records)
    assert found["ceiling"] == "0.700"  # Chapter 1's ceiling when Chapter 4 is missing
    assert found["best_classical_pub"] == found["mmt_rank_tuned"] == audit.NA
    assert found["rosmap_best_tuned_acc"] == found["rosmap_vs_mogonet"] == audit.NA
    assert found["mogonet_acc"] == "0.815"  # published: always there
    missing = audit.missing_records(records, "paper")
    assert len(missing) == 2 and "--profile paper --only 04" in missing[0]
    assert "Chapter 8 (08_real_data)" in missing[1]
    assert "n/a" in audit.changed_conclusions_html(records)


def test_records_that_were_never_written_read_as_none(tmp_path, smoke):
    results.Run("01_data_synthesis", smoke, tmp_path).save()
    got = audit.read_records("smoke", ["01_data_synthesis", "04_training"], tmp_path)
    assert got["04_training"] is None and got["01_data_synthesis"]["chapter"] == \
        "01_data_synthesis"


def test_counts_list_every_verdict_and_the_sentence_only_those_that_occur():
    rows = [_row("C01", verdict="reproduced"), _row("C02", verdict="partly"),
            _row("C03", verdict="partly")]
    counts = audit.verdict_counts(rows)
    assert set(counts) == {*config.VERDICTS, "pending"} and sum(counts.values()) == 3
    assert audit.counts_sentence(counts) == "1 reproduced, 2 partly"
    glue = audit.count_glue(rows)
    assert glue["n_reproduced"] == 1 and glue["n_partly"] == 2 and glue["n_claims"] == 3
    assert glue["n_not_reproduced"] == 0  # every verdict glued, those that do not occur as 0
    assert glue["verdict_sentence"] == "1 reproduced, 2 partly"


def test_a_glued_figure_carries_its_image_inline_with_alt_text():
    from cancer_alpha import plots

    fig = plots.verdict_summary([_row(c, verdict="partly") for c in CLAIMS])
    html = audit.figure_html(fig, alt="Claims by verdict: 15 <partly>", caption="cap")
    plots.close(fig)
    assert html.startswith('<figure class="ca-figure"><img src="data:image/png;base64,')
    assert 'alt="Claims by verdict: 15 &lt;partly&gt;"' in html
    assert "<figcaption>cap</figcaption>" in html


def test_the_introduction_note_says_when_nothing_was_judged():
    assert "all 15 claims are marked not judged" in audit.judging_note("smoke", False, 15)
    assert "not judged" not in audit.judging_note("paper", True, 15)


def test_one_run_shows_no_spread():
    assert audit._acc({"accuracy_mean": 0.5, "accuracy_sd": 0.0, "n_runs": 1.0}) == \
        "0.500 (1 run)"
