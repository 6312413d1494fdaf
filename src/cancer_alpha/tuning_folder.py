"""Tuning folders: the studies of `cancer-alpha tune`, kept whole, merged and resumed.

A tuning folder holds the studies of one data set under a name: ``<name>.json`` (by model,
the chosen settings and the study's summary: the file :func:`cancer_alpha.tuning.load` reads)
and ``<name>.db`` (every trial, an Optuna storage that ``optuna-dashboard`` opens). The book's
studies of a profile's synthetic cohort live in ``results/<profile>/tuning/synthetic.*``; a
researcher's own data folder is tuned into a folder of their choosing (``tune --data DIR
--out TUNED``: ``tuning.json``, ``tuning.db`` and ``about.json``, which says what was tuned on),
which ``train --tuned`` and ``cv --tuned`` read.

Studies are never lost:

- new studies are merged into what the folder holds; a model already studied there is
  replaced only when asked (``overwrite``), and the caller is told which study goes;
- a study under way keeps every finished trial in ``.partial/`` inside the folder (one Optuna
  storage per model, named for the data and settings it was tuned with); an interrupted run
  leaves them there, and a rerun with the same data and settings resumes each study;
- the folder's files are replaced whole (written beside, then renamed), so an interruption
  leaves the earlier studies as they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import Profile
from .data import MultiOmicsData
from .errors import OptionError
from .tuning import ENSEMBLE_MEMBERS, INHERITS, SEARCH_SPACES, Settings, StudyResult

FORMAT = "cancer-alpha-tuning/1"
DATA_NAME = "tuning"  # the study files of a tuning folder made from a data folder
ABOUT = "about.json"
PARTIAL = ".partial"


# --------------------------------------------------------------------------- fingerprints


def data_fingerprint(data: MultiOmicsData) -> str:
    """A hash of everything a study sees of ``data``: modalities, feature names, sample ids,
    values, masks, labels and class names."""
    h = hashlib.sha256()
    h.update(json.dumps([[s.name, s.kind, s.n_features] for s in data.specs]).encode())
    h.update(json.dumps([data.feature_names.get(s.name, []) for s in data.specs]).encode())
    h.update(json.dumps([str(i) for i in data.sample_ids]).encode())
    h.update(json.dumps(list(data.class_names)).encode())
    for s in data.specs:
        h.update(np.ascontiguousarray(np.nan_to_num(data.x[s.name], nan=0.0),
                                      dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(data.mask, dtype=bool).tobytes())
    if data.y is not None:
        h.update(np.ascontiguousarray(data.y, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


# budgets: a study resumed or merged with another number of trials is still the same study
_BUDGETS = ("n_trials", "startup_trials", "real_data_trials")


def settings_fingerprint(profile: Profile) -> str:
    """A hash of the profile settings a study depends on: the model, the training recipe and
    the tuning protocol (inner folds, seed, pruning), not the number of trials."""
    d = profile.to_dict()
    d["tuning"] = {k: v for k, v in d["tuning"].items() if k not in _BUDGETS}
    return hashlib.sha256(json.dumps({k: d[k] for k in ("model", "train", "tuning")},
                                     sort_keys=True).encode()).hexdigest()[:16]


def study_key(data: MultiOmicsData, profile: Profile) -> str:
    """The name a study under way is kept under: its data and its settings."""
    return hashlib.sha256(f"{data_fingerprint(data)}:{settings_fingerprint(profile)}"
                          .encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- budgets


def needs(model: str) -> list[str]:
    """The models whose studies ``model``'s study builds on."""
    if model in INHERITS:
        return [INHERITS[model]]
    return list(ENSEMBLE_MEMBERS) if model == "voting_ensemble" else []


def with_needs(models: Sequence[str]) -> list[str]:
    """``models`` with the models their studies build on, those first."""
    out: list[str] = []
    for m in models:
        for d in needs(m):
            if d not in out:
                out.append(d)
    return out + [m for m in models if m not in out]


def trials_of(model: str, profile: Profile) -> int:
    """The number of trials of ``model``'s study with ``profile``'s budget."""
    t = profile.tuning
    if model in INHERITS:
        return t.locus_trials
    return 0 if model == "voting_ensemble" or not SEARCH_SPACES.get(model) else t.n_trials


def with_trials(profile: Profile, trials: int | None) -> Profile:
    """``profile`` with ``trials`` trials per model (its own budget when None)."""
    if trials is None:
        return profile
    return profile.replace(tuning={"n_trials": trials, "startup_trials": min(
        profile.tuning.startup_trials, trials)})


# --------------------------------------------------------------------------- partial studies


def partial_storage(folder: Path, name: str, model: str, key: str) -> str:
    """The Optuna storage (URL) where ``model``'s study under way keeps its finished trials."""
    where = folder / PARTIAL
    where.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{where / f'{name}-{model}-{key}.db'}"


