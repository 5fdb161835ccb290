r"""Finite-time Lyapunov exponents of any differentiable network.

For a map :math:`x \mapsto f(x)` with Jacobian :math:`J(x) = \partial f / \partial x`, the FTLEs
are :math:`\lambda_i^{(L)}(x) = L^{-1}\log\sigma_i(J(x))`, :math:`\sigma_1 \ge \sigma_2 \ge
\dots`, and the maximal stretching direction is the right singular vector :math:`v_1` (input
space). For the paper's trunk :math:`x^{(\ell)} = g(W^{(\ell)} x^{(\ell-1)} - \theta^{(\ell)})`,
:math:`J = D_L W_L \cdots D_1 W_1`, :math:`D_\ell = \operatorname{diag} g'(b^{(\ell)})`.

The public names are those of ``__all__``: :func:`ftle` and :func:`exact_float32`. The
modules behind them are private (a leading underscore); code outside the engine imports from
``deepftle.ftle`` only:

- :mod:`._api`: :func:`ftle`, argument checks and the choice of path;
- :mod:`._sequential`: the fused path for Sequentials of Linear layers and elementwise
  activations (tangents ride along the forward pass, one matrix product per layer);
- :mod:`._generic`: any differentiable model (forward mode, reverse mode, or matrix-free
  block Lanczos);
- :mod:`._chain`: J v and J^T u of Sequentials of affine maps and activations without autograd;
- :mod:`._krylov`: block Lanczos with the Kato-Temple stopping rule;
- :mod:`._kernels`: batched dense linear algebra (small Grams, QR, certified power iteration);
- :mod:`._layout`: depth counting, named-module maps and stages of a model;
- :mod:`._checks`: validation of points, dtypes and parameters;
- :mod:`._probes`: the checks that points do not interact and that autograd sees the map;
- :mod:`._saturation`: accurate tanh and sigmoid derivatives in saturation (generic path);
- :mod:`._precision`: full float32 products on CUDA (no TF32) while the exponents are computed.

The engine imports nothing else of ``deepftle`` but the leaf :mod:`deepftle.activations`.
"""

from ._api import ftle
from ._precision import exact_float32

__all__ = ["ftle", "exact_float32"]
