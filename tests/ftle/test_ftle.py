"""The FTLE engine against float64 references, analytic cases, depth and bad input."""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

import deepftle
from deepftle.activations import Erf
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP


def random_trunk(d_in, width, depth, activation="tanh", seed=0, scale=1.0, bias=0.3):
    gen = torch.Generator().manual_seed(seed)
    layers = []
    for i in range(depth):
        lin = nn.Linear(d_in if i == 0 else width, width, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(
                torch.randn(lin.weight.shape, generator=gen, dtype=torch.float64)
                * scale
                / math.sqrt(lin.in_features)
            )
            lin.bias.copy_(torch.randn(width, generator=gen, dtype=torch.float64) * bias)
            if activation == "relu":  # keep units alive so that J is not trivially zero
                lin.bias.add_(1.0)
        layers += [lin, {"tanh": nn.Tanh, "relu": nn.ReLU, "erf": Erf}[activation]()]
    return nn.Sequential(*layers)


def reference(trunk64, x64, depth=None):
    """Explicit Jacobian (jacrev) and full SVD, float64."""
    J = vmap(jacrev(trunk64))(x64)
    _, s, vh = torch.linalg.svd(J)
    return torch.log(s) / (depth or sum(isinstance(m, nn.Linear) for m in trunk64)), vh


CASES = [
    (w, L, d, k, act)
    for w in (2, 5, 50)
    for L in (1, 2, 8, 32)
    for d in (2, 784)
    for k in (1, 2)
    for act in ("tanh", "relu")
    if k <= min(d, w)
]


@pytest.mark.parametrize("width,depth,d_in,k,act", CASES)
def test_matches_float64_reference(width, depth, d_in, k, act):
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(12, d_in, dtype=torch.float64, generator=gen) * 2 - 1
    for seed in range(100):  # narrow deep ReLU nets can be dead (J = 0): take a live one
        trunk64 = random_trunk(d_in, width, depth, act, seed=1000 * seed + width + depth + d_in)
        lam_ref, vh = reference(trunk64, x)
        s_ref = torch.exp(lam_ref * depth)
        if (s_ref[:, 0] > 0).float().mean() >= 0.5:
            break
    for dtype, tol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        trunk = copy.deepcopy(trunk64).to(dtype)
        lam, v = deepftle.ftle(trunk, x.to(dtype), k=k, return_directions=True)
        assert lam.shape == (12, k) and v.shape == (12, d_in, k)
        assert lam.dtype == dtype
        # compare where the reference singular value is resolved (not rounding noise of a
        # singular J, which ReLU nets can have); there ours must be finite or -inf, never NaN
        resolved = s_ref[:, :k] > 1e-8 * s_ref[:, :1]
        assert not torch.isnan(lam).any()
        assert resolved[:, 0].float().mean() >= 0.5
        diff = (lam.double() - lam_ref[:, :k]).abs()[resolved]
        assert diff.max() <= tol, f"{dtype}: max |lambda - ref| = {diff.max():.3g}"
        # directions where sigma_1 - sigma_2 is not tiny
        gap = (
            (s_ref[:, 0] - s_ref[:, 1]) / s_ref[:, 0] > 1e-3
            if min(d_in, width) > 1
            else torch.ones(12, dtype=torch.bool)
        )
        cos = (v[:, :, 0].double() * vh[:, 0, :]).sum(-1).abs()
        assert cos[gap].min() >= 0.9999


def test_descending_and_second_direction():
    trunk = random_trunk(2, 20, 4, seed=3)
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    lam, v = deepftle.ftle(trunk, x, k=2, return_directions=True)
    assert (lam[:, 0] >= lam[:, 1]).all()
    # the two directions are orthonormal
    gram = v.transpose(1, 2) @ v
    assert torch.allclose(gram, torch.eye(2, dtype=torch.float64).expand(50, 2, 2), atol=1e-10)


def orthogonal(n, seed):
    q, _ = torch.linalg.qr(
        torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    )
    return q


def linear_net(mats):
    layers = []
    for m in mats:
        lin = nn.Linear(m.shape[1], m.shape[0], bias=False, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(m)
        layers.append(lin)
    return nn.Sequential(*layers)


def test_orthogonal_linear_net_has_zero_exponents():
    trunk = linear_net([orthogonal(6, s) for s in range(5)])
    lam = deepftle.ftle(trunk, torch.randn(7, 6, dtype=torch.float64), k=6)
    assert torch.allclose(lam, torch.zeros_like(lam), atol=1e-13)


@pytest.mark.parametrize("c", [0.5, 2.0, 3.7])
def test_scaled_orthogonal_net_gives_log_c(c):
    trunk = linear_net([c * orthogonal(4, s) for s in range(6)])
    lam = deepftle.ftle(trunk, torch.randn(5, 4, dtype=torch.float64), k=4)
    assert torch.allclose(lam, torch.full_like(lam, math.log(c)), atol=1e-13)


def test_diagonal_single_layer():
    diag = torch.tensor([3.0, -0.5, 2.0, 1e-3], dtype=torch.float64)
    lam = deepftle.ftle(linear_net([torch.diag(diag)]), torch.zeros(1, 4, dtype=torch.float64), k=4)
    expected = torch.log(torch.tensor([3.0, 2.0, 0.5, 1e-3], dtype=torch.float64))
    assert torch.allclose(lam[0], expected, atol=1e-14)


def test_depth_200_float32_is_finite_and_accurate():
    depth = 200
    # a contracting net (lambda_1 < 0): the float32 forward pass tracks the float64 one, while
    # the raw Jacobian product (~e^-130) is far below the float32 range
    trunk64 = random_trunk(2, 10, depth, seed=7, scale=0.7, bias=0.5)
    x = torch.rand(20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    # float64 reference: explicit product of the layer Jacobians, then SVD
    ref = []
    for point in x:
        J = torch.eye(2, dtype=torch.float64)
        h = point
        for lin, act in zip(trunk64[0::2], trunk64[1::2], strict=True):
            b = lin(h)
            h = act(b)
            J = torch.diag(1 - h**2) @ lin.weight @ J
        ref.append(torch.log(torch.linalg.svdvals(J)) / depth)
    ref = torch.stack(ref)
    lam = deepftle.ftle(copy.deepcopy(trunk64).float(), x.float(), k=2)
    assert torch.isfinite(lam).all()
    assert (lam.double() - ref).abs().max() <= 1e-3
    assert ref[:, 0].max().item() * depth < -104  # below float32's smallest subnormal


def test_layers_equal_truncated_trunks():
    trunk = random_trunk(2, 8, 6, seed=11)
    x = torch.rand(30, 2, dtype=torch.float64) * 2 - 1
    depths = [1, 3, 6]
    lam, v = deepftle.ftle(trunk, x, k=2, return_directions=True, layers=depths)
    assert lam.shape == (3, 30, 2) and v.shape == (3, 30, 2, 2)
    for j, l in enumerate(depths):
        lam_l, v_l = deepftle.ftle(trunk[: 2 * l], x, k=2, return_directions=True)
        assert torch.allclose(lam[j], lam_l, atol=1e-13)
        assert torch.allclose(v[j], v_l, atol=1e-10)


def test_batch_size_does_not_change_results():
    trunk = random_trunk(784, 20, 3, seed=5)
    x = torch.rand(37, 784, dtype=torch.float64)
    full = deepftle.ftle(trunk, x, k=2)
    chunked = deepftle.ftle(trunk, x, k=2, batch_size=5)
    assert torch.allclose(full, chunked, atol=1e-14)


def test_single_point_and_numpy_input():
    trunk = random_trunk(2, 5, 2)
    x = np.array([0.1, -0.2])
    lam = deepftle.ftle(trunk, x, k=2)
    assert lam.shape == (2,)
    assert torch.allclose(lam, deepftle.ftle(trunk, torch.tensor([[0.1, -0.2]]), k=2)[0])


def test_zero_singular_value_is_minus_inf_not_nan():
    # a ReLU layer whose units are all off: J = 0
    lin = nn.Linear(2, 3, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.zero_()
        lin.bias.fill_(-1.0)
    trunk = nn.Sequential(lin, nn.ReLU())
    for k in (1, 2):
        lam = deepftle.ftle(trunk, torch.zeros(4, 2, dtype=torch.float64), k=k)
        assert torch.isneginf(lam).all()


def test_model_trunk_and_activations():
    for act in ("tanh", "relu", "erf", "softplus"):
        net = MLP(2, 6, 3, activation=act)
        init_mlp(net, torch.Generator().manual_seed(0), sigma_theta=0.5)
        trunk64 = copy.deepcopy(net.trunk).double()
        x = torch.rand(9, 2, dtype=torch.float64) * 2 - 1
        lam_ref, _ = reference(trunk64, x)
        lam = deepftle.ftle(trunk64, x, k=2)
        # a ReLU net can have rank-1 J: there ours is exactly -inf, the reference rounding noise
        resolved = lam_ref > lam_ref[:, :1] - 3
        assert (lam - lam_ref)[resolved].abs().max() < 1e-10, act
        assert (torch.isneginf(lam) | resolved).all(), act


def _nan_weights():
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh())
    with torch.no_grad():
        net[0].weight[1, 0] = float("nan")
    return net


@pytest.mark.parametrize(
    "trunk,x,k,match",
    [
        (nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5)), torch.zeros(3, 2), 1, "Dropout"),
        (
            nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4)),
            torch.zeros(3, 2),
            1,
            "training mode.*batch statistics",
        ),
        (nn.Sequential(nn.Conv2d(1, 1, 3)), torch.zeros(3, 2), 1, "model failed on x of shape"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh()), torch.zeros(3, 5), 1, "shape mismatch"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh()), torch.zeros(3, 2), 3, "k must be"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), torch.zeros(3, 1, 4, 4), 9, "k must be"),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh()), torch.tensor([[0.0, float("nan")]]), 1, "NaN"),
        (nn.Sequential(nn.Tanh()), torch.zeros(3, 2), 1, "no weight layer"),
        (_nan_weights(), torch.zeros(3, 2), 1, "parameter '0.weight' holds non-finite values"),
        (
            nn.Sequential(nn.Linear(2, 4), nn.Tanh()).half(),
            torch.zeros(3, 2),
            1,
            "float16.*float32 or float64",
        ),
        (nn.Sequential(nn.Linear(2, 4), nn.Tanh()).bfloat16(), torch.zeros(3, 2), 1, "bfloat16"),
        (lambda x: torch.tanh(x), torch.zeros(3, 2), 1, "pass depth="),
        (
            nn.TransformerEncoderLayer(4, 1, 8, batch_first=True).eval(),
            torch.zeros(3, 2, 4),
            1,
            "MultiheadAttention.*pass depth=",
        ),
        (
            nn.TransformerEncoderLayer(4, 1, 8, batch_first=True),
            torch.zeros(3, 2, 4),
            1,
            "Dropout in training mode",
        ),
        ("not a model", torch.zeros(3, 2), 1, "callable"),
    ],
)
def test_bad_input_raises_value_error(trunk, x, k, match):
    with pytest.raises(ValueError, match=match):
        deepftle.ftle(trunk, x, k=k)


def test_bad_layers_raise():
    trunk = random_trunk(2, 4, 3)
    with pytest.raises(ValueError, match="layers"):
        deepftle.ftle(trunk, torch.zeros(2, 2, dtype=torch.float64), layers=[0, 2])
    with pytest.raises(ValueError, match="layers"):
        deepftle.ftle(trunk, torch.zeros(2, 2, dtype=torch.float64), layers=[4])


def test_dropout_in_eval_mode_is_accepted():
    trunk = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Tanh()).double().eval()
    x = torch.rand(3, 2, dtype=torch.float64)
    ref = deepftle.ftle(nn.Sequential(trunk[0], trunk[2]), x)
    assert torch.equal(deepftle.ftle(trunk, x), ref)
