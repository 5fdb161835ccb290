"""Models whose output does not depend differentiably on the input get a
ValueError naming the problem (not -inf everywhere, not a raw RuntimeError, and not the wrong
number that forward mode gives under ``torch.no_grad``)."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch
from torch import nn

import deepftle


class Detached(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        return self.lin(x.detach())


class NoGrad(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x):
        with torch.no_grad():
            return self.lin(x)


class ArgMax(nn.Module):
    def forward(self, x):
        return x.argmax(dim=1, keepdim=True)


class ThroughNumpy(nn.Module):
    def forward(self, x):
        return torch.as_tensor(x.numpy() * 2.0)


class DetachedBranch(nn.Module):
    """Only one named module is cut off: the error names it."""

    def __init__(self):
        super().__init__()
        self.good = nn.Linear(4, 4)
        self.cut = nn.Linear(4, 3)

    def forward(self, x):
        h = torch.tanh(self.good(x))
        return self.cut(h.detach()) + 0 * h[:, :3]


CASES = {
    "detached": (Detached, "autograd finds no path"),
    "no_grad": (NoGrad, "autograd finds no path"),
    "argmax": (ArgMax, "torch.int64 tensor"),
    "numpy": (ThroughNumpy, "fails when the input requires grad"),
}


@pytest.mark.parametrize("method", ["generic", "forward", "reverse", "lanczos"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_not_differentiable_is_a_value_error(case, method):
    make, why = CASES[case]
    x = torch.randn(6, 4)
    with pytest.raises(ValueError, match="does not depend differentiably on the input") as err:
        deepftle.ftle(make(), x, depth=1, method=method)
    assert why in str(err.value)


def test_the_error_names_the_layer():
    net = DetachedBranch()
    x = torch.randn(5, 4)
    lam = deepftle.ftle(net, x, layers=["good"])  # the good branch still works
    assert torch.isfinite(lam).all()
    with pytest.raises(ValueError, match=r"output at 'cut' does not depend differentiably"):
        deepftle.ftle(net, x, layers=["cut"])


def test_functorch_refusal_is_a_value_error():
    class NumpyThreshold(nn.Module):  # autograd accepts it; torch.func's wrapped tensors not
        def forward(self, x):
            scale = float(x.detach().numpy().shape[1])  # per point: no batch coupling
            return torch.tanh(x / scale)

    x = torch.rand(4, 3) + 1
    with pytest.raises(ValueError, match="could not be differentiated with torch.func"):
        deepftle.ftle(NumpyThreshold(), x, depth=1, method="forward")


def test_a_zero_but_connected_jacobian_is_minus_inf_not_an_error():
    """A connected but locally constant map (a dead ReLU layer) is a legitimate -inf."""
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Flatten())
    with torch.no_grad():
        net[0].bias.fill_(-100.0)
    lam = deepftle.ftle(net, torch.rand(5, 3), method="generic")
    assert torch.isneginf(lam).all()


# --- the engine on networks users really have: subclasses, widths, transforms, errors ------


def _jacobian_exponents(fn, x64, L):
    """log sigma / L from each point's float64 Jacobian (autograd, one point at a time)."""
    J = torch.stack(
        [torch.autograd.functional.jacobian(lambda z: fn(z[None]).reshape(-1), z) for z in x64]
    )
    return torch.log(torch.linalg.svdvals(J.reshape(x64.shape[0], -1, x64[0].numel()))) / L


class Tanh2(nn.Tanh):
    def forward(self, x):
        return torch.tanh(2 * x)