def stored_trials(storage: str, model: str) -> int:
    """How many finished trials the study ``model`` holds in ``storage`` (0 if none)."""
    import optuna

    from .tuning import finished_trials

    path = Path(storage.removeprefix("sqlite:///"))
    if storage.startswith("sqlite:///") and not path.is_file():
        return 0
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=model, storage=storage)
    except KeyError:
        return 0
    return len(finished_trials(study))


def kept_trials(folder: Path) -> dict[str, int]:
    """Finished trials kept in ``folder``'s partial studies, by storage file name."""
    out = {}
    for db in sorted((folder / PARTIAL).glob("*.db")) if (folder / PARTIAL).is_dir() else []:
        model = db.stem.split("-")[1] if db.stem.count("-") >= 2 else db.stem
        out[db.name] = _count_finished(db, model)
    return out


def _count_finished(db: Path, model: str) -> int:
    """Finished trials of the study ``model`` in the storage file ``db``, read without
    writing: a command may be creating that storage at this moment, and opening it as an
    Optuna storage would try to create its tables too and break the command's own setup.
    0 while its tables do not exist yet, or when the interruption left it unreadable."""
    import sqlite3

    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as con:
            (n,) = con.execute(
                "SELECT COUNT(*) FROM trials JOIN studies USING (study_id) "
                "WHERE studies.study_name = ? AND trials.state IN ('COMPLETE', 'PRUNED')",
                (model,)).fetchone()
    except sqlite3.Error:
        return 0
    return int(n)


def quiet_interrupted_trials() -> None:
    """Optuna logs a trial stopped by Ctrl-C or SIGTERM with its whole traceback before the
    interruption reaches the command; the command says it in one line instead. (Its records
    come from child loggers, so the filter sits on the handlers of Optuna's root logger.)"""
    import optuna

    optuna.logging.get_logger("optuna")  # Optuna's handler exists from here on
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _DropInterrupted) for f in handler.filters):
            handler.addFilter(_DropInterrupted())


class _DropInterrupted(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        if info and info[0] is not None and issubclass(info[0], KeyboardInterrupt | SystemExit):
            return False
        # the line Optuna adds after any trial whose objective raised
        return not (record.getMessage().startswith("Trial ")
                    and record.getMessage().endswith("failed with value None."))


class StudyProgress:
    """An Optuna callback drawing a progress bar of one study's trials on stderr, with the
    best log-loss so far and an estimate of the time left."""

    def __init__(self, model: str, total: int, done: int = 0, position: int | None = None,
                 leave: bool = True):
        self.model, self.total, self.done, self.position = model, total, done, position
        self.leave = leave
        self.bar: Any = None

    def __getstate__(self) -> dict[str, Any]:  # sent to a worker process without its bar
        return {**self.__dict__, "bar": None}

    def __call__(self, study: Any, trial: Any) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.total, initial=self.done, desc=self.model,
                            unit="trial", position=self.position, leave=self.leave,
                            file=sys.stderr, dynamic_ncols=True)
        self.bar.update(1)
        try:
            self.bar.set_postfix(best=f"{study.best_value:.4f}", refresh=False)
        except ValueError:  # no trial completed yet (all pruned)
            pass
        if self.bar.n >= self.total:
            self.bar.close()


# --------------------------------------------------------------------------- the folder


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise OptionError(f"{path}: not UTF-8 text: expected the {what} written by "
                          "`cancer-alpha tune`") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise OptionError(f"{path}: not valid JSON ({exc}): expected the {what} written by "
                          "`cancer-alpha tune`") from None
    except OSError as exc:
        raise OptionError(f"{path}: cannot be read ({exc.strerror})") from None


def read_studies(folder: Path, name: str) -> dict[str, dict[str, Any]]:
    """The study summaries by model in ``folder/<name>.json`` ({} when there are none)."""
    path = folder / f"{name}.json"
    if not path.exists():
        return {}
    summary = _read_json(path, "studies")
    if not isinstance(summary, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("best_params"), dict)
            for v in summary.values()):
        raise OptionError(f"{path}: expected a JSON object of studies by model, each with "
                          "'best_params' (the file `cancer-alpha tune` writes)")
    return summary


def describe_study(model: str, summary: Mapping[str, Any]) -> str:
    """One study in a few words: '<model> (12 trials, best log-loss 0.4312)'."""
    value = summary.get("best_value")
    best = f", best log-loss {value:.4f}" if isinstance(value, int | float) else ""
    return f"{model} ({summary.get('n_trials', '?')} trials{best})"


