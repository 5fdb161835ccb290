r"""The fused path: FTLEs of an ``nn.Sequential`` of Linear layers and elementwise activations.

For a trunk :math:`x^{(\ell)} = g(W^{(\ell)} x^{(\ell-1)} - \theta^{(\ell)})`, :math:`\ell = 1..L`,
the input-output Jacobian is

.. math::  J = \partial x^{(L)} / \partial x^{(0)} = D_L W_L \cdots D_1 W_1,
           \qquad D_\ell = \operatorname{diag} g'(b^{(\ell)}),

and the FTLEs are :math:`\lambda_i^{(L)}(x) = L^{-1} \log \sigma_i(J)`,
:math:`\sigma_1 \ge \sigma_2 \ge \dots`.
The maximal stretching direction is the right singular vector :math:`v_1` (input space).

Algorithm
---------
Write :math:`W_1^T = Q_1 R_1` (reduced QR, :math:`r = \min(d_{in}, N_1)` columns). Then
:math:`J = K Q_1^T` with :math:`K = D_L W_L \cdots D_1 R_1^T`, so :math:`\sigma_i(J) = \sigma_i(K)`
and :math:`v_i(J) = Q_1 v_i(K)`. The ``r`` columns of :math:`K` are propagated *forward*
together with the activations: at every layer the stacked array
``[x; t_1; ...; t_r]`` is multiplied by :math:`W^T` in one matrix product, then the
activations pass through ``g`` and the tangents are multiplied by ``g'(b)``. For a 2-D input
``r = 2``; for MNIST (784 inputs, N = 20) ``r = 20``, i.e. the Gram formulation
:math:`J J^T = K K^T` with :math:`W_1 W_1^T = R_1^T R_1` folded in once.

The stacked frame lives in a (1 + r, P, n) buffer reused for every layer and chunk of points;
for tanh, ``tanh b`` and ``sech^2 b`` both come from one ``sigmoid(-2|b|)``.

Depth stability: each point's tangent frame is rescaled by its norm and the logarithm of the
scale accumulated in float64 (``k = 1``), or re-orthonormalised by QR with the triangular
factors multiplied up in float64 and rescaled the same way (``k > 1``, after every layer, so
the smaller singular values keep their relative accuracy). For ``k = 1`` the rescaling happens
only when the product of the layers' growth bounds ``||W|| sup|g'|`` since the last one could
exceed 1e10 (float32; 1e100 in float64); points whose frame may have lost digits to underflow
inside such a block are recomputed with rescaling after every layer. The result is the exact
finite-``L`` exponent, not Benettin's asymptotic sum of ``log |diag R|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
from torch import nn

from ..activations import Erf
from ._checks import as_tensor, check_points
from ._kernels import (
    canonical_sign,
    qr2,
    safe_divisor,
    tanh_and_derivative,
    top_eig2,
    top_eig_power,
    triangular_rank,
    unit_start,
)
from ._layout import hooked, plain_sequential, reads_as, squeeze_result

_SQRT_PI = math.sqrt(math.pi)


@dataclass(frozen=True)
class _Linear:
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None


@dataclass(frozen=True)
class _Activation:
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None  # b -> (g, g')
    gmax: float | None = None  # sup |g'| when known (bounds the tangent growth of a layer)
    tanh: bool = False  # fused tanh path (tanh_and_derivative)


def _generic_derivative(module: nn.Module):
    """g and g' of an elementwise module by one forward-mode product with a ones tangent."""

    def run(b):  # on a copy: an in-place module (inplace=True) would overwrite b
        return torch.func.jvp(module, (b.clone(),), (torch.ones_like(b),))

    return run


# elementwise modules whose g' comes from one forward-mode product of the module itself
_ELEMENTWISE = (
    nn.LeakyReLU,
    nn.Softplus,
    nn.GELU,
    nn.ELU,
    nn.SiLU,
    nn.CELU,
    nn.SELU,
    nn.Mish,
    nn.Softsign,
    nn.Hardtanh,
    nn.Tanhshrink,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.LogSigmoid,
    nn.ReLU6,
)