class Linear2(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class QuietTanh(nn.Tanh):
    """A subclass that keeps tanh's forward: still read as tanh."""


def _patched_forward():
    act = nn.Tanh()
    act.forward = lambda x: torch.tanh(3 * x)  # replaced on the instance
    return act


@pytest.mark.parametrize(
    "net",
    [
        lambda: nn.Sequential(nn.Linear(6, 16), Tanh2(), nn.Linear(16, 4)),
        lambda: nn.Sequential(Linear2(6, 16), nn.Tanh(), nn.Linear(16, 4)),
        lambda: nn.Sequential(nn.Linear(6, 16), _patched_forward(), nn.Linear(16, 4)),
        lambda: nn.Sequential(nn.Linear(6, 16), QuietTanh(), nn.Linear(16, 4)),
        lambda: nn.Sequential(nn.Conv1d(1, 4, 3), Tanh2(), nn.Flatten(), nn.Linear(16, 12)),
    ],
)
@pytest.mark.parametrize("method", ["auto", "generic", "lanczos"])
def test_subclasses_are_read_by_what_they_compute(net, method):
    torch.manual_seed(0)
    model = net().double().eval()
    shape = (1, 6) if isinstance(model[0], nn.Conv1d) else (6,)
    x = torch.randn(3, *shape, dtype=torch.float64)
    ref = _jacobian_exponents(model, x, 2)
    lam = deepftle.ftle(model, x, k=2, method=method)
    assert (lam - ref[:, :2]).abs().max() <= 1e-10


@pytest.mark.parametrize("widths", [(784, 128, 10), (30, 40, 5, 20), (8, 3, 8)])
@pytest.mark.parametrize("k", [2, 3])
def test_fused_path_with_a_layer_narrower_than_the_frame(widths, k):
    layers = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.Tanh()]
    torch.manual_seed(0)
    net = nn.Sequential(*layers).double().eval()
    x = torch.randn(4, widths[0], dtype=torch.float64)
    L = len(widths) - 1
    ref = _jacobian_exponents(net, x, L)
    lam, v = deepftle.ftle(net, x, k=k, return_directions=True)
    assert lam.shape == (4, k) and v.shape == (4, widths[0], k)
    assert (lam - ref[:, :k]).abs().max() <= 1e-10
    lam_l = deepftle.ftle(net, x, k=k, layers=list(range(1, L + 1)))
    assert (lam_l[-1] - lam).abs().max() <= 1e-12


