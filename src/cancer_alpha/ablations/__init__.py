"""Chapter 6: ablations of the multi-modal transformer as paired differences over seeds,
training with missing modalities scored on every subset of modalities, and cross-modal attention
checked against the loci where the generator planted a joint signal.

``plan`` says what is trained, ``run`` trains and measures it, ``summary`` reduces the runs to
the chapter's tables; the verdicts on the claims live in :mod:`cancer_alpha.claims`.
"""

from cancer_alpha.ablations.control import (
    CONTROL_CLASSES,
    RECIPES,
    ControlResult,
    control_reading,
    interaction_profile,
    positive_control,
    revert_table,
)
from cancer_alpha.ablations.plan import (
    DEFAULT,
    EASY,
    DifficultyData,
    Variant,
    build_variant,
    comparisons,
    difficulty_data,
    dropout_pair,
    hide_modalities,
    lambda_name,
    loss_variant,
    modality_subsets,
    plan,
    subset_key,
)
from cancer_alpha.ablations.run import run_all, run_variant, subset_accuracy
from cancer_alpha.ablations.summary import (
    ablation_table,
    lambda_sweep,
    leave_one_out,
    paired,
    planted_summary,
    progressive_timing,
    runs_of,
    seconds_to_loss,
    subset_table,
)

__all__ = [
    "CONTROL_CLASSES", "RECIPES", "ControlResult", "control_reading", "interaction_profile",
    "positive_control", "revert_table",
    "DEFAULT", "EASY", "DifficultyData", "Variant", "build_variant", "comparisons", "dropout_pair",
    "hide_modalities", "loss_variant",
    "lambda_name", "modality_subsets", "plan", "difficulty_data", "subset_key", "run_all",
    "run_variant", "subset_accuracy", "ablation_table", "lambda_sweep", "leave_one_out",
    "paired", "planted_summary", "progressive_timing", "runs_of", "seconds_to_loss",
    "subset_table",
]
