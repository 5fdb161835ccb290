r"""Network architectures beyond the fully connected :class:`deepftle.MLP`, for the MNIST
analysis of other architectures (Fig. S2): a small convolutional net and a residual MLP.

Both share the MLP's interface: ``arch`` (a dict of plain values, stored in checkpoints),
``trunk`` (input -> last hidden layer, the map whose FTLEs are computed) and ``head`` (logits,
read through softmax by the loss), with inputs of shape ``(P, 784)`` (standardised pixels).

- ``cnn`` (:class:`SmallCNN`): the 784 pixels as a 1 x 28 x 28 image, two convolutions of
  ``channels[i]`` filters of size ``kernel`` with ``stride`` (no padding), each followed by the
  activation ``g``, then one dense layer of ``hidden`` units with ``g``. ``L = 3`` weight layers.
- ``resmlp`` (:class:`ResMLP`): ``x^(0) = g(W^(0) x - θ^(0))`` to ``width`` units, then
  ``depth`` residual blocks ``x^(l) = x^(l-1) + g(W^(l) x^(l-1) - θ^(l))``. ``L = depth + 1``.

``L`` (``model.ftle_depth``) is the number of weight layers a point passes, as
:func:`deepftle.ftle` counts them, so :math:`\lambda_i = L^{-1}\log\sigma_i(J)` of the trunk.
Initialisation (:func:`init_net`): every weight :math:`N(0, 1/\text{fan-in})` (a convolution's
fan-in is ``c_in * kernel**2``), thresholds zero, drawn from one generator.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..activations import ACTIVATIONS
from .init import init_mlp
from .mlp import MLP

__all__ = ["SmallCNN", "ResidualBlock", "ResMLP", "KINDS", "build_net", "init_net", "describe"]

KINDS = ("mlp", "cnn", "resmlp")
IMAGE = (1, 28, 28)


def _positive_ints(**values):
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


class SmallCNN(nn.Module):
    """Two convolutions and one dense hidden layer on images of shape ``image`` (channels,
    height, width; default 1 x 28 x 28), given as flattened inputs."""

    def __init__(
        self,
        channels=(8, 16),
        kernel: int = 5,
        stride: int = 2,
        hidden: int = 32,
        activation: str = "tanh",
        d_out: int = 10,
        image=IMAGE,
    ):
        super().__init__()
        channels = list(channels)
        if len(channels) != 2:
            raise ValueError(
                f"channels must list the filters of the two convolutions, got {channels!r}"
            )
        _positive_ints(
            channels_1=channels[0],
            channels_2=channels[1],
            kernel=kernel,
            stride=stride,
            hidden=hidden,
            d_out=d_out,
        )
        image = tuple(int(v) for v in image)
        if len(image) != 3:
            raise ValueError(f"image must be (channels, height, width), got {image!r}")
        _positive_ints(image_channels=image[0], image_height=image[1], image_width=image[2])
        g = _activation(activation)
        h, w = image[1], image[2]
        for _ in channels:
            h, w = (h - kernel) // stride + 1, (w - kernel) // stride + 1
            if min(h, w) < 1:
                raise ValueError(
                    f"kernel {kernel} with stride {stride} leaves no pixels after "
                    f"two convolutions of a {image[1]} x {image[2]} image"
                )
        self.arch = dict(
            kind="cnn",
            channels=channels,
            kernel=kernel,
            stride=stride,
            hidden=hidden,
            activation=activation,
            d_out=d_out,
        )
        if image != IMAGE:  # the MNIST image stays implicit: its checkpoints name no image
            self.arch["image"] = list(image)
        self.trunk = nn.Sequential(
            nn.Unflatten(1, image),
            nn.Conv2d(image[0], channels[0], kernel, stride=stride),
            g(),
            nn.Conv2d(channels[0], channels[1], kernel, stride=stride),
            g(),
            nn.Flatten(),
            nn.Linear(channels[1] * h * w, hidden),
            g(),
        )
        self.head = nn.Linear(hidden, d_out)
        self.ftle_depth = 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class ResidualBlock(nn.Module):
    """``x + g(W x - θ)`` at constant width."""

    def __init__(self, width: int, activation: str = "tanh"):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.g = _activation(activation)()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.g(self.linear(x))


class ResMLP(nn.Module):
    """An input layer to ``width`` units and ``depth`` residual blocks (flattened inputs)."""

    def __init__(
        self,
        width: int = 20,
        depth: int = 16,
        activation: str = "tanh",
        d_in: int = 784,
        d_out: int = 10,
    ):
        super().__init__()
        _positive_ints(width=width, depth=depth, d_in=d_in, d_out=d_out)
        g = _activation(activation)
        self.arch = dict(
            kind="resmlp", width=width, depth=depth, activation=activation, d_in=d_in, d_out=d_out
        )
        self.trunk = nn.Sequential(
            nn.Linear(d_in, width), g(), *[ResidualBlock(width, activation) for _ in range(depth)]
        )
        self.head = nn.Linear(width, d_out)
        self.ftle_depth = depth + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


def build_net(arch: dict) -> nn.Module:
    """The (untrained) net of an architecture dict: ``kind`` cnn / resmlp with its keys, or an
    MLP's dict (``kind`` mlp or absent: :class:`deepftle.MLP`)."""
    arch = dict(arch)
    kind = arch.pop("kind", "mlp")
    if kind == "cnn":
        return SmallCNN(**arch)
    if kind == "resmlp":
        return ResMLP(**arch)
    if kind == "mlp":
        return MLP(**arch)
    raise ValueError(f"unknown architecture kind {kind!r}; one of {KINDS}")


def init_net(model: nn.Module, generator: torch.Generator) -> None:
    """Draw the weights in place: an MLP by :func:`deepftle.init_mlp`; otherwise every weight
    ``N(0, 1/fan-in)`` and every threshold 0, in module order from ``generator``."""
    if isinstance(model, MLP):
        init_mlp(model, generator)
        return
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) / math.sqrt(fan_in))
                m.bias.zero_()


def describe(arch: dict) -> str:
    """One line naming the architecture in the paper's terms (figure titles, logs)."""
    kind = arch.get("kind", "mlp")
    g = arch.get("activation", "tanh")
    if kind == "cnn":
        c1, c2 = arch["channels"]
        k, s = arch["kernel"], arch["stride"]
        return (
            f"{g} CNN: conv {c1}@{k}x{k}/{s}, conv {c2}@{k}x{k}/{s}, dense {arch['hidden']} (L = 3)"
        )
    if kind == "resmlp":
        return (
            f"residual {g} MLP: N = {arch['width']}, {arch['depth']} blocks x + {g}(Wx - θ) "
            f"(L = {arch['depth'] + 1})"
        )
    return f"{g} MLP: N = {arch['width']}, L = {arch['depth']}"
