"""Elementwise activations by name: the ``ACTIVATIONS`` table that networks are built from
(``tanh``, ``relu``, ``erf``, ``softplus``), and :class:`Erf`, the one that torch lacks as a
module. A leaf: it imports nothing of the package, so the engine (:mod:`deepftle.ftle`) can
recognise :class:`Erf` without importing the networks."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Erf", "ACTIVATIONS"]


class Erf(nn.Module):
    """The error function as an elementwise activation, g(b) = erf(b)."""

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        return torch.erf(b)


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "erf": Erf, "softplus": nn.Softplus}
