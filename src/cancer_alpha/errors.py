"""The project's error and warning types for bad input.

Every refusal of a file, a value or an option raises :class:`CancerAlphaError` (a
``ValueError``, so ``except ValueError`` keeps working) with a message that names the file,
row and column, or the option, what was found and what is expected. The command line turns it
into one line on stderr and exit status 2.
"""

from __future__ import annotations


class CancerAlphaError(ValueError):
    """Bad input: a message naming the file, row and column (or the option) and what is wanted."""


class DataFolderError(CancerAlphaError):
    """A data folder (tables, labels, metadata) that cannot be read as valid data."""


class ModelFolderError(CancerAlphaError):
    """A model folder (a trained model written by `train`) that is missing, incomplete or
    malformed."""


class OptionError(CancerAlphaError):
    """A command-line option or function argument with an invalid value or path."""


class ReferenceFolderError(CancerAlphaError):
    """A published reference (``reference/<profile>/``) that is missing, altered or of
    another profile, or results that cannot be published."""


class ChapterInputError(CancerAlphaError):
    """A chapter stopped on its inputs (a data file missing from the data home, a bad setting,
    a folder that failed its checks): the reader's to fix, not a defect of the chapter."""


class CancerAlphaWarning(UserWarning):
    """Input accepted, but probably not what the user meant (the message says why)."""


__all__ = ["CancerAlphaError", "DataFolderError", "ModelFolderError", "OptionError",
           "ReferenceFolderError", "CancerAlphaWarning"]