def replaced_studies(folder: Path, name: str, models: Sequence[str], *,
                     overwrite: bool) -> list[str]:
    """The studies of ``models`` that saving into ``folder`` would replace, in words; an
    error naming them (and ``--overwrite``) when ``overwrite`` is not given."""
    existing = read_studies(folder, name)
    clash = [m for m in models if m in existing]
    if clash and not overwrite:
        path = folder / f"{name}.json"
        raise OptionError(
            f"{path} already holds the stud{'y' if len(clash) == 1 else 'ies'} of "
            f"{', '.join(describe_study(m, existing[m]) for m in clash)}: pass --overwrite to "
            f"replace {'it' if len(clash) == 1 else 'them'}, or tune other models (the "
            "studies of other models there are kept either way)")
    return [describe_study(m, existing[m]) for m in clash]


def save_studies(results: Mapping[str, StudyResult], folder: Path, name: str, *,
                 about: Mapping[str, Any] | None = None, fresh: bool = False) -> Path:
    """Merge ``results`` into ``folder``: the studies of other models already there are kept
    (none with ``fresh``), those of the same models replaced. Each file is written beside and
    renamed into place; the storage first, the summaries last (a reader goes by them)."""
    import optuna

    from .results import atomic_write_text
    from .safe_write import atomic_file, json_text, jsonable

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder.mkdir(parents=True, exist_ok=True)
    existing = {} if fresh else read_studies(folder, name)
    db = folder / f"{name}.db"
    with atomic_file(db) as tmp:
        if db.is_file() and not fresh:
            shutil.copyfile(db, tmp)
        storage = optuna.storages.RDBStorage(f"sqlite:///{tmp}")
        kept = {s.study_name for s in optuna.get_all_study_summaries(storage)}
        for r in results.values():
            if r.model in kept:
                optuna.delete_study(study_name=r.model, storage=storage)
            if r.trials:
                study = optuna.create_study(storage=storage, study_name=r.model,
                                            direction="minimize")
                study.add_trials(r.trials)
        storage.engine.dispose()
        del storage
    merged = {**existing, **jsonable({m: r.summary() for m, r in results.items()})}
    if about is not None:
        atomic_write_text(folder / ABOUT, json_text(about, indent=1))
    path = folder / f"{name}.json"
    atomic_write_text(path, json_text(merged, indent=2))
    return path


@dataclass
class Tuned:
    """The outcome of :func:`tune_into`: the studies, where they were saved, what they
    replaced and what they resumed."""

    studies: dict[str, StudyResult]
    path: Path
    replaced: list[str]
    resumed: dict[str, int]  # model -> finished trials found from an interrupted run


def tune_into(folder: Path, name: str, data: MultiOmicsData, profile: Profile,
              models: Sequence[str], *, n_jobs: int = 1, overwrite: bool = False,
              about: Mapping[str, Any] | None = None, progress: bool = True,
              fresh: bool = False, say: Callable[[str], None] = lambda text: None) -> Tuned:
    """Tune ``models`` on ``data`` (training data only) and merge the studies into
    ``folder/<name>.*`` (replacing all that is there with ``fresh``), keeping every finished
    trial in the folder's partial studies until then and resuming those an interrupted run
    left with the same data and settings. ``say`` is told what is replaced and resumed."""
    from .tuning import tune

    replaced = [] if fresh else replaced_studies(folder, name, models, overwrite=overwrite)
    for text in replaced:
        say(f"--overwrite: the study of {text} will be replaced once the new one is done")
    quiet_interrupted_trials()
    key = study_key(data, profile)
    storages = {m: partial_storage(folder, name, m, key) for m in models
                if trials_of(m, profile)}
    resumed = {m: n for m, n in ((m, stored_trials(s, m)) for m, s in storages.items()) if n}
    for m, n in resumed.items():
        say(f"resuming the study of {m}: {min(n, trials_of(m, profile))} of "
            f"{trials_of(m, profile)} trials were kept by an interrupted run")
    callbacks = {m: (StudyProgress(m, trials_of(m, profile), min(resumed.get(m, 0),
                                                                trials_of(m, profile)),
                                   position=i if n_jobs > 1 else None),)
                 for i, m in enumerate(storages)} if progress else {}
    studies = tune(data, profile, models, n_jobs=n_jobs, storages=storages,
                   callbacks=callbacks)
    path = save_studies(studies, folder, name, about=about, fresh=fresh)
    for s in storages.values():
        Path(s.removeprefix("sqlite:///")).unlink(missing_ok=True)
    partial = folder / PARTIAL
    if partial.is_dir() and not any(partial.iterdir()):
        partial.rmdir()
    return Tuned(studies, path, replaced, resumed)


# --------------------------------------------------------------------------- data folders


