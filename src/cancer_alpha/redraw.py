"""Redrawing a chapter's figures without executing it, when only the drawing changed.

Every figure of the book is drawn by a function of :mod:`cancer_alpha.plots` decorated with
:func:`cancer_alpha.plots.style.figure`, which tags the figure with its call (the function and
its arguments). :meth:`cancer_alpha.results.Run.figure` keeps that call beside the figure
(``results/<profile>/figures/<chapter>__<name>.call.pickle``). When the only files a chapter
used that changed since it last ran are under ``plots/`` (:data:`cancer_alpha.stamps.DRAWING`:
modules that only draw, the style, the figure data), the book's build calls :func:`redraw`
instead of executing the chapter: each figure is drawn again from its saved call, its image and
data files are replaced, and so is its output in the executed notebook. The run record, whose
numbers no drawing changes, stays as it is.

The saved calls are a local cache of this checkout's build: pickles of the figure's inputs
(tables, arrays), read back only by the build that wrote them and never published. A chapter
with a figure whose call could not be saved (an argument that does not pickle), or whose output
cannot be found in the executed notebook, is executed as before. A caption lives in the
notebook: editing one changes the notebook, and the chapter is executed.
"""

from __future__ import annotations

import importlib
import json
import pickle
from pathlib import Path
from typing import Any

from .safe_write import write_bytes, write_text


class RedrawError(RuntimeError):
    """A chapter's figures cannot be redrawn from saved calls: it must be executed."""


def save_call(fig: Any, path: Path, **meta: Any) -> bool:
    """Keep the call that drew ``fig`` (``fig.drawn_call``) at ``path`` with ``meta`` (the
    figure's name, caption, number, alt text). Returns False, leaving no file, when the figure
    carries no call or its arguments do not pickle: that figure cannot be redrawn."""
    path.unlink(missing_ok=True)
    call = getattr(fig, "drawn_call", None)
    if call is None:
        return False
    module, function, args, kwargs = call
    try:
        blob = pickle.dumps({"module": module, "function": function, "args": args,
                             "kwargs": kwargs, **meta}, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    write_bytes(path, blob)
    return True


def _load_call(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RedrawError(f"no saved call for {path.name}")
    try:
        return pickle.loads(path.read_bytes())
    except Exception as exc:  # an unreadable cache means: execute the chapter
        raise RedrawError(f"its saved call {path.name} cannot be read ({exc})") from None


def _html_outputs(nb: Any) -> dict[str, dict[str, Any]]:
    """The notebook's HTML outputs that hold a figure, by the figure's anchor."""
    import re

    found = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            page = output.get("data", {}).get("text/html")
            if isinstance(page, list):
                page = "".join(page)
            if page:
                for anchor in re.findall(r'<figure class="ca-figure" id="([^"]+)"', page):
                    found[anchor] = output
    return found


def redraw(chapter: str, profile: str, root: Path) -> int:
    """Draw every figure of ``chapter``'s last execution at ``profile`` again from its saved
    call with the package as it is now; replace its image, its data and its output in the
    executed notebook. Returns the number of figures. Every figure is drawn before anything is
    written: a failure (:class:`RedrawError`) leaves the chapter's files as they were."""
    import nbformat

    from .plots.style import close
    from .results import call_name, draw_figure, figure_anchor
    from .stamps import record_path, stage_dir

    record_file = record_path(chapter, profile, root)
    folder = record_file.parent
    notebook = stage_dir(profile, root) / "notebooks" / f"{chapter}.ipynb"
    try:
        record = json.loads(record_file.read_text())
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError) as exc:
        raise RedrawError(f"its record or executed notebook cannot be read ({exc})") from None
    outputs = _html_outputs(nb)
    drawn = []
    for png_name in record.get("figures", []):
        call = _load_call(folder / call_name(png_name))
        anchor = figure_anchor(chapter, call["name"])
        if anchor not in outputs:
            raise RedrawError(f"figure {call['name']!r} is not in the executed notebook")
        try:
            draw = getattr(importlib.import_module(call["module"]), call["function"])
            fig = draw(*call["args"], **call["kwargs"])
        except Exception as exc:
            raise RedrawError(f"figure {call['name']!r} cannot be drawn from its saved call "
                              f"({type(exc).__name__}: {exc})") from None
        figure = draw_figure(fig, folder, profile, chapter, call["name"], call["caption"],
                             call["number"], call.get("alt"))
        close(fig)
        if figure.png_name != png_name:
            raise RedrawError(f"figure {call['name']!r} is saved as {png_name}, "
                              f"not {figure.png_name}")
        drawn.append((figure, outputs[anchor]))
    for figure, output in drawn:
        figure.write()
        output["data"]["text/html"] = figure.html
    write_text(notebook, nbformat.writes(nb))
    return len(drawn)
