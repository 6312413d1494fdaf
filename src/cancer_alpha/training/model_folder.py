"""Model folders: a trained model written by `cancer-alpha train` and read back.

A model folder holds ``config.json`` (model name, modality specs, classes, feature names and
the preprocessing choices of training), ``preprocessing.json`` (the training scaling),
``metrics.json``, ``history.json``, the model: ``model.pt`` (neural weights, read with
``weights_only=True``) or ``model.skops`` (a classical pipeline, read with an explicit list of
trusted types), and ``checksums.sha256`` (the SHA-256 of every other file, in the format
``sha256sum -c`` reads). Nothing in a model folder is read with unrestricted pickle.

A model folder cannot contradict itself. The model file carries its own description (model
name, classes in order, modalities, feature names), written with it; loading checks the
checksums first, then the model against ``config.json``: its type, its classes and their
order, the number and names of its features, its modalities. A file changed, truncated or
swapped after the folder was saved is refused, naming the file and both sides of a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cancer_alpha.data import KINDS, ModalitySpec, Standardizer
from cancer_alpha.errors import ModelFolderError, OptionError
from cancer_alpha.safe_write import atomic_folder, folder_target, json_text

# The format name keeps the word "run" (model folders were once called run folders): it is
# written into every config.json and model.pt, and folders saved by earlier versions carry it,
# so it stays as it is rather than break reading them.
MODEL_FOLDER_FORMAT = "cancer-alpha-run/2"
# folders written before checksums and model descriptions: read, with a warning that they
# cannot be checked
UNCHECKED_FORMATS: tuple[str, ...] = ("cancer-alpha-run/1",)
MODEL_FOLDER_FILES: tuple[str, ...] = ("config.json", "preprocessing.json", "metrics.json",
                                       "history.json")
CHECKSUMS = "checksums.sha256"
MODEL_FILES: tuple[str, ...] = ("model.pt", "model.skops")
# the attribute of a saved pipeline that describes it (skops keeps it with the pipeline; its
# name is stored in every model.skops, so it keeps the word "run" of the format name)
DESCRIPTION_ATTRIBUTE = "cancer_alpha_run_"


def save_model_folder(fitted: Any, path: str | Path, *, model_cfg: Any = None,
                      metrics: dict[str, Any] | None = None,
                      feature_names: dict[str, list[str]] | None = None,
                      overwrite: bool = False,
                      preprocessing: Mapping[str, Any] | None = None,
                      settings: Mapping[str, Any] | None = None) -> Path:
    """Write a trained model (a neural ``FittedModel`` or a classical ``FittedBaseline``) as
    a model folder: the model, settings, preprocessing, metrics and history.

    ``preprocessing`` records the choices made on the training data that prediction repeats
    (``constant`` policy and ``dropped_features``); ``settings`` other facts of the training
    (seed, profile, val_fraction). The folder is assembled beside its target and renamed into
    place, so an interrupted save leaves nothing half-written; the previous content of ``path``
    (with ``overwrite``) is removed only once the new folder is in place. Metrics that are NaN
    are written as null with a reason, never as bare NaN.
    """
    import dataclasses

    from cancer_alpha.baselines import FittedBaseline, save_pipeline

    target = folder_target(
        path, overwrite=overwrite, error=OptionError,
        is_file="{path} is a file: expected a folder for the model",
        not_empty="{path} exists and is not empty: choose another --out, remove it, or pass "
                  "--overwrite")
    classical = isinstance(fitted, FittedBaseline)
    if not classical and model_cfg is None:
        raise OptionError("model_cfg is required to save a neural model")
    about = describe_model(fitted, feature_names or {})
    with atomic_folder(target) as tmp:
        if classical:
            setattr(fitted.model, DESCRIPTION_ATTRIBUTE, about)
            save_pipeline(fitted.model, tmp / "model.skops")
        else:
            import torch

            torch.save({"format": MODEL_FOLDER_FORMAT, "about": about,
                        "state_dict": fitted.model.state_dict()}, tmp / "model.pt")
        config = {
            "format": MODEL_FOLDER_FORMAT, "model": fitted.name,
            "family": "classical" if classical else "neural",
            "model_config": None if classical else dataclasses.asdict(model_cfg),
            "specs": [s.to_dict() for s in fitted.specs],
            "class_names": list(fitted.class_names),
            "feature_names": feature_names or {},
            "preprocessing": dict(preprocessing or {"constant": "keep",
                                                    "dropped_features": {}}),
            "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
            **dict(settings or {}),
        }
        (tmp / "config.json").write_text(json_text(config, indent=2, explain=True))
        scaler = fitted.scaler.to_dict() if fitted.scaler is not None else None
        (tmp / "preprocessing.json").write_text(json_text(scaler, explain=True))
        (tmp / "metrics.json").write_text(json_text(metrics or {}, indent=2, explain=True))
        (tmp / "history.json").write_text(json_text(list(fitted.history or []), indent=1,
                                                    explain=True))
        write_checksums(tmp)
    return target


def describe_model(fitted: Any, feature_names: Mapping[str, list[str]]) -> dict[str, Any]:
    """What a model file says of itself: model name, classes in order, modalities (name, kind,
    number of features) and feature names."""
    return {"model": fitted.name, "class_names": list(fitted.class_names),
            "modalities": [[s.name, s.kind, int(s.n_features)] for s in fitted.specs],
            "feature_names": {m: [str(f) for f in v] for m, v in feature_names.items()}}


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path) -> None:
    """``checksums.sha256``: the SHA-256 of every other file of ``folder``, one line each."""
    lines = [f"{_sha256(f)}  {f.name}\n" for f in sorted(folder.iterdir())
             if f.is_file() and f.name != CHECKSUMS]
    (folder / CHECKSUMS).write_text("".join(lines), encoding="utf-8")


def verify_checksums(folder: Path) -> None:
    """Every file of the model folder as it was saved: none changed, missing or added since."""
    import re

    path = folder / CHECKSUMS
    if not path.is_file():
        raise _malformed(folder, f"{CHECKSUMS} is missing, so its files cannot be checked")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise _malformed(folder, f"{CHECKSUMS} cannot be read ({exc})") from None
    expected: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        found = re.fullmatch(r"([0-9a-f]{64})  ([^/\\]+)", line)
        if not found or found.group(2) in expected:
            raise _malformed(folder, f"{CHECKSUMS} line {i} is not '<sha256>  <file name>' of "
                                     "a file listed once")
        expected[found.group(2)] = found.group(1)
    present = {f.name for f in folder.iterdir() if f.is_file() and f.name != CHECKSUMS}
    for name, digest in expected.items():
        if name not in present:
            raise _malformed(folder, f"{name} is missing (it was saved with the folder)")
        if _sha256(folder / name) != digest:
            raise _malformed(folder, f"{name} was changed after the folder was saved (its SHA-256 "
                                     f"differs from the one in {CHECKSUMS}): it was edited, "
                                     "truncated or replaced by another file")
    # files of the user's (notes, say) may sit in the folder; a file the loader reads may not
    extra = sorted((present - set(expected)) & {*MODEL_FOLDER_FILES, *MODEL_FILES})
    if extra:
        raise _malformed(folder, f"{extra[0]} was added after the folder was saved (it is not in "
                                 f"{CHECKSUMS})")


def _malformed(folder: Path, what: str) -> ModelFolderError:
    return ModelFolderError(f"{folder} is not a valid model folder: {what} (a model folder is "
                            "written by `cancer-alpha train`; train again rather than editing it)")


def _read_json(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        raise _malformed(folder, f"{name} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(folder, f"{name} is not valid JSON ({exc})") from None
    except (OSError, RecursionError) as exc:
        raise _malformed(folder, f"{name} cannot be read ({exc})") from None


def _check_config(folder: Path, config: Any) -> tuple[list[ModalitySpec], dict[str, list[str]]]:
    """The specs and feature names of a model folder's config, or a ModelFolderError naming
    the flaw."""
    from cancer_alpha.baselines import BASELINES

    if not isinstance(config, dict):
        raise _malformed(folder, "config.json does not hold a JSON object")
    if config.get("format") not in (MODEL_FOLDER_FORMAT, *UNCHECKED_FORMATS):
        raise _malformed(folder, f"config.json has format {config.get('format')!r}, expected "
                                 f"{MODEL_FOLDER_FORMAT!r}")
    for key, kind in (("model", str), ("specs", list), ("class_names", list),
                      ("feature_names", dict)):
        if key not in config:
            raise _malformed(folder, f"config.json has no {key!r}")
        if not isinstance(config[key], kind):
            raise _malformed(folder, f"config.json: {key!r} is not a {kind.__name__}")
    family = config.get("family", "neural")
    if family not in ("neural", "classical"):
        raise _malformed(folder, f"config.json: family {family!r} is not 'neural' or 'classical'")
    if family == "classical" and config["model"] not in BASELINES:
        raise _malformed(folder, f"config.json: unknown classical model {config['model']!r}, "
                                 f"expected one of {list(BASELINES)}")
    specs = []
    for i, entry in enumerate(config["specs"]):
        try:
            if entry.get("kind") not in KINDS:
                raise ValueError(f"kind {entry.get('kind')!r} is not one of {list(KINDS)}")
            specs.append(ModalitySpec.from_dict(entry))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _malformed(folder, f"config.json: specs[{i}] is not a modality spec "
                                     f"({type(exc).__name__}: {exc})") from None
    if not specs or len({s.name for s in specs}) != len(specs):
        raise _malformed(folder, "config.json: specs must list distinct modalities")
    classes = config["class_names"]
    if (len(classes) < 2 or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise _malformed(folder, "config.json: class_names must be at least 2 distinct names")
    names = config["feature_names"]
    for s in specs:
        feats = names.get(s.name)
        if not isinstance(feats, list) or len(feats) != s.n_features:
            raise _malformed(folder, f"config.json: feature_names[{s.name!r}] must list the "
                                     f"{s.n_features} features of the modality")
    prep = config.get("preprocessing", {})
    dropped = prep.get("dropped_features", {}) if isinstance(prep, dict) else None
    if not isinstance(dropped, dict) or not all(
            isinstance(v, list) and all(isinstance(f, str) for f in v) for v in dropped.values()):
        raise _malformed(folder, "config.json: preprocessing.dropped_features must map modalities "
                                 "to lists of feature names")
    return specs, {m: [str(f) for f in v] for m, v in names.items()}


def _read_scaler(folder: Path, specs: list[ModalitySpec]) -> Standardizer | None:
    import numpy as np

    raw = _read_json(folder, "preprocessing.json")
    if raw is None:
        return None
    try:
        scaler = Standardizer.from_dict(raw)
        for s in specs:
            mean, scale = scaler.mean[s.name], scaler.scale[s.name]
            if mean.shape != (s.n_features,) or scale.shape != (s.n_features,):
                raise ValueError(f"modality {s.name!r} has {mean.shape} means and "
                                 f"{scale.shape} scales for {s.n_features} features")
            if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
                raise ValueError(f"modality {s.name!r} has non-finite means or scales <= 0")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise _malformed(folder, f"preprocessing.json is not the scaling of the model's modalities "
                                 f"({type(exc).__name__}: {exc})") from None
    return scaler


def load_model_folder(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """A model folder back as a fitted model with ``predict_proba(data)``, and its config.

    Neural weights are loaded with ``weights_only=True`` and classical pipelines with skops
    and an explicit list of trusted types. A missing, incomplete or hand-edited folder raises
    :class:`~cancer_alpha.errors.ModelFolderError` naming what is wrong.
    """
    folder = Path(path)
    if not folder.is_dir():
        what = "a file" if folder.exists() else "missing"
        raise ModelFolderError(f"{folder} is {what}: expected a model folder written "
                               "by `cancer-alpha train`")
    if not (folder / "config.json").is_file():
        raise ModelFolderError(f"{folder} is not a model folder: {folder / 'config.json'} is "
                               "missing (expected a folder written by `cancer-alpha train`)")
    # a folder of an earlier version has no checksums; a folder holding them is always checked
    checked = (folder / CHECKSUMS).exists() or _peek_format(folder) not in UNCHECKED_FORMATS
    if checked:
        verify_checksums(folder)
    else:
        import warnings

        from cancer_alpha.errors import CancerAlphaWarning

        warnings.warn(f"{folder} was written by an earlier version of this project, without "
                      "checksums or a model description: its files cannot be checked against "
                      "each other; train it again to have them", CancerAlphaWarning,
                      stacklevel=2)
    config = _read_json(folder, "config.json")
    specs, _ = _check_config(folder, config)
    scaler = _read_scaler(folder, specs)
    history_path = folder / "history.json"
    history = _read_json(folder, "history.json") if history_path.is_file() else []
    if not isinstance(history, list):
        raise _malformed(folder, "history.json does not hold a list of epochs")
    if config.get("family", "neural") == "classical":
        from cancer_alpha.baselines import FittedBaseline, load_pipeline

        if not (folder / "model.skops").is_file():
            raise _malformed(folder, "model.skops is missing")
        pipeline = load_pipeline(folder / "model.skops")
        _check_pipeline(folder, pipeline, config, specs, checked)
        return FittedBaseline(config["model"], pipeline, specs, list(config["class_names"]),
                              scaler, history=history), config
    return _load_neural(folder, config, specs, scaler, history, checked), config


def _peek_format(folder: Path) -> Any:
    """The format a model folder's config.json declares (None when it cannot be read)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    found = config.get("format") if isinstance(config, dict) else None
    return found if isinstance(found, str) else None


