"""What an interrupted command keeps: finished fits and studies, resumed by a rerun.

A long command (`cv`, `cv --tune`) assembles its work in a hidden folder beside its output,
``.<out>.partial/``: one file per finished fit, the settings chosen in each outer fold, and an
Optuna storage per study under way. The output folder itself appears only when everything is
done, so an interruption never leaves an output that looks complete. Rerunning the same
command (same data, settings and folds) finds the partial folder and does only what is left;
a partial folder of another command is refused rather than mixed in.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OptionError

FORMAT = "cancer-alpha-partial/1"
MANIFEST = "manifest.json"


def partial_path(out: Path) -> Path:
    """The partial folder of output ``out``: a hidden sibling."""
    return out.with_name(f".{out.name}.partial")


def fit_key(model: str, seed: int, fold: int, recipe: str) -> str:
    return f"{recipe}-{model}-s{seed}-f{fold}"


def _write_json(path: Path, value: Any) -> None:
    from .results import atomic_write_text
    from .safe_write import json_text

    atomic_write_text(path, json_text(value, explain=True))


def fit_to_dict(fit: Any) -> dict[str, Any]:
    """A :class:`cancer_alpha.protocol.Fit` as JSON (probabilities as lists)."""
    return {"model": fit.model, "seed": fit.seed, "fold": fit.fold,
            "fit_seconds": fit.fit_seconds, "metrics": fit.metrics,
            "proba": {k: np.asarray(v).tolist() for k, v in fit.proba.items()},
            "epochs": fit.epochs, "best_epoch": fit.best_epoch, "history": fit.history,
            "recipe": fit.recipe}


def fit_from_dict(d: Mapping[str, Any]) -> Any:
    from .protocol import Fit

    metrics = {k: {m: float("nan") if v is None else v for m, v in ms.items()}
               for k, ms in d["metrics"].items()}
    return Fit(d["model"], int(d["seed"]), int(d["fold"]), float(d["fit_seconds"]), metrics,
               {k: np.asarray(v, dtype=float) for k, v in d.get("proba", {}).items()},
               d.get("epochs"), d.get("best_epoch"), d.get("history"), {},
               d.get("recipe", "published"))


@dataclass
class PartialRun:
    """The partial folder of one command's output (see the module's docstring). Instances are
    sent to worker processes, which save their fits into it themselves."""

    path: Path
    identity: dict[str, Any]

    @classmethod
    def open(cls, out: Path, identity: Mapping[str, Any], *, overwrite: bool,
             command: str) -> PartialRun:
        """The partial folder for ``out``, created or found; one left by a run of the same
        ``identity`` is resumed, one of another is refused (discarded with ``overwrite``)."""
        path = partial_path(out)
        identity = json.loads(json.dumps(dict(identity)))  # as it reads back from JSON
        if path.is_dir():
            try:
                manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                manifest = None
            before = manifest.get("identity") if isinstance(manifest, dict) else None
            if before != identity:
                if not overwrite and _holds_work(path):
                    differs = (sorted(k for k in set(before) | set(identity)
                                      if before.get(k) != identity.get(k))
                               if isinstance(before, dict) else ["(unreadable)"])
                    raise OptionError(
                        f"{path} holds the finished work of an interrupted `{command}` with "
                        f"other {', '.join(differs)}: rerun that command to resume it, or "
                        "pass --overwrite to discard it")
                shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "fits").mkdir(exist_ok=True)
        (path / "studies").mkdir(exist_ok=True)
        _write_json(path / MANIFEST, {"format": FORMAT, "command": command,
                                      "identity": identity})
        return cls(path, identity)

    # ------------------------------------------------------------------ fits

    def fits(self) -> dict[str, Any]:
        """The finished fits kept here, by :func:`fit_key`."""
        out = {}
        for f in sorted((self.path / "fits").glob("*.json")):
            try:
                fit = fit_from_dict(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # written whole or not at all; anything else is not ours
            out[fit_key(fit.model, fit.seed, fit.fold, fit.recipe)] = fit
        return out

    def save_fit(self, fit: Any) -> None:
        _write_json(self.path / "fits" / f"{fit_key(fit.model, fit.seed, fit.fold, fit.recipe)}"
                                         ".json", fit_to_dict(fit))

    # ------------------------------------------------------------------ other records

    def load(self, name: str) -> Any:
        path = self.path / f"{name}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, ValueError):
            return None

    def save(self, name: str, value: Any) -> None:
        _write_json(self.path / f"{name}.json", value)

    def storage(self, name: str) -> str:
        """An Optuna storage (URL) for the study ``name`` under way."""
        return f"sqlite:///{self.path / 'studies' / f'{name}.db'}"

    def studies(self) -> list[Path]:
        return sorted((self.path / "studies").glob("*.db"))

    # ------------------------------------------------------------------ reporting

    def kept(self) -> str:
        """What is kept here, in words ('' when nothing is)."""
        n_fits = len(list((self.path / "fits").glob("*.json")))
        n_trials = sum(_trials_in(db) for db in self.studies())
        parts = [f"{n_fits} finished fit{'s' * (n_fits != 1)}"] if n_fits else []
        if n_trials:
            parts.append(f"{n_trials} finished tuning trial{'s' * (n_trials != 1)}")
        return " and ".join(parts)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def kept_or_remove(self) -> str:
        """What is kept here, in words; the folder is removed when it keeps nothing."""
        kept = self.kept()
        if not kept and not _holds_work(self.path):
            self.remove()
        return kept


def _holds_work(path: Path) -> bool:
    """Whether a partial folder holds any finished work (fits, chosen settings, trials)."""
    files = [f for f in path.rglob("*") if f.is_file()]
    return (any(f.suffix == ".json" and f.name != MANIFEST for f in files)
            or any(f.suffix == ".db" and _trials_in(f) for f in files))


def _trials_in(db: Path) -> int:
    """Finished trials of every study in an Optuna SQLite storage (0 if unreadable)."""
    import optuna

    from .tuning import finished_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = f"sqlite:///{db}"
        return sum(len(finished_trials(optuna.load_study(study_name=s.study_name,
                                                         storage=storage)))
                   for s in optuna.get_all_study_summaries(storage))
    except Exception:  # a storage an interruption left unreadable holds nothing usable
        return 0


def move_studies(partial: PartialRun, folder: Path) -> None:
    """The partial folder's study storages into ``folder`` (kept with a finished output)."""
    dbs = partial.studies()
    if dbs:
        folder.mkdir(parents=True, exist_ok=True)
        for db in dbs:
            shutil.move(db, folder / db.name)


__all__ = ["FORMAT", "partial_path", "fit_key", "fit_to_dict", "fit_from_dict",
           "PartialRun", "move_studies"]
