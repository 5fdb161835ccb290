"""The Lanczos path's chain products and warm start keep its answers.

- :mod:`deepftle.ftle._chain`: J v and J^T u of Sequentials of affine maps (Linear,
  convolutions 1-3-D with stride, padding, dilation, groups, one input channel, eval-mode
  BatchNorm, Flatten) and activations equal float64 ``jacrev``; modules it cannot take make it
  decline (the generic path then uses torch.func);
- the exponents and directions through chain products equal those through torch.func, and the
  float64 reference;
- the warm start: shared directions exactly orthogonal to a point's top eigenvector still find
  it, in float32 too (the random column of the start), and the pilot chunk's Ritz vectors
  start the others;
- Sequential subclasses with their own forward, and forward hooks, are not read off their
  children (neither by the chain nor by the fused path).
"""

import copy
import math

import pytest
import torch
from helpers.models import reference
from torch import nn
from torch.func import jacrev, vmap

import deepftle
from deepftle.ftle import _generic as generic
from deepftle.ftle import _krylov as krylov
from deepftle.ftle._chain import ChainProducts, parse_chain


def _seeded(build):
    torch.manual_seed(0)
    return build().double().eval()


CHAINS = {
    "cnn_stride_padding_dilation_groups": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3),
            nn.Tanh(),
            nn.Conv2d(4, 6, 3, stride=2, padding=1),
            nn.Softplus(),
            nn.Conv2d(6, 4, (3, 2), dilation=(1, 2), groups=2),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(4 * 3 * 3, 7),
            nn.Sigmoid(),
        ),
        (1, 12, 12),
    ),
    "one_channel_stride_2": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 3, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 5 * 5, 6)
        ),
        (1, 11, 11),
    ),
    "one_channel_padded": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 3, 3, padding=1, dilation=1),
            nn.GELU(),
            nn.Conv2d(3, 2, 1),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(2 * 9 * 9, 5),
        ),
        (1, 9, 9),
    ),
    "conv1d": (
        lambda: nn.Sequential(
            nn.Conv1d(2, 4, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 4, 5)
        ),
        (2, 10),
    ),
    "conv3d_batchnorm": (
        lambda: nn.Sequential(
            nn.Conv3d(1, 2, 3), nn.BatchNorm3d(2), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 8, 4)
        ),
        (1, 4, 4, 4),
    ),
    "batchnorm2d_relu": (
        lambda: nn.Sequential(
            nn.Conv2d(2, 3, 3),
            nn.BatchNorm2d(3),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Flatten(),
            nn.Identity(),
            nn.Linear(3 * 16, 6),
            nn.Tanh(),
        ),
        (2, 6, 6),
    ),
    "linear_on_sequences": (
        lambda: nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Flatten(), nn.Linear(15, 6), nn.ELU()),
        (3, 4),
    ),
}


