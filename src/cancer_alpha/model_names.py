"""The names of the book's models, each with one line on what it is.

The one list of them: the neural registry (:data:`cancer_alpha.models.MODEL_NAMES`) and the
classical one (:data:`cancer_alpha.baselines.BASELINES`) take their names from here, and the
command line reads its choices and help from here without importing torch or scikit-learn.
"""

from __future__ import annotations

NEURAL_MODELS: dict[str, str] = {
    "mmt_modality": "the multi-modal transformer, one token per modality (the paper's)",
    "mmt_locus": "the transformer with one token per feature (slow)",
    "mmt_no_cross_attention": "ablation: the transformer without cross-modal attention",
    "mmt_generic_encoders": "ablation: the transformer with the generic MLP for every kind",
    "tab_transformer": "TabTransformer over quantile-binned features",
    "perceiver_io": "Perceiver IO over feature tokens",
    "early_fusion_mlp": "one MLP over all modalities side by side",
    "late_fusion": "one encoder per modality, fused by sample-dependent modality weights",
    "additive_fusion": "one encoder and classifier per modality, their logits added",
}
BASELINE_MODELS: dict[str, str] = {
    "logistic_regression": "scikit-learn: mean imputation, scaling, logistic regression",
    "random_forest": "scikit-learn: random forest of 300 trees",
    "gradient_boosting": "scikit-learn: histogram gradient boosting",
    "voting_ensemble": "scikit-learn: soft vote of the three above",
    "sklearn_mlp": "scikit-learn: MLPClassifier on all samples (reference neural network)",
}