def _check_description(folder: Path, file: str, about: Any, config: Mapping[str, Any],
                       specs: list[ModalitySpec]) -> None:
    """The model file's description of itself against ``config.json``, naming both sides."""
    if not isinstance(about, dict):
        raise _malformed(folder, f"{file} carries no description of its model (a model "
                                 "folder of this version always has one)")

    def differ(what: str, in_model: Any, in_config: Any) -> ModelFolderError:
        return ModelFolderError(
            f"{folder}: {file} and config.json disagree on {what}: the model file has "
            f"{in_model!r}, config.json has {in_config!r}. One of them was replaced or edited "
            "after training; train again rather than mixing files of different model folders")

    if about.get("model") != config["model"]:
        raise differ("the model", about.get("model"), config["model"])
    if about.get("class_names") != list(config["class_names"]):
        raise differ("the classes and their order", about.get("class_names"),
                     list(config["class_names"]))
    mods = [[s.name, s.kind, s.n_features] for s in specs]
    if about.get("modalities") != mods:
        raise differ("the modalities (name, kind, number of features)",
                     about.get("modalities"), mods)
    names = {m: list(v) for m, v in config["feature_names"].items()}
    if about.get("feature_names") != names:
        theirs = about.get("feature_names") if isinstance(about.get("feature_names"),
                                                          dict) else {}
        m = next((m for m in names if theirs.get(m) != names[m]), next(iter(theirs), None))
        raise differ(f"the feature names of modality {m!r}", theirs.get(m), names.get(m))


