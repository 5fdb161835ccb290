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

Depth stability: after every layer each point's tangent frame is rescaled by its norm and the
logarithm of the scale accumulated in float64 (``k = 1``), or re-orthonormalised by QR with
the triangular factors multiplied up in float64 and rescaled the same way (``k > 1``, so the
smaller singular values keep their relative accuracy). The result is the exact finite-``L``
exponent, not Benettin's asymptotic sum of ``log |diag R|``.
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
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # b -> (g(b), g'(b))


def _generic_derivative(module: nn.Module):
    """g and g' of an elementwise module by one forward-mode product with a ones tangent."""

    def run(b):
        return torch.func.jvp(module, (b,), (torch.ones_like(b),))

    return run


def _activation(module: nn.Module) -> _Activation | None:
    """Closed-form (g, g') for known elementwise modules; None if not elementwise."""
    from .model import Erf  # local import: model imports nothing from here

    if isinstance(module, nn.Tanh):
        def run(b):  # sech^2 from b keeps its relative accuracy where tanh saturates
            return torch.tanh(b), torch.cosh(b).reciprocal_().square_()
    elif isinstance(module, nn.ReLU):
        def run(b):
            return torch.relu(b), (b > 0).to(b.dtype)
    elif isinstance(module, nn.Sigmoid):
        def run(b):
            y = torch.sigmoid(b)
            return y, y * (1 - y)
    elif isinstance(module, Erf):
        def run(b):
            return torch.erf(b), (2 / _SQRT_PI) * torch.exp(-b * b)
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


class _Frame:
    """Activations and tangents of one chunk of points, propagated layer by layer.

    ``z[0]`` holds the activations (P, n); ``z[1:]`` the tangent frame (r, P, n), whose row j at
    point p is column j of K_p up to the per-point factor ``exp(log_scale[p])`` (k = 1), or of
    ``K_p R_p^{-1}`` with ``R_p = exp(log_scale[p]) * tri[p]`` (k > 1, the frame orthonormal).
    """

    def __init__(self, x, first, q_basis, orthonormalise):
        self.orthonormalise = orthonormalise
        P = x.shape[0]
        if isinstance(first, _Linear):
            # first layer: activations x W^T + b, tangents the rows of R_1 shared by all points
            r1 = q_basis[1]
            h = x @ first.weight.T
            if first.bias is not None:
                h = h + first.bias
            self.z = torch.empty((1 + r1.shape[0], P, h.shape[1]), dtype=x.dtype, device=x.device)
            self.z[0] = h
            self.z[1:] = r1[:, None, :]
        else:
            d = x.shape[1]
            self.z = torch.empty((1 + d, P, d), dtype=x.dtype, device=x.device)
            self.z[0] = x
            self.z[1:] = torch.eye(d, dtype=x.dtype, device=x.device)[:, None, :]
        r = self.z.shape[0] - 1
        self.log_scale = torch.zeros(P, dtype=torch.float64, device=x.device)
        self.tri = (torch.eye(r, dtype=torch.float64, device=x.device).expand(P, r, r).clone()
                    if orthonormalise else None)

    def linear(self, step: _Linear):
        s = self.z.shape
        out = (self.z.reshape(-1, s[2]) @ step.weight.T).reshape(s[0], s[1], -1)
        if step.bias is not None:
            out[0] += step.bias
        self.z = out

    def activation(self, step: _Activation):
        y, dy = step.forward(self.z[0])
        self.z[0] = y
        self.z[1:] *= dy

    def renormalise(self):
        """Keep magnitudes O(1): per-point norm rescaling (k = 1) or QR (k > 1)."""
        tangents = self.z[1:]
        if not self.orthonormalise:
            norm = torch.linalg.vector_norm(tangents, dim=(0, 2))
            safe = torch.where(norm > 0, norm, torch.ones_like(norm))
            tangents /= safe[None, :, None]
            self.log_scale += torch.log(safe.to(torch.float64))
            return
        # per point: tangents^T (n x r) = Q R; new frame Q^T, tri <- R tri
        q, rr = torch.linalg.qr(tangents.permute(1, 2, 0))  # (P, n, r'), (P, r', r)
        tri = rr.to(torch.float64) @ self.tri
        scale = tri.abs().amax(dim=(1, 2))
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        self.tri = tri / safe[:, None, None]
        self.log_scale += torch.log(safe)
        z = torch.empty((1 + q.shape[2],) + tuple(self.z.shape[1:]), dtype=self.z.dtype,
                        device=self.z.device)
        z[0] = self.z[0]
        z[1:] = q.permute(2, 0, 1)
        self.z = z

    def exponents(self, depth, k, q_input, want_directions):
        """lambda_1..k at this depth (frame must be renormalised) and directions in input space."""
        if not self.orthonormalise:
            t = self.z[1:].permute(1, 0, 2).to(torch.float64)  # (P, r, n)
            gram = t @ t.transpose(1, 2)  # K^T K up to scale, (P, r, r)
            if want_directions:
                evals, evecs = torch.linalg.eigh(gram)
                sigma2 = evals.flip(-1)[:, :k]
                vecs = evecs.flip(-1)[:, :, :k]
            else:
                sigma2 = torch.linalg.eigvalsh(gram).flip(-1)[:, :k]
            log_sigma = 0.5 * torch.log(sigma2.clamp_min(0))
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


