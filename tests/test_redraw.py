"""Figures redrawn from their saved calls (cancer_alpha.redraw) when only the drawing changed."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")

from cancer_alpha import config, plots, redraw, results, stamps  # noqa: E402
from cancer_alpha.plots import style  # noqa: E402

CHAPTER = "04_demo"
EPOCHS = {"a": [3, 4, 5], "b": [10, 12]}


def test_a_figure_carries_the_call_that_drew_it():
    fig = plots.epochs_to_convergence(EPOCHS, claimed=(1, 2))
    assert fig.drawn_call == ("cancer_alpha.plots.comparison", "epochs_to_convergence",
                              (EPOCHS,), {"claimed": (1, 2)})
    style.close(fig)


def _chapter(root: Path, monkeypatch) -> tuple[Path, str]:
    """One executed chapter of a build in ``root``: its record, one figure (with its saved
    call) and the executed notebook holding the figure's output. Returns the notebook and
    the figure's HTML as first shown."""
    shown = []
    monkeypatch.setattr(results, "_show_html", lambda page: shown.append(page) or True)
    run = results.Run(CHAPTER, config.load_profile("smoke"), root / "results")
    run.figure(plots.epochs_to_convergence(EPOCHS), "convergence", caption="Epochs.")
    run.save()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("run.figure(...)", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": shown[0],
                                                    "text/plain": "<HTML>"})])]
    path = stamps.stage_dir("smoke", root) / "notebooks" / f"{CHAPTER}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path, shown[0]


def test_run_figure_keeps_its_call_and_only_a_call_that_pickles(tmp_path, monkeypatch):
    _chapter(tmp_path, monkeypatch)
    figures = tmp_path / "results" / "smoke" / "figures"
    assert (figures / f"{CHAPTER}__convergence.call.pickle").is_file()
    # a figure drawn without plots (no call) and one whose arguments do not pickle: no file,
    # and an older call of the same name is removed
    import matplotlib.pyplot as plt

    run = results.Run(CHAPTER, config.load_profile("smoke"), tmp_path / "results")
    run.figure(plt.figure(), "plain", caption="Plain.")
    assert not (figures / f"{CHAPTER}__plain.call.pickle").exists()
    fig = plots.epochs_to_convergence(EPOCHS)
    fig.drawn_call = (*fig.drawn_call[:2], (lambda: 1,), {})
    run.figure(fig, "convergence", caption="Epochs.")
    assert not (figures / f"{CHAPTER}__convergence.call.pickle").exists()
    assert run.record()["provenance"]["outputs"] == []  # the calls are not results


def test_redraw_draws_again_with_the_drawing_as_it_is_now(tmp_path, monkeypatch):
    notebook, first = _chapter(tmp_path, monkeypatch)
    folder = tmp_path / "results" / "smoke"
    png = folder / "figures" / f"{CHAPTER}__convergence.png"
    record = (folder / f"{CHAPTER}.json").read_bytes()
    before = png.read_bytes()
    # the same drawing: the same image, byte for byte
    assert redraw.redraw(CHAPTER, "smoke", tmp_path) == 1
    assert png.read_bytes() == before
    # another style (what an edit of plots/ would do): a new image, in the notebook too
    monkeypatch.setattr(style, "STYLE", {"axes.facecolor": "#ffe0e0"})
    assert redraw.redraw(CHAPTER, "smoke", tmp_path) == 1
    after = png.read_bytes()
    assert after != before
    page = nbformat.read(notebook, as_version=4).cells[0].outputs[0]["data"]["text/html"]
    assert page != first and "Figure 4.1." in page
    import base64

    assert base64.b64encode(after).decode() in page
    assert (folder / f"{CHAPTER}.json").read_bytes() == record  # the numbers stay


def test_a_figure_without_its_call_or_its_output_cannot_be_redrawn(tmp_path, monkeypatch):
    notebook, _ = _chapter(tmp_path, monkeypatch)
    folder = tmp_path / "results" / "smoke" / "figures"
    png = (folder / f"{CHAPTER}__convergence.png").read_bytes()
    monkeypatch.setattr(style, "STYLE", {"axes.facecolor": "#ffe0e0"})
    call = folder / f"{CHAPTER}__convergence.call.pickle"
    kept = call.read_bytes()
    call.unlink()
    with pytest.raises(redraw.RedrawError, match="no saved call"):
        redraw.redraw(CHAPTER, "smoke", tmp_path)
    call.write_bytes(b"not a pickle")
    with pytest.raises(redraw.RedrawError, match="cannot be read"):
        redraw.redraw(CHAPTER, "smoke", tmp_path)
    call.write_bytes(kept)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells[0].outputs = []
    nbformat.write(nb, notebook)
    with pytest.raises(redraw.RedrawError, match="not in the executed notebook"):
        redraw.redraw(CHAPTER, "smoke", tmp_path)
    assert (folder / f"{CHAPTER}__convergence.png").read_bytes() == png  # nothing written


def test_the_plots_package_only_draws():
    # a change under plots/ redraws figures instead of executing the chapter, which is right
    # only if nothing there computes what a chapter records or shows otherwise: every public
    # function of its figure modules draws a figure through plots.style.figure
    helpers = {"style.py", "data.py", "__init__.py"}  # the style, figure data, re-exports
    folder = Path(plots.__file__).parent
    assert stamps.DRAWING == f"src/cancer_alpha/{folder.name}/"
    for path in sorted(folder.glob("*.py")):
        if path.name in helpers:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                assert "figure" in decorators, f"plots/{path.name}: {node.name} draws nothing"
