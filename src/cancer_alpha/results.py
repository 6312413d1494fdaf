"""Run records: what every chapter writes to results/<profile>/.

A chapter opens a :class:`Run`, records metrics, claims, figures and glued numbers while it
executes, and saves one JSON file atomically at its end. The claims audit reads them back.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .claims import CLAIMS, Judgement, for_profile
from .config import Profile, from_parameters
from .safe_write import json_text, jsonable, write_text


def results_root(results_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder holding results/<profile>/: the argument, CANCER_ALPHA_RESULTS, or ./results."""
    return Path(results_dir or os.environ.get("CANCER_ALPHA_RESULTS") or "results").resolve()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (:func:`cancer_alpha.safe_write.write_text`) and
    count it among the outputs of this process's chapter."""
    write_text(path, text)
    _OUTPUTS.add(Path(path).resolve())


# result files this process has read (path relative to the results root -> sha256 when read):
# a chapter's record lists them, and a rebuild reruns the chapter when one of them changes
_INPUTS: dict[str, str] = {}
# files this process has written through atomic_write_text: a chapter's record lists those
# under its results folder (the tuning chapters' settings), which the published reference keeps
_OUTPUTS: set[Path] = set()
PACKAGE = __name__.rsplit(".", 1)[0]


def imported_modules() -> list[str]:
    """The modules of this package imported in this process so far: what a chapter ran."""
    return sorted(name for name, module in list(sys.modules.items())
                  if (name == PACKAGE or name.startswith(PACKAGE + "."))
                  and getattr(module, "__file__", None))


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - platforms without a load average
        return None


def threads() -> dict[str, Any]:
    """The thread settings a chapter computed with: the environment's OMP_NUM_THREADS and,
    where torch is loaded, its intra-op threads (float sums may differ in the last bits with
    the number of threads, so a verification reruns with the same)."""
    out: dict[str, Any] = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.get_num_threads()
    return out


def note_input(path: Path, results_dir: str | os.PathLike[str] | None = None) -> None:
    """Remember that this process read the result file ``path``, and its content hash."""
    import hashlib

    path = Path(path).resolve()
    try:
        key = str(path.relative_to(results_root(results_dir)))
    except ValueError:
        key = str(path)
    _INPUTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()


