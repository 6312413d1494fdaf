"""Cancer Alpha: an executable, honest reproduction of a multi-modal transformer for cancer
classification from genomic data."""

__version__ = "0.1.0"