def _structure(estimator: Any) -> Any:
    """The types of a (possibly nested) scikit-learn estimator, as nested lists of names."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return ["Pipeline", [_structure(step) for _, step in estimator.steps]]
    if isinstance(estimator, VotingClassifier):
        return ["VotingClassifier", [_structure(e) for _, e in estimator.estimators]]
    return type(estimator).__name__


def _check_pipeline(folder: Path, pipeline: Any, config: Mapping[str, Any],
                    specs: list[ModalitySpec], checked: bool) -> None:
    """A classical model against its config: the estimator the config's model builds,
    classes within the config's, the config's number of features and its description."""
    import numpy as np

    from cancer_alpha.baselines import make_baseline

    expected = _structure(make_baseline(config["model"]))
    found = _structure(pipeline)
    if found != expected:
        raise ModelFolderError(
            f"{folder}: model.skops holds another estimator than config.json's model "
            f"{config['model']!r}: the model file has {found}, {config['model']} is "
            f"{expected}. The model file was replaced; train again")
    n_in = getattr(pipeline, "n_features_in_", None)
    total = sum(s.n_features for s in specs)
    if n_in is not None and n_in != total:
        raise ModelFolderError(f"{folder}: model.skops reads {n_in} features, config.json's "
                               f"modalities hold {total}")
    classes = np.asarray(getattr(pipeline, "classes_", []))
    n_classes = len(config["class_names"])
    if classes.size and (classes.dtype.kind not in "iu" or classes.min() < 0
                         or classes.max() >= n_classes):
        raise ModelFolderError(f"{folder}: model.skops predicts classes {classes.tolist()}, "
                               f"config.json has {n_classes} classes (indices 0 to "
                               f"{n_classes - 1})")
    if checked:
        _check_description(folder, "model.skops", getattr(pipeline, DESCRIPTION_ATTRIBUTE, None),
                           config, specs)


def _load_neural(folder: Path, config: dict[str, Any], specs: list[ModalitySpec],
                 scaler: Standardizer | None, history: list, checked: bool = True) -> Any:
    import torch

    from cancer_alpha.config import ModelConfig
    from cancer_alpha.models import MODEL_NAMES, build_model
    from cancer_alpha.training.fit import FittedModel

    if config["model"] not in MODEL_NAMES:
        raise _malformed(folder, f"config.json: unknown model {config['model']!r}, expected one "
                                 f"of {list(MODEL_NAMES)}")
    if scaler is None:
        raise _malformed(folder, "preprocessing.json holds no scaling, which a neural model needs")
    raw_cfg = config.get("model_config")
    if not isinstance(raw_cfg, dict):
        raise _malformed(folder, "config.json has no 'model_config' object")
    try:
        model_cfg = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in raw_cfg.items()})
        model = build_model(config["model"], specs, len(config["class_names"]), model_cfg)
    except (TypeError, ValueError) as exc:
        raise _malformed(folder, f"config.json: model_config does not build model "
                                 f"{config['model']!r} ({exc})") from None
    weights = folder / "model.pt"
    if not weights.is_file():
        raise _malformed(folder, "model.pt is missing")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign files raise many different errors
        raise ModelFolderError(f"{weights} is not a readable checkpoint of this project: "
                               f"{type(exc).__name__}: {exc}") from None
    if checked:
        if not (isinstance(state, dict) and "state_dict" in state):
            raise _malformed(folder, "model.pt is not a checkpoint of this version (expected "
                                     "its weights with a description of the model)")
        _check_description(folder, "model.pt", state.get("about"), config, specs)
        state = state["state_dict"]
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError, ValueError) as exc:
        raise ModelFolderError(f"{weights} does not fit model {config['model']!r} with the "
                               f"folder's settings: {str(exc).splitlines()[0]}") from None
    model.eval()
    try:
        epochs = int(config.get("epochs") or 0)
        best = int(config.get("best_epoch") if config.get("best_epoch") is not None else -1)
    except (TypeError, ValueError):
        raise _malformed(folder, "config.json: epochs and best_epoch must be integers") from None
    return FittedModel(config["model"], model, scaler, specs, list(config["class_names"]),
                       history, epochs, best, 0.0)


def dropped_features(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The features dropped from the training data of a model folder's model (to drop again
    when predicting)."""
    prep = config.get("preprocessing") or {}
    return {m: list(v) for m, v in (prep.get("dropped_features") or {}).items()}


__all__ = ["MODEL_FOLDER_FORMAT", "MODEL_FOLDER_FILES", "CHECKSUMS", "save_model_folder",
           "load_model_folder", "dropped_features", "describe_model", "write_checksums",
           "verify_checksums"]