def _git(*args: str, cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                             cwd=cwd or Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(root: Path | None = None) -> tuple[str | None, bool | None]:
    """The commit of the checkout at ``root`` (default: the package's) and whether tracked
    files differ from it."""
    commit = _git("rev-parse", "HEAD", cwd=root)
    status = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    return commit, (None if status is None else bool(status))


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers."""
    from importlib import metadata

    names = ["cancer-alpha", "torch", "pytorch-lightning", "torchmetrics", "numpy", "scipy",
             "pandas", "scikit-learn", "hmmlearn", "tab-transformer-pytorch",
             "perceiver-pytorch"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def _mapping(method: str, values: Any) -> Mapping[str, Any]:
    """``values`` when it maps names (str) to values; otherwise a TypeError naming ``method``
    and what it got, before anything is glued or recorded."""
    if not isinstance(values, Mapping):
        raise TypeError(f"{method}: expected a mapping of names to values, got "
                        f"{type(values).__name__}")
    bad = [k for k in values if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{method}: every name must be a str, got {bad[0]!r}")
    return values


def _show_html(html: str) -> bool:
    """Display ``html`` as a cell's output when running in a notebook; False elsewhere."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the book extra
        return False
    if get_ipython() is None:
        return False
    from IPython.display import HTML, display

    display(HTML(html))
    return True


@dataclass(frozen=True)
class DrawnFigure:
    """A figure rendered for the book, not yet written: its image, its data and its HTML."""

    folder: Path  # results/<profile>/
    png_name: str  # relative to ``folder``: figures/<chapter>__<name>.png
    png: bytes
    data: str  # the JSON of what it shows (:func:`cancer_alpha.plots.data.figure_data`)
    html: str  # the captioned figure as a notebook shows it

    @property
    def data_name(self) -> str:
        return self.png_name[:-len(".png")] + ".json"

    @property
    def call_name(self) -> str:
        return call_name(self.png_name)

    def write(self) -> None:
        """Write the image and its data (each atomically)."""
        from .safe_write import write_bytes

        write_bytes(self.folder / self.png_name, self.png)
        atomic_write_text(self.folder / self.data_name, self.data)


def call_name(png_name: str) -> str:
    """Where the call that drew figure ``png_name`` is kept (:mod:`cancer_alpha.redraw`),
    relative to the same folder."""
    return png_name[:-len(".png")] + ".call.pickle"


def figure_anchor(chapter: str, name: str) -> str:
    """The HTML id of a chapter's figure, which a link or a redraw finds it by."""
    return f"figure-{chapter}-{name}".replace("_", "-")


def draw_figure(fig: Any, folder: Path, profile: str, chapter: str, name: str, caption: str,
                number: str, alt: str | None = None) -> DrawnFigure:
    """Render ``fig`` as Figure ``number`` of ``chapter``: its PNG, its data and its captioned
    HTML, naming the function that drew it and the run record it belongs to."""
    import html
    import io

    from .plots.data import figure_data
    from .plots.style import figure_html

    png_name = f"figures/{chapter}__{name}.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    png = buf.getvalue()
    data = json_text({"chapter": chapter, "figure": name, "caption": caption,
                      **figure_data(fig)}, convert=False, separators=(",", ":"))
    drawn_by = getattr(fig, "drawn_by", None)
    record = f"results/{profile}/{chapter}.json"
    source = (f"Drawn by <code>{html.escape(drawn_by)}</code> from the run record "
              if drawn_by else "From the run record ")
    caption_html = (f"<strong>Figure {number}.</strong> {html.escape(caption)} "
                    f'<span class="ca-provenance">{source}<code>{record}</code> (image '
                    f"<code>results/{profile}/{png_name}</code>).</span>")
    hover = f"Figure {number}: drawn by {drawn_by}" if drawn_by else f"Figure {number}"
    page = figure_html(fig, alt or caption, caption_html, anchor=figure_anchor(chapter, name),
                       hover=hover, png=png)
    return DrawnFigure(folder, png_name, png, data, page)


def start_run(chapter: str, profile: str = "paper", overrides: Mapping[str, Any] | None = None,
              results_dir: str | os.PathLike[str] | None = None, *,
              seeds: Callable[[Profile], Iterable[int]] | None = None,
              device: str = "cpu") -> Run:
    """The setup of a chapter, from its papermill parameters: the profile (a name or a YAML
    path) with ``overrides`` on top (:func:`cancer_alpha.config.from_parameters`), and the
    run record it writes, whose ``profile`` holds those settings. ``seeds`` names the seeds
    the record declares, read from the profile (``evaluation.seeds`` by default)."""
    settings = from_parameters(profile, overrides)
    return Run(chapter, settings, results_dir,
               seeds=None if seeds is None else seeds(settings), device=device)


class Run:
    """The record of one chapter's execution at one profile."""

    def __init__(self, chapter: str, profile: Profile,
                 results_dir: str | os.PathLike[str] | None = None,
                 seeds: Iterable[int] | None = None, device: str = "cpu") -> None:
        self.chapter = chapter
        self.profile = profile
        self.dir = results_root(results_dir) / profile.name
        self.seeds = list(seeds if seeds is not None else profile.evaluation.seeds)
        self.device = device
        self.metrics: dict[str, Any] = {}
        self.claims: dict[str, dict[str, Any]] = {}
        self.figures: list[str] = []
        self.figure_data: list[str] = []
        self._t0 = time.perf_counter()
        _INPUTS.clear()  # one chapter per process: what it reads from here on
        _OUTPUTS.clear()
        self._started = datetime.now(UTC).isoformat(timespec="seconds")
        self._load_start = _load_average()

    def metric(self, key: str, value: Any) -> Any:
        """Record one chapter metric; returns the value."""
        self.metrics[key] = jsonable(value)
        return value

    def metric_all(self, values: Mapping[str, Any]) -> None:
        """Record every metric of ``values`` (a chapter module's record), in its order."""
        for key, value in _mapping("metric_all", values).items():
            self.metric(key, value)

    def claim(self, judgement: Judgement, *, note: str = "",
              device: str | None = None) -> dict[str, Any]:
        """Register a rule's judgement of a claim, as this run's profile lets it stand
        (:func:`cancer_alpha.claims.for_profile`); ``note`` adds the chapter's context."""
        if not isinstance(judgement, Judgement):
            raise TypeError(f"claim: expected a Judgement from a rule of cancer_alpha.claims, "
                            f"got {type(judgement).__name__}")
        j = for_profile(judgement, self.profile)
        c = CLAIMS[j.claim]
        overruled = "" if j.rule_verdict is None else \
            f"the rule alone: {j.rule_verdict} ({j.rule_reason})"
        entry = {"id": j.claim, "claim": c.text, "stated": c.stated,
                 "measured": jsonable(j.measured), "spread": jsonable(j.spread),
                 "unit": j.unit, "device": device or self.device, "verdict": j.verdict,
                 "note": "; ".join(t for t in (j.reason, overruled, note) if t),
                 "chapter": self.chapter, "paper": c.source, "reason": j.reason,
                 "rule_verdict": j.rule_verdict or j.verdict,
                 "rule_reason": j.rule_reason or j.reason}
        self.claims[j.claim] = entry
        return entry

    def figure(self, fig: Any, name: str, caption: str, *, alt: str | None = None) -> Any:
        """Save a matplotlib figure under results/<profile>/figures/ and show it (in a
        notebook) as a numbered figure: 'Figure <chapter>.<n>.', the caption, and the
        function that drew it with the run record it belongs to (the figure-to-code link).
        ``alt`` says what the image shows for a reader who cannot see it (the caption by
        default). The call that drew it is kept beside it, so that a change to the drawing
        alone redraws it without executing the chapter (:mod:`cancer_alpha.redraw`). The
        figure is closed once shown; it is returned for further use."""
        if not caption or not caption.strip():
            raise ValueError(f"figure {name!r}: every figure of the book needs a caption")
        number = f"{int(self.chapter.split('_', 1)[0])}.{len(self.figures) + 1}"
        drawn = draw_figure(fig, self.dir, self.profile.name, self.chapter, name,
                            caption.strip(), number, alt)
        drawn.write()
        self.figures.append(drawn.png_name)
        self.figure_data.append(drawn.data_name)
        from .redraw import save_call

        save_call(fig, self.dir / drawn.call_name, name=name, caption=caption.strip(),
                  number=number, alt=alt)
        if _show_html(drawn.html):
            from .plots.style import close

            close(fig)  # shown once, as the captioned figure above
        return fig

    def glue(self, name: str, value: Any, *, display: bool = False) -> None:
        """Glue a value for the book's prose (myst-nb) and keep it in the record. Returns
        nothing, so that a cell ending in a glue shows no stray value."""
        from myst_nb import glue

        # numpy scalars repr as 'np.float64(0.5)', which myst-nb's {glue:text}`x:.3f` cannot
        # format: glue the plain Python number
        plain = value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 \
            else value
        glue(name, plain, display=display)
        if isinstance(plain, int | float | str | bool):
            self.metrics.setdefault("glued", {})[name] = jsonable(plain)

    def glue_all(self, values: Mapping[str, Any]) -> None:
        """Glue every value of ``values`` under its name (a chapter module's glue), in its
        order; like :meth:`glue`, it returns nothing."""
        for name, value in _mapping("glue_all", values).items():
            self.glue(name, value)

    def inputs(self) -> dict[str, str]:
        """The result files this chapter read, with their hashes (its own earlier record,
        which it replaces, is not an input)."""
        own = f"{self.profile.name}/{self.chapter}.json"
        return {k: v for k, v in sorted(_INPUTS.items()) if k != own}

    def outputs(self) -> list[str]:
        """The files under this profile's results folder that this chapter wrote besides its
        record and figures (relative to the folder): the tuning chapters' settings."""
        mine = set(self.figures) | set(self.figure_data)
        out = []
        for path in sorted(_OUTPUTS):
            try:
                rel = path.relative_to(self.dir.resolve()).as_posix()
            except ValueError:
                continue
            if rel not in mine and rel != f"{self.chapter}.json":
                out.append(rel)
        return out

    def record(self) -> dict[str, Any]:
        """The JSON document of this run, in the layout of the design document."""
        commit, dirty = git_state()
        return {
            "chapter": self.chapter,
            "profile": self.profile.name,
            "provenance": {
                "git_commit": commit, "dirty": dirty, "seeds": self.seeds,
                "device": self.device, "versions": package_versions(),
                "params": self.profile.to_dict(), "started_utc": self._started,
                "inputs": self.inputs(), "outputs": self.outputs(),
                "modules": imported_modules(), "threads": threads(),
                "load_average": {"start": self._load_start, "end": _load_average()},
                "wall_seconds": round(time.perf_counter() - self._t0, 3),
            },
            "metrics": self.metrics,
            "claims": list(self.claims.values()),
            "figures": self.figures,
            "figure_data": self.figure_data,
        }

    def verdict_text(self) -> str:
        """The verdicts of the claims this chapter registered, for its key results:
        'C02 not reproduced, C11 partly'; a claim not judged says why ('not judged (smoke
        profile)', 'not judged (noisy machine)')."""
        parts = []
        for cid, entry in sorted(self.claims.items()):
            verdict = entry["verdict"]
            if verdict == "not judged":  # why, from its reason: 'smoke profile: too small...'
                verdict = f"not judged ({entry['reason'].split(':', 1)[0]})"
            parts.append(f"{cid} {verdict}")
        return ", ".join(parts) if parts else "none"

    def save(self) -> Path:
        """Write results/<profile>/<chapter>.json atomically; returns its path."""
        path = self.dir / f"{self.chapter}.json"
        atomic_write_text(path, json_text(self.record(), indent=2))
        return path


def format_measure(measured: Any, spread: Any = None, unit: str | None = "") -> str:
    """A measurement as a reader sees it: '0.874 +- 0.012 units'."""
    if isinstance(measured, bool) or not isinstance(measured, int | float):
        text = str(measured)
    else:
        text = f"{measured:.3g}"
        if isinstance(spread, int | float) and not isinstance(spread, bool):
            text += f" \u00b1 {spread:.2g}"
        elif isinstance(spread, list | tuple) and len(spread) == 2:
            text += f" [{spread[0]:.3g}, {spread[1]:.3g}]"
    return f"{text} {unit}".strip() if unit else text


def load(profile: str, chapter: str,
         results_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A chapter's saved record, or a clear error saying which chapter to run first."""
    path = results_root(results_dir) / profile / f"{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run chapter {chapter} at profile {profile!r} first "
            f"(cancer-alpha reproduce --profile {profile} --only {chapter[:2]})"
        )
    note_input(path, results_dir)
    return json.loads(path.read_text())


def claims_table(profile: str,
                 results_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every claim id of the registry with its registered verdict, or 'pending'."""
    root = results_root(results_dir) / profile
    registered: dict[str, dict[str, Any]] = {}
    for path in sorted(root.glob("*.json")):
        note_input(path, results_dir)
        for entry in json.loads(path.read_text()).get("claims", []):
            registered[entry["id"]] = entry
    rows = []
    for cid, c in CLAIMS.items():
        got = registered.get(cid, {})
        rows.append({
            "id": cid, "paper": c.source, "claim": c.text, "stated": c.stated,
            "measured": got.get("measured"), "spread": got.get("spread"),
            "unit": got.get("unit"), "device": got.get("device"),
            "verdict": got.get("verdict", "pending"),
            "rule_verdict": got.get("rule_verdict", got.get("verdict", "pending")),
            "note": got.get("note", "no chapter has registered this claim yet"),
            "chapter": got.get("chapter", c.chapter), "section": c.chapter_section,
            "compute": c.compute,
        })
    return rows
