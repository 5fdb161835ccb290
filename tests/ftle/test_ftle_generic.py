"""The generic path against float64 explicit Jacobians (jacrev + SVD), one architecture each.

|Delta lambda| <= 1e-10 for float64 models and <= 1e-4 for their float32 copies; the maximal
direction v_1 agrees up to sign where sigma_1 / sigma_2 > 1.01.
"""

import copy
import math

import pytest
import torch
from helpers.models import ARCHS, Residual, counted_depth, reference, small_cnn
from torch import nn

import deepftle
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP


@pytest.mark.parametrize("name", list(ARCHS))
def test_generic_matches_float64_jacobian(name):
    factory, shape, depth, methods = ARCHS[name]
    torch.manual_seed(0)
    model64 = factory().double().eval()
    L = depth or counted_depth(model64)
    x64 = torch.randn(4, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    lam_ref, v_ref = reference(model64, x64, L)
    model32 = copy.deepcopy(model64).float()
    for method in methods:
        k = 2
        lam, v = deepftle.ftle(
            model64, x64, k=k, return_directions=True, depth=depth, method=method
        )
        assert lam.shape == (4, k) and v.shape == (4, *shape, k)
        err = (lam - lam_ref[:, :k]).abs().max().item()
        assert err <= 1e-10, (name, method, err)
        gap = lam_ref[:, 0] - lam_ref[:, 1] > math.log(1.01) / L
        cos = (v[..., 0].reshape(4, -1) * v_ref[:, :, 0]).sum(1).abs()
        assert (cos[gap] >= 1 - 1e-8).all(), (name, method, cos)
        lam32 = deepftle.ftle(model32, x64.float(), k=k, depth=depth, method=method)
        assert lam32.dtype == torch.float32
        err32 = (lam32.double() - lam_ref[:, :k]).abs().max().item()
        assert err32 <= 1e-4, (name, method, err32)


def test_mlp_object_and_its_trunk():
    net = MLP(d_in=2, width=8, depth=4)
    init_mlp(net, torch.Generator().manual_seed(0), sigma_theta=0.5)
    net = net.double()
    x = torch.rand(7, 2, dtype=torch.float64) * 2 - 1
    lam_ref, _ = reference(net, x, 5)  # 4 hidden Linear layers + the head
    assert (deepftle.ftle(net, x) - lam_ref[:, :1]).abs().max() <= 1e-10
    # the paper's exponents: the map to the trunk's output, by module name or as the trunk
    by_name = deepftle.ftle(net, x, k=2, layers=["trunk"])
    assert by_name.shape == (1, 7, 2)
    assert (by_name[0] - deepftle.ftle(net.trunk, x, k=2)).abs().max() <= 1e-10


def test_layer_names_and_plain_function():
    torch.manual_seed(0)
    mlp = ARCHS["layernorm_mlp"][0]().double().eval()
    x = torch.randn(5, 5, dtype=torch.float64)
    lam = deepftle.ftle(mlp, x, k=2, layers=["1", "4"])  # after each LayerNorm (L = 1, 2)
    for i, (end, L) in enumerate(((2, 1), (5, 2))):
        ref, _ = reference(mlp[:end], x, L)
        assert (lam[i] - ref[:, :2]).abs().max() <= 1e-10
    cnn = small_cnn().double().eval()
    images = torch.randn(3, 1, 28, 28, dtype=torch.float64)
    ref, _ = reference(cnn[:6], images, 3)  # the Linear layer's output, before its tanh
    assert (deepftle.ftle(cnn, images, layers=["5"])[0] - ref[:, :1]).abs().max() <= 1e-10
    # a plain function with its depth, and depth= overriding the count
    f = lambda z: cnn(z)  # noqa: E731
    assert torch.allclose(deepftle.ftle(f, images, depth=3), deepftle.ftle(cnn, images), atol=1e-12)
    assert torch.allclose(
        deepftle.ftle(cnn, images, depth=6), deepftle.ftle(cnn, images) / 2, atol=1e-12
    )


def test_deep_residual_sequential_is_renormalised_between_stages():
    """60 residual stages with growth: float32 stays finite and matches float64."""
    torch.manual_seed(0)
    blocks = [nn.Linear(2, 16)] + [Residual(16) for _ in range(60)]
    model = nn.Sequential(*blocks).double()
    with torch.no_grad():
        for b in model[1:]:
            b.lin.weight.mul_(3.0)
    x = torch.randn(5, 2, dtype=torch.float64)
    lam64 = deepftle.ftle(model, x, k=2, method="forward")
    lam32 = deepftle.ftle(copy.deepcopy(model).float(), x.float(), k=2, method="forward")
    assert torch.isfinite(lam32).all() and (lam32.double() - lam64).abs().max() <= 1e-4
    lam1 = deepftle.ftle(copy.deepcopy(model).float(), x.float(), k=1, method="forward")
    assert (lam1.double() - lam64[:, :1]).abs().max() <= 1e-4


def test_leading_linear_is_folded_in_reverse_mode(monkeypatch):
    """A Sequential opening with a narrowing nn.Linear (784 -> 12): sigma_i from U R^T
    (W^T = Q R), never the 784-long cotangents; the same exponents as the float64 reference,
    with and without the fold (directions, which need Q, take the unfolded path)."""
    from deepftle.ftle import _generic as generic

    torch.manual_seed(0)
    model64 = (
        nn.Sequential(
            nn.Linear(784, 12), nn.Tanh(), nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 10)
        )
        .double()
        .eval()
    )
    x64 = torch.randn(6, 784, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lam_ref, _ = reference(model64, x64, 3)
    folded = []
    fold = generic._folded_jacobian
    monkeypatch.setattr(generic, "_folded_jacobian", lambda *a: folded.append(1) or fold(*a))
    model32 = copy.deepcopy(model64).float()
    for k in (1, 3):
        lam = deepftle.ftle(model64, x64, k=k, method="reverse")
        assert (lam - lam_ref[:, :k]).abs().max() <= 1e-10, k
        lam32 = deepftle.ftle(model32, x64.float(), k=k, method="reverse")
        assert (lam32.double() - lam_ref[:, :k]).abs().max() <= 1e-4, k
    assert len(folded) == 4
    lam, v = deepftle.ftle(model64, x64, k=2, return_directions=True, method="reverse")
    assert len(folded) == 4 and v.shape == (6, 784, 2)
    assert (lam - lam_ref[:, :2]).abs().max() <= 1e-10