def about_data(data: MultiOmicsData, profile: Profile, source: str,
               preprocessing: Mapping[str, Any]) -> dict[str, Any]:
    """What a tuning folder records of the data folder and settings it was tuned with."""
    return {"format": FORMAT, "data": source, "data_fingerprint": data_fingerprint(data),
            "n_samples": data.n_samples, "classes": list(data.class_names),
            "modalities": [[s.name, s.kind, s.n_features] for s in data.specs],
            "sample_ids": [str(i) for i in data.sample_ids],
            "profile": profile.name, "settings_fingerprint": settings_fingerprint(profile),
            "inner_folds": profile.tuning.inner_folds, "preprocessing": dict(preprocessing)}


def check_same_data(folder: Path, about: Mapping[str, Any], *, overwrite: bool) -> list[str]:
    """Refuse to merge studies of another data folder or other settings into ``folder``
    (their settings would not be comparable); with ``overwrite``, the studies that will be
    replaced, in words."""
    path = folder / ABOUT
    if not path.exists():
        return []
    before = _read_json(path, "description of a tuning folder")
    if not isinstance(before, dict):
        raise OptionError(f"{path}: expected a JSON object (the description `cancer-alpha "
                          "tune` writes)")
    differs = [what for key, what in (("data_fingerprint", "data"),
                                      ("settings_fingerprint", "model and training settings "
                                                               "(profile)"))
               if before.get(key) != about.get(key)]
    if not differs:
        return []
    studies = read_studies(folder, DATA_NAME)
    if not overwrite:
        raise OptionError(
            f"--out {str(folder)!r} holds studies tuned with other {' and '.join(differs)} "
            f"(data {before.get('data')!r}, profile {before.get('profile')!r}): choose "
            "another --out, or pass --overwrite to replace "
            + (", ".join(describe_study(m, v) for m, v in studies.items()) or "them"))
    return [describe_study(m, v) for m, v in studies.items()]


def clear_studies(folder: Path) -> None:
    """Remove the studies of a data tuning folder (before it is tuned anew on other data)."""
    for f in (f"{DATA_NAME}.json", f"{DATA_NAME}.db", ABOUT):
        (folder / f).unlink(missing_ok=True)


@dataclass
class TuningFolder:
    """A tuning folder as `train --tuned` and `cv --tuned` read it."""

    path: Path
    settings: dict[str, Settings]  # by model
    about: dict[str, Any]  # what it was tuned on ({} for the book's synthetic studies)

    def settings_for(self, model: str) -> Settings:
        """The tuned settings of ``model``, or an error naming the models tuned here."""
        if model not in self.settings:
            raise OptionError(f"--tuned {str(self.path)!r} holds no study of {model!r}: it "
                              f"has {sorted(self.settings)}; tune it first (cancer-alpha "
                              f"tune --data ... --out {self.path} --models {model})")
        return self.settings[model]

    def overlap(self, sample_ids: Sequence[str]) -> int:
        """How many of ``sample_ids`` the settings were tuned on."""
        return len(set(map(str, self.about.get("sample_ids") or [])) & set(map(str,
                                                                             sample_ids)))


def read_tuning_folder(path: str | os.PathLike[str]) -> TuningFolder:
    """The settings of a tuning folder (``tune --data ... --out``), or of a results folder's
    ``tuning/`` (the book's synthetic studies); a clear error for anything else."""
    folder = Path(path)
    if not folder.is_dir():
        raise OptionError(f"--tuned {str(folder)!r}: "
                          f"{'is a file' if folder.exists() else 'does not exist'}: expected "
                          "a tuning folder written by `cancer-alpha tune --data ... --out`")
    for name in (DATA_NAME, "synthetic"):
        if (folder / f"{name}.json").is_file():
            studies = read_studies(folder, name)
            about = (_read_json(folder / ABOUT, "description of a tuning folder")
                     if name == DATA_NAME and (folder / ABOUT).is_file() else {})
            return TuningFolder(folder, {m: dict(v["best_params"])
                                         for m, v in studies.items()},
                                about if isinstance(about, dict) else {})
    kept = kept_trials(folder)
    hint = (f"; an interrupted tune kept {sum(kept.values())} finished trials in "
            f"{folder / PARTIAL}: rerun it to finish" if kept else "")
    raise OptionError(f"--tuned {str(folder)!r} holds no finished study ({DATA_NAME}.json): "
                      "expected a folder written by `cancer-alpha tune --data ... --out`"
                      + hint)


__all__ = [
    "FORMAT", "DATA_NAME", "ABOUT", "PARTIAL", "data_fingerprint", "settings_fingerprint",
    "study_key", "needs", "with_needs", "trials_of", "with_trials", "partial_storage",
    "stored_trials", "kept_trials", "quiet_interrupted_trials", "StudyProgress",
    "read_studies", "describe_study", "replaced_studies", "save_studies", "Tuned",
    "tune_into", "about_data", "check_same_data", "clear_studies", "TuningFolder",
    "read_tuning_folder",
]
