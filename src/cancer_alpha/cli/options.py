"""The options of the commands, each defined once: its type and checks, its default, and the
help text most commands give it (a command may say more of what it does with it)."""

from __future__ import annotations

import argparse

from ..model_names import BASELINE_MODELS, NEURAL_MODELS

MODELS: dict[str, str] = {**NEURAL_MODELS, **BASELINE_MODELS}  # every model, by name
DEFAULT_MODEL = "mmt_modality"
DEFAULT_PROFILE = "paper"
DATA_HELP = ("folder with one table per modality (<name>.csv, .tsv or .parquet; rows = samples, "
             "first column = sample id, header = feature names), labels.csv (sample id, class) "
             "and optionally modalities.json (kind and positions per modality)")

KINDS_EPILOG = """\
modality kinds (modalities.json: {"modalities": {"<name>": {"kind": ..., "positions": [...]}},
"classes": [...]}; an unlisted table is 'generic'):
  methylation    beta values in [0, 1]; an MLP encoder (the generic network; the kind turns on
                 the [0, 1] check)
  fragmentomics  a fragment-length histogram (proportions or counts >= 0, columns in length
                 order); 1-D convolutions along the columns
  cna            copy-number log2 ratios per genome bin (plausibly in [-8, 8], columns in
                 genome order); convolutions plus a bidirectional GRU along the columns
  generic        any numeric features; an MLP encoder, column order irrelevant
Values outside a kind's range are refused (methylation, fragmentomics) or warned about (cna);
--no-range-check accepts them. Only fragmentomics and cna have encoders of their own, so
mmt_generic_encoders equals mmt_modality on data without them.

models (default """ + DEFAULT_MODEL + """):
""" + "\n".join(f"  {name:<23}{text}" for name, text in MODELS.items())


def _int_in(low: int, high: int | None = None, what: str = "an integer"):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"{value} is invalid: expected {what} {bound}")
        return value

    return parse


positive_int = _int_in(1)
seed_int = _int_in(0, 2**32 - 1, "a seed, an integer")
folds_int = _int_in(2, what="a number of folds, an integer")


def fraction(text: str) -> float:
    """A fraction strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is invalid: expected a fraction in (0, 1)")
    return value


def model_name(text: str) -> str:
    name = text.strip()
    if name not in MODELS:
        raise argparse.ArgumentTypeError(
            f"unknown model {text!r}: expected one of {', '.join(MODELS)}")
    return name


def model_list(text: str) -> list[str]:
    names = [model_name(t) for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected at least one model name, e.g. "
                                         "mmt_modality,random_forest")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r} names a model twice")
    return names


def seed_list(text: str) -> list[int]:
    seeds = [seed_int(t.strip()) for t in text.split(",") if t.strip()]
    if not seeds:
        raise argparse.ArgumentTypeError("expected at least one seed, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r} repeats a seed")
    return seeds


def fill(text: str) -> str:
    """A description wrapped by hand, for parsers whose epilog keeps its own layout."""
    import textwrap

    return textwrap.fill(text, 79)


# --------------------------------------------------------------------------- shared options

MODEL_DIR_HELP = "model folder written by `train`"
REPLACE_FOLDER = "replace a non-empty --out"
REPLACE_FILE = "replace an existing --out file"
RANGE_CHECK_HELP = ("accept values outside the range of their modality's kind (e.g. methylation "
                    "outside [0, 1])")
CONSTANT_CHOICES = ["error", "drop", "keep"]


def add_profile(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--profile", default=DEFAULT_PROFILE, help=help)


def add_data(p: argparse.ArgumentParser, help: str = DATA_HELP, required: bool = True) -> None:
    p.add_argument("--data", required=required, help=help)


class DeprecatedAlias(argparse.Action):
    """An old name of an option, still accepted for the new one (``new``): it stores into the
    new option's destination and says on stderr, in one line, which name to use instead."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys

        print(f"{parser.prog}: warning: {option_string} is deprecated, use {self.new} "
              "(same meaning)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_model_dir(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--model-dir", metavar="DIR", help=MODEL_DIR_HELP)
    # the option's name from before model folders were called so, kept for existing scripts;
    # hidden from the help
    group.add_argument("--run", dest="model_dir", metavar="DIR", action=DeprecatedAlias,
                       new="--model-dir", help=argparse.SUPPRESS)


def add_out(p: argparse.ArgumentParser, help: str, required: bool = True) -> None:
    p.add_argument("--out", required=required, help=help)


def add_overwrite(p: argparse.ArgumentParser, help: str = REPLACE_FOLDER) -> None:
    p.add_argument("--overwrite", action="store_true", help=help)


def add_seed(p: argparse.ArgumentParser, help: str = "seed (default 0)") -> None:
    p.add_argument("--seed", type=seed_int, default=0, help=help)


def add_models(p: argparse.ArgumentParser, help: str, default: list[str] | None = None) -> None:
    p.add_argument("--models", type=model_list, default=default, metavar="MODEL[,MODEL...]",
                   help=help)


def add_jobs(p: argparse.ArgumentParser, help: str, default: int | None = None) -> None:
    p.add_argument("--jobs", type=positive_int, default=default, help=help)


def add_trials(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--trials", type=positive_int, help=help)


def add_tuned(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--tuned", metavar="DIR", help=help)


def add_only(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--only", metavar="NN[,NN...]", help=help)


def add_range_check(p: argparse.ArgumentParser, help: str = RANGE_CHECK_HELP) -> None:
    p.add_argument("--no-range-check", action="store_true", help=help)


def add_constant(p: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    p.add_argument("--constant", default=default, choices=CONSTANT_CHOICES, help=help)


def add_data_options(p: argparse.ArgumentParser, training: bool) -> None:
    """The data folder and how it is read; with ``training``, also the profile and the
    overrides of its training settings."""
    add_data(p)
    add_range_check(p)
    if training:
        add_constant(p, default="error",
                     help="features with one value in every sample: refuse them (error, the "
                          "default), drop them (the model folder records them to drop them "
                          "again when predicting) or keep them")
        add_profile(p, help="profile (smoke, paper, large or a YAML file) whose model and "
                            "training settings to use (default paper)")
        p.add_argument("--max-epochs", type=positive_int,
                       help="override the profile's maximum epochs (neural models)")
        p.add_argument("--val-fraction", type=fraction,
                       help="share of the training samples held out for early stopping "
                            "(neural) and scoring (default: the profile's, 0.2)")
