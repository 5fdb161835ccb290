r"""The data of the circle problem (Figures 1-3).

Inputs :math:`x` uniform on :math:`[-1, 1]^2`; target :math:`t = -1` inside the circle of radius
:math:`r_0 = \sqrt{2/\pi}` (it holds half the square's area, so the classes are balanced) and
:math:`t = +1` outside.
"""

from __future__ import annotations

import math

import torch

__all__ = ["R0", "circle_targets", "circle_data"]

#: radius of the circle that splits [-1, 1]^2 into two halves of equal area
R0 = math.sqrt(2 / math.pi)


def circle_targets(x: torch.Tensor, radius: float = R0) -> torch.Tensor:
    """t = -1 inside the circle of ``radius`` around the origin, +1 outside (float, shape (P,))."""
    return torch.where(x.norm(dim=1) < radius, -1.0, 1.0).to(x.dtype)


def circle_data(
    n_train: int, n_test: int, seed: int, radius: float = R0, dtype=torch.float32
) -> dict[str, torch.Tensor]:
    """Train and test sets drawn from one seeded generator (bitwise repeatable).

    Returns ``{"x_train": (n_train, 2), "t_train": (n_train,), "x_test", "t_test"}``.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"need n_train >= 1 and n_test >= 1, got {n_train}, {n_test}")
    gen = torch.Generator().manual_seed(int(seed))
    x = (torch.rand(n_train + n_test, 2, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    t = circle_targets(x, radius)
    return {
        "x_train": x[:n_train],
        "t_train": t[:n_train],
        "x_test": x[n_train:],
        "t_test": t[n_train:],
    }
