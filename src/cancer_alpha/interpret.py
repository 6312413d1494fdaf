"""Looking inside trained models: where attention goes, and the fused representation.

Attention weights come in the layout of :class:`cancer_alpha.models.ModelOutput` (compact key
slots per query token). This module reduces them to what the chapters show: the attention each
key token receives from each modality, each modality's share of it (Chapter 4, claim C15), the
mean attention map (Chapter 2), the entropy of attention rows (Chapter 6's sparsity sweep), and
the attention the planted loci receive, scored against the generator's truth (claim C10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cancer_alpha.config import require
from cancer_alpha.data import MultiOmicsData
from cancer_alpha.evaluate import clustering_scores, standardise


def attention_by_key(weights: Any, keys: Any, token_modality: Any, n_modalities: int) -> Any:
    """(M, N) float64: the attention each key token receives from the queries of each modality,
    summed over samples, layers, heads and queries.

    ``weights`` (B, L, H, N, Nk) and ``keys`` (N, Nk) as in ``ModelOutput`` (key slot -1 is
    empty), or ``keys`` None for full (B, L, H, N, N) weights.
    """
    import torch

    w = weights.double().sum(dim=(0, 1, 2))  # (N, Nk)
    if keys is None:
        keys = torch.arange(w.shape[1]).expand_as(w)
    filled = keys >= 0
    query_modality = token_modality[:, None].expand_as(keys)
    flat = query_modality[filled] * len(token_modality) + keys[filled]  # (query modality, key)
    mass = torch.zeros(n_modalities * len(token_modality), dtype=torch.float64)
    return mass.index_add_(0, flat, w[filled]).view(n_modalities, len(token_modality))


def attention_received(weights: Any, keys: Any, token_modality: Any, n_modalities: int
                       ) -> np.ndarray:
    """Attention mass each modality receives, summed over samples, layers, heads and queries
    (arguments as in :func:`attention_by_key`)."""
    import torch

    per_key = attention_by_key(weights, keys, token_modality, n_modalities).sum(dim=0)
    mass = torch.zeros(n_modalities, dtype=torch.float64)
    return mass.index_add_(0, token_modality, per_key).numpy()


@dataclass(frozen=True)
class NeuralAnalysis:
    """What Chapter 4 keeps of a trained neural model, computed on the first ``n`` samples of
    the evaluation set ``eval_set``: the fused embedding, its clustering scores and the share
    of attention each modality receives (models that return attention weights)."""

    n: int = 2000
    eval_set: str = "test"
    batch_size: int = 128  # attention weights of a batch are reduced before the next one

    def __call__(self, fitted: Any, evals: Mapping[str, Any]) -> dict[str, Any]:
        import torch

        from cancer_alpha.data import to_tensors
        from cancer_alpha.training import batch_loader

        data = evals[self.eval_set]
        data = data.subset(np.arange(min(self.n, data.n_samples)))
        model = fitted.model.eval()
        names = [s.name for s in fitted.specs]
        embeddings, mass = [], np.zeros(len(names))
        with torch.no_grad():
            for batch in batch_loader(to_tensors(data, fitted.scaler), self.batch_size):
                out = model(batch["x"], batch["mask"])
                embeddings.append(out.embedding.float().numpy())
                if out.attention is not None:
                    mass += attention_received(out.attention, out.attention_keys,
                                               out.token_modality, len(names))
        embedding = np.concatenate(embeddings)
        extras: dict[str, Any] = {
            "embedding": embedding.astype(np.float32),
            "clustering": clustering_scores(standardise(embedding), data.y),
        }
        if mass.sum() > 0:
            extras["attention_shares"] = dict(zip(names, (mass / mass.sum()).tolist(),
                                                  strict=True))
        return extras


def attention_shares(fits: Sequence[Any]) -> dict[str, dict[str, list[float]]]:
    """{model: {modality: [share of attention received, one per run]}} over the runs that
    recorded attention shares."""
    out: dict[str, dict[str, list[float]]] = {}
    for f in fits:
        for modality, share in f.extras.get("attention_shares", {}).items():
            out.setdefault(f.model, {}).setdefault(modality, []).append(share)
    return out


def mean_attention(output: Any) -> np.ndarray:
    """Attention weights over all tokens of a ``ModelOutput``, averaged over samples and
    heads: (layers, N, N)."""
    full = output.full_attention()
    if full is None:
        raise ValueError("output.attention is None: expected a model that returns attention")
    return full.float().mean(dim=(0, 2)).cpu().numpy()


def planted_attention_scores(fitted: Any, data: MultiOmicsData, batch_size: int = 64
                             ) -> np.ndarray:
    """Cross-modal attention each genomic locus receives between methylation and copy number:
    per locus, the mean over samples of the weight (summed over layers, heads and queries)
    that copy-number tokens send to the locus's methylation token plus the weight that
    methylation tokens send to its copy-number token. (n_loci,)"""
    import torch

    from cancer_alpha.data import to_tensors
    from cancer_alpha.models import attention_returned
    from cancer_alpha.training import batch_loader

    names = [s.name for s in fitted.specs]
    require("methylation" in names and "cna" in names, "ablation", "modalities", names,
             "methylation and cna among them")
    meth, cna = names.index("methylation"), names.index("cna")
    n_loci = fitted.specs[meth].n_features
    model = fitted.model.eval()
    received = None
    with torch.no_grad(), attention_returned(model, True):
        for batch in batch_loader(to_tensors(data, fitted.scaler), batch_size):
            out = model(batch["x"], batch["mask"])
            if out.attention is None:
                raise ValueError(f"model {fitted.name!r} returns no attention weights")
            by_key = attention_by_key(out.attention, out.attention_keys, out.token_modality,
                                      len(names))
            # tokens never attend within their modality: the copy-number queries' row holds
            # what methylation tokens receive from them, and the other way round
            part = by_key[cna] + by_key[meth]
            received = part if received is None else received + part
    tm, ti = out.token_modality, out.token_index
    scores = np.zeros(n_loci)
    for m in (meth, cna):
        sel = (tm == m).nonzero().squeeze(1)
        # locus mode gives one token per locus for these two modalities
        scores[ti[sel].numpy()] += received[sel].numpy()
    return scores / data.n_samples


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the loci flagged ``positive`` (ties: 0.5)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n1, n0 = int(positive.sum()), int((~positive).sum())
    require(n1 > 0 and n0 > 0, "ablation", "positive", f"{n1} of {n1 + n0}",
             "at least one positive and one negative locus")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auroc_p_value(scores: np.ndarray, positive: np.ndarray, n_permutations: int = 10000,
                  seed: int = 0) -> float:
    """One-sided permutation p-value of the AUROC: the share of random sets of as many loci
    whose AUROC is at least the observed one (the observed set counted once)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n, n1 = len(positive), int(positive.sum())
    ranks = rankdata(scores)
    observed = ranks[positive].sum()
    rng = np.random.default_rng(seed)
    picks = rng.random((n_permutations, n)).argsort(axis=1)[:, :n1]
    null = ranks[picks].sum(axis=1)
    return float((1 + np.sum(null >= observed - 1e-9)) / (n_permutations + 1))


def attention_entropy_of(fitted: Any, data: MultiOmicsData) -> float | None:
    """Mean entropy (nats) of the attention rows on ``data``; None without attention."""
    from cancer_alpha.losses import attention_entropy

    values, weights = [], []
    for out in fitted.outputs(data, batch_size=128, attention=True):
        if out.attention is None:
            return None
        w = out.attention.float()
        valid = float((w.sum(dim=-1) > 0.5).sum())
        values.append(float(attention_entropy(w)) * valid)
        weights.append(valid)
    return float(np.sum(values) / max(np.sum(weights), 1.0))
