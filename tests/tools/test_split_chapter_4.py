"""tools/split_chapter_4.py, the rewrite that brought the published references to the chapters
as renumbered when Chapter 4 was split: chapter numbers in recorded sentences, Chapter 4's
record split by key, and a reference that is split already refused."""

import importlib.util
import json
from pathlib import Path

import pytest

from cancer_alpha.errors import ReferenceFolderError

_PATH = Path(__file__).resolve().parents[2] / "tools" / "split_chapter_4.py"
_SPEC = importlib.util.spec_from_file_location("split_chapter_4", _PATH)
split = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(split)


@pytest.mark.parametrize("before, after", [
    ("as Chapter 5 measured", "as Chapter 6 measured"),
    ("Chapters 4, 5 and 7 move", "Chapters 4, 6 and 8 move"),
    ("Chapters 4 and 8", "Chapters 4 and 9"),
    ("read by Chapter 4's audit, Chapter 1 and chapter 3", "read by Chapter 4's audit, "
     "Chapter 1 and chapter 3"),  # chapters before the split keep their numbers
])
def test_chapter_numbers_from_5_on_move_up_by_one(before, after):
    assert split.shift_chapter_numbers(before) == after


def test_renamed_chapters_and_numbers_are_rewritten_everywhere_in_a_record():
    record = {"chapter": "08_claims_audit", "reads": ["p/05_ablations.json"],
              "note": {"07_real_data": "Chapter 7 and 06_compute_profiling"}, "n": 5}
    assert split.rewrite(record) == {
        "chapter": "09_claims_audit", "reads": ["p/06_ablations.json"],
        "note": {"08_real_data": "Chapter 8 and 07_compute_profiling"}, "n": 5}


def _chapter_4():
    reading = {"largest": 1600, "model": "b", "best_at_largest": "a",
               "gap_to_ceiling_points": 5.0, "gaps_to_ceiling_points": {"a": 5.0, "b": 7.5},
               "largest_of_each": {"a": 1600, "b": 1600}}
    figures = [f"figures/04_training__{f}.{e}" for f in ("roc_curves", "training_size")
               for e in ("png",)]
    return {"chapter": "04_training", "profile": "tiny", "provenance": {"git_commit": "c0"},
            "claims": [{"id": "C12"}], "figures": figures,
            "figure_data": [f.replace(".png", ".json") for f in figures],
            "metrics": {"glued": {"ceiling": 0.9, "n_train": 100, "curve_small": 10,
                                  "budget_words": "w", "mlp_words": "m"},
                        "models": {"a": 1}, "training_size_reading": reading,
                        "training_size_curve": {"n_train": [10]}, "budget_sensitivity": {},
                        "budget_ranking_changed": False, "full_data_rules": {},
                        "full_data_gains": {}}}


def test_chapter_4s_record_gives_the_checks_to_chapter_5_and_keeps_the_rest():
    kept, moved = split.split_record(_chapter_4())
    assert set(kept["metrics"]) == {"glued", "models"}
    assert kept["metrics"]["glued"] == {"ceiling": 0.9, "n_train": 100, "mlp_words": "m"}
    assert kept["claims"] == [{"id": "C12"}]
    assert kept["figures"] == ["figures/04_training__roc_curves.png"]
    assert moved["chapter"] == "05_fair_comparison" and moved["claims"] == []
    assert list(moved["metrics"]) == ["glued", *split.MOVED_METRICS]
    assert moved["figures"] == ["figures/05_fair_comparison__training_size.png"]
    assert moved["figure_data"] == ["figures/05_fair_comparison__training_size.json"]
    glued = moved["metrics"]["glued"]
    assert glued["ceiling"] == 0.9 and glued["curve_small"] == 10 and glued["budget_words"] == "w"
    # the one value Chapter 5 glues that Chapter 4 never did, derived from the recorded facts
    assert glued["curve_summary"] == ("at 1,600 training samples the best model, a, is 5.0 "
                                      "points below the Bayes ceiling; b is 7.5 points below "
                                      "it.")
    assert moved["provenance"] == {"git_commit": "c0"}


def test_a_reference_that_is_split_already_is_refused(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"profile": "tiny", "chapters": {"05_fair_comparison": {}}, "files": {}}))
    with pytest.raises(ReferenceFolderError, match="split already"):
        split.migrate(tmp_path)
    assert not tmp_path.with_name(tmp_path.name + ".split").exists()  # nothing half-written
