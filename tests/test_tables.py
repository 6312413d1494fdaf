"""Tables as the book shows them (cancer_alpha.tables)."""

import numpy as np
import pandas as pd

from cancer_alpha.tables import NOT_APPLICABLE, cell, readable


def test_missing_cells_show_a_dash_and_counts_show_as_integers():
    table = pd.DataFrame({"accuracy_mean": [0.4266667, np.nan], "n_runs": [2.0, 5.0],
                          "note": ["ceiling", None]}, index=["a", "bayes"])
    shown = readable(table)
    assert list(shown.columns) == ["accuracy mean", "n runs", "note"]
    assert shown.loc["a"].tolist() == ["0.427", "2", "ceiling"]
    assert shown.loc["bayes"].tolist() == [NOT_APPLICABLE, "5", NOT_APPLICABLE]


def test_a_series_becomes_a_named_column_not_a_repr():
    shown = readable(pd.Series({"mlp": 1.23456}, name="fit_seconds"), 1)
    assert list(shown.columns) == ["fit seconds"] and shown.loc["mlp", "fit seconds"] == "1.2"
    assert "dtype" not in shown.to_html()


def test_cells_keep_their_meaning():
    assert cell(0.0) == "0.000"
    assert cell(3.0) == "3.000"  # a float that is not a count keeps its decimals
    assert cell(3.0, integer=True) == "3"
    assert cell(2.5, integer=True) == "2.500"  # a count that is not whole is not rounded away
    assert cell(1e-6) == "1.00e-06"  # non-zero values never print as 0.000
    assert cell(np.int64(7)) == "7" and cell(True) == "yes" and cell(float("inf")) == "\u221e"


def test_per_column_decimals_and_named_integers():
    table = pd.DataFrame({"seconds": [1.23456], "width": [64.0]})
    shown = readable(table, decimals_by_column={"seconds": 1}, integers=["width"])
    assert shown.iloc[0].tolist() == ["1.2", "64"]


def test_settings_show_significant_digits():
    shown = readable(pd.DataFrame({"lr": [0.000321], "max_depth": [6.0]}), significant=3)
    assert shown.iloc[0].tolist() == ["0.000321", "6"]
