"""The parser of ``cancer-alpha``: the top level, and each command's from its module."""

from __future__ import annotations

import argparse

from .apply import add_apply
from .book import add_reference_commands, add_reproduce
from .cv import add_cv
from .synthesize import add_synthesize
from .train import add_train
from .tune import add_tune

EPILOG = """\
examples:
  cancer-alpha reproduce --profile smoke --book     execute every chapter, render the book
  cancer-alpha reproduce --profile paper --only 01,03
  cancer-alpha tune --profile smoke --models logistic_regression,mmt_modality
  cancer-alpha publish --profile paper                after `make book`: reference/paper/
  cancer-alpha verify --profile paper --claims C08,C12   rerun and compare with the reference
  cancer-alpha synthesize --profile smoke --out cohort/
  cancer-alpha cv --data cohort/ --tune --models mmt_modality,logistic_regression --out cv/
                                     (each model tuned inside each fold, beside its recipe)
  cancer-alpha tune --data cohort/ --models mmt_modality --out tuned/
  cancer-alpha train --data cohort/ --tuned tuned/ --out model/  (model: mmt_modality)
  cancer-alpha train --data cohort/ --model random_forest --out rf_model/ (published recipe)
  cancer-alpha cv --data cohort/ --models mmt_modality,random_forest --folds 5 --seeds 0,1,2 \\
                  --out cv_recipe/
  cancer-alpha evaluate --model-dir model/ --data labelled_samples/
  cancer-alpha predict --model-dir model/ --data new_samples/ --out predictions.csv

A data folder holds one table per modality (<name>.csv|tsv|parquet: rows = samples, first
column = sample id, header = feature names), labels.csv (sample id, class name) and
optionally modalities.json (the kind of each modality); see `cancer-alpha train --help` and
the README's "Your own data".
"""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error")

    parser = argparse.ArgumentParser(
        prog="cancer-alpha",
        description="Multi-modal cancer classification from genomic data: the executable book "
                    "and its command-line tools.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (add_reproduce, add_tune, add_synthesize, add_train, add_cv, add_apply,
                add_reference_commands):
        add(sub, common)
    return parser
