"""Issue 14, item 6: models whose output does not depend differentiably on the input get a
ValueError naming the problem (not -inf everywhere, not a raw RuntimeError, and not the wrong
number that forward mode gives under ``torch.no_grad``)."""

from __future__ import annotations

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
            scale = float(abs(x.detach().numpy()).max())
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