def _randomise_batchnorm(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_products_equal_jacrev(name):
    build, in_shape = CHAINS[name]
    model = _randomise_batchnorm(_seeded(build))
    steps = parse_chain(model)
    assert steps is not None
    gen = torch.Generator().manual_seed(1)
    P = 5
    x = torch.randn(P, *in_shape, generator=gen, dtype=torch.float64)
    J = vmap(jacrev(lambda z: model(z[None])[0]))(x).reshape(P, -1, math.prod(in_shape))
    ops = ChainProducts(steps, x)
    ids = torch.arange(1, P)  # a subset of the points, as in the Lanczos active set
    d_out, d_in = J.shape[1:]
    v = torch.randn(P - 1, d_in, 3, generator=gen, dtype=torch.float64)
    u = torch.randn(P - 1, d_out, 3, generator=gen, dtype=torch.float64)
    assert torch.allclose(
        ops.gram(v, ids, output_side=False),
        J[ids].transpose(1, 2) @ (J[ids] @ v),
        rtol=0,
        atol=1e-12,
    )
    assert torch.allclose(
        ops.gram(u, ids, output_side=True),
        J[ids] @ (J[ids].transpose(1, 2) @ u),
        rtol=0,
        atol=1e-12,
    )
    assert torch.allclose(ops.pullback(u, ids), J[ids].transpose(1, 2) @ u, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "module",
    [
        nn.MaxPool2d(2),
        nn.Conv2d(2, 2, 3, padding="same"),
        nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"),
        nn.BatchNorm2d(2).train(),
        nn.Flatten(0),
        nn.LayerNorm([2, 8, 8]),
        nn.Softmax(dim=1),
    ],
    ids=lambda m: (
        type(m).__name__
        + ("_" + str(getattr(m, "padding", "")) if isinstance(m, nn.Conv2d) else "")
    ),
)
def test_chain_declines_other_modules(module):
    """Modules without a fixed linear part or a diagonal Jacobian: torch.func instead."""
    assert parse_chain(nn.Sequential(nn.Conv2d(1, 2, 1), module, nn.Tanh())) is None
    assert parse_chain(nn.Conv2d(1, 2, 1)) is None  # not a Sequential
    assert parse_chain(nn.Sequential(nn.Tanh(), nn.Sigmoid())) is None  # nothing affine


def test_chain_and_torch_func_give_the_same_exponents_and_directions():
    torch.manual_seed(2)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.Tanh(),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 40),
        nn.Tanh(),
    ).eval()
    x = torch.rand(20, 1, 16, 16, generator=torch.Generator().manual_seed(4))
    lam_c, v_c = deepftle.ftle(model, x, k=2, return_directions=True, method="lanczos")
    lam_f, v_f = deepftle.ftle(
        lambda z: model(z), x, k=2, return_directions=True, method="lanczos", depth=3
    )
    model64 = model.double()
    ref, v_ref = reference(model64, x.double(), 3)
    ref = ref[:, :2]
    assert (lam_c.double() - ref).abs().max() <= 1e-4
    assert (lam_f.double() - ref).abs().max() <= 1e-4
    gap = (ref[:, 0] - ref[:, 1]) * 3 > math.log(1.05)
    for v in (v_c, v_f):
        cos = (v[..., 0].flatten(1).double() * v_ref[:, :, 0]).sum(1).abs()
        assert (cos[gap] >= 1 - 1e-3).all(), cos
    lam64 = deepftle.ftle(model64, x.double(), k=2, method="lanczos")
    assert (lam64 - ref).abs().max() <= 1e-10


def test_warm_start_orthogonal_to_the_top_eigenvector_still_finds_it():
    """The shared direction is exactly the second eigenvector of every operator (no component
    along the top one): the random column of the start still reaches the top one."""
    gen = torch.Generator().manual_seed(0)
    n, P = 30, 6
    evals = torch.linspace(0.1, 0.9, n, dtype=torch.float64).repeat(P, 1)
    evals[:, -1] = 1.0
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    ops = q @ torch.diag_embed(evals) @ q.T  # the same eigenvectors for every point
    start = q[:, [-2]]  # eigenvalue 0.9: orthogonal to the top one

    def matvec(blocks, ids):
        return ops[ids] @ blocks

    res = krylov.block_lanczos(
        matvec,
        P,
        n,
        k=1,
        block=2,
        tol=1e-10,
        max_steps=15,
        want_vectors=True,
        dtype=torch.float64,
        device="cpu",
        start=start,
    )
    assert res.certified.all()
    assert (res.eigenvalues[:, 0] - 1.0).abs().max() <= 1e-9
    assert ((res.vectors[:, :, 0] @ q[:, -1]).abs() >= 1 - 1e-8).all()
    with pytest.raises(ValueError, match="start must have shape"):  # no random column left
        krylov.block_lanczos(
            matvec,
            P,
            n,
            k=1,
            block=2,
            tol=1e-10,
            max_steps=5,
            want_vectors=False,
            dtype=torch.float64,
            device="cpu",
            start=q[:, :2],
        )


@pytest.mark.parametrize("top", [1.5, 1.2])
def test_float32_warm_start_does_not_certify_the_second_eigenvalue(top):
    """The hard case in float32 (tolerance 4e-5, like an L = 2 net): the shared direction is
    each operator's second eigenvector, inside a cluster (1.0, 0.999) below the top one.
    Started from the shared directions alone, 5 (top 1.5) and 75 (top 1.2) of 200 operators
    certified the second eigenvalue; with one random column, none does."""
    gen = torch.Generator().manual_seed(0)
    n, P, tol = 128, 200, 4e-5
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    evals = torch.linspace(0.0, 0.5, n, dtype=torch.float64)
    evals[-1], evals[-2], evals[-3] = top, 1.0, 0.999
    ops = (q @ torch.diag(evals) @ q.T).float()
    res = krylov.block_lanczos(
        lambda blocks, ids: ops @ blocks,
        P,
        n,
        k=1,
        block=2,
        tol=tol,
        max_steps=40,
        want_vectors=False,
        dtype=torch.float32,
        device="cpu",
        start=q[:, [-2]],
    )
    wrong = res.certified & (res.eigenvalues[:, 0] < top * (1 - 10 * tol))
    assert res.certified.sum() >= P - 5 and not wrong.any(), int(wrong.sum())


