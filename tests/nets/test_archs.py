"""The Fig. S2 architectures (deepftle.nets.archs): shapes, depth, seeded initialisation,
checkpoints, bad settings, and their FTLEs through deepftle.ftle against a float64
jacrev + SVD reference; training one through the MNIST training stage."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from helpers.mnist_synthetic import write_synthetic_mnist
from torch.func import jacrev, vmap

import deepftle
from deepftle.nets.archs import ResMLP, SmallCNN, build_net, describe, init_net

CNN = dict(kind="cnn", channels=[4, 6], kernel=5, stride=2, hidden=12, activation="tanh")
RES = dict(kind="resmlp", width=8, depth=5, activation="tanh")


def _net(arch, seed=0):
    model = build_net(arch)
    init_net(model, torch.Generator().manual_seed(seed))
    return model.eval()


def _reference_lam1(trunk, x, depth):
    """λ₁ = log σ₁(J) / L from the explicit float64 Jacobian of every point."""
    t64 = copy.deepcopy(trunk).double()

    def single(v):
        return t64(v.unsqueeze(0)).squeeze(0)

    J = vmap(jacrev(single))(x.double())
    return torch.log(torch.linalg.svdvals(J)[:, 0]) / depth


@pytest.mark.parametrize("arch, width, depth", [(CNN, 12, 3), (RES, 8, 6)])
def test_shapes_depth_and_checkpoint(arch, width, depth, tmp_path):
    model = _net(arch)
    x = torch.randn(5, 784)
    assert model(x).shape == (5, 10) and model.trunk(x).shape == (5, width)
    assert model.ftle_depth == depth
    # the engine's own layer count agrees with the declared depth
    torch.testing.assert_close(
        deepftle.ftle(model.trunk, x), deepftle.ftle(model.trunk, x, depth=depth)
    )
    deepftle.save_model(tmp_path / "n.pt", model)
    back = deepftle.load_model(tmp_path / "n.pt", expected=arch)
    assert type(back) is type(model)
    assert torch.equal(back(x), model(x))
    other = dict(arch, **({"hidden": 13} if arch["kind"] == "cnn" else {"width": 9}))
    with pytest.raises(ValueError, match="another architecture"):
        deepftle.load_model(tmp_path / "n.pt", expected=other)


@pytest.mark.parametrize("arch", [CNN, RES])
def test_initialisation_is_seeded_and_fan_in(arch):
    a, b, c = _net(arch, 0), _net(arch, 0), _net(arch, 1)
    for (name, pa), pb, pc in zip(
        a.named_parameters(), b.parameters(), c.parameters(), strict=True
    ):
        pa = pa.detach()
        assert torch.equal(pa, pb), name
        if name.endswith("weight"):
            assert not torch.equal(pa, pc), name
            fan_in = pa[0].numel()
            if pa.numel() >= 500:  # enough draws for the variance to be 1 / fan-in within 15 %
                assert float(pa.var()) * fan_in == pytest.approx(1.0, rel=0.15), name
        else:
            assert torch.count_nonzero(pa) == 0, name  # thresholds start at zero


@pytest.mark.parametrize("arch", [CNN, RES])
def test_ftle_matches_float64_jacobian(arch):
    """λ₁ of the trunk through deepftle.ftle (generic path) against jacrev + SVD in float64,
    at a few points: |Δλ| <= 1e-4 in float32, <= 1e-10 in float64."""
    model = _net(arch, seed=3)
    x = torch.randn(6, 784, generator=torch.Generator().manual_seed(2))
    ref = _reference_lam1(model.trunk, x, model.ftle_depth)
    lam32 = deepftle.ftle(model.trunk, x, depth=model.ftle_depth)[:, 0].double()
    assert (lam32 - ref).abs().max() <= 1e-4
    trunk64 = copy.deepcopy(model.trunk).double()
    lam64 = deepftle.ftle(trunk64, x.double(), depth=model.ftle_depth)[:, 0]
    assert (lam64 - ref).abs().max() <= 1e-10
    assert torch.isfinite(ref).all() and ref.std() > 0  # points differ: not a constant map


def test_residual_block_is_identity_plus_branch():
    model = _net(RES)
    block = model.trunk[2]
    h = torch.randn(4, 8)
    torch.testing.assert_close(block(h), h + torch.tanh(block.linear(h)))
    with torch.no_grad():  # zero branch weights: the block is the identity
        block.linear.weight.zero_()
    torch.testing.assert_close(block(h), h)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="channels"):
        SmallCNN(channels=[4])
    with pytest.raises(ValueError, match="no pixels"):
        SmallCNN(kernel=12, stride=3)
    with pytest.raises(ValueError, match="width"):
        ResMLP(width=0)
    with pytest.raises(ValueError, match="activation"):
        ResMLP(activation="sigmoid")
    with pytest.raises(ValueError, match="unknown architecture kind 'vit'"):
        build_net({"kind": "vit"})


def test_the_analysis_gives_the_project_architecture_the_main_activation():
    from deepftle.images.analysis import AnalysisSpec

    entry = dict(
        data={"set": "mnist"},
        model={"arch": {"kind": "resmlp", "width": 20, "depth": 16, "activation": "erf"}},
        checkpoints=["a.pt"],
    )
    arch = AnalysisSpec.from_config("x", entry).model.arch
    assert arch == dict(kind="resmlp", width=20, depth=16, activation="erf")
    assert "L = 17" in describe(arch) and "L = 3" in describe(CNN)


@pytest.mark.parametrize("arch", [CNN, RES])
def test_trained_by_the_image_stage(arch, tmp_path):
    """train_net of a NetSpec with ``arch`` learns the synthetic digits and is repeatable bit for
    bit; load_net reads it back frozen."""
    from deepftle.images.datasets import load_image_set
    from deepftle.images.nets import NetSpec, load_net, train_net
    from deepftle.nets.train import train_config

    write_synthetic_mnist(tmp_path / "d", n_train=300, n_test=100)
    data = load_image_set("mnist", tmp_path / "d")
    optimiser = dict(optimizer="adam", lr=0.003, schedule="cosine", batch_size=32)
    spec = NetSpec(arch=dict(arch), train=train_config(optimiser, epochs=4), seed=5)
    runs = [train_net(data, spec, "cpu", progress=False) for _ in range(2)]
    (m1, h1), (m2, h2) = runs
    assert len(h1) == 5 and h1["test_error"].iloc[-1] < 0.5 < h1["test_error"].iloc[0]
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    assert NetSpec.from_config(spec.to_config()) == spec
    deepftle.save_model(tmp_path / "n.pt", m1)
    back = load_net(tmp_path / "n.pt", spec.arch)
    x = data.inputs("test")
    assert np.array_equal(back(x).numpy(), m1.eval()(x).detach().numpy())
    assert not any(p.requires_grad for p in back.parameters())
