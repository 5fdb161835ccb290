r"""Fully connected networks in the paper's conventions.

Hidden layers :math:`x^{(\ell)} = g(W^{(\ell)} x^{(\ell-1)} - \theta^{(\ell)})`,
:math:`\ell = 1..L`, width ``N``; the thresholds are stored as ``nn.Linear`` biases,
``bias = -theta``. The hidden stack ``MLP.trunk`` is a plain ``nn.Sequential`` (Linear,
activation, ...), the input of :func:`deepftle.ftle`. The head is one tanh unit (targets ±1)
or a linear layer of logits read through softmax. Initialisation: :mod:`deepftle.nets.init`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..activations import ACTIVATIONS

__all__ = ["MLP", "OUTPUTS"]

OUTPUTS = ("tanh", "softmax")


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units and a head of ``d_out`` units.

    ``output="tanh"``: O = tanh(w·x^(L) - θ) (one unit for targets ±1);
    ``output="softmax"``: ``forward`` returns logits, read through softmax by the loss.
    """

    def __init__(
        self,
        d_in: int,
        width: int,
        depth: int,
        d_out: int = 1,
        activation: str = "tanh",
        output: str = "tanh",
    ):
        super().__init__()
        for name, value in (("d_in", d_in), ("width", width), ("depth", depth), ("d_out", d_out)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.arch = dict(
            d_in=d_in, width=width, depth=depth, d_out=d_out, activation=activation, output=output
        )
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(d_in if i == 0 else width, width), ACTIVATIONS[activation]()]
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.trunk(x))
        return torch.tanh(out) if self.arch["output"] == "tanh" else out

    def hidden_linears(self) -> list[nn.Linear]:
        return [m for m in self.trunk if isinstance(m, nn.Linear)]

    def as_sequential(self) -> nn.Sequential:
        """The same map as one ``nn.Sequential`` of this net's modules (trunk, head, and the
        tanh of a tanh output): how :func:`deepftle.ftle` reads the whole net."""
        parts = list(self.trunk) + [self.head]
        if self.arch["output"] == "tanh":
            parts.append(nn.Tanh())
        return nn.Sequential(*parts)
