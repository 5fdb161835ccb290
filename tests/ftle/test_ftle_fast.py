"""The engine's fast paths against their slow exact counterparts."""

import math

import pytest
import torch
from test_ftle import random_trunk
from torch import nn

import deepftle
from deepftle.ftle import _kernels as kernels
from deepftle.ftle import _sequential as sequential
from deepftle.ftle._sequential import _Request, _Results


def frames(P, r, n, dtype, seed=0, gap=None):
    """Random frames t (P, r, n); with gap, sigma_2 / sigma_1 = gap exactly."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.randn(P, r, n, generator=gen, dtype=torch.float64)
    if gap is not None:
        u, s, vh = torch.linalg.svd(t, full_matrices=False)
        s = torch.ones_like(s) * torch.logspace(0, -3, s.shape[1], dtype=torch.float64)
        s[:, 1] = gap
        t = u @ torch.diag_embed(s) @ vh
    return t.to(dtype)


def exact_top(t):
    td = t.double()
    return torch.linalg.eigvalsh(td @ td.transpose(1, 2))[:, -1]


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("gap", [None, 0.5, 0.99, 1 - 1e-9, 1.0])
def test_power_iteration_matches_eigvalsh(dtype, tol, gap):
    t = frames(300, 20, 20, dtype, gap=gap)
    t[:5] = 0  # zero frames: sigma_1 = 0 -> -inf, never NaN
    t[5:10, 1:] = 0  # rank one
    got = kernels.top_eig_power(t, 1e-13 if dtype == torch.float64 else 1e-7)
    ref = exact_top(t)
    assert (got[:5] == 0).all()
    rel = ((got[5:] - ref[5:]) / ref[5:]).abs()
    assert rel.max() <= tol, rel.max()


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-13), (torch.float32, 1e-6)])
def test_closed_form_2x2_matches_eigh(dtype, tol):
    t = frames(400, 2, 7, dtype)
    t[:3] = 0
    t[3:6, 1] = t[3:6, 0]  # sigma_2 = 0
    t[6:9, 1] = 0
    t[9:12] = torch.eye(2, 7, dtype=dtype)  # sigma_1 = sigma_2: any unit vector is right
    lam, v, trace = kernels.top_eig2(t, want_vector=True)
    td = t.double()
    evals, evecs = torch.linalg.eigh(td @ td.transpose(1, 2))
    assert ((lam - evals[:, -1]).abs() <= tol * evals[:, -1].clamp_min(1e-300)).all()
    assert torch.allclose(trace, td.square().sum((1, 2)), rtol=tol, atol=0)
    assert torch.isfinite(v).all() and torch.allclose(v.norm(dim=1), torch.ones(400, dtype=v.dtype))
    resolved = (evals[:, 1] - evals[:, 0]) > 1e-3 * evals[:, 1]
    cos = (v * evecs[:, :, -1]).sum(1).abs()
    assert cos[resolved].min() >= 1 - 10 * tol


def test_qr2_matches_lapack_r():
    t = frames(200, 2, 9, torch.float64)
    t[:2] = 0
    t[2:4, 1] = 3 * t[2:4, 0]
    q, rr = kernels.qr2(t)
    assert torch.allclose(rr.transpose(1, 2) @ q, t, atol=1e-13)  # t = R^T q row-wise
    _, r_ref = torch.linalg.qr(t.transpose(1, 2))
    assert torch.allclose(torch.linalg.svdvals(rr), torch.linalg.svdvals(r_ref), atol=1e-13)
    gram = q[4:] @ q[4:].transpose(1, 2)
    assert torch.allclose(gram, torch.eye(2, dtype=torch.float64).expand_as(gram), atol=1e-13)


def tanh_trunk(d, n, depth, scale, bias, dtype, seed=0):
    return random_trunk(d, n, depth, "tanh", seed=seed, scale=scale, bias=bias).to(dtype)


@pytest.mark.parametrize(
    "d,n,depth,scale,bias",
    [
        (2, 50, 128, 1.2, 0.3),  # blocks of several layers, no fallback
        (2, 10, 60, 0.3, 4.0),  # strongly contracting and saturated: float32 underflow fallback
        (784, 20, 16, 1.2, 0.3),  # MNIST shape: r = 20, power iteration
    ],
)
def test_block_renormalisation_equals_every_layer(d, n, depth, scale, bias):
    x = torch.rand(300, d, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2 - 1
    for dtype, tol in ((torch.float64, 1e-11), (torch.float32, 2e-5)):
        trunk = tanh_trunk(d, n, depth, scale, bias, dtype)
        fast = deepftle.ftle(trunk, x.to(dtype))
        saved = sequential._block_bounds
        sequential._block_bounds = lambda steps, dt: None  # renormalise after every layer
        try:
            slow = deepftle.ftle(trunk, x.to(dtype))
        finally:
            sequential._block_bounds = saved
        assert not torch.isnan(fast).any()
        assert torch.equal(torch.isfinite(fast), torch.isfinite(slow))
        fin = torch.isfinite(slow)
        assert (fast - slow)[fin].abs().max() <= tol, dtype


def test_block_bounds_and_fallback_flags():
    trunk = tanh_trunk(2, 10, 60, 0.3, 4.0, torch.float32)
    steps = sequential.parse_trunk(trunk)
    floor, log_ceiling, first, log_gamma = sequential._block_bounds(steps, torch.float32)
    assert len(log_gamma) == 59 and first == 0.0 and log_ceiling == pytest.approx(math.log(1e10))
    x = torch.rand(50, 2) * 2 - 1
    q1, r1 = torch.linalg.qr(steps[0].weight.T)
    lam = torch.empty(1, 50, 1)
    work = sequential._Workspace(50, 2, 10, torch.float32, torch.device("cpu"))
    request = _Request([60], 1, False, kernels.unit_start(r1), q1)
    bad = sequential._propagate(
        steps, x, request, _Results(lam, None), sequential._block_bounds(steps, torch.float32), work
    )
    assert bad.any()  # the saturated contracting net underflows inside blocks: redone exactly
    # unknown sup|g'| (generic activation): every layer
    assert (
        sequential._block_bounds(
            sequential.parse_trunk(nn.Sequential(nn.Linear(2, 3), nn.Softplus(), nn.Linear(3, 3))),
            torch.float32,
        )
        is None
    )


@pytest.mark.parametrize("depth", [32, 128])
def test_typical_deep_net_needs_no_fallback(depth):
    """A mildly chaotic deep tanh net stays in block mode: no point is recomputed layer by layer
    (a systematic shrink of the frame, e.g. a constant factor left out of g', flags them all)."""
    trunk = tanh_trunk(2, 50, depth, 1.2, 0.3, torch.float32)
    steps = sequential.parse_trunk(trunk)
    x = torch.rand(200, 2, generator=torch.Generator().manual_seed(4)) * 2 - 1
    q1, r1 = torch.linalg.qr(steps[0].weight.T)
    lam = torch.empty(1, 200, 1)
    work = sequential._Workspace(200, 2, 50, torch.float32, torch.device("cpu"))
    request = _Request([depth], 1, False, kernels.unit_start(r1), q1)
    bad = sequential._propagate(
        steps, x, request, _Results(lam, None), sequential._block_bounds(steps, torch.float32), work
    )
    assert not bad.any()
    assert torch.isfinite(lam).all()
