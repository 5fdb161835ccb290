r"""Initialisation of an :class:`deepftle.nets.mlp.MLP` and the mean-field gain.

Weights :math:`N(0, \sigma_w^2)`. By default :math:`N_{in}\sigma_w^2 = 1`; or set
:math:`s = \log(G N \sigma_w^2)` for the hidden layers, with the mean-field gain
:math:`G = \langle g'(b)^2\rangle` at the fixed point :math:`q^*` of the variance map
:math:`q \mapsto N\sigma_w^2\langle g(\sqrt q z)^2\rangle + \sigma_\theta^2` (Poole et al. 2016), so
that :math:`G N \sigma_w^2 = \chi_1` and ``s = 0`` is the edge of chaos. A random network then
has :math:`\lambda_1 \approx \tfrac12 s`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .mlp import MLP

__all__ = ["init_mlp", "mean_field_gain", "sigma_w_for", "FIRST_LAYER"]


@functools.lru_cache(maxsize=8)  # hermegauss solves an eigenproblem: once per n, not per call
def _gauss_hermite(n: int = 101):
    """Nodes and weights for E[f(z)], z ~ N(0, 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / math.sqrt(2 * math.pi)


_NUMPY_ACT = {
    "tanh": (np.tanh, lambda b: 1 - np.tanh(b) ** 2),
    "relu": (lambda b: np.maximum(b, 0), lambda b: (b > 0).astype(float)),
    "erf": (lambda b: np.vectorize(math.erf)(b), lambda b: 2 / math.sqrt(math.pi) * np.exp(-b * b)),
    "softplus": (lambda b: np.logaddexp(0, b), lambda b: 1 / (1 + np.exp(-b))),
}


def mean_field_gain(
    a: float, activation: str = "tanh", sigma_theta: float = 0.0, iterations: int = 200
) -> tuple[float, float]:
    r"""Fixed point :math:`q^*` of
    :math:`q \mapsto a\langle g(\sqrt q z)^2\rangle + \sigma_\theta^2` with :math:`a = N\sigma_w^2`,
    and the gain :math:`G = \langle g'(\sqrt{q^*} z)^2\rangle`.

    Returns ``(q_star, G)``. The stable fixed point is bracketed and bisected (``f(q) = map(q) - q``
    changes sign from + to -); where no bracket exists (odd g, :math:`\sigma_\theta = 0`,
    ``a <= g'(0)^{-2}``) it is ``q* = 0``.
    """
    g, dg = _NUMPY_ACT[activation]
    z, w = _gauss_hermite()

    def f(q):
        return a * float(np.sum(w * g(math.sqrt(q) * z) ** 2)) + sigma_theta**2 - q

    lo, hi = 1e-12, 1.0
    while f(hi) > 0 and hi < 1e12:
        hi *= 2
    if f(lo) > 0 and f(hi) < 0:
        for _ in range(iterations):
            mid = math.sqrt(lo * hi) if hi / lo > 4 else 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        q = 0.5 * (lo + hi)
    else:
        q = 0.0
    return q, float(np.sum(w * dg(math.sqrt(q) * z) ** 2))


def sigma_w_for(s: float, width: int, activation: str = "tanh", sigma_theta: float = 0.0) -> float:
    r"""Solve :math:`\log(G(\sigma_w) N \sigma_w^2) = s` for :math:`\sigma_w` (bisection in
    :math:`\log N\sigma_w^2`; :math:`\chi_1 = G N \sigma_w^2` increases with :math:`\sigma_w`)."""

    def chi_log(log_a):
        a = math.exp(log_a)
        _, gain = mean_field_gain(a, activation, sigma_theta)
        return math.log(a * gain) if gain > 0 else -math.inf

    lo, hi = s - 10.0, s + 10.0
    if not chi_log(lo) < s < chi_log(hi):
        raise ValueError(f"cannot reach log(G N sigma_w^2) = {s} with activation {activation!r}")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if chi_log(mid) < s:
            lo = mid
        else:
            hi = mid
    return math.sqrt(math.exp(0.5 * (lo + hi)) / width)


FIRST_LAYER = ("width", "fan_in")


def init_mlp(
    model: MLP,
    generator: torch.Generator,
    s: float | None = None,
    sigma_theta: float = 0.0,
    first_layer: str = "width",
) -> float | None:
    r"""Draw weights and thresholds in place.

    Hidden weights :math:`N(0,\sigma_w^2)` with :math:`N_{in}\sigma_w^2 = 1` (``s=None``) or with
    :math:`\sigma_w` from :func:`sigma_w_for` (``s`` given: one :math:`\sigma_w` for every hidden
    layer, :math:`\sigma_w^2 \sim N^{-1}`). ``first_layer="fan_in"`` draws the first layer with
    :math:`\sigma_1^2 = 1/d_{in}` instead: with :math:`\sigma_1^2 \sim N^{-1}` a wide first
    layer on a low-dimensional input has local fields of order :math:`N^{-1/2}`, nearly linear
    features. Thresholds :math:`N(0, \sigma_\theta^2)`. Head weights :math:`N(0, 1/N)`, head
    threshold 0. The draws are the same for either ``first_layer`` (only their scale differs).
    Returns :math:`\sigma_w` when ``s`` is given.
    """
    if first_layer not in FIRST_LAYER:
        raise ValueError(f"first_layer must be one of {FIRST_LAYER}, got {first_layer!r}")
    arch = model.arch
    sigma_w = None if s is None else sigma_w_for(s, arch["width"], arch["activation"], sigma_theta)
    with torch.no_grad():
        for i, lin in enumerate(model.hidden_linears()):
            std = sigma_w if sigma_w is not None else 1 / math.sqrt(lin.in_features)
            if i == 0 and first_layer == "fan_in":
                std = 1 / math.sqrt(lin.in_features)
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=generator) * std)
            lin.bias.copy_(torch.randn(lin.bias.shape, generator=generator) * sigma_theta)
        model.head.weight.copy_(
            torch.randn(model.head.weight.shape, generator=generator) / math.sqrt(arch["width"])
        )
        model.head.bias.zero_()
    return sigma_w
