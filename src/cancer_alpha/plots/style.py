"""The book's one figure style and what every chapter's figures share: colours per modality and
verdict, the ceiling's line style, and the decorator that draws a figure in the style."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

# one colour per modality and per verdict, used in every chapter
MODALITY_COLORS: dict[str, str] = {
    "methylation": "#1b9e77", "fragmentomics": "#d95f02", "cna": "#7570b3",
    "mrna": "#e7298a", "mirna": "#66a61e", "protein": "#e6ab02",
}


VERDICT_COLORS: dict[str, str] = {
    "reproduced": "#1a9850", "partly": "#fdae61", "not reproduced": "#d73027",
    "not testable here": "#9e9e9e", "not judged": "#bdbdbd", "pending": "#d9d9d9",
}


CEILING_STYLE: dict[str, Any] = {"color": "black", "linestyle": "--", "linewidth": 1.0}


def modality_color(name: str) -> str:
    """The colour of a modality (a neutral grey for names without one)."""
    return MODALITY_COLORS.get(name.lower(), "#666666")


def class_palette(class_names: Sequence[str]) -> dict[str, Any]:
    """A colour per class, stable across figures."""
    cmap = plt.get_cmap("tab10")
    return {c: cmap(i % 10) for i, c in enumerate(class_names)}


def subplots(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 3.6,
             **kw: Any):
    """``plt.subplots`` with the book's size and a constrained layout."""
    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def close(fig) -> None:
    """Free a figure after it has been displayed and saved."""
    plt.close(fig)


STYLE = Path(__file__).with_name("cancer_alpha.mplstyle")


def figure_html(fig: Any, alt: str, caption_html: str = "", *, anchor: str = "",
                hover: str = "", png: bytes | None = None) -> str:
    """A figure as self-contained HTML: the PNG inline with its alt text (and a hover
    ``hover``), under a caption (already escaped HTML); ``anchor`` is the figure's id.
    ``png``: the figure already rendered (a saved file's bytes), not rendered again."""
    import base64
    import html
    import io

    if png is None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, bbox_inches="tight",
                    metadata={"Software": None})
        png = buf.getvalue()
    data = base64.b64encode(png).decode("ascii")
    width = round(fig.get_figwidth() * 100)
    title = f' title="{html.escape(hover, quote=True)}"' if hover else ""
    ident = f' id="{html.escape(anchor, quote=True)}"' if anchor else ""
    cap = f"<figcaption>{caption_html}</figcaption>" if caption_html else ""
    return (f'<figure class="ca-figure"{ident}>'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"'
            f'{title} style="width: {width}px; max-width: 100%; height: auto;">{cap}</figure>')


def figure(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Draw with the book's style (``cancer_alpha.mplstyle``, in a context: matplotlib's global
    settings stay as they were) and tag the figure with the function that drew it, so that a run
    record and a caption can name it, and with the call itself (``fig.drawn_call``: module,
    function, arguments), so that a change to the drawing alone can redraw it from the same
    arguments (:mod:`cancer_alpha.redraw`)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with plt.style.context(STYLE):
            fig = draw(*args, **kwargs)
        fig.drawn_by = f"{draw.__module__}.{draw.__qualname__}"
        fig.drawn_call = (draw.__module__, draw.__qualname__, args, kwargs)
        return fig

    return wrapper
