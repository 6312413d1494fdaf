"""Synthetic multi-modal cohorts: methylation, fragmentomics and copy number from one world."""

from .cohort import Cohort, World, standard_cohorts, synthesize

__all__ = ["Cohort", "World", "standard_cohorts", "synthesize"]
