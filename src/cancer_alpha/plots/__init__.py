"""Every figure of the book, one module per chapter, drawn in one style.

Each function draws one figure and returns it, drawn within the book's style
(``cancer_alpha.mplstyle``, applied in a context) and tagged with its own name
(``fig.drawn_by``), which the run records and captions show. The functions are also reachable
from this package directly (``plots.fragment_lengths``).
"""

from cancer_alpha.plots.ablations import (
    ablation_deltas,
    control_accuracy,
    control_reverts,
    lambda_sweep,
    leave_one_out,
    planted_attention,
    progressive_curves,
    subset_accuracy,
)
from cancer_alpha.plots.architecture import (
    architecture_diagram,
    attention_heatmaps,
    cost_chart,
)
from cancer_alpha.plots.audit import verdict_summary
from cancer_alpha.plots.comparison import (
    accuracy_by_recipe,
    accuracy_vs_ceiling,
    accuracy_vs_training_size,
    confusion,
    embedding_map,
    epochs_to_convergence,
    learning_curves,
    modality_shares,
    roc_curves,
    top_features,
)
from cancer_alpha.plots.compute import latency, scaling
from cancer_alpha.plots.real_data import accuracy_vs_reference
from cancer_alpha.plots.style import (
    CEILING_STYLE,
    MODALITY_COLORS,
    VERDICT_COLORS,
    class_palette,
    close,
    figure,
    modality_color,
    subplots,
)
from cancer_alpha.plots.synthesis import (
    ceiling_vs_difficulty,
    class_balance,
    copy_number_profiles,
    fragment_lengths,
    joint_signal,
    methylation_densities,
    sample_views,
    subset_ceilings,
)
from cancer_alpha.plots.tuning import (
    budget_curves,
    importance_map,
    optimisation_history,
    parameter_importances,
)

__all__ = [
    "control_accuracy",
    "control_reverts",
    "budget_curves",
    "ablation_deltas", "lambda_sweep", "leave_one_out", "planted_attention",
    "progressive_curves", "subset_accuracy", "architecture_diagram", "attention_heatmaps",
    "cost_chart", "verdict_summary", "accuracy_by_recipe",
    "accuracy_vs_ceiling", "accuracy_vs_training_size", "confusion", "embedding_map",
    "epochs_to_convergence", "learning_curves", "modality_shares", "roc_curves",
    "top_features", "latency", "scaling", "accuracy_vs_reference", "CEILING_STYLE",
    "MODALITY_COLORS", "VERDICT_COLORS", "class_palette", "close", "figure", "modality_color",
    "subplots", "ceiling_vs_difficulty", "class_balance", "copy_number_profiles",
    "fragment_lengths", "joint_signal", "methylation_densities", "sample_views",
    "subset_ceilings", "importance_map", "optimisation_history", "parameter_importances",
]
