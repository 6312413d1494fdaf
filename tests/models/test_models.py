"""The neural models: shapes, masking of missing modalities, attention (and its grouped, packed
form), gradients, learning, ablations, configuration of the packaged peers, and the complexity
counters."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cancer_alpha.config import PRESETS, ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.losses import attention_entropy, batch_loss
from cancer_alpha.models import (
    MODEL_NAMES,
    CNAEncoder,
    CrossModalAttention,
    FragmentomicsEncoder,
    MethylationEncoder,
    MLPEncoder,
    build_model,
    masked_mean,
)
from cancer_alpha.models.attention import (
    masked_softmax,
    other_group_tokens,
    scatter_attention,
)
from cancer_alpha.models.complexity import count_parameters, flops_per_sample, stage_shapes
from cancer_alpha.models.encoders import (
    CNA_STRIDE,
    FRAGMENT_POOL,
    pool_positions,
    sinusoidal_encoding,
)
from cancer_alpha.models.kernels import pack_attention
from cancer_alpha.models.peers import PERCEIVER_WIDTH_DIVISOR, TAB_DIM_HEAD
from cancer_alpha.profiling import random_batch

P, K, B = 12, 4, 8
SPECS = [
    ModalitySpec("methylation", "methylation", P, tuple(float(3 * i) for i in range(P))),
    ModalitySpec("fragmentomics", "fragmentomics", P, tuple(100.0 + 10 * i for i in range(P))),
    ModalitySpec("cna", "cna", P),
]
TINY = ModelConfig(d_model=16, n_heads=2, n_layers=1, ff_mult=2, dropout=0.0, n_bins=4,
                   n_latents=8, tab_token_dim=8)
# every model, plus the ablations at the other token granularity
VARIANTS = [(n, "modality") for n in MODEL_NAMES] + [
    ("mmt_no_cross_attention", "locus"), ("mmt_generic_encoders", "locus")]
VARIANT_IDS = [f"{n}-{m}" for n, m in VARIANTS]
WITH_ATTENTION = ["mmt_modality", "mmt_locus", "mmt_generic_encoders", "tab_transformer"]


def make_model(name: str, token_mode: str = "modality", cfg: ModelConfig = TINY,
               seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_model(name, SPECS, K, dataclasses.replace(cfg, token_mode=token_mode))


def make_batch(n: int = B, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = {s.name: torch.randn(n, s.n_features, generator=g) for s in SPECS}
    return x, torch.ones(n, len(SPECS), dtype=torch.bool)


def token_counts(name: str, mode: str) -> list[int]:
    """Tokens per modality each model should make from SPECS."""
    if not name.startswith("mmt"):
        return [P] * len(SPECS)  # the peers: one token per feature
    mode = {"mmt_locus": "locus", "mmt_modality": "modality"}.get(name, mode)
    if mode == "modality":
        return [1] * len(SPECS)
    # locus mode: one per feature, but one per FRAGMENT_POOL fragment-length bins when the
    # fragmentomics encoder is the specific one
    pooled = P if name == "mmt_generic_encoders" else -(-P // FRAGMENT_POOL)
    return [P, pooled, P]


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=VARIANT_IDS)
def test_every_model_returns_logits_and_embedding_of_the_right_shape(name, mode):
    model = make_model(name, mode).eval()
    x, mask = make_batch()
    out = model(x, mask)
    assert out.logits.shape == (B, K)
    assert out.embedding.shape == (B, TINY.d_model)
    if out.attention is not None:
        counts = token_counts(name, mode)
        layers, heads, n = TINY.n_layers, TINY.n_heads, sum(counts)
        # key slots: the tokens of the other modalities, as many as the largest such set
        assert out.attention.shape == (B, layers, heads, n, n - min(counts))
        assert out.attention_keys.shape == (n, n - min(counts))
        assert out.full_attention().shape == (B, layers, heads, n, n)
        assert out.token_modality.shape == (n,)


def test_locus_mode_makes_one_token_per_locus_and_modality_mode_one_per_modality():
    x, mask = make_batch()
    locus = make_model("mmt_locus").eval()(x, mask)
    modality = make_model("mmt_modality").eval()(x, mask)
    # one token per CpG locus and copy-number bin; fragment-length bins pooled FRAGMENT_POOL
    # at a time, each pooled token indexed by its first bin
    pooled = torch.arange(0, P, FRAGMENT_POOL)
    assert locus.full_attention().shape[-1] == 2 * P + len(pooled)
    assert torch.equal(locus.token_modality, torch.cat(
        [torch.zeros(P), torch.ones(len(pooled)), torch.full((P,), 2)]).long())
    assert torch.equal(locus.token_index, torch.cat([torch.arange(P), pooled, torch.arange(P)]))
    assert modality.full_attention().shape[-1] == 3
    assert torch.equal(modality.token_modality, torch.arange(3))
    assert torch.equal(modality.token_index, torch.zeros(3, dtype=torch.long))


def test_locus_tokens_carry_a_sinusoidal_encoding_of_the_given_coordinates():
    model = make_model("mmt_locus")
    d, t = TINY.d_model, -(-P // FRAGMENT_POOL)
    expected = sinusoidal_encoding(torch.tensor(SPECS[0].positions), d)
    assert torch.allclose(model.position_encoding[:P], expected)
    # a pooled fragment-length token sits at the mean length of its bins (100 + 10 i bp)
    centres = 100.0 + 10 * (FRAGMENT_POOL * torch.arange(t) + (FRAGMENT_POOL - 1) / 2)
    assert torch.allclose(model.position_encoding[P:P + t], sinusoidal_encoding(centres, d))
    # no positions given: the feature index is the coordinate
    assert torch.allclose(model.position_encoding[P + t:],
                          sinusoidal_encoding(torch.arange(P).float(), d))


def test_pooled_positions_average_each_run_and_keep_a_short_last_run():
    positions = torch.arange(10.0) * 2  # 0, 2, ..., 18
    assert pool_positions(positions, 4).tolist() == [3.0, 11.0, 17.0]
    assert torch.equal(pool_positions(positions, 1), positions)


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=VARIANT_IDS)
def test_masked_modality_values_do_not_change_the_output(name, mode):
    model = make_model(name, mode).eval()
    x, mask = make_batch()
    mask[:3, 1] = False  # fragmentomics missing for three samples
    mask[5, 0] = False
    mask[5, 2] = False  # sample 5 has fragmentomics only
    garbage = {k: v.clone() for k, v in x.items()}
    garbage["fragmentomics"][:3] = torch.randn(3, P) * 1e3
    garbage["fragmentomics"][0] = float("nan")
    garbage["methylation"][5] = float("inf")
    garbage["cna"][5] = -1e6
    with torch.no_grad():
        ref, out = model(x, mask), model(garbage, mask)
        unmasked = model(x, torch.ones_like(mask))
    torch.testing.assert_close(out.logits, ref.logits, rtol=0, atol=1e-6)
    torch.testing.assert_close(out.embedding, ref.embedding, rtol=0, atol=1e-6)
    # the mask is used at all: the same values seen as present give another output
    assert not torch.allclose(unmasked.logits[:3], ref.logits[:3], atol=1e-4)


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=VARIANT_IDS)
def test_fully_masked_modality_gives_no_nan(name, mode):
    model = make_model(name, mode).train()
    x, mask = make_batch()
    mask[:, 2] = False  # copy number missing for the whole batch
    mask[0, 1] = False  # sample 0 has methylation only
    mask[1, 0] = False  # a lone sample with fragmentomics: batch statistics of one row
    out = model(x, mask)
    loss = F.cross_entropy(out.logits, torch.arange(B) % K)
    if out.attention is not None:
        loss = loss + attention_entropy(out.attention)
    loss.backward()
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.embedding).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    with torch.no_grad():
        assert torch.isfinite(model.eval()(x, mask).logits).all()


@pytest.mark.parametrize("name", WITH_ATTENTION)
def test_attention_rows_sum_to_one(name):
    mode = "locus" if name == "mmt_locus" else "modality"
    model = make_model(name, mode).eval()
    if name == "tab_transformer":
        model.return_attention = True  # computed for analysis only
    x, mask = make_batch()
    mask[2, 0] = False
    with torch.no_grad():
        out = model(x, mask)
    sums = out.attention.sum(dim=-1)  # (B, layers, heads, N)
    present = mask[:, out.token_modality]  # (B, N)
    assert torch.allclose(sums[present[:, None, None, :].expand_as(sums)], torch.tensor(1.0),
                          atol=1e-5)


@pytest.mark.parametrize("mode", ["modality", "locus"])
def test_cross_modal_attention_only_looks_at_other_present_modalities(mode):
    model = make_model("mmt_modality" if mode == "modality" else "mmt_locus").eval()
    x, mask = make_batch()
    mask[2, 0] = False
    with torch.no_grad():
        out = model(x, mask)
    w, tm = out.full_attention(), out.token_modality
    same = tm[:, None] == tm[None, :]
    assert w[..., same].abs().max() == 0  # never its own modality
    assert w[2, ..., tm == 0].abs().max() == 0  # never a missing modality as a key ...
    assert w[2, ..., tm == 0, :].abs().max() == 0  # ... nor as a query
    assert w[0, ..., tm == 0, :][..., tm != 0].sum() > 0  # a present sample does attend
    # key slots list other-modality tokens only; empty slots carry no weight
    keys = out.attention_keys
    listed = keys >= 0
    assert (tm[keys.clamp_min(0)] != tm[:, None])[listed].all()
    assert out.attention[..., ~listed].abs().sum() == 0


def reference_cross_modal_attention(attn: CrossModalAttention, tokens, token_modality, mask):
    """The fusion layer's attention computed densely over all (N x N) pairs with a pair mask:
    what the grouped computation must reproduce."""
    q, k, v = attn._project(tokens, tokens)
    present = mask[:, token_modality]  # (B, N)
    allowed = ((token_modality[:, None] != token_modality[None, :])[None, None]
               & present[:, None, None, :] & present[:, None, :, None])
    weights = masked_softmax(q @ k.transpose(-1, -2), allowed)
    out = (weights @ v).transpose(1, 2).flatten(2)
    return attn.norm(tokens + attn.to_out(out)), weights


def test_grouped_cross_modal_attention_matches_the_dense_pair_masked_computation():
    torch.manual_seed(0)
    attn = CrossModalAttention(16, 2).eval()
    sizes = [5, 2, 4]
    tm = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    tokens = torch.randn(6, sum(sizes), 16)
    mask = torch.ones(6, 3, dtype=torch.bool)
    mask[1, 0] = False
    mask[2, 1:] = False  # sample 2 has one modality: no key for any of its queries
    mask[3, 2] = False
    width = sum(sizes) - min(sizes)
    for m in (mask, None):  # with masks, and the unmasked fast path
        ref_out, ref_w = reference_cross_modal_attention(
            attn, tokens, tm, torch.ones_like(mask) if m is None else m)
        out, blocks = attn.across_groups(tokens, sizes, m)
        full = scatter_attention(pack_attention([blocks], width)[:, 0],
                                 other_group_tokens(sizes))
        # the same sums in another order: float32 rounding only
        torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-5)
        torch.testing.assert_close(full, ref_w, rtol=0, atol=1e-6)
        if m is not None:
            assert full[2].abs().max() == 0  # sample 2's queries attend to nothing
            assert full[1, :, :5].abs().max() == 0 and full[1, :, :, :5].abs().max() == 0


def test_other_group_tokens_lists_each_tokens_keys_in_token_order():
    keys = other_group_tokens([2, 1, 2])  # tokens 0 1 | 2 | 3 4
    assert keys.tolist() == [[2, 3, 4, -1], [2, 3, 4, -1], [0, 1, 3, 4],
                             [0, 1, 2, -1], [0, 1, 2, -1]]


def test_scatter_attention_puts_each_weight_on_its_key_token():
    keys = other_group_tokens([2, 1])  # tokens 0 1 | 2
    packed = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.25, 0.75]])  # (N=3, slots=2)
    full = scatter_attention(packed, keys)
    assert full.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.25, 0.75, 0.0]]


def test_packed_attention_sends_gradients_back_to_each_block():
    blocks = [[torch.rand(2, 1, 3, 4, dtype=torch.float64, requires_grad=True),
               torch.rand(2, 1, 1, 6, dtype=torch.float64, requires_grad=True)]]
    packed = pack_attention(blocks, 6)  # (B, layers, H, N, width)
    assert packed.shape == (2, 1, 1, 4, 6)
    assert packed[..., :3, 4:].abs().max() == 0  # padding of the shorter rows
    assert torch.autograd.gradcheck(lambda a, b: pack_attention([[a, b]], 6), blocks[0])


def test_cross_modal_attention_with_garbage_or_no_keys():
    torch.manual_seed(0)
    attn = CrossModalAttention(8, 2).eval()
    q, kv = torch.randn(3, 2, 8), torch.randn(3, 5, 8)
    keys = torch.tensor([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    out, w = attn(q, kv, key_mask=keys)
    kv2 = kv.clone()
    kv2[~keys] = torch.randn(int((~keys).sum()), 8) * 1e4  # garbage behind the mask
    out2, w2 = attn(q, kv2, key_mask=keys)
    torch.testing.assert_close(out2, out, rtol=0, atol=1e-6)
    assert w[~keys[:, None, None, :].expand_as(w)].abs().max() == 0
    assert torch.allclose(w[:2].sum(-1), torch.tensor(1.0))
    # no key at all: zero weights, the output depends on the query alone, never NaN
    assert w[2].abs().max() == 0
    torch.testing.assert_close(out[2], attn.norm(q[2] + attn.to_out.bias))


def test_masked_mean_averages_present_entries_and_never_divides_by_zero():
    x = torch.tensor([[[1.0], [3.0], [float("nan")]], [[5.0], [7.0], [9.0]]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert masked_mean(x, mask).tolist() == [[2.0], [0.0]]


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=VARIANT_IDS)
def test_every_parameter_receives_a_gradient(name, mode):
    model = make_model(name, mode).train()
    x, mask = make_batch()
    y = torch.arange(B) % K
    out = model(x, mask)
    loss = F.cross_entropy(out.logits, y)
    for aux in (out.aux_logits or {}).values():
        loss = loss + F.cross_entropy(aux, y)
    loss.backward()
    # the "missing" token of TabTransformer is used only when a modality is missing
    exempt = {"net.special_token_embed.weight"}
    starved = [n for n, p in model.named_parameters()
               if n not in exempt and (p.grad is None or p.grad.abs().sum() == 0)]
    assert starved == []


def test_tab_transformer_returns_weights_only_when_asked_and_the_same_output_either_way():
    model = make_model("tab_transformer").eval()
    x, mask = make_batch()
    mask[1, 2] = False
    with torch.no_grad():
        fused = model(x, mask)
        model.return_attention = True
        explicit = model(x, mask)
    heads = max(1, TINY.tab_token_dim // TAB_DIM_HEAD)
    assert fused.attention is None
    assert explicit.attention.shape == (B, TINY.n_layers, heads, 3 * P, 3 * P)
    # the fused kernel and the explicit softmax: the same sums in another order
    torch.testing.assert_close(fused.logits, explicit.logits, rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", ["modality", "locus"])
def test_transformer_attention_can_be_left_out_without_changing_the_output(mode):
    model = make_model("mmt_" + mode).eval()
    x, mask = make_batch()
    mask[1, 0] = False
    mask[2, 1:] = False  # a lone modality: its tokens have no key
    for m in (mask, torch.ones_like(mask)):
        with torch.no_grad():
            ref = model(x, m)
            model.return_attention = False  # the fused kernel, which never forms the weights
            out = model(x, m)
            model.return_attention = True
        assert ref.attention is not None and out.attention is None
        # the same sums in another order: float32 rounding only
        torch.testing.assert_close(out.logits, ref.logits, rtol=0, atol=1e-5)
        torch.testing.assert_close(out.embedding, ref.embedding, rtol=0, atol=1e-5)


def test_tab_transformer_missing_token_learns_when_a_modality_is_missing():
    model = make_model("tab_transformer").train()
    x, mask = make_batch()
    mask[:2, 1] = False
    F.cross_entropy(model(x, mask).logits, torch.arange(B) % K).backward()
    assert model.net.special_token_embed.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(("name", "mode"), VARIANTS, ids=VARIANT_IDS)
def test_fixed_seed_gives_an_identical_forward_pass(name, mode):
    cfg = dataclasses.replace(TINY, dropout=0.1)
    x, mask = make_batch()
    outs = []
    for _ in range(2):
        model = make_model(name, mode, cfg, seed=7).train()
        torch.manual_seed(3)  # dropout masks
        outs.append(model(x, mask).logits)
    assert torch.equal(outs[0], outs[1])
    # and another seed gives another model
    assert not torch.equal(outs[0], make_model(name, mode, cfg, seed=8).train()(x, mask).logits)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_drives_the_loss_near_zero_on_one_small_batch(name):
    # 16 samples with random labels: only memorisation brings the loss down
    model = make_model(name, "modality").train()
    x, mask = make_batch(16, seed=1)
    mask[:3, 2] = False
    y = torch.randint(0, K, (16,), generator=torch.Generator().manual_seed(2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):  # each model is below 0.1 within 50 steps
        opt.zero_grad()
        F.cross_entropy(model(x, mask).logits, y).backward()
        opt.step()
    with torch.no_grad():
        loss = F.cross_entropy(model.eval()(x, mask).logits, y).item()
    # from log(4) = 1.39 at chance; 0.1 means every sample gets most of its mass right
    assert loss < 0.1, loss


def test_copy_number_recurrence_runs_over_patches_and_reaches_every_bin():
    torch.manual_seed(0)
    bins = 64  # 16 patches: the convolutions alone reach 4 patches either way
    enc = CNAEncoder(bins, d_model=16, dropout=0.0, sequence=True, channels=8).eval()
    steps = []
    enc.gru.register_forward_hook(lambda module, args, out: steps.append(args[0].shape))
    x = torch.randn(3, bins)
    with torch.no_grad():
        h = enc(x)
        assert h.shape == (3, bins, 16)  # one token per bin
        assert steps == [torch.Size([3, bins // CNA_STRIDE, 8])]  # one step per patch
        # the bidirectional recurrence carries a change at the first bin to the last one
        # (without it the change would be exactly 0; 1e-4 is far above float32 rounding)
        x[:, 0] += 1.0
        assert (enc(x)[:, -1] - h[:, -1]).abs().max() > 1e-4


def test_locus_model_handles_feature_counts_that_the_pools_do_not_divide():
    specs = [ModalitySpec(s.name, s.kind, 10) for s in SPECS]
    model = build_model("mmt_locus", specs, K, TINY).train()
    x = {s.name: torch.randn(B, 10) for s in specs}
    mask = torch.ones(B, 3, dtype=torch.bool)
    mask[0, 1] = False
    out = model(x, mask)
    t = -(-10 // FRAGMENT_POOL)
    assert out.full_attention().shape == (B, TINY.n_layers, TINY.n_heads, 20 + t, 20 + t)
    F.cross_entropy(out.logits, torch.arange(B) % K).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_a_lone_modality_has_no_keys_and_still_classifies():
    model = build_model("mmt_locus", SPECS[:1], K, TINY).eval()
    x, mask = make_batch()
    with torch.no_grad():
        out = model({"methylation": x["methylation"]}, mask[:, :1])
    assert out.attention.shape[-1] == 0
    assert out.full_attention().shape[-1] == P and out.full_attention().abs().sum() == 0
    assert torch.isfinite(out.logits).all()


def test_methylation_encoder_output_is_128_dimensional_at_the_default_config():
    cfg = ModelConfig()
    assert cfg.d_model == 128
    spec = ModalitySpec("methylation", "methylation", 110)
    model = build_model("mmt_modality", [spec], 5, cfg).eval()
    encoder = model.encoders["methylation"]
    assert type(encoder) is MethylationEncoder
    beta = torch.rand(4, 110)  # beta values in [0, 1]
    assert encoder(beta).shape == (4, 128)
    assert MethylationEncoder(110).eval()(beta).shape == (4, 128)


def test_cancer_alpha_preset_builds_a_512_wide_model_with_8_heads():
    cfg = ModelConfig(**PRESETS["cancer_alpha"], n_layers=1)
    model = build_model("mmt_modality", SPECS, K, cfg).eval()
    x, mask = make_batch(2)
    out = model(x, mask)
    assert out.embedding.shape == (2, 512)
    assert out.attention.shape == (2, 1, 8, 3, 2)  # each modality's keys: the other two
    assert out.full_attention().shape == (2, 1, 8, 3, 3)


def test_unknown_model_name_raises_value_error_listing_valid_names():
    with pytest.raises(ValueError, match="model.name = 'gpt' is invalid") as err:
        build_model("gpt", SPECS, K, TINY)
    assert all(n in str(err.value) for n in MODEL_NAMES)


def test_bad_specs_or_classes_raise_value_error():
    with pytest.raises(ValueError, match="n_classes"):
        build_model("mmt_modality", SPECS, 1, TINY)
    with pytest.raises(ValueError, match="distinct"):
        build_model("mmt_modality", [SPECS[0], SPECS[0]], K, TINY)
    with pytest.raises(ValueError, match="specs"):
        build_model("mmt_modality", [], K, TINY)


def test_kinds_get_their_encoders_and_other_kinds_a_generic_mlp():
    specs = [*SPECS, ModalitySpec("mrna", "generic", 7)]
    model = build_model("mmt_modality", specs, K, TINY)
    kinds = {n: type(e) for n, e in model.encoders.items()}
    assert kinds == {"methylation": MethylationEncoder, "fragmentomics": FragmentomicsEncoder,
                     "cna": CNAEncoder, "mrna": MLPEncoder}
    x = {s.name: torch.randn(3, s.n_features) for s in specs}
    assert model.eval()(x, torch.ones(3, 4, dtype=torch.bool)).logits.shape == (3, K)


@pytest.mark.parametrize("mode", ["modality", "locus"])
def test_ablation_without_cross_attention_has_none(mode):
    full = make_model("mmt_modality", mode)
    ablated = make_model("mmt_no_cross_attention", mode)
    assert any("cross_attention" in n for n, _ in full.named_parameters())
    assert not any("cross_attention" in n for n, _ in ablated.named_parameters())
    assert not any(isinstance(m, CrossModalAttention) for m in ablated.modules())
    x, mask = make_batch()
    assert ablated.eval()(x, mask).attention is None


@pytest.mark.parametrize("mode", ["modality", "locus"])
def test_generic_encoder_ablation_uses_one_mlp_design_for_every_modality(mode):
    full = make_model("mmt_modality", mode)
    ablated = make_model("mmt_generic_encoders", mode)
    assert {type(e) for e in ablated.encoders.values()} == {MLPEncoder}
    assert not any(isinstance(m, nn.Conv1d | nn.GRU) for m in ablated.modules())
    assert any(isinstance(m, nn.GRU) for m in full.modules())
    assert any(isinstance(m, CrossModalAttention) for m in ablated.modules())


def test_late_fusion_weights_are_a_softmax_over_present_modalities():
    model = make_model("late_fusion").eval()
    x, mask = make_batch()
    mask[0, 1] = False
    with torch.no_grad():
        w = model(x, mask).modality_weights
    assert w.shape == (B, 3)
    assert w[0, 1] == 0
    assert torch.allclose(w.sum(dim=1), torch.ones(B))


def test_additive_fusion_has_no_term_joining_two_modalities():
    """Its logits are a sum of one function of each modality: swapping one modality between
    two samples changes the logits by the same amount whatever the other modalities hold (a
    zero mixed difference), which a model with cross-modal attention does not satisfy."""
    x, mask = make_batch()

    def mixed_difference(model):
        a = {k: v[:2].clone() for k, v in x.items()}  # samples 0 and 1 as they are
        b = {k: v.clone() for k, v in a.items()}
        b["methylation"] = a["methylation"].flip(0)  # their methylation swapped
        c = {k: v.clone() for k, v in a.items()}
        c["cna"] = a["cna"].flip(0)  # their copy number swapped
        d = {k: v.clone() for k, v in c.items()}
        d["methylation"] = a["methylation"].flip(0)  # both swapped
        m = mask[:2].clone().fill_(True)
        with torch.no_grad():
            f = [model(v, m).logits for v in (a, b, c, d)]
        return float((f[0] - f[1] - f[2] + f[3]).abs().max())

    torch.manual_seed(0)
    additive = make_model("additive_fusion").eval()
    # float32 sums of the same terms in another order: far below the logits' scale
    assert mixed_difference(additive) < 1e-5
    torch.manual_seed(0)
    assert mixed_difference(make_model("mmt_modality").eval()) > 1e-3
    # a missing modality adds nothing: its logits are those of the others alone
    out = additive(x, mask)
    assert out.logits.shape == (B, K) and set(out.aux_logits) == {s.name for s in SPECS}
    gone = mask.clone()
    gone[:, 1] = False
    with torch.no_grad():
        parts = additive(x, gone).aux_logits
        assert torch.equal(parts["fragmentomics"], torch.zeros(B, K))
        total = parts["methylation"] + parts["cna"] + additive.bias
        assert torch.allclose(additive(x, gone).logits, total)


def test_early_fusion_mlp_output_depends_on_its_weights_scale_so_a_penalty_regularises():
    """One hidden ReLU layer and a linear classifier, no batch normalisation: doubling the
    hidden layer doubles the logits' dependence on the input. Behind a batch normalisation
    (the MMT paper's head) the training-mode output would not change at all, and an L2
    penalty on the hidden weights would constrain nothing."""
    x, mask = make_batch()
    torch.manual_seed(0)
    model = make_model("early_fusion_mlp").train()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    model.head[0].p = 0.0  # no dropout: the same function twice
    before = model(x, mask).logits.detach()
    with torch.no_grad():
        model.net[0].weight.mul_(2.0)
        model.net[0].bias.mul_(2.0)
        bias = model.head[-1].bias.clone()
    after = model(x, mask).logits.detach()
    # ReLU is positively homogeneous: the logits less the bias scale by exactly 2
    assert torch.allclose(after - bias, 2 * (before - bias), atol=1e-5)


def test_tab_transformer_uses_the_published_residual_stream():
    net = make_model("tab_transformer").net
    # num_residual_streams=1: no hyper-connection streams to expand or reduce
    assert isinstance(net.transformer.expand_streams, nn.Identity)
    assert isinstance(net.transformer.reduce_streams, nn.Identity)
    assert net.categorical_embeds.embeddings.num_embeddings == TINY.n_bins * 3 * P


def test_tab_transformer_bins_are_quantiles_of_the_training_data_only():
    model = make_model("tab_transformer")
    rng = np.random.default_rng(0)
    x = {s.name: rng.normal(3.0, 2.0, (200, P)) for s in SPECS}
    mask = np.ones((200, 3), dtype=bool)
    mask[:50, 0] = False
    x["methylation"][:50] = 1e6  # values behind the mask must not move the edges
    x["cna"][:10] = np.nan  # NaN rows of a missing modality are ignored as well
    mask[:10, 2] = False
    assert not bool(model.bins_fitted)
    model.fit_bins(x, mask)
    levels = np.arange(1, TINY.n_bins) / TINY.n_bins
    edges = model.bin_edges.numpy()
    np.testing.assert_allclose(edges[0], np.quantile(x["methylation"][50:, 0], levels),
                               rtol=1e-6)
    np.testing.assert_allclose(edges[2 * P], np.quantile(x["cna"][10:, 0], levels), rtol=1e-6)
    assert bool(model.bins_fitted)


def test_perceiver_io_is_configured_with_latents_and_one_learned_query():
    model = make_model("perceiver_io")
    width = TINY.d_model // PERCEIVER_WIDTH_DIVISOR
    assert model.net.latents.shape == (TINY.n_latents, width)
    assert model.value_weight.shape == (3 * P, width)  # one token per feature
    assert model.query.shape == (1, TINY.d_model)


def test_count_parameters_counts_every_weight():
    model = make_model("early_fusion_mlp")
    n, m, d = 3 * P, 3, TINY.d_model  # features, mask columns, hidden units
    assert count_parameters(model) == (n + m) * d + d + d * K + K


def test_flops_per_sample_counts_matrix_products_per_sample():
    model = make_model("early_fusion_mlp")
    n, m, d = 3 * P, 3, TINY.d_model
    expected = 2 * ((n + m) * d + d * K)  # multiply-adds of the two linear layers
    for batch_size in (4, 8):
        x, mask = make_batch(batch_size)
        assert flops_per_sample(model, {"x": x, "mask": mask}) == expected
    assert model.training  # the mode is restored


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_flops_per_sample_is_positive_and_per_sample_for_every_model(name):
    model = make_model(name)
    flops = [flops_per_sample(model, dict(zip(("x", "mask"), make_batch(n), strict=True)))
             for n in (4, 8)]
    assert flops[0] > 0 and flops[0] == pytest.approx(flops[1], rel=1e-9)


def test_flops_per_sample_counts_fused_attention_as_its_two_matrix_products():
    model = make_model("tab_transformer")
    batch = dict(zip(("x", "mask"), make_batch(4), strict=True))
    fused = flops_per_sample(model, batch)
    model.return_attention = True  # the same attention as explicit matrix products
    assert fused == flops_per_sample(model, batch)


def test_flops_per_sample_counts_the_recurrent_layer_on_cpu():
    class GRUOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 8, batch_first=True, bidirectional=True)

        def forward(self, x, mask):
            return self.gru(x["cna"][..., None])

    x, mask = make_batch(4)
    # 3 gates, input (1) and hidden (8) products, 2 directions, P steps, 2 FLOPs a multiply-add
    expected = 2 * 3 * (1 * 8 + 8 * 8) * 2 * P
    assert flops_per_sample(GRUOnly(), {"x": x, "mask": mask}) == expected


def test_stage_shapes_follow_a_forward_pass_through_the_locus_model():
    model = make_model("mmt_locus").train()
    x, mask = make_batch(5)
    stages = {name: (kind, shape) for name, kind, shape in
              stage_shapes(model, {"x": x, "mask": mask})}
    d, t = TINY.d_model, -(-P // FRAGMENT_POOL)
    assert stages["encoders.cna"] == ("CNAEncoder", (5, P, d))
    assert stages["encoders.fragmentomics"] == ("FragmentomicsEncoder", (5, t, d))
    assert stages["fusion.0"] == ("CrossModalBlock", ((5, 2 * P + t, d),))  # + weights
    assert stages["head"] == ("ClassifierHead", (5, K))
    assert model.training and not model._forward_hooks  # mode restored, hooks removed
    assert not model.head._forward_hooks


def test_generic_encoders_equal_the_modality_model_bit_for_bit_without_specific_kinds():
    import torch

    from cancer_alpha.config import ModelConfig
    from cancer_alpha.models import build_model

    specs = [ModalitySpec("m", "methylation", 10), ModalitySpec("g", "generic", 5)]
    cfg = ModelConfig(d_model=16, n_heads=2, n_layers=1)
    torch.manual_seed(0)
    a = build_model("mmt_modality", specs, 3, cfg).state_dict()
    torch.manual_seed(0)
    b = build_model("mmt_generic_encoders", specs, 3, cfg).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


BATCH = 4  # samples per step: the sequence length, not the batch, is what the test is about


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_large_profile_model_runs_one_training_step(large, name):
    profile, world = large
    specs = world.specs()
    torch.manual_seed(0)
    model = build_model(name, specs, len(profile.cohort.class_names), profile.model).train()
    if hasattr(model, "fit_bins"):
        model.fit_bins(random_batch(specs, 64, seed=1)["x"])
    opt = torch.optim.AdamW(model.parameters(), lr=profile.train.lr)
    batch = random_batch(specs, BATCH, n_classes=len(profile.cohort.class_names))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}

    loss, out, _ = batch_loss(model, batch, profile.train)  # the training loss of the book
    loss.backward()
    opt.step()

    assert out.logits.shape == (BATCH, len(profile.cohort.class_names))
    assert math.isfinite(float(loss.detach()))
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) == len(grads)  # every parameter with a gradient was updated
