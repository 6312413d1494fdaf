"""The models' fast computations against the computation as written (``plain_computation``:
torch's own layers, every feature map and attention group formed): the same function and
gradients up to float32 rounding, the same masking of missing modalities, and the inference
settings they apply (one thread for small batches) undone afterwards.

Tolerances: a fast form sums the same products in another order (oneDNN's blocking, a kernel
composed before it is applied, sums of windows before the product with the kernel), so in
float32 results differ by rounding, about 1e-7 relative per operation; 1e-5 (absolute, on
outputs of order 1) leaves room for a few layers of it and is far below any real difference
(a wrong border term or a dropped bias shifts outputs by 1e-2 or more). In float64 the same
identities hold to 1e-12.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cancer_alpha.config import ModelConfig
from cancer_alpha.data import ModalitySpec
from cancer_alpha.models import CrossModalAttention, attention_returned, build_model
from cancer_alpha.models.encoders import (
    CNAEncoder,
    ConvBlock,
    FragmentomicsEncoder,
    Patches,
)
from cancer_alpha.models.inference import ONE_THREAD_MAX_BATCH
from cancer_alpha.models.kernels import (
    ONEDNN_MIN_MACS,
    BiGRU,
    Linear,
    conv_block_mean_after,
    conv_mean,
    pack_attention,
    patches_after,
    plain_computation,
)

P, K = 22, 4  # 22 bins: the copy-number patches of 4 leave a last patch of 2
SPECS = [
    ModalitySpec("methylation", "methylation", P, tuple(float(3 * i) for i in range(P))),
    ModalitySpec("fragmentomics", "fragmentomics", P, tuple(100.0 + 10 * i for i in range(P))),
    ModalitySpec("cna", "cna", P),
]
SMALL = ModelConfig(d_model=32, n_heads=2, n_layers=2, ff_mult=2, dropout=0.1, conv_channels=8)


def batch(n: int, seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = {s.name: torch.randn(n, s.n_features, generator=g) for s in SPECS}
    mask = torch.ones(n, len(SPECS), dtype=torch.bool)
    if n >= 3:
        mask[1, 0] = False  # a missing modality
        mask[2, 1:] = False  # a lone modality: its tokens have no key
    return x, mask


def model(name: str, cfg: ModelConfig = SMALL) -> nn.Module:
    torch.manual_seed(0)
    token_mode = "locus" if name == "mmt_locus" else "modality"
    return build_model(name, SPECS, K, dataclasses.replace(cfg, token_mode=token_mode))


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> None:
    torch.testing.assert_close(a, b, rtol=0, atol=atol)


@pytest.mark.parametrize("name", ["mmt_modality", "mmt_locus"])
def test_the_inference_path_predicts_what_the_plain_eager_model_does(name):
    # the path of FittedModel.outputs: no_grad, no attention weights (the fused kernel), one
    # thread for small batches, composed encoder kernels, nn.GRU's C++ loop
    m = model(name).eval()
    for n in (1, 7):  # a single sample (plain encoders) and a batch (composed ones)
        x, mask = batch(max(n, 3))
        x, mask = {k: v[:n] for k, v in x.items()}, mask[:n]
        with torch.no_grad(), attention_returned(m, False):
            fast = m(x, mask)
        with torch.no_grad(), plain_computation():
            plain = m(x, mask)
        assert fast.attention is None and plain.attention is not None
        close(fast.logits, plain.logits)
        close(fast.embedding, plain.embedding)


def test_the_paper_scale_modality_model_predicts_what_the_plain_model_does():
    specs = [dataclasses.replace(s, n_features=110, positions=None) for s in SPECS]
    torch.manual_seed(0)
    m = build_model("mmt_modality", specs, 5, ModelConfig()).eval()
    g = torch.Generator().manual_seed(1)
    x = {s.name: torch.randn(64, 110, generator=g) for s in specs}
    mask = torch.ones(64, 3, dtype=torch.bool)
    mask[5, 2] = False
    with torch.no_grad(), attention_returned(m, False):
        fast = m(x, mask)
    with torch.no_grad(), plain_computation():
        plain = m(x, mask)
    close(fast.logits, plain.logits)


@pytest.mark.parametrize("name", ["mmt_modality", "mmt_locus"])
def test_a_training_step_has_the_plain_models_loss_and_gradients(name):
    m = model(name).train()
    x, mask = batch(8)

    def step(plain: bool):
        m.zero_grad()
        torch.manual_seed(3)  # the same dropout draws
        if plain:
            with plain_computation():
                out = m(x, mask)
        else:
            out = m(x, mask)
        loss = F.cross_entropy(out.logits, torch.arange(8) % K) + out.attention.mean()
        loss.backward()
        return loss.detach(), out.attention.detach(), {
            k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None}

    fast, plain = step(False), step(True)
    close(fast[0], plain[0])
    close(fast[1], plain[1])
    assert fast[2].keys() == plain[2].keys()
    for key in plain[2]:
        scale = plain[2][key].abs().max().clamp_min(1.0)
        close(fast[2][key] / scale, plain[2][key] / scale, atol=1e-4)


def test_linear_uses_the_same_parameters_and_matches_f_linear_with_gradients():
    torch.manual_seed(0)
    layer = Linear(128, 256)
    assert list(layer.state_dict()) == ["weight", "bias"]
    rows = ONEDNN_MIN_MACS // (128 * 256) * 4  # large enough for oneDNN
    base = torch.randn(128, rows)
    for x in (base.t().contiguous(), base.t()):  # contiguous and a transposed view
        x = x.clone().requires_grad_() if x.is_contiguous() else x.requires_grad_()
        out = layer(x)
        ref = F.linear(x, layer.weight, layer.bias)
        close(out, ref)
        g = torch.randn_like(ref)
        got = torch.autograd.grad(out, (x, layer.weight, layer.bias), g)
        want = torch.autograd.grad(ref, (x, layer.weight, layer.bias), g)
        for a, b in zip(got, want, strict=True):
            close(a / b.abs().max(), b / b.abs().max())
    small = torch.randn(3, 128)
    assert torch.equal(layer(small), F.linear(small, layer.weight, layer.bias))  # F.linear


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bigru_returns_the_sum_of_nn_grus_directions_with_its_gradients(dtype):
    torch.manual_seed(0)
    ours = BiGRU(5, 4).to(dtype)
    theirs = nn.GRU(5, 4, batch_first=True, bidirectional=True).to(dtype)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 5, dtype=dtype, requires_grad=True)
    ref = theirs(x)[0].unflatten(-1, (2, -1)).sum(dim=2)
    out = ours(x)  # the hand-written forward and backward
    atol = 1e-12 if dtype == torch.float64 else 1e-6
    close(out, ref, atol)
    g = torch.randn_like(ref)
    params = [x, *ours.parameters()]
    got = torch.autograd.grad(out, params, g)
    want = torch.autograd.grad(ref, [x, *theirs.parameters()], g)
    for a, b in zip(got, want, strict=True):
        close(a, b, atol * 10)
    with torch.no_grad():  # inference: nn.GRU's own loop
        assert torch.equal(ours(x), theirs(x)[0].unflatten(-1, (2, -1)).sum(dim=2))


def test_bigru_backward_passes_gradcheck():
    torch.manual_seed(0)
    gru = BiGRU(3, 2).double()
    names = [n for n, _ in gru.named_parameters()]
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)

    def run(x, *weights):
        return torch.func.functional_call(gru, dict(zip(names, weights, strict=True)), (x,))

    assert torch.autograd.gradcheck(run, (x, *gru.parameters()))


@pytest.mark.parametrize("length", [1, 2, 3, 5, 9, 22, 110])
def test_kernel_products_equal_the_layers_they_replace(length):
    # float64: the identities are exact up to rounding
    torch.manual_seed(length)
    stem = nn.Conv1d(1, 8, 5, padding=2).double()
    block = ConvBlock(8, 5).double().eval()
    x = torch.randn(3, 1, length, dtype=torch.float64)
    h = stem(x)
    close(conv_mean(block.conv2, h), block.conv2(h).mean(dim=-1), 1e-12)
    close(conv_block_mean_after(block, stem, x), block(h).mean(dim=-1), 1e-12)
    for size in (4, 3):
        patches = Patches(8, size).double()
        close(patches_after(patches, stem, x), patches(h), 1e-12)


@pytest.mark.parametrize("encoder", [FragmentomicsEncoder, CNAEncoder])
@pytest.mark.parametrize(("n", "features", "channels"), [(6, P, 8), (64, 110, 32)],
                         ids=["small", "paper"])  # paper scale: the oneDNN products too
def test_modality_token_encoders_match_the_plain_computation_in_training(
        encoder, n, features, channels):
    torch.manual_seed(0)
    enc = encoder(features, d_model=16, dropout=0.3, channels=channels).train()
    x = torch.randn(n, features)

    def run(plain: bool):
        enc.zero_grad()
        torch.manual_seed(1)  # the same channel-dropout draws
        with plain_computation() if plain else torch.enable_grad():
            out = enc(x)
        out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in enc.parameters()]

    fast, plain = run(False), run(True)
    close(fast[0], plain[0])
    for a, b in zip(fast[1], plain[1], strict=True):
        close(a / b.abs().max().clamp_min(1.0), b / b.abs().max().clamp_min(1.0), 1e-4)


def test_one_token_attention_matches_the_grouped_computation_with_missing_modalities():
    torch.manual_seed(0)
    attn = CrossModalAttention(16, 2).eval()
    tokens = torch.randn(5, 4, 16)
    mask = torch.ones(5, 4, dtype=torch.bool)
    mask[1, 0] = False
    mask[2, 1:] = False  # one modality only: it attends to nothing
    mask[3] = False  # nothing present
    for m in (mask, None):
        fast_out, fast_w = attn.across_groups(tokens, [1, 1, 1, 1], m)
        with plain_computation():
            plain_out, plain_w = attn.across_groups(tokens, [1, 1, 1, 1], m)
        close(fast_out, plain_out)
        close(fast_w[0], torch.cat(plain_w, dim=2))
        if m is not None:
            assert fast_w[0][2].abs().max() == 0 and fast_w[0][3].abs().max() == 0
            assert fast_w[0][1, :, 0].abs().max() == 0  # a missing query
            assert fast_w[0][1, :, 1:, 0].abs().max() == 0  # a missing key (slot 0 = token 0)


def test_a_missing_modality_of_one_sample_does_not_move_the_others():
    m = model("mmt_modality").eval()
    x, mask = batch(8)
    with torch.no_grad(), attention_returned(m, False):
        ref = m(x, mask).logits
        x["methylation"][1] = 1e3  # sample 1 lacks methylation: its values are garbage
        x["fragmentomics"][2] = -1e3  # and sample 2 lacks fragment lengths
        out = m(x, mask).logits
    assert torch.equal(out, ref)


def test_small_inference_batches_run_on_one_thread_and_restore_the_setting():
    m = model("mmt_modality").eval()
    seen: list[int] = []
    m.head.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    torch.set_num_threads(2)
    try:
        for n in (1, ONE_THREAD_MAX_BATCH, ONE_THREAD_MAX_BATCH + 1):
            x, mask = batch(n)
            with torch.no_grad():
                m(x, mask)
            assert torch.get_num_threads() == 2
        m(*batch(1))  # with gradients: a training step keeps the setting
    finally:
        torch.set_num_threads(1)
    assert seen == [1, 1, 2, 2]


def test_the_same_seed_gives_the_same_training_step():
    def step() -> list[torch.Tensor]:
        m = model("mmt_modality").train()
        torch.manual_seed(5)
        x, mask = batch(8)
        out = m(x, mask)
        (out.logits.square().sum() + out.attention.sum()).backward()
        return [p.grad for p in m.parameters() if p.grad is not None]

    first, second = step(), step()
    assert len(first) == len(second) > 20
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("length", [3, 22, 110])
def test_composed_convolution_gradients_equal_those_of_the_layers_they_replace(length):
    # float64, training mode (batch statistics): the identities are exact up to rounding, so
    # 1e-10 on gradients of order 1 to 10 is far above float64 rounding (1e-16 per
    # operation) and far below any missing or misplaced term
    torch.manual_seed(length)
    stem = nn.Conv1d(1, 8, 5, padding=2).double()
    block = ConvBlock(8, 5).double().train()
    x = torch.randn(4, 1, length, dtype=torch.float64)
    cases = [(lambda: conv_block_mean_after(block, stem, x), lambda: block(stem(x)).mean(-1),
              [*stem.parameters(), *block.parameters()])]
    for size in (4, 3):
        patches = Patches(8, size).double()
        cases.append((lambda p=patches: patches_after(p, stem, x), lambda p=patches: p(stem(x)),
                      [*stem.parameters(), *patches.parameters()]))
    for fast, plain, params in cases:
        out, ref = fast(), plain()
        close(out, ref, 1e-12)
        g = torch.randn_like(ref)
        for a, b in zip(torch.autograd.grad(out, params, g), torch.autograd.grad(ref, params, g),
                        strict=True):
            close(a, b, 1e-10)


def test_one_token_attention_gradients_match_the_grouped_computation():
    # float32; the same sums in another order: 1e-5 relative to the largest gradient of each
    # parameter, as for the models' training step above
    torch.manual_seed(0)
    attn = CrossModalAttention(16, 2).train()  # dropout 0: nothing random
    tokens = torch.randn(5, 4, 16, requires_grad=True)
    mask = torch.ones(5, 4, dtype=torch.bool)
    mask[1, 0] = False
    mask[2, 1:] = False
    params = [tokens, *attn.parameters()]

    def grads(plain: bool):
        with plain_computation() if plain else torch.enable_grad():
            out, w = attn.across_groups(tokens, [1, 1, 1, 1], mask)
        weights = w[0] if not plain else torch.cat(w, dim=2)
        loss = out.square().sum() + (weights * torch.arange(3.0)).sum()
        return torch.autograd.grad(loss, params)

    for a, b in zip(grads(False), grads(True), strict=True):
        scale = b.abs().max().clamp_min(1.0)
        close(a / scale, b / scale)


def test_packed_attention_equals_padding_and_concatenating_the_blocks():
    # pure copies forward and views backward: equal bit for bit, so no tolerance
    torch.manual_seed(0)
    width = 6
    layers = [[torch.randn(2, 3, n, k, requires_grad=True) for n, k in ((3, 4), (1, 6), (2, 5))]
              for _ in range(2)]
    packed = pack_attention(layers, width)
    eager = torch.stack([torch.cat([F.pad(w, (0, width - w.shape[-1])) for w in layer], dim=2)
                         for layer in layers], dim=1)
    assert torch.equal(packed, eager)
    g = torch.randn_like(eager)
    blocks = [w for layer in layers for w in layer]
    for a, b in zip(torch.autograd.grad(packed, blocks, g), torch.autograd.grad(eager, blocks, g),
                    strict=True):
        assert torch.equal(a, b)
