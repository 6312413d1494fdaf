"""Run folders: a trained model written by `cancer-alpha train` and read back."""

from __future__ import annotations

from typing import Any

import torch

from cancer_alpha.data import (
    ModalitySpec,
    Standardizer,
)
from cancer_alpha.training.fit import FittedModel

RUN_FORMAT = "cancer-alpha-run/1"


def save_run(fitted: FittedModel, path: str | Any, *, model_cfg: Any,
             metrics: dict[str, Any] | None = None, feature_names: dict[str, list[str]] | None
             = None, overwrite: bool = False) -> Any:
    """Write a trained model as a run directory: weights, settings, preprocessing, metrics.

    The folder is assembled beside its target and renamed into place, so an interrupted
    save leaves nothing half-written.
    """
    import dataclasses
    import json
    import shutil
    import tempfile
    from pathlib import Path

    target = Path(path)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ValueError(f"{target} exists and is not empty: choose another --out or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        torch.save(fitted.model.state_dict(), tmp / "model.pt")
        config = {
            "format": RUN_FORMAT, "model": fitted.name,
            "model_config": dataclasses.asdict(model_cfg),
            "specs": [s.to_dict() for s in fitted.specs],
            "class_names": fitted.class_names,
            "feature_names": feature_names or {},
            "epochs": fitted.epochs, "best_epoch": fitted.best_epoch,
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        (tmp / "preprocessing.json").write_text(json.dumps(fitted.scaler.to_dict()) + "\n")
        (tmp / "metrics.json").write_text(json.dumps(metrics or {}, indent=2) + "\n")
        (tmp / "history.json").write_text(json.dumps(fitted.history, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def load_run(path: str | Any) -> tuple[FittedModel, dict[str, Any]]:
    """A run directory back as a FittedModel (weights loaded with ``weights_only=True``)."""
    import json
    from pathlib import Path

    from cancer_alpha.config import ModelConfig
    from cancer_alpha.models import build_model

    run = Path(path)
    if not (run / "config.json").is_file():
        raise ValueError(f"{run} is not a run directory: {run / 'config.json'} is missing")
    try:
        config = json.loads((run / "config.json").read_text())
        scaler = Standardizer.from_dict(json.loads((run / "preprocessing.json").read_text()))
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{run}: unreadable run settings ({exc})") from None
    if config.get("format") != RUN_FORMAT:
        raise ValueError(f"{run}/config.json: format {config.get('format')!r}, expected "
                         f"{RUN_FORMAT!r} (a run written by `cancer-alpha train`)")
    specs = [ModalitySpec.from_dict(s) for s in config["specs"]]
    cfg = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v
                         for k, v in config["model_config"].items()})
    model = build_model(config["model"], specs, len(config["class_names"]), cfg)
    try:
        state = torch.load(run / "model.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign files raise many different errors
        raise ValueError(f"{run / 'model.pt'} is not a readable checkpoint of this project: "
                         f"{type(exc).__name__}: {exc}") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{run / 'model.pt'} does not fit model {config['model']!r} with the "
                         f"run's settings: {str(exc).splitlines()[0]}") from None
    model.eval()
    fitted = FittedModel(config["model"], model, scaler, specs, config["class_names"],
                         json.loads((run / "history.json").read_text())
                         if (run / "history.json").is_file() else [],
                         config.get("epochs", 0), config.get("best_epoch", -1), 0.0)
    return fitted, config