def elementwise_activation(module: nn.Module) -> _Activation | None:
    """Closed-form (g, g') for known elementwise modules; None if not elementwise.

    A module is read as one of these types only if it computes what the type computes
    (:func:`._layout.reads_as`: a subclass with its own ``forward`` is another function)."""
    if reads_as(module, nn.Tanh):  # fused in _Frame.activation (tanh_and_derivative)
        return _Activation(None, 1.0, tanh=True)
    elif reads_as(module, nn.ReLU):

        def run(b):
            return torch.relu(b), (b > 0).to(b.dtype)

        return _Activation(run, 1.0)
    elif reads_as(module, nn.Sigmoid):

        def run(b):  # sigmoid(b) sigmoid(-b): y (1 - y) would round to 0 for b >> 0
            y = torch.sigmoid(b)
            return y, y * torch.sigmoid(-b)

        return _Activation(run, 0.25)
    elif reads_as(module, Erf):

        def run(b):
            return torch.erf(b), (2 / _SQRT_PI) * torch.exp(-b * b)

        return _Activation(run, 2 / _SQRT_PI)
    elif any(reads_as(module, cls) for cls in _ELEMENTWISE):
        run = _generic_derivative(module)
    else:
        return None
    return _Activation(run)


def flat_children(module: nn.Module):
    """The leaves of a plain ``nn.Sequential`` (nested ones opened). Raises
    :class:`NotFusable` for a subclass with its own ``forward`` (a residual block written as
    a Sequential) or a module with forward hooks: its map is not the composition of its
    children, which the fused path and :mod:`._chain` read off the children."""
    if not plain_sequential(module):
        raise NotFusable(
            f"{type(module).__name__} is not a plain Sequential (its own forward or forward hooks)"
        )
    for child in module:
        if isinstance(child, nn.Sequential):
            yield from flat_children(child)
        elif hooked(child):
            raise NotFusable(f"{type(child).__name__} has forward hooks")
        else:
            yield child


class NotFusable(ValueError):
    """The module is not a Sequential of Linear layers and elementwise activations."""


def parse_trunk(trunk) -> list:
    """Turn a Sequential into a list of _Linear / _Activation steps, validating every module.

    Raises :class:`NotFusable` where the fused path does not apply (the generic path does), a
    plain ValueError where no path would give a deterministic answer (Dropout in training mode).
    """
    if not isinstance(trunk, nn.Sequential):
        raise NotFusable(f"not a torch.nn.Sequential: {type(trunk).__name__}")
    steps = []
    for index, module in enumerate(flat_children(trunk)):
        if reads_as(module, nn.Linear):
            steps.append(
                _Linear(
                    module.weight.detach(), None if module.bias is None else module.bias.detach()
                )
            )
        elif reads_as(module, nn.Identity):
            continue
        elif reads_as(module, nn.Dropout):
            if module.training and module.p > 0:
                raise ValueError(
                    f"unsupported module {index} ({module!r}): Dropout in training "
                    f"mode is random; call model.eval() first"
                )
            continue
        else:
            act = elementwise_activation(module)
            if act is None:
                raise NotFusable(
                    f"module {index} ({type(module).__name__}) is neither "
                    f"nn.Linear nor an elementwise activation"
                )
            steps.append(act)
    if not any(isinstance(s, _Linear) for s in steps):
        raise NotFusable("the Sequential holds no nn.Linear layer")
    return steps


def _in_float64(steps) -> list:
    """``steps`` with the Linear layers' weights and biases in float64 (activations are
    functions of their input's dtype)."""
    return [
        _Linear(s.weight.double(), None if s.bias is None else s.bias.double())
        if isinstance(s, _Linear)
        else s
        for s in steps
    ]


def _as_points(x, dtype, device, d_in) -> tuple[torch.Tensor, bool]:
    x = as_tensor(x)
    single = x.dim() == 1
    if single:
        x = x[None]
    if x.dim() != 2:
        raise ValueError(f"x must have shape (P, d_in) or (d_in,), got {tuple(x.shape)}")
    if x.shape[1] != d_in:
        raise ValueError(
            f"shape mismatch: x has {x.shape[1]} input components but the first "
            f"Linear layer expects d_in = {d_in}"
        )
    return check_points(x, dtype, device), single


