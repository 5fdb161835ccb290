"""A user's network, defined outside the deepftle package: the analysis imports
``make_net`` from this file (``model: {builder: "nets.py:make_net"}``)."""

from torch import nn


def make_net(width: int = 32, depth: int = 3, classes: int = 3) -> nn.Module:
    """Inputs of shape (2, 8), flattened, ``depth`` tanh layers of ``width`` units, logits."""
    layers, d_in = [nn.Flatten()], 16
    for _ in range(depth):
        layers += [nn.Linear(d_in, width), nn.Tanh()]
        d_in = width
    return nn.Sequential(*layers, nn.Linear(d_in, classes))