class ScaledSequential(nn.Sequential):
    def forward(self, x):
        return 2 * super().forward(x)


def _with_scaling_hook(model):
    model[0].register_forward_hook(lambda module, args, out: 3 * out)
    return model


@pytest.mark.parametrize("variant", ["subclass", "hook", "nested_hook"])
def test_sequentials_that_are_not_their_childrens_composition(variant):
    """A Sequential subclass with its own forward, or forward hooks, is not the composition of
    its children: neither the chain nor the fused path may read it off them."""
    from deepftle.ftle._sequential import NotFusable, parse_trunk

    torch.manual_seed(1)
    layers = [nn.Conv2d(1, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(144, 20), nn.Tanh()]
    if variant == "subclass":
        model = ScaledSequential(*layers)
    elif variant == "hook":
        model = _with_scaling_hook(nn.Sequential(*layers))
    else:
        model = nn.Sequential(_with_scaling_hook(nn.Sequential(*layers[:2])), *layers[2:])
    model = model.double().eval()
    assert parse_chain(model) is None
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ref = reference(model, x, 2)[0][:, 0]
    lam = deepftle.ftle(model, x, method="lanczos")[:, 0]
    assert (lam - ref).abs().max() <= 1e-10
    mlp = ScaledSequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8)).double()
    with pytest.raises(NotFusable):
        parse_trunk(mlp)
    z = torch.rand(5, 3, dtype=torch.float64)
    ref = reference(mlp, z, 2)[0][:, 0]
    assert (deepftle.ftle(mlp, z)[:, 0] - ref).abs().max() <= 1e-10


def test_shared_start_spans_the_common_directions():
    gen = torch.Generator().manual_seed(1)
    n, P = 20, 40
    common, _ = torch.linalg.qr(torch.randn(n, 2, generator=gen, dtype=torch.float64))
    mix = torch.randn(P, 2, generator=gen, dtype=torch.float64)
    vecs = mix @ common.T + 0.01 * torch.randn(P, n, generator=gen, dtype=torch.float64)
    vecs = (vecs / vecs.norm(dim=1, keepdim=True))[:, :, None]
    shared = krylov.SharedStart(2)
    shared.learn(vecs[:1])  # one vector cannot give two directions: no basis yet
    assert shared.basis is None
    shared.learn(vecs)
    overlap = torch.linalg.svdvals(shared.basis.T @ common)
    assert overlap.min() >= 0.999


def test_pilot_chunk_starts_the_others(monkeypatch):
    """P > 2 x PILOT_POINTS: the first chunk is the pilot, its Ritz vectors start every later
    chunk, and every exponent stays within 1e-4 of the float64 reference; the pilot is never
    larger than a chunk."""
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 8 * 8, 24), nn.Tanh()
    ).eval()
    x = torch.rand(
        2 * generic.PILOT_POINTS + 120, 1, 10, 10, generator=torch.Generator().manual_seed(5)
    )
    calls = []
    lanczos = generic.block_lanczos

    def spy(*args, **kwargs):
        calls.append((args[1], kwargs["start"] is not None))
        return lanczos(*args, **kwargs)

    monkeypatch.setattr(generic, "block_lanczos", spy)
    monkeypatch.setattr(generic, "_default_chunk", lambda *args: 100)
    lam = deepftle.ftle(model, x, method="lanczos")
    assert calls[0] == (generic.PILOT_POINTS, False)
    assert len(calls) >= 3 and all(warm for _, warm in calls[1:])
    assert sum(p for p, _ in calls) == x.shape[0]
    ref = reference(copy.deepcopy(model).double(), x.double(), 2)[0][:, 0]
    assert (lam[:, 0].double() - ref).abs().max() <= 1e-4
    calls.clear()
    monkeypatch.setattr(generic, "_default_chunk", lambda *args: 20)
    deepftle.ftle(model, x, method="lanczos")
    assert calls[0] == (20, False) and max(p for p, _ in calls) == 20