def _default_batch(r, width, dtype) -> int:
    """Points per chunk so that one (1 + r, P, width) buffer stays near 64 MiB."""
    itemsize = torch.finfo(dtype).bits // 8
    return max(1, (64 << 20) // ((1 + r) * max(width, 1) * itemsize))


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
        Points per chunk (memory bound); default keeps the working buffer near 64 MiB.

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

    q_input, q_basis = None, None
    if isinstance(steps[0], _Linear):
        # W_1^T = Q_1 R_1: tangents start as the rows of R_1 (r x N_1), directions map back by Q_1
        q1, r1 = torch.linalg.qr(weight.T)
        q_basis = (q1, r1)
        q_input = q1
    r = q_basis[1].shape[0] if q_basis is not None else d_in
    widest = max([d_in] + [lin.weight.shape[0] for lin in linears])
    chunk = batch_size or _default_batch(r, widest, dtype)
    orthonormalise = k > 1

    lam_out = torch.empty((len(depths), x.shape[0], k), dtype=dtype, device=device)
    dir_out = (torch.empty((len(depths), x.shape[0], d_in, k), dtype=dtype, device=device)
               if return_directions else None)
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk):
            sl = slice(start, min(start + chunk, x.shape[0]))
            _propagate(steps, x[sl], q_basis, q_input, depths, max_depth, k, orthonormalise,
                       lam_out[:, sl], None if dir_out is None else dir_out[:, sl])
    if single:
        lam_out = lam_out[:, 0]
        dir_out = None if dir_out is None else dir_out[:, 0]
    if layers is None:
        lam_out = lam_out[0]
        dir_out = None if dir_out is None else dir_out[0]
    return (lam_out, dir_out) if return_directions else lam_out


def _propagate(steps, x, q_basis, q_input, depths, max_depth, k, orthonormalise, lam_out, dir_out):
    """Run one chunk through the trunk, writing lambda (and v) at every requested depth."""
    frame = _Frame(x, steps[0], q_basis, orthonormalise)
    first_linear = isinstance(steps[0], _Linear)
    depth = 1 if first_linear else 0
    rest = steps[1:] if first_linear else steps

    def boundary(i):  # a depth is complete when the next step is a Linear or there is none
        return depth >= 1 and (i == len(rest) or isinstance(rest[i], _Linear))

    def record():
        frame.renormalise()
        if depth not in depths:
            return
        lam, vecs = frame.exponents(depth, k, q_input, dir_out is not None)
        for j, dj in enumerate(depths):
            if dj == depth:
                lam_out[j] = lam.to(lam_out.dtype)
                if dir_out is not None:
                    dir_out[j] = vecs.to(dir_out.dtype)

    if boundary(0):
        record()
    for i, step in enumerate(rest):
        if isinstance(step, _Linear):
            if depth == max_depth:
                break
            frame.linear(step)
            depth += 1
        else:
            frame.activation(step)
        if boundary(i + 1):
            record()
