r"""Accurate derivatives of saturating activations under autograd and ``torch.func``.

Autograd differentiates ``y = tanh b`` as :math:`1 - y^2` and ``y = sigmoid b`` as
:math:`y (1 - y)`: in saturation ``y`` rounds to :math:`\pm 1` (tanh, float32 from
:math:`|b| \approx 9`, float64 from 19) or to 1 (sigmoid, :math:`b \gg 0`) and the derivative
to 0, while the exact one (:math:`\operatorname{sech}^2 b \approx 4 e^{-2|b|}`) is a normal
number far beyond. Inside :func:`_accurate_saturation` the calls ``torch.tanh``,
``Tensor.tanh``, ``F.tanh``, ``torch.sigmoid``, ``Tensor.sigmoid``, ``F.sigmoid`` and
``torch.special.expit`` keep their value and get a derivative accurate to a few ulps
everywhere (from :math:`u = \sigma(-2|b|)`: :math:`\operatorname{sech}^2 b = 4u(1 - u)`, as
the fused path's :func:`._kernels.tanh_and_derivative`; :math:`\sigma'(b) = \sigma(b)
\sigma(-b)`). In-place forms (``tanh_``) and calls with ``out=`` are left as they are.
"""

from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

_TANH = {torch.tanh, torch.Tensor.tanh, F.tanh}
_SIGMOID = {torch.sigmoid, torch.Tensor.sigmoid, F.sigmoid, torch.special.expit}


def _with_derivative(value, surrogate):
    """``value`` carrying the derivative of ``surrogate`` (same value up to rounding): the
    sum is exactly ``value``, since ``surrogate - surrogate.detach()`` is exactly 0."""
    return value.detach() + (surrogate - surrogate.detach())


def _accurate_tanh(b):
    """tanh b whose derivative is 4 u (1 - u), u = sigmoid(-2|b|), on either side of 0."""
    positive = b >= 0
    surrogate = torch.where(positive, -2 * torch.sigmoid(-2 * b), 2 * torch.sigmoid(2 * b))
    return _with_derivative(torch.tanh(b), surrogate)


def _accurate_sigmoid(b):
    """sigmoid b whose derivative is sigmoid(b) sigmoid(-b) on either side of 0."""
    positive = b >= 0
    surrogate = torch.where(positive, -torch.sigmoid(-b), torch.sigmoid(b))
    return _with_derivative(torch.sigmoid(b), surrogate)


class _AccurateSaturation(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (
            not kwargs
            and len(args) == 1
            and isinstance(args[0], torch.Tensor)
            and args[0].is_floating_point()
        ):
            if func in _TANH:
                return _accurate_tanh(args[0])
            if func in _SIGMOID:
                return _accurate_sigmoid(args[0])
        return func(*args, **kwargs)


@contextlib.contextmanager
def _accurate_saturation():
    """tanh and sigmoid with accurate derivatives while inside (see module doc)."""
    with _AccurateSaturation():
        yield


def saturating(fn):
    """``fn`` run inside :func:`_accurate_saturation` (its attributes kept): only the model's
    own calls pay the mode's dispatch, not the engine's linear algebra around them."""

    @functools.wraps(fn)
    def call(*args):
        with _AccurateSaturation():
            return fn(*args)

    return call
