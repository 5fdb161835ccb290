r"""Finite-time Lyapunov exponents of a feed-forward trunk.

For a trunk :math:`x^{(\ell)} = g(W^{(\ell)} x^{(\ell-1)} - \theta^{(\ell)})`, :math:`\ell = 1..L`,
the input-output Jacobian is

.. math::  J = \partial x^{(L)} / \partial x^{(0)} = D_L W_L \cdots D_1 W_1,
           \qquad D_\ell = \operatorname{diag} g'(b^{(\ell)}),

and the FTLEs are :math:`\lambda_i^{(L)}(x) = L^{-1} \log \sigma_i(J)`, :math:`\sigma_1 \ge \sigma_2 \ge \dots`.
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
from typing import Callable, Sequence

import torch
from torch import nn

__all__ = ["ftle"]

_SQRT_PI = math.sqrt(math.pi)


@dataclass(frozen=True)
class _Linear:
    weight: torch.Tensor  # (out, in)
    bias: torch.Tensor | None


@dataclass(frozen=True)
class _Activation:
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None  # b -> (g, g')
    gmax: float | None = None  # sup |g'| when known (bounds the tangent growth of a layer)
    tanh: bool = False  # fused tanh path (_tanh_and_derivative)


def _generic_derivative(module: nn.Module):
    """g and g' of an elementwise module by one forward-mode product with a ones tangent."""

    def run(b):
        return torch.func.jvp(module, (b,), (torch.ones_like(b),))

    return run


def _activation(module: nn.Module) -> _Activation | None:
    """Closed-form (g, g') for known elementwise modules; None if not elementwise."""
    from .model import Erf  # local import: model imports nothing from here

    if isinstance(module, nn.Tanh):  # fused in _Frame.activation (_tanh_and_derivative)
        return _Activation(None, 1.0, tanh=True)
    elif isinstance(module, nn.ReLU):
        def run(b):
            return torch.relu(b), (b > 0).to(b.dtype)
        return _Activation(run, 1.0)
    elif isinstance(module, nn.Sigmoid):
        def run(b):
            y = torch.sigmoid(b)
            return y, y * (1 - y)
        return _Activation(run, 0.25)
    elif isinstance(module, Erf):
        def run(b):
            return torch.erf(b), (2 / _SQRT_PI) * torch.exp(-b * b)
        return _Activation(run, 2 / _SQRT_PI)
    elif isinstance(module, (nn.LeakyReLU, nn.Softplus, nn.GELU, nn.ELU, nn.SiLU, nn.CELU,
                             nn.SELU, nn.Mish, nn.Softsign, nn.Hardtanh, nn.Tanhshrink,
                             nn.Hardswish, nn.Hardsigmoid, nn.LogSigmoid)):
        run = _generic_derivative(module)
    else:
        return None
    return _Activation(run)


def _flatten(module: nn.Module):
    for child in module:
        if isinstance(child, nn.Sequential):
            yield from _flatten(child)
        else:
            yield child


def _parse_trunk(trunk) -> list:
    """Turn a Sequential into a list of _Linear / _Activation steps, validating every module."""
    if not isinstance(trunk, nn.Sequential):
        raise ValueError(
            f"trunk must be a torch.nn.Sequential of Linear layers and elementwise activations, "
            f"got {type(trunk).__name__} (for a deepftle.MLP pass model.trunk)")
    steps = []
    for index, module in enumerate(_flatten(trunk)):
        if isinstance(module, nn.Linear):
            steps.append(_Linear(module.weight.detach(),
                                 None if module.bias is None else module.bias.detach()))
        elif isinstance(module, nn.Identity):
            continue
        elif isinstance(module, nn.Dropout):
            if module.training and module.p > 0:
                raise ValueError(f"unsupported module {index} ({module!r}): Dropout in training "
                                 f"mode is random; call trunk.eval() first")
            continue
        else:
            act = _activation(module)
            if act is None:
                raise ValueError(f"unsupported module {index} ({type(module).__name__}): the trunk "
                                 f"may hold only nn.Linear and elementwise activations")
            steps.append(act)
    if not any(isinstance(s, _Linear) for s in steps):
        raise ValueError("trunk holds no nn.Linear layer")
    return steps