def layer_depths(steps, layers) -> tuple[list[int], int]:
    n_linear = sum(isinstance(s, _Linear) for s in steps)
    if layers is None:
        return [n_linear], n_linear
    layers = [layers] if isinstance(layers, int) else list(layers)
    if not layers:
        raise ValueError("layers must be a non-empty list of depths")
    for l in layers:
        if not isinstance(l, int) or isinstance(l, bool) or not 1 <= l <= n_linear:
            raise ValueError(
                f"layers must hold integers in 1..{n_linear} (the number of Linear "
                f"layers), got {l!r}"
            )
    return layers, n_linear


class _Workspace:
    """Flat buffers reused by every chunk of one ``ftle`` call (no per-layer allocation).

    Two ping-pong buffers hold the stacked frame ``[h; t_1; ...; t_r]`` of shape (1 + r, P, n)
    (the matrix product of a layer reads one and writes the other); two scratch buffers of
    (P, n) hold the activation derivative; for r > 2 three (P, r, r) buffers hold the Gram
    power iteration. Fresh multi-MB temporaries would cost page faults at every chunk.
    """

    def __init__(self, points, r, width, dtype, device):
        size = (1 + r) * points * width
        self.frames = [torch.empty(size, dtype=dtype, device=device) for _ in range(2)]
        self.scratch = [torch.empty(points * width, dtype=dtype, device=device) for _ in range(2)]
        self._grams = None

    def frame(self, which, rows, points, width):
        return self.frames[which][: rows * points * width].view(rows, points, width)

    def pair(self, points, width):
        return [s[: points * width].view(points, width) for s in self.scratch]

    def grams(self, points, r):
        """Three flat buffers of points * r^2 elements for the power iteration (made once)."""
        size = points * r * r
        if self._grams is None or self._grams[0].numel() < size:
            self._grams = [self.frames[0].new_empty(size) for _ in range(3)]
        return self._grams