class LSTMHead(nn.Module):
    """An LSTM over 3 steps of 2 features, all hidden states out (d_out > d_in: forward mode
    would be chosen, and CPU LSTM kernels have no forward-mode rule)."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(2, 8, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


def test_auto_retries_reverse_mode_when_forward_mode_is_unsupported():
    torch.manual_seed(0)
    model = LSTMHead().eval()
    x = torch.randn(3, 3, 2)
    ref = _jacobian_exponents(copy.deepcopy(model).double(), x.double(), 1)
    lam = deepftle.ftle(model, x, k=2, depth=1)  # auto: forward mode first
    assert (lam.double() - ref[:, :2]).abs().max() <= 1e-4
    with pytest.raises(ValueError, match="could not be differentiated.*'forward'"):
        deepftle.ftle(model, x, depth=1, method="forward")


def test_a_drifting_operator_fails_the_certificate(monkeypatch):
    """Products right on the first call only (what linearize gave for in-place activations):
    the Lanczos answer fails the residual check with fresh products, is computed exactly, and
    a warning says so."""
    from deepftle.ftle import _generic as generic

    gram = generic._TorchFuncProducts.gram

    def drifting(self, blocks, ids, *, output_side):
        self.calls = getattr(self, "calls", 0) + 1
        out = gram(self, blocks, ids, output_side=output_side)
        return out if self.calls == 1 else 1.5 * out

    monkeypatch.setattr(generic._TorchFuncProducts, "gram", drifting)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 30), nn.Tanh(), nn.Linear(30, 30)).double().eval()
    x = torch.randn(3, 30, dtype=torch.float64)
    ref = _jacobian_exponents(net, x, 2)
    with pytest.warns(RuntimeWarning, match="failed the independent residual check"):
        lam = deepftle.ftle(lambda z: net(z), x, depth=2, method="lanczos")
    assert (lam[:, 0] - ref[:, 0]).abs().max() <= 1e-10


def test_reverse_mode_in_cotangent_chunks_gives_the_same_jacobian(monkeypatch):
    from deepftle.ftle import _generic as generic

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 12)).double().eval()
    x = torch.randn(5, 20, dtype=torch.float64)
    whole = deepftle.ftle(lambda z: net(z), x, k=3, depth=2, method="reverse")
    assert generic._cotangent_chunk(5, 20, 12, 8) is None
    monkeypatch.setattr(generic, "_JACOBIAN_BYTES", 5 * 20 * 8 * 4)  # 4 cotangents a call
    assert generic._cotangent_chunk(5, 20, 12, 8) == 4
    chunked = deepftle.ftle(lambda z: net(z), x, k=3, depth=2, method="reverse")
    assert (whole - chunked).abs().max() <= 1e-12


def test_out_of_memory_is_a_value_error_that_says_how_much(monkeypatch):
    from deepftle.ftle import _generic as generic

    def refuse(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:118] . DefaultCPUAllocator: can't "
            "allocate memory: you tried to allocate 3355443200 bytes."
        )

    monkeypatch.setattr(generic, "generic_ftle", refuse)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 1000))
    with pytest.raises(
        ValueError,
        match=r"out of memory.*3200 MiB.*batch_size=.*"
        r"method='lanczos'",
    ):
        deepftle.ftle(net, torch.randn(2, 3, 32, 32), method="reverse")


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 5, batch_first=True)
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(self.rnn(x)[0][:, -1])


@pytest.mark.parametrize(
    "model, x, kwargs, match",
    [
        (
            nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 3), nn.Softmax(1)).to("meta"),
            torch.randn(2, 4),
            {},
            "meta device",
        ),
        (
            nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 3)),
            torch.randint(0, 10, (2, 3)),
            {},
            "indices into '0' \\(Embedding\\).*embedded input",
        ),
        (
            Pair(),
            torch.randn(2, 3, 4),
            dict(layers="rnn", depth=1),
            "module 'rnn' must return a tensor .*got a tuple",
        ),
        (lambda z: (z, z), torch.randn(2, 3), dict(depth=1), "must return a tensor .*got a tuple"),
        (nn.Sequential(nn.Linear(2, 3)), [torch.randn(2), torch.randn(2)], {}, "torch.stack"),
        (nn.Sequential(nn.Linear(2, 3)), "abc", {}, "x must be a tensor or array"),
        (nn.Sequential(nn.Linear(2, 3)), torch.zeros(0, 2), {}, "x holds no points"),
        (
            nn.Sequential(nn.Linear(2, 3)),
            torch.zeros(0, 2),
            dict(method="generic"),
            "x holds no points",
        ),
    ],
)
def test_clear_value_errors(model, x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        deepftle.ftle(model, x, **kwargs)


def test_integer_points_without_an_embedding_are_converted():
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh()).double()
    xi = torch.tensor([[1, 2], [0, -1]])
    assert torch.equal(deepftle.ftle(net, xi), deepftle.ftle(net, xi.double()))
    assert torch.equal(
        deepftle.ftle(net, xi, method="generic"), deepftle.ftle(net, xi.double(), method="generic")
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_structurally_zero_singular_value_is_minus_inf(dtype):
    """A softmax output: 1^T J = 0, rank d_out - 1; with k = d_out the last is -inf, the
    others agree with the float64 reference."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4), nn.Softmax(dim=1)).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    ref = _jacobian_exponents(net, x, 2)
    for method in ("auto", "reverse", "forward"):
        lam = deepftle.ftle(net.to(dtype), x.to(dtype), k=4, method=method)
        assert torch.isneginf(lam[:, 3]).all(), (method, lam)
        tol = 1e-10 if dtype == torch.float64 else 1e-4
        assert (lam[:, :3].double() - ref[:, :3]).abs().max() <= tol