def _as_points(x, dtype, device, d_in) -> tuple[torch.Tensor, bool]:
    x = torch.as_tensor(x)
    single = x.dim() == 1
    if single:
        x = x[None]
    if x.dim() != 2:
        raise ValueError(f"x must have shape (P, d_in) or (d_in,), got {tuple(x.shape)}")
    if x.shape[1] != d_in:
        raise ValueError(f"shape mismatch: x has {x.shape[1]} input components but the first "
                         f"Linear layer expects d_in = {d_in}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.numel() and torch.isfinite(x.sum()):  # one pass; NaN/inf (or overflow) -> exact checks
        return x.to(device=device, dtype=dtype), single
    if torch.isnan(x).any():
        raise ValueError(f"x contains NaN ({int(torch.isnan(x).any(dim=1).sum())} of "
                         f"{x.shape[0]} points)")
    if not torch.isfinite(x).all():
        raise ValueError("x contains infinite values")
    return x.to(device=device, dtype=dtype), single


def _depths(steps, layers) -> tuple[list[int], int]:
    n_linear = sum(isinstance(s, _Linear) for s in steps)
    if layers is None:
        return [n_linear], n_linear
    layers = [layers] if isinstance(layers, int) else list(layers)
    if not layers:
        raise ValueError("layers must be a non-empty list of depths")
    for l in layers:
        if not isinstance(l, int) or isinstance(l, bool) or not 1 <= l <= n_linear:
            raise ValueError(f"layers must hold integers in 1..{n_linear} (the number of Linear "
                             f"layers), got {l!r}")
    return layers, n_linear


def _canonical_sign(v: torch.Tensor) -> torch.Tensor:
    """Flip each singular vector (dim -2 holds components) so its largest component is positive."""
    idx = v.abs().argmax(dim=-2, keepdim=True)
    sign = torch.sign(torch.gather(v, -2, idx))
    return v * torch.where(sign == 0, torch.ones_like(sign), sign)


def _safe(v: torch.Tensor) -> torch.Tensor:
    """v where it is a positive finite number, else 1 (a neutral divisor)."""
    return torch.where((v > 0) & torch.isfinite(v), v, torch.ones_like(v))


def _unit_start(rows: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The start frame (the same r rows for every point) at unit Frobenius norm, and the
    logarithm of the norm it was divided by (1 where the norm is zero or not finite)."""
    norm = torch.linalg.matrix_norm(rows.double()).item()
    norm = norm if 0 < norm < math.inf else 1.0
    return rows / norm, math.log(norm)


def _qr2(t: torch.Tensor):
    """Vectorised QR of two tangents per point: CGS with one re-orthogonalisation pass.

    ``t`` (P, 2, n) holds the rows; returns the orthonormal rows (P, 2, n) and R (P, 2, 2),
    ``t = R^T q`` row-wise. A zero row yields a zero row of q and a zero diagonal entry of R.
    """
    t0, t1 = t[:, 0], t[:, 1]
    r00 = torch.linalg.vector_norm(t0, dim=1)
    q0 = t0 / _safe(r00)[:, None]
    r01 = (q0 * t1).sum(1)
    u = t1 - r01[:, None] * q0
    c = (q0 * u).sum(1)  # second pass ("twice is enough")
    u -= c[:, None] * q0
    r01 += c
    r11 = torch.linalg.vector_norm(u, dim=1)
    q1 = u / _safe(r11)[:, None]
    rr = torch.zeros((t.shape[0], 2, 2), dtype=t.dtype, device=t.device)
    rr[:, 0, 0], rr[:, 0, 1], rr[:, 1, 1] = r00, r01, r11
    return torch.stack((q0, q1), dim=1), rr


def _top_eig2(t: torch.Tensor, want_vector: bool):
    """Largest eigenvalue (and eigenvector) of the 2 x 2 Gram t t^T per point, closed form.

    ``t`` (P, 2, n). Returns sigma_1^2 (P,) float64, v (P, 2) float64 if asked (else None) and
    the trace a + c = ||t||_F^2. Both terms of (a + c)/2 + sqrt(((a - c)/2)^2 + b^2) are
    non-negative: no cancellation. The Gram is divided by its trace first, so that the squares
    of its entries neither overflow nor underflow whatever the scale of t.
    """
    a = t[:, 0].square().sum(1).double()
    c = t[:, 1].square().sum(1).double()
    b = (t[:, 0] * t[:, 1]).sum(1).double()
    trace = a + c
    scale = _safe(trace)
    a, b, c = a / scale, b / scale, c / scale
    half = 0.5 * (a - c)
    root = torch.sqrt(half * half + b * b)
    lam = (0.5 * (a + c) + root) * scale
    if not want_vector:
        return lam, None, trace
    # eigenvector (lam - c, b) when a >= c, else (b, lam - a): both components free of cancellation
    big = half >= 0
    v = torch.stack((torch.where(big, half + root, b), torch.where(big, b, root - half)), dim=1)
    n = torch.linalg.vector_norm(v, dim=1)
    v = torch.where((n > 0)[:, None], v / _safe(n)[:, None],
                    torch.tensor([1.0, 0.0], dtype=v.dtype, device=v.device))
    return lam, v, trace


def _symmetric_matvec(gram: torch.Tensor, v: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """G v for a batch of symmetric G (P, r, r), as sum_i G[:, i, :] v_i: an elementwise product
    (into the flat ``scratch``) reduced over an outer axis, several times faster than ``bmm``."""
    prod = scratch[:gram.numel()].view(gram.shape)
    return torch.mul(gram, v[:, :, None], out=prod).sum(1)


def _top_eig_power(t: torch.Tensor, tol: float, squarings: int = 3, rounds: int = 4,
                   scratch: Sequence[torch.Tensor] | None = None):
    """Largest eigenvalue of the Gram G = t t^T (t: (P, r, n)) per point, certified.

    Power iteration with the matrix power A = G^(2^squarings) (formed by repeated squaring,
    rescaled by its trace: batched matrix products run near peak, batched matrix-vector
    products do not), started from the column of A with the largest diagonal; each round is one
    more product with A. A point is accepted when the Kato-Temple bound certifies the Rayleigh
    quotient rho = v^T G v to relative accuracy ``tol``: lambda_1 in [rho, rho + delta^2 /
    (rho - alpha)], delta = ||G v - rho v||, for any alpha >= lambda_2 below rho. Two such
    bounds are used, the smaller one: tr G - rho, and sqrt(||G||_F^2 - rho^2) (as rho <=
    lambda_1, ||G||_F^2 - rho^2 >= sum_{i>=2} lambda_i^2). Points not certified after all
    rounds (near-degenerate sigma_1 ~ sigma_2, zero frames) fall back to float64 ``eigvalsh``.
    ``scratch``: three flat buffers of at least P r^2 elements (reused across calls: fresh
    multi-MB temporaries cost page faults). Returns sigma_1^2 (P,) float64.
    """
    P, r = t.shape[:2]
    if scratch is None:
        scratch = [t.new_empty(P * r * r) for _ in range(3)]
    gram, power, square = (buf[:P * r * r].view(P, r, r) for buf in scratch)
    torch.bmm(t, t.transpose(1, 2), out=gram)
    trace = _safe(gram.diagonal(dim1=1, dim2=2).sum(1))
    torch.div(gram, trace[:, None, None], out=power)
    fro2 = None
    for _ in range(squarings):
        torch.bmm(power, power, out=square)
        tr = _safe(square.diagonal(dim1=1, dim2=2).sum(1))
        if fro2 is None:  # tr (G / tr G)^2 = ||G||_F^2 / (tr G)^2
            fro2 = tr * trace * trace
        torch.div(square, tr[:, None, None], out=power)
    if fro2 is None:
        fro2 = gram.square().sum((1, 2))
    diag = power.diagonal(dim1=1, dim2=2).contiguous()
    v = power[torch.arange(P, device=t.device), :, diag.argmax(1)]
    out = torch.empty(P, dtype=torch.float64, device=t.device)
    todo = torch.arange(P, device=t.device)
    for round_ in range(rounds):
        if round_:
            v = _symmetric_matvec(power, v, scratch[2])
        v = v / _safe(torch.linalg.vector_norm(v, dim=1))[:, None]
        w = _symmetric_matvec(gram, v, scratch[2])
        rho = (v * w).sum(1)
        delta2 = (w - rho[:, None] * v).square().sum(1)
        alpha = torch.minimum(trace - rho, torch.sqrt((fro2 - rho * rho).clamp_min(0)))
        ok = (rho > alpha) & (delta2 <= tol * rho * (rho - alpha)) & torch.isfinite(rho)
        out[todo[ok]] = rho[ok].double()
        keep = ~ok
        todo, gram, power, v, trace, fro2 = (todo[keep], gram[keep], power[keep], v[keep],
                                             trace[keep], fro2[keep])
        if todo.numel() == 0:
            return out
    td = t[todo].double()
    out[todo] = torch.linalg.eigvalsh(td @ td.transpose(1, 2))[:, -1]
    return out


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
        self.scratch = [torch.empty(points * width, dtype=dtype, device=device)
                        for _ in range(2)]
        self._grams = None

    def frame(self, which, rows, points, width):
        return self.frames[which][:rows * points * width].view(rows, points, width)

    def pair(self, points, width):
        return [s[:points * width].view(points, width) for s in self.scratch]

    def grams(self, points, r):
        """Three flat buffers of points * r^2 elements for the power iteration (made once)."""
        size = points * r * r
        if self._grams is None or self._grams[0].numel() < size:
            self._grams = [self.frames[0].new_empty(size) for _ in range(3)]
        return self._grams


def _tanh_and_derivative(h: torch.Tensor, u: torch.Tensor, s: torch.Tensor):
    """Overwrite h = b by tanh(b) and s by sech^2(b), from one transcendental per element.

    With u = sigmoid(-2|b|) in (0, 1/2]: sech^2 b = 4u (1 - u) (relative accuracy even in deep
    saturation, where 1 - tanh^2 would round to 0) and tanh b = sign(b) (1 - 2u) (absolute
    accuracy ~ eps, the same as the rounding of the next layer's matrix product).
    """
    torch.abs(h, out=u).mul_(-2).sigmoid_()
    torch.mul(u, 4, out=s).addcmul_(s, u, value=-1)
    h.sign_()
    h.addcmul_(h, u, value=-2)


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
        """``start`` = (rows, log_norm) from ``_unit_start``: the tangent rows shared by all
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
        self.tri = (torch.eye(r, dtype=torch.float64, device=x.device).expand(P, r, r).clone()
                    if orthonormalise else None)
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
            _tanh_and_derivative(h, u, s)
            t.mul_(s)
        else:
            y, dy = step.forward(h)
            h.copy_(y)
            t.mul_(dy)

    def _flag_underflow(self, norm, threshold, ok=True):
        """Mark ``bad`` the points whose frame norm is below ``threshold``, not finite, or not
        ``ok``: inside the block they may have lost digits to underflow."""
        self.bad |= ~((norm >= threshold) & torch.isfinite(norm) & ok)

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
            safe = _safe(norm)
            t.mul_(safe.reciprocal()[:, None])
            self.log_scale += torch.log(safe.to(torch.float64))
            return
        rows = t.transpose(0, 1)  # (P, r, n) view
        if t.shape[0] == 2 and t.shape[2] >= 2:
            q, rr = _qr2(rows)
        else:  # per point: t^T (n x r) = Q R; new frame Q^T
            q, rr = torch.linalg.qr(rows.transpose(1, 2))
            q = q.transpose(1, 2)
        t.copy_(q.transpose(0, 1))
        tri = rr.to(torch.float64) @ self.tri
        scale = tri.abs().amax(dim=(1, 2))
        safe = _safe(scale)
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
                sigma2, v, trace = _top_eig2(t, want_directions)
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
                sigma2 = _top_eig_power(rows, tol, scratch=self.work.grams(*t.shape[:2]))
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
            log_sigma = torch.log(s[:, :k])
        lam = (self.log_scale[:, None] + log_sigma) / depth
        if not want_directions:
            return lam, None
        if q_input is not None:
            vecs = q_input.to(torch.float64) @ vecs
        return lam, _canonical_sign(vecs)


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


def ftle(trunk: nn.Sequential, x, k: int = 1, return_directions: bool = False,
         layers: Sequence[int] | None = None, batch_size: int | None = None):
    r"""Finite-time Lyapunov exponents :math:`\lambda_i^{(L)}(x) = L^{-1}\log\sigma_i(J(x))`.

    Parameters
    ----------
    trunk:
        ``torch.nn.Sequential`` of ``nn.Linear`` layers and elementwise activations (``Tanh``,
        ``ReLU``, ``Sigmoid``, ``Softplus``, ``deepftle.model.Erf``, ...; nested Sequentials,
        ``Identity`` and eval-mode ``Dropout`` are allowed). ``L`` = number of Linear layers.
        The computation runs on the trunk's device and in its dtype (float32 or float64).
    x:
        Inputs, shape ``(P, d_in)`` (or ``(d_in,)`` for one point), tensor or array.
    k:
        Number of exponents, ``1 <= k <= min(d_in, N_1, ..., N_L)``.
    return_directions:
        Also return the right singular vectors :math:`v_1..v_k` in input space, shape
        ``(P, d_in, k)``; ``[..., 0]`` is the maximal stretching direction. The sign of each
        vector is fixed so that its largest component is positive.
    layers:
        Depths ``l`` (1..L) at which to return :math:`\lambda^{(l)} = l^{-1}\log\sigma(J_l)`,
        ``J_l = \partial x^{(l)} / \partial x^{(0)}``, all in one pass. Adds a leading axis.
    batch_size:
        Points per chunk (memory bound); the default keeps a chunk's frame near 4 MiB
        (2 MiB for widths of 100 and more) so that it stays in cache between a layer's matrix
        product and its elementwise passes.

    Returns
    -------
    ``lam`` of shape ``(P, k)`` (descending), or ``(len(layers), P, k)``; with
    ``return_directions`` the tuple ``(lam, v)``. A zero singular value gives ``-inf``, never NaN.
    """
    steps = _parse_trunk(trunk)
    linears = [s for s in steps if isinstance(s, _Linear)]
    weight = linears[0].weight
    dtype, device = weight.dtype, weight.device
    d_in = weight.shape[1]
    x, single = _as_points(x, dtype, device, d_in)
    depths, _ = _depths(steps, layers)
    max_depth = max(depths)
    rank_bound = min([d_in] + [lin.weight.shape[0] for lin in linears[:max_depth]])
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= rank_bound:
        raise ValueError(f"k must be an integer in 1..min(d_in, N) = 1..{rank_bound}, got {k!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")

    q_input = None
    if isinstance(steps[0], _Linear):
        # W_1^T = Q_1 R_1: tangents start as the rows of R_1 (r x N_1), directions map back by Q_1
        q_input, rows0 = torch.linalg.qr(weight.T)
    else:
        rows0 = torch.eye(d_in, dtype=dtype, device=device)
    unit_rows = _unit_start(rows0)
    r = rows0.shape[0]
    widest = max(lin.weight.shape[0] for lin in linears)  # tangent rows are hidden-width long
    chunk = batch_size or _default_batch(r, widest, dtype)
    orthonormalise = k > 1
    bounds = None if orthonormalise else _block_bounds(steps, dtype)

    lam_out = torch.empty((len(depths), x.shape[0], k), dtype=dtype, device=device)
    dir_out = (torch.empty((len(depths), x.shape[0], d_in, k), dtype=dtype, device=device)
               if return_directions else None)
    width = widest if q_input is not None else max(widest, d_in)
    work = _Workspace(min(chunk, x.shape[0]), r, width, dtype, device)
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk):
            sl = slice(start, min(start + chunk, x.shape[0]))
            bad = _propagate(steps, x[sl], unit_rows, q_input, depths, max_depth, k,
                             orthonormalise, lam_out[:, sl],
                             None if dir_out is None else dir_out[:, sl], bounds, work)
            if bad is not None and bad.any():
                # underflow possible inside a block: redo these points layer by layer
                idx = torch.nonzero(bad)[:, 0] + start
                lam_b = lam_out.new_empty((len(depths), idx.numel(), k))
                dir_b = None if dir_out is None else dir_out.new_empty(
                    (len(depths), idx.numel(), d_in, k))
                _propagate(steps, x[idx], unit_rows, q_input, depths, max_depth, k,
                           orthonormalise, lam_b, dir_b, None, work)
                lam_out[:, idx] = lam_b
                if dir_out is not None:
                    dir_out[:, idx] = dir_b
    if single:
        lam_out = lam_out[:, 0]
        dir_out = None if dir_out is None else dir_out[:, 0]
    if layers is None:
        lam_out = lam_out[0]
        dir_out = None if dir_out is None else dir_out[0]
    return (lam_out, dir_out) if return_directions else lam_out


def _block_bounds(steps, dtype):
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
            logs.append(math.log(max(torch.linalg.matrix_norm(step.weight.double(), 2).item(),
                                     1e-300)))
        elif step.gmax is None:
            return None
        elif logs:
            logs[-1] += math.log(step.gmax)
        else:  # activations of the first layer
            first += math.log(step.gmax)
    return floor, math.log(ceiling), max(first, 0.0), [max(g, 0.0) for g in logs]


def _propagate(steps, x, start, q_input, depths, max_depth, k, orthonormalise, lam_out,
               dir_out, bounds, work):
    """Run one chunk through the trunk, writing lambda (and v) at every requested depth.

    Returns a bool mask of points to recompute with every-layer renormalisation (block mode).
    """
    frame = _Frame(x, steps[0], start, orthonormalise, work)
    first_linear = isinstance(steps[0], _Linear)
    depth = 1 if first_linear else 0
    rest = steps[1:] if first_linear else steps
    block = bounds is not None and not orthonormalise
    if block:
        floor, log_ceiling, grown, log_gamma = bounds
        linear_index = 0

    def boundary(i):  # a depth is complete when the next step is a Linear or there is none
        return depth >= 1 and (i == len(rest) or isinstance(rest[i], _Linear))

    def record():
        nonlocal grown
        if block:
            if depth not in depths and (i_next >= len(rest) or
                                        grown + log_gamma[linear_index] <= log_ceiling):
                return
            if depth == max_depth and frame.t.shape[0] <= 2:
                store(frame.exponents(depth, k, q_input, dir_out is not None,
                                      threshold=floor * math.exp(grown)))
                return
            frame.renormalise(floor * math.exp(grown))
            grown = 0.0
        else:
            frame.renormalise()
        if depth in depths:
            store(frame.exponents(depth, k, q_input, dir_out is not None))

    def store(result):
        lam, vecs = result
        for j, dj in enumerate(depths):
            if dj == depth:
                lam_out[j] = lam.to(lam_out.dtype)
                if dir_out is not None:
                    dir_out[j] = vecs.to(dir_out.dtype)

    i_next = 0
    if boundary(0):
        record()
    for i, step in enumerate(rest):
        if isinstance(step, _Linear):
            if depth == max_depth:
                break
            frame.linear(step)
            depth += 1
            if block:
                grown += log_gamma[linear_index]
                linear_index += 1
        else:
            frame.activation(step)
        i_next = i + 1
        if boundary(i + 1):
            record()
    return frame.bad if block else None