class _Frame:
    """Activations and tangents of one chunk of points, propagated layer by layer.

    ``z`` (1 + r, P, n) stacks the activations ``h = z[0]`` and the tangent frame ``t = z[1:]``:
    row j at point p is column j of K_p up to the factor ``exp(log_scale[p])`` (k = 1), or of
    ``K_p R_p^{-1}`` with ``R_p = exp(log_scale[p]) * tri[p]`` (k > 1, the frame orthonormal).
    Each Linear layer is one matrix product of all (1 + r) P rows with the shared weight, then
    the bias is added to the activation rows; each activation multiplies the tangent rows by
    g'(b) in place.
    """

    def __init__(self, x, first, start, orthonormalise, work: _Workspace):
        """``start`` = (rows, log_norm) from ``unit_start``: the tangent rows shared by all
        points (R_1 after a first Linear layer, else the identity) and their scale."""
        self.orthonormalise = orthonormalise
        self.work = work
        P = x.shape[0]
        rows0, log_norm0 = start
        r = rows0.shape[0]
        if isinstance(first, _Linear):  # first layer: activations x W^T + b
            self.z = work.frame(0, 1 + r, P, first.weight.shape[0])
            if first.bias is not None:
                torch.addmm(first.bias, x, first.weight.T, out=self.z[0])
            else:
                torch.mm(x, first.weight.T, out=self.z[0])
        else:
            self.z = work.frame(0, 1 + r, P, x.shape[1])
            self.z[0].copy_(x)
        self.z[1:].copy_(rows0[:, None, :].expand(-1, P, -1))
        self.current = 0
        self.log_scale = torch.full((P,), log_norm0, dtype=torch.float64, device=x.device)
        self.tri = (
            torch.eye(r, dtype=torch.float64, device=x.device).expand(P, r, r).clone()
            if orthonormalise
            else None
        )
        # singular values no layer reduced to rounding noise (k > 1): see renormalise
        self.rank = (
            torch.full((P,), r, dtype=torch.long, device=x.device) if orthonormalise else None
        )
        self.bad = torch.zeros(P, dtype=torch.bool, device=x.device)

    @property
    def t(self):
        return self.z[1:]

    def linear(self, step: _Linear):
        rows, P, n = self.z.shape
        out = self.work.frame(1 - self.current, rows, P, step.weight.shape[0])
        torch.mm(self.z.view(rows * P, n), step.weight.T, out=out.view(rows * P, -1))
        if step.bias is not None:
            out[0].add_(step.bias)
        self.z, self.current = out, 1 - self.current

    def activation(self, step: _Activation):
        h, t = self.z[0], self.z[1:]
        if step.tanh:
            u, s = self.work.pair(*h.shape)
            tanh_and_derivative(h, u, s)
            t.mul_(s)
        else:
            y, dy = step.forward(h)
            h.copy_(y)
            t.mul_(dy)

    def _flag_underflow(self, norm, threshold, ok: torch.Tensor | None = None):
        """Mark ``bad`` the points whose frame norm is below ``threshold``, not finite, or not
        ``ok``: inside the block they may have lost digits to underflow."""
        fine = (norm >= threshold) & torch.isfinite(norm)
        self.bad |= ~(fine if ok is None else fine & ok)

    def renormalise(self, threshold=None):
        """Keep magnitudes O(1): per-point norm rescaling (k = 1) or QR (k > 1).

        ``threshold`` (k = 1, block mode): points whose frame norm fell below it (or is not
        finite) may have lost digits to underflow inside the block and are marked ``bad``.
        """
        t = self.t
        if not self.orthonormalise:
            # per point over (r, n); reducing the contiguous axis first is several times faster
            norm = torch.linalg.vector_norm(torch.linalg.vector_norm(t, dim=2), dim=0)
            if threshold is not None:
                self._flag_underflow(norm, threshold)
            safe = safe_divisor(norm)
            t.mul_(safe.reciprocal()[:, None])
            self.log_scale += torch.log(safe.to(torch.float64))
            return
        rows = t.transpose(0, 1)  # (P, r, n) view
        if t.shape[0] == 2 and t.shape[2] >= 2:
            q, rr = qr2(rows)
        else:  # per point: t^T (n x r) = Q R; new frame Q^T
            q, rr = torch.linalg.qr(rows.transpose(1, 2))
            q = q.transpose(1, 2)
        if q.shape[1] < t.shape[0]:
            # a layer narrower than the frame (n < r): the tangents span at most n
            # directions, Q has n rows and R is n x r; the frame keeps n rows from here on
            self.z = self.z[: 1 + q.shape[1]]
            t = self.t
        t.copy_(q.transpose(0, 1))
        # a layer that maps a frame direction below max(n, r) eps of its largest (dead ReLU
        # units, a rank-deficient weight) makes that singular value zero to working precision
        cut = max(t.shape[0], t.shape[2]) * torch.finfo(t.dtype).eps
        self.rank = torch.minimum(self.rank, triangular_rank(rr, cut))
        tri = rr.to(torch.float64) @ self.tri
        scale = tri.abs().amax(dim=(1, 2))
        safe = safe_divisor(scale)
        self.tri = tri / safe[:, None, None]
        self.log_scale += torch.log(safe)

    def exponents(self, depth, k, q_input, want_directions, threshold=None):
        """lambda_1..k at this depth and directions in input space.

        The frame must be renormalised, except for k = 1 and r <= 2 with ``threshold`` given
        (block mode, last depth): the exponents then come from the Gram of the frame as it is
        (its norm is below the block ceiling), and its trace gives the underflow check of
        ``renormalise``.
        """
        if not self.orthonormalise:
            t = self.t.transpose(0, 1)  # (P, r, n) view
            r = t.shape[1]
            vecs = None
            if r == 1:
                sigma2 = t.square().sum((1, 2)).double()
                trace = sigma2
                if want_directions:
                    vecs = torch.ones((t.shape[0], 1, 1), dtype=torch.float64, device=t.device)
            elif r == 2:
                sigma2, v, trace = top_eig2(t, want_vector=want_directions)
                if want_directions:
                    vecs = v[:, :, None]
            elif want_directions:
                td = t.double()
                evals, evecs = torch.linalg.eigh(td @ td.transpose(1, 2))
                sigma2, vecs = evals[:, -1], evecs[:, :, -1:]
            else:
                # the Rayleigh quotient itself carries rounding of ~ r eps (float32: ~1e-6)
                tol = 1e-13 if t.dtype == torch.float64 else 1e-6
                # points-major copy of the frame into the idle ping-pong buffer
                rows = self.work.frame(1 - self.current, *t.shape).copy_(t)
                sigma2 = top_eig_power(rows, tol, scratch=self.work.grams(*t.shape[:2]))
            if threshold is not None:
                # below tiny / eps the squares summed in the working dtype lose digits
                info = torch.finfo(t.dtype)
                self._flag_underflow(torch.sqrt(trace), threshold, trace >= info.tiny / info.eps)
            log_sigma = 0.5 * torch.log(sigma2.clamp_min(0))[:, None]
        else:
            if want_directions:
                _, s, vh = torch.linalg.svd(self.tri, full_matrices=False)
                vecs = vh.transpose(1, 2)[:, :, :k]
            else:
                s = torch.linalg.svdvals(self.tri)
            lost = torch.arange(k, device=s.device)[None, :] >= self.rank[:, None]
            log_sigma = torch.log(s[:, :k]).masked_fill(lost, -math.inf)
        lam = (self.log_scale[:, None] + log_sigma) / depth
        if not want_directions:
            return lam, None
        if q_input is not None:
            vecs = q_input.to(torch.float64) @ vecs
        return lam, canonical_sign(vecs)


