r"""The two-dimensional map of Fig. 4(a): a bottleneck layer of two neurons added to the fully
trained net just before its softmax layer.

The new net is ``trunk -> Linear(N, 2) -> g -> Linear(2, classes) -> softmax``: the trained
hidden stack (a frozen copy, unchanged bit for bit), the bottleneck layer (local fields
:math:`b = W_b x^{(L)} - \theta_b`, activation ``g`` = the net's own, tanh) and a new output
layer. Only the bottleneck and output layers are trained (Adam, cross-entropy). The map
coordinates are the local fields :math:`(b_1, b_2)`, not ``g(b)``; they depend linearly on
the last hidden layer, so the map moves continuously with the input.
"""

from __future__ import annotations

import copy
import sys

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..activations import ACTIVATIONS
from ..nets.mlp import MLP
from ..pipeline.files import atomic_path

__all__ = [
    "BottleneckNet",
    "fit_bottleneck",
    "fit_bottleneck_map",
    "local_fields",
    "save_bottleneck",
    "load_bottleneck",
]


class BottleneckNet(nn.Module):
    """``trunk`` (frozen) -> ``bottleneck`` Linear(N, 2) -> ``activation`` -> ``output``."""

    def __init__(
        self, trunk: nn.Sequential, width: int, classes: int = 10, activation: str = "tanh"
    ):
        super().__init__()
        self.trunk = trunk
        for p in self.trunk.parameters():
            p.requires_grad_(False)
        self.bottleneck = nn.Linear(width, 2)
        self.activation = ACTIVATIONS[activation]()
        self.output = nn.Linear(2, classes)
        self.arch = dict(width=width, classes=classes, activation=activation)

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits from the last hidden layer x^(L)."""
        return self.output(self.activation(self.bottleneck(hidden)))

    def local_fields(self, x: torch.Tensor) -> torch.Tensor:
        """(b1, b2) of the inputs ``x`` (network inputs, standardised pixels)."""
        return self.bottleneck(self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


@torch.no_grad()
def _hidden(trunk, x, batch=8192):
    return torch.cat([trunk(x[s : s + batch]) for s in range(0, len(x), batch)])


def fit_bottleneck(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = True,
):
    """Add the bottleneck to a trained :class:`deepftle.MLP` ``model`` and train it with the
    new output layer on ``(x, y)`` (network inputs and labels, on the model's device).

    The trunk is a deep copy with frozen parameters; its last hidden layer is computed once
    (it does not change), so an epoch costs only the two small layers. Returns
    ``(BottleneckNet in eval mode, history)``; history has one row per epoch (loss, accuracy).
    """
    from tqdm.auto import tqdm

    if epochs < 1:
        raise ValueError(f"bottleneck epochs must be >= 1, got {epochs}")
    device = x.device
    trunk = copy.deepcopy(model.trunk).eval()
    arch = model.arch
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    net = BottleneckNet(trunk, arch["width"], arch["d_out"], arch["activation"]).to(device)
    hidden = _hidden(net.trunk, x)
    params = list(net.bottleneck.parameters()) + list(net.output.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    rows = []
    for epoch in tqdm(
        range(1, epochs + 1),
        desc="bottleneck epochs",
        file=sys.stderr,
        disable=not progress,
        mininterval=2.0,
    ):
        perm = torch.randperm(len(x), generator=gen).to(device)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = perm[start : start + batch_size]
            loss = nn.functional.cross_entropy(net.head(hidden[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        with torch.no_grad():
            acc = float((net.head(hidden).argmax(1) == y).double().mean())
        rows.append(dict(epoch=epoch, loss=total / len(x), train_accuracy=acc))
    net.eval()
    print(
        f"bottleneck: train accuracy {rows[-1]['train_accuracy']:.4f} after {epochs} epochs",
        flush=True,
    )
    return net, pd.DataFrame(rows)


@torch.no_grad()
def local_fields(net: BottleneckNet, x: torch.Tensor, batch: int = 8192) -> np.ndarray:
    """Bottleneck local fields ``(n, 2)`` (float64) of network inputs ``x``."""
    out = [net.local_fields(x[s : s + batch]).double().cpu() for s in range(0, len(x), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, 2))


def save_bottleneck(path, net: BottleneckNet, trunk_arch: dict, provenance: dict | None = None):
    """Write the bottleneck net (``state_dict`` + the trunk's and its own architecture)."""
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "architecture": dict(trunk_arch),
        "bottleneck": dict(net.arch),
        "provenance": {k: str(v) for k, v in (provenance or {}).items()},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_bottleneck(path, device="cpu") -> BottleneckNet:
    """Rebuild a :class:`BottleneckNet` written by :func:`save_bottleneck` (eval, frozen)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if "bottleneck" not in payload:
        raise ValueError(f"{path}: not a bottleneck checkpoint")
    trunk = MLP(**payload["architecture"]).trunk
    net = BottleneckNet(trunk, **payload["bottleneck"])
    net.load_state_dict(payload["state_dict"])
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device).eval()


def fit_bottleneck_map(data, model, settings, device):
    """Fit the bottleneck to ``model`` on the training inputs of ``data``; returns the
    bottleneck net, the training inputs, and the local fields of the test images with the
    bottleneck net's accuracies."""
    x, y = data.inputs("train", device), data.labels("train", device)
    net, history = fit_bottleneck(
        model,
        x,
        y,
        epochs=settings.epochs,
        lr=settings.lr,
        batch_size=settings.batch_size,
        seed=settings.seed,
    )
    xt = data.inputs("test", device)
    with torch.no_grad():
        test_acc = float((net(xt).argmax(1).cpu().numpy() == data.y_test).mean())
    print(f"bottleneck net: test accuracy {test_acc:.4f}", flush=True)
    return (
        net,
        x,
        dict(
            test_coords=local_fields(net, xt),
            test_label=data.y_test,
            train_accuracy=np.array(history["train_accuracy"].iloc[-1]),
            test_accuracy=np.array(test_acc),
        ),
    )
