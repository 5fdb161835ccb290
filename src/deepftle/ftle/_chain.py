r"""Jacobian products of a chain of affine maps and elementwise activations, without autograd.

An ``nn.Sequential`` whose children are affine maps :math:`A_\ell` (``nn.Linear``,
convolutions with zero padding, eval-mode batch normalisation, ``nn.Flatten``) or elementwise
activations :math:`g` has the Jacobian

.. math::  J(x) = D_L A_L \cdots D_1 A_1, \qquad D_\ell = \operatorname{diag} g'(b^{(\ell)}(x)),

where only the diagonals depend on the point. :class:`ChainProducts` stores them in one
forward pass over a chunk of points; :math:`J v` is then the linear parts (a convolution, a
matrix product) and elementwise products, and :math:`J^T u` the adjoints (the transposed
convolution, :math:`u W`) in reverse order. Compared with ``torch.func`` (a traced
``linearize`` and a ``vjp``), nothing is traced: keeping only the points still running in the
Lanczos iteration (its active set) is an index into the stored diagonals, every block of
vectors passes the network as one batch, and the chunks can be small enough for the
activations of a product to stay in the CPU's cache (see :data:`._generic.CHAIN_CHUNK_BYTES`).

:func:`parse_chain` returns None for any other module (pooling, ``padding="same"``, residual
blocks, a Sequential subclass with its own ``forward``, forward hooks ...): the generic path
then uses ``torch.func``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._kernels import tanh_and_derivative
from ._layout import reads_as
from ._sequential import NotFusable, elementwise_activation, flat_children

_CONV = {
    nn.Conv1d: (F.conv1d, F.conv_transpose1d),
    nn.Conv2d: (F.conv2d, F.conv_transpose2d),
    nn.Conv3d: (F.conv3d, F.conv_transpose3d),
}


class _Affine:
    """An affine child: ``forward`` (the module) for the pass over the points, ``linear`` /
    ``adjoint`` (its linear part and that part's transpose) for products, which act on a
    batch of vectors like the module on a batch of points."""

    def __init__(self, forward, linear, adjoint):
        self.forward, self.linear, self.adjoint = forward, linear, adjoint


def _in_layout(t, fmt):
    """``t`` in memory layout ``fmt``. One channel is in both layouts at once, and oneDNN
    then writes its output in the default one: its strides are set to the channels-last ones
    (the same memory), so that the output comes channels-last too."""
    if fmt is torch.channels_last and t.shape[1] == 1:
        t = t.contiguous()
        return t.as_strided(t.shape, (t.shape[2] * t.shape[3], 1, t.shape[3], 1))
    return t.contiguous(memory_format=fmt)


def _linear(module: nn.Linear) -> _Affine:
    w = module.weight.detach()
    return _Affine(module, lambda v: v @ w.T, lambda u, shape: u @ w)


def _conv(module) -> _Affine | None:
    conv, transpose = _CONV[type(module)]
    if (
        module.padding_mode != "zeros"
        or isinstance(module.padding, str)
        and module.padding != "valid"
    ):
        return None  # circular / reflect padding, padding="same": torch.func instead
    w = module.weight.detach()
    padding = 0 if module.padding == "valid" else module.padding
    pads = (padding,) * (w.dim() - 2) if isinstance(padding, int) else tuple(padding)
    stride, dilation, groups = module.stride, module.dilation, module.groups
    # 2-D convolutions run channels-last (oneDNN's fast layout: on the bench CNN's 400-image
    # blocks the 8 -> 8 stride-2 transposed convolution took 5.4 ms instead of 22.7 ms)
    fmt = torch.channels_last if w.dim() == 4 else torch.contiguous_format
    w = w.contiguous(memory_format=fmt)
    channel_sum = w.dim() == 4 and w.shape[1] == 1 and groups == 1
    if channel_sum:
        # one input channel: the adjoint is a depthwise transposed convolution summed over
        # the output channels, for stride 1 a depthwise convolution with the flipped kernel
        # (3.1 ms instead of 6.7 ms for the bench CNN's 1 -> 8 first layer, 400 images)
        reach = [d * (k - 1) for d, k in zip(dilation, w.shape[2:], strict=True)]
        flipped = all(s == 1 for s in stride) and all(
            p <= r for p, r in zip(pads, reach, strict=True)
        )
        w_adj = w.flip(-1, -2).contiguous(memory_format=fmt) if flipped else w

    def forward(h):
        return module(_in_layout(h, fmt))

    def linear(v):
        return conv(_in_layout(v, fmt), w, None, stride, padding, dilation, groups)

    def adjoint(u, in_shape):
        u = _in_layout(u, fmt)
        if channel_sum and flipped:
            return conv(
                u,
                w_adj,
                None,
                1,
                [r - p for r, p in zip(reach, pads, strict=True)],
                dilation,
                w.shape[0],
            ).sum(1, keepdim=True)
        # the transposed convolution reaches every input pixel the forward one read; the
        # pixels past the last stride step (read by no output) come from output_padding
        extra = tuple(
            n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
            for n, o, s, p, d, k in zip(
                in_shape[1:], u.shape[2:], stride, pads, dilation, w.shape[2:], strict=True
            )
        )
        if channel_sum:
            return transpose(u, w, None, stride, padding, extra, w.shape[0], dilation).sum(
                1, keepdim=True
            )
        return transpose(u, w, None, stride, padding, extra, groups, dilation)

    return _Affine(forward, linear, adjoint)


def _batchnorm(module) -> _Affine | None:
    if module.training or module.running_var is None:
        return None  # batch statistics: points interact
    scale = torch.rsqrt(module.running_var.detach() + module.eps)
    if module.weight is not None:
        scale = scale * module.weight.detach()

    def mul(v, *_):  # channels on axis 1
        return v * scale.reshape(-1, *[1] * (v.dim() - 2))

    return _Affine(module, mul, mul)


def _flatten_step(module: nn.Flatten) -> _Affine | None:
    if module.start_dim <= 0:
        return None  # would flatten the batch axis
    return _Affine(module, module, lambda u, shape: u.reshape(u.shape[0], *shape))


def parse_chain(model) -> list | None:
    """The children of ``model`` as :class:`_Affine` steps and fused-path activations, or None
    where some child is neither (or the model is not an ``nn.Sequential``)."""
    if not isinstance(model, nn.Sequential):
        return None
    try:
        modules = list(flat_children(model))
    except NotFusable:  # its own forward or hooks: torch.func sees what it computes
        return None
    steps = []
    for module in modules:
        # each child is read off its type only if it computes what its type computes
        # (_layout.reads_as: no own forward, none on the instance, no hooks)
        if (
            reads_as(module, nn.Identity)
            or reads_as(module, nn.Dropout)
            and (not module.training or module.p == 0)
        ):
            continue
        if reads_as(module, nn.Linear):
            step = _linear(module)
        elif type(module) in _CONV and reads_as(module, type(module)):
            step = _conv(module)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm) and reads_as(
            module, nn.modules.batchnorm._BatchNorm
        ):
            step = _batchnorm(module)
        elif reads_as(module, nn.Flatten):
            step = _flatten_step(module)
        else:
            step = elementwise_activation(module)
        if step is None:
            return None
        steps.append(step)
    return steps if any(isinstance(s, _Affine) for s in steps) else None


def chain_widest(steps, probe) -> int:
    """The largest activation of the chain (elements per point) on the point ``probe``."""
    widest, h = probe[0].numel(), probe
    with torch.no_grad():
        for step in steps:
            if isinstance(step, _Affine):
                h = step.forward(h)
                widest = max(widest, h[0].numel())
    return widest


def _layout(h) -> torch.memory_format:
    if (
        h.dim() == 4
        and not h.is_contiguous()
        and h.is_contiguous(memory_format=torch.channels_last)
    ):
        return torch.channels_last
    return torch.contiguous_format


def _tanh(b):
    """tanh b and sech^2 b (:func:`._kernels.tanh_and_derivative`, accurate in saturation)."""
    h, u, s = b.clone(), torch.empty_like(b), torch.empty_like(b)
    tanh_and_derivative(h, u, s)
    return h, s


class ChainProducts:
    """:math:`J_p v` and :math:`J_p^T u` of a chain at the points ``x`` (see module doc).

    ``gram(blocks, ids, output_side)``: :math:`J J^T` (``output_side``) or :math:`J^T J` on
    blocks (len(ids), n, b) of the points ``ids`` (ascending indices into x). The products run
    on a batch of len(ids) * b vectors (point-major); the stored diagonals are repeated b times
    to match, in each activation's memory layout, and re-indexed when the set of points or b
    changes.
    """

    def __init__(self, steps, x):
        self.steps = steps
        self.in_shapes = []  # input shape of each step, without the batch axis
        self.in_formats = []  # and its memory layout (channels-last after such convolutions)
        self._all = []  # g'(b) (P, *shape) per activation, in the layout of the activation
        h = x
        with torch.no_grad():
            for step in steps:
                self.in_shapes.append(tuple(h.shape[1:]))
                self.in_formats.append(_layout(h))
                if isinstance(step, _Affine):
                    h = step.forward(h)
                else:
                    h, d = _tanh(h) if step.tanh else step.forward(h)
                    self._all.append(d)
        self.out_shape = tuple(h.shape[1:])
        self.in_shape = tuple(x.shape[1:])
        self.diag, self.key = None, None

    def _select(self, ids, b):
        if self.key is None or self.key[1] != b or not torch.equal(ids, self.key[0]):
            self.diag = [
                d.index_select(0, ids)
                .repeat_interleave(b, dim=0)
                .contiguous(memory_format=_layout(d))
                for d in self._all
            ]
            self.key = (ids, b)

    def j(self, v):
        """(p b, *in_shape) -> (p b, *out_shape)."""
        diag = iter(self.diag)
        for step in self.steps:
            v = step.linear(v) if isinstance(step, _Affine) else v * next(diag)
        return v

    def jt(self, u):
        """(p b, *out_shape) -> (p b, *in_shape)."""
        diag = reversed(self.diag)
        for step, shape, fmt in zip(
            reversed(self.steps), reversed(self.in_shapes), reversed(self.in_formats), strict=True
        ):
            if isinstance(step, _Affine):  # in the layout of the stored diagonal it meets next
                u = step.adjoint(u, shape).contiguous(memory_format=fmt)
            else:
                u = u * next(diag)
        return u

    def _apply(self, f, blocks, shape):
        p, n, b = blocks.shape
        out = f(blocks.transpose(1, 2).reshape(p * b, *shape))
        return out.reshape(p, b, -1).transpose(1, 2)

    def gram(self, blocks, ids, *, output_side: bool):
        self._select(ids, blocks.shape[2])
        if output_side:
            half = self._apply(self.jt, blocks, self.out_shape)
            return self._apply(self.j, half, self.in_shape)
        half = self._apply(self.j, blocks, self.in_shape)
        return self._apply(self.jt, half, self.out_shape)

    def pullback(self, vecs, ids):
        """:math:`J^T u` for the columns of ``vecs`` (len(ids), d_out, k)."""
        self._select(ids, vecs.shape[2])
        return self._apply(self.jt, vecs, self.out_shape)