# Bytes of the stacked (1 + r, P, n) frame per chunk: small enough that a layer's frame,
# product and derivative stay in cache between the matrix product and the elementwise passes,
# large enough that the per-layer Python overhead is amortised. Wide layers (n >= 100) do best
# with half of it (batch_size sweeps on 2 cores: 2 MiB is 10-25 % faster than 4 MiB at
# n = 250, 4 MiB is up to 10 % faster than 2 MiB at n = 20, 50).
_CHUNK_BYTES = 4 << 20
_WIDE = 100


def _default_batch(r, width, dtype) -> int:
    """Points per chunk so that one (1 + r, P, width) frame stays near its byte budget."""
    itemsize = torch.finfo(dtype).bits // 8
    budget = _CHUNK_BYTES // 2 if width >= _WIDE else _CHUNK_BYTES
    return max(64, budget // ((1 + r) * max(width, 1) * itemsize))


class _BlockBounds(NamedTuple):
    """Growth bounds for k = 1 block renormalisation (see :func:`_block_bounds`)."""

    floor: float  # a frame norm below floor * growth may have lost digits to underflow
    log_ceiling: float  # log of the largest growth a block may accumulate before rescaling
    first_growth: float  # log prod sup|g'| of the activations after the first Linear (>= 0)
    log_gamma: list[float]  # log max(gamma_l, 1) for Linear layers 2..L


def _block_bounds(steps, dtype) -> _BlockBounds | None:
    """Per-Linear growth bounds for k = 1 block renormalisation, or None (every layer).

    gamma_l = ||W_l||_2 * prod(sup|g'|) over the activations up to the next Linear bounds the
    growth of the tangent-frame norm through layer l. Renormalising only when the running product
    of max(gamma, 1) would exceed ``ceiling`` keeps every intermediate norm below it; a frame
    whose norm at the next renormalisation is >= floor * product cannot have dropped below
    ``floor`` inside the block (no digits lost to underflow). Points failing that check are
    recomputed with renormalisation after every layer.
    """
    if not isinstance(steps[0], _Linear):
        return None
    info = torch.finfo(dtype)
    floor = info.tiny / info.eps * 1e3
    ceiling = 1e10 if dtype != torch.float64 else 1e100
    first, logs = 0.0, []
    for step in steps[1:]:
        if isinstance(step, _Linear):
            logs.append(
                math.log(max(torch.linalg.matrix_norm(step.weight.double(), 2).item(), 1e-300))
            )
        elif step.gmax is None:
            return None
        elif logs:
            logs[-1] += math.log(step.gmax)
        else:  # activations of the first layer
            first += math.log(step.gmax)
    return _BlockBounds(floor, math.log(ceiling), max(first, 0.0), [max(g, 0.0) for g in logs])


@dataclass(frozen=True)
class _Request:
    """What one ``ftle`` call asks of every chunk of points."""

    depths: list[int]  # depths l at which lambda^(l) is wanted (1..L)
    k: int
    want_directions: bool
    start: tuple[torch.Tensor, float]  # unit start rows shared by all points, log of their norm
    q_input: torch.Tensor | None  # Q_1 of W_1^T = Q_1 R_1 (directions map back by it), or None

    @property
    def max_depth(self) -> int:
        return max(self.depths)

    @property
    def orthonormalise(self) -> bool:
        return self.k > 1


@dataclass
class _Results:
    """Output arrays of a call, or a view of them for one chunk of points."""

    lam: torch.Tensor  # (len(depths), P, k)
    directions: torch.Tensor | None  # (len(depths), P, d_in, k)

    def rows(self, index) -> "_Results":
        return _Results(
            self.lam[:, index], None if self.directions is None else self.directions[:, index]
        )

    def put(self, index, other: "_Results"):
        self.lam[:, index] = other.lam
        if self.directions is not None:
            self.directions[:, index] = other.directions


class _ChunkRun:
    """One chunk of points through the trunk, writing lambda (and v) at every requested depth.

    ``bounds`` (k = 1) selects block renormalisation; ``run`` then returns a bool mask of the
    points to recompute with renormalisation after every layer (else None).
    """

    def __init__(
        self,
        steps,
        x,
        request: _Request,
        out: _Results,
        bounds: _BlockBounds | None,
        work: _Workspace,
    ):
        first_linear = isinstance(steps[0], _Linear)
        self.frame = _Frame(x, steps[0], request.start, request.orthonormalise, work)
        self.request, self.out, self.bounds = request, out, bounds
        self.rest = steps[1:] if first_linear else steps  # steps after the first Linear
        self.depth = 1 if first_linear else 0  # Linear layers applied so far
        self.grown = bounds.first_growth if bounds is not None else 0.0  # log growth of block
        self.linear_index = 0  # index into bounds.log_gamma of the next Linear

    def run(self):
        rest, max_depth = self.rest, self.request.max_depth
        if self._boundary(0):
            self._record(0)
        for i, step in enumerate(rest):
            if isinstance(step, _Linear):
                if self.depth == max_depth:
                    break
                self.frame.linear(step)
                self.depth += 1
                if self.bounds is not None:
                    self.grown += self.bounds.log_gamma[self.linear_index]
                    self.linear_index += 1
            else:
                self.frame.activation(step)
            if self._boundary(i + 1):
                self._record(i + 1)
        return self.frame.bad if self.bounds is not None else None

    def _boundary(self, i) -> bool:
        """A depth is complete when the next step is a Linear or there is none."""
        return self.depth >= 1 and (i == len(self.rest) or isinstance(self.rest[i], _Linear))

    def _record(self, i_next):
        frame, request, bounds = self.frame, self.request, self.bounds
        wanted = self.depth in request.depths
        if bounds is not None:
            fits = (
                i_next >= len(self.rest)
                or self.grown + bounds.log_gamma[self.linear_index] <= bounds.log_ceiling
            )
            if not wanted and fits:
                return  # the block goes on through the next layer
            threshold = bounds.floor * math.exp(self.grown)
            if self.depth == request.max_depth and frame.t.shape[0] <= 2:
                self._store(
                    frame.exponents(
                        self.depth,
                        request.k,
                        request.q_input,
                        request.want_directions,
                        threshold=threshold,
                    )
                )
                return
            frame.renormalise(threshold)
            self.grown = 0.0
        else:
            frame.renormalise()
        if wanted:
            self._store(
                frame.exponents(self.depth, request.k, request.q_input, request.want_directions)
            )

    def _store(self, result):
        lam, vecs = result
        for j, dj in enumerate(self.request.depths):
            if dj == self.depth:
                self.out.lam[j] = lam.to(self.out.lam.dtype)
                if self.out.directions is not None:
                    self.out.directions[j] = vecs.to(self.out.directions.dtype)


def _propagate(
    steps, x, request: _Request, out: _Results, bounds: _BlockBounds | None, work: _Workspace
):
    """Run one chunk of points (see :class:`_ChunkRun`); returns the recompute mask or None."""
    return _ChunkRun(steps, x, request, out, bounds, work).run()


def sequential_ftle(steps, x, *, k, return_directions, layers, batch_size):
    """The fused engine on parsed ``steps`` (see :func:`parse_trunk`); arguments as in
    :func:`deepftle.ftle`, already checked there except those that need the trunk."""
    linears = [s for s in steps if isinstance(s, _Linear)]
    weight = linears[0].weight
    dtype, device = weight.dtype, weight.device
    if dtype == torch.float32 and k > 1:
        # lambda_2..k of a float32 trunk in float64 (the float32 weights converted exactly):
        # float32 products put errors of ~eps sigma_1 into every sigma_i, 1e-2 relative for a
        # sigma_i ~ 1e-5 sigma_1 of an ill-conditioned layer
        out = sequential_ftle(
            _in_float64(steps),
            as_tensor(x),
            k=k,
            return_directions=return_directions,
            layers=layers,
            batch_size=batch_size,
        )
        return tuple(o.float() for o in out) if return_directions else out.float()
    d_in = weight.shape[1]
    x, single = _as_points(x, dtype, device, d_in)
    depths, _ = layer_depths(steps, layers)
    rank_bound = min([d_in] + [lin.weight.shape[0] for lin in linears[: max(depths)]])
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= rank_bound:
        raise ValueError(f"k must be an integer in 1..min(d_in, N) = 1..{rank_bound}, got {k!r}")

    q_input = None
    if isinstance(steps[0], _Linear):
        # W_1^T = Q_1 R_1: tangents start as the rows of R_1 (r x N_1), directions map back by Q_1
        q_input, rows0 = torch.linalg.qr(weight.T)
    else:
        rows0 = torch.eye(d_in, dtype=dtype, device=device)
    request = _Request(depths, k, return_directions, unit_start(rows0), q_input)
    r = rows0.shape[0]
    widest = max(lin.weight.shape[0] for lin in linears)  # tangent rows are hidden-width long
    chunk = batch_size or _default_batch(r, widest, dtype)
    bounds = None if request.orthonormalise else _block_bounds(steps, dtype)

    P = x.shape[0]
    if P == 0:
        raise ValueError("x holds no points")
    out = _Results(
        torch.empty((len(depths), P, k), dtype=dtype, device=device),
        torch.empty((len(depths), P, d_in, k), dtype=dtype, device=device)
        if return_directions
        else None,
    )
    width = widest if q_input is not None else max(widest, d_in)
    work = _Workspace(min(chunk, P), r, width, dtype, device)
    with torch.no_grad():
        for begin in range(0, P, chunk):
            rows = slice(begin, min(begin + chunk, P))
            bad = _propagate(steps, x[rows], request, out.rows(rows), bounds, work)
            if bad is not None and bad.any():
                # underflow possible inside a block: redo these points layer by layer
                idx = torch.nonzero(bad)[:, 0] + begin
                redo = _Results(
                    out.lam.new_empty((len(depths), idx.numel(), k)),
                    None
                    if out.directions is None
                    else out.directions.new_empty((len(depths), idx.numel(), d_in, k)),
                )
                _propagate(steps, x[idx], request, redo, None, work)
                out.put(idx, redo)
    return squeeze_result(
        out.lam,
        out.directions,
        single=single,
        per_layer=layers is not None,
        return_directions=return_directions,
    )
