"""The Lanczos path's speed-ups keep its answers: active set, stopping tolerance, LAPACK threads.

- block Lanczos on known spectra: points that certify leave the working set (``matvec`` sees
  fewer points), and every point's top eigenvalue is still right;
- re-tracing the products on the running points (the active set) gives the same exponents as
  never re-tracing, both within 1e-4 of the float64 jacrev + SVD reference;
- the float32 stopping rule (bound 1e-5 in lambda) on the benchmark's CNN architecture, k = 1,
  against the float64 reference: within 1e-4 (the promise), and the float64 model within 1e-10.
"""

import math

import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

import deepftle
from deepftle.ftle import _generic as generic
from deepftle.ftle import _krylov as krylov
from deepftle.ftle._kernels import lapack_one_thread


def bench_cnn(features=128):
    """bench/ftle.py's CNN case: Conv(1->8, 3) tanh Conv(8->8, 3, stride 2) tanh Linear tanh."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.Tanh(),
        nn.Conv2d(8, 8, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(1152, features),
        nn.Tanh(),
    ).eval()


def reference(model64, x64, depth=3):
    J = vmap(jacrev(lambda z: model64(z[None])[0]))(x64).flatten(2)
    return torch.log(torch.linalg.svdvals(J)) / depth


def test_block_lanczos_active_set_on_known_spectra():
    P, n = 12, 40
    gen = torch.Generator().manual_seed(0)
    # point p: eigenvalues 1, 1 - gap_p, then spread below; larger gaps certify earlier
    gaps = torch.linspace(0.5, 0.02, P, dtype=torch.float64)
    evals = torch.rand(P, n, generator=gen, dtype=torch.float64) * 0.5
    evals[:, 0], evals[:, 1] = 1.0, 1.0 - gaps
    q, _ = torch.linalg.qr(torch.randn(P, n, n, generator=gen, dtype=torch.float64))
    ops = q @ torch.diag_embed(evals) @ q.transpose(1, 2)
    seen = []

    def matvec(blocks, ids):
        seen.append(ids.clone())
        return ops[ids] @ blocks

    res = krylov.block_lanczos(
        matvec,
        P,
        n,
        k=1,
        block=2,
        tol=1e-12,
        max_steps=20,
        want_vectors=True,
        dtype=torch.float64,
        device="cpu",
    )
    assert res.certified.all()
    assert (res.eigenvalues[:, 0] - 1.0).abs().max() <= 1e-11
    v1 = q[:, :, 0]
    assert ((res.vectors[:, :, 0] * v1).sum(1).abs() >= 1 - 1e-10).all()
    # points left the working set as they certified, in ascending order of index
    assert seen[0].numel() == P and seen[-1].numel() < P
    assert all(torch.equal(s, s.sort().values) for s in seen)
    assert len(set(res.certified_at.tolist())) > 1
    for s, step in zip(seen, range(1, len(seen) + 1), strict=True):
        assert torch.equal(s, torch.nonzero(res.certified_at >= step)[:, 0])


def test_active_set_retrace_gives_the_same_exponents(monkeypatch):
    """Models that are not chains (here: the CNN behind a plain function) take torch.func's
    products, traced on the running points."""
    model = bench_cnn(96)
    x = torch.rand(24, 1, 28, 28, generator=torch.Generator().manual_seed(3))

    def fn(z):
        return model(z)

    traced = []
    trace = generic._TorchFuncProducts._trace

    def counting(self, ids):
        traced.append(ids.numel())
        return trace(self, ids)

    monkeypatch.setattr(generic._TorchFuncProducts, "_trace", counting)
    monkeypatch.setattr(generic, "SHRINK_MIN_DROP", 1)  # re-trace whenever half have left
    lam_shrunk, v_shrunk = deepftle.ftle(
        fn, x, k=1, return_directions=True, method="lanczos", depth=3
    )
    assert len(traced) > 2 and traced[0] == 24 and min(traced) < 12, traced
    monkeypatch.setattr(generic, "SHRINK", 0.0)  # never re-trace: zero columns instead
    traced.clear()
    lam_full, v_full = deepftle.ftle(fn, x, k=1, return_directions=True, method="lanczos", depth=3)
    # one trace serves the iteration and v = J^T u / sigma; the certificate's products are
    # taken anew (a second trace, on the certified points: all of them here)
    assert traced == [24, 24]
    assert (lam_shrunk - lam_full).abs().max() <= 1e-6
    cos = (v_shrunk.flatten(1, 3) * v_full.flatten(1, 3)).sum(1).abs()
    ref = reference(model.double(), x.double())
    assert (lam_shrunk[:, 0].double() - ref[:, 0]).abs().max() <= 1e-4
    well_separated = ref[:, 0] - ref[:, 1] > math.log(1.02) / 3
    assert (cos[well_separated] >= 1 - 1e-3).all(), cos


def test_float32_stopping_rule_on_the_bench_cnn():
    """k = 1 on the bench's CNN (near-degenerate top pair sigma_2 / sigma_1 ~ 0.99)."""
    model = bench_cnn()
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert generic._lanczos_tol(3, torch.float32) / (2 * 3) == pytest.approx(1e-5)
    ref = reference(model.double(), x.double())
    assert (ref[:, 1] - ref[:, 0]).exp().max() > 0.97  # the hard case: a close second value
    lam = deepftle.ftle(model, x)  # auto: the Lanczos path (784 inputs, 128 outputs)
    err = (lam[:, 0].double() - ref[:, 0]).abs().max().item()
    assert err <= 1e-4, err
    lam64 = deepftle.ftle(model.double(), x.double())
    assert (lam64[:, 0] - ref[:, 0]).abs().max().item() <= 1e-10


def test_lapack_one_thread_restores_the_thread_count():
    threads = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with lapack_one_thread(torch.device("cpu")):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == threads


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def test_forward_frame_rescaled_past_float32_squares():
    """Stages growing the frame by 1e30 twice (1e60: past float32, and its squares past it
    at once): the k = 1 frame is rescaled by its largest component, lambda matches float64."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 8, bias=False),
        Scale(1e30),
        nn.Tanh(),
        nn.Linear(8, 8),
        Scale(1e30),
        nn.Linear(8, 4),
    ).double()
    x = torch.randn(6, 2, dtype=torch.float64) * 1e-30  # keep the tanh unsaturated
    J = vmap(jacrev(model))(x)
    ref = torch.log(torch.linalg.svdvals(J)[:, 0]) / 3
    assert ref.isfinite().all() and ref.min() > 40 / 3  # sigma_1 > 1e40: no float32 square
    lam64 = deepftle.ftle(model, x, method="forward")[:, 0]
    assert (lam64 - ref).abs().max() <= 1e-10
    lam32 = deepftle.ftle(model.float(), x.float(), method="forward")[:, 0]
    assert lam32.isfinite().all()
    assert (lam32.double() - ref).abs().max() <= 1e-4
