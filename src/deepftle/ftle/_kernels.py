r"""Dense linear-algebra kernels of the engine, batched over points.

Each function works on a batch of small matrices, one per point: the canonical sign of singular
vectors, the 2 x 2 Gram's closed-form top eigenpair, a two-column QR, the certified power
iteration with repeated squaring for the top eigenvalue of an r x r Gram, and the fused
tanh / sech^2 pass; and a one-thread context for small batched LAPACK calls. None of them
knows about networks.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Sequence

import torch


def canonical_sign(v: torch.Tensor) -> torch.Tensor:
    """Flip each singular vector (dim -2 holds components) so its largest component is positive."""
    idx = v.abs().argmax(dim=-2, keepdim=True)
    sign = torch.sign(torch.gather(v, -2, idx))
    return v * torch.where(sign == 0, torch.ones_like(sign), sign)


def safe_divisor(v: torch.Tensor) -> torch.Tensor:
    """v where it is a positive finite number, else 1 (a neutral divisor)."""
    return torch.where((v > 0) & torch.isfinite(v), v, torch.ones_like(v))


def unit_start(rows: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The start frame (the same r rows for every point) at unit Frobenius norm, and the
    logarithm of the norm it was divided by (1 where the norm is zero or not finite)."""
    norm = torch.linalg.matrix_norm(rows.double()).item()
    norm = norm if 0 < norm < math.inf else 1.0
    return rows / norm, math.log(norm)


def qr2(t: torch.Tensor):
    """Vectorised QR of two tangents per point: CGS with one re-orthogonalisation pass.

    ``t`` (P, 2, n) holds the rows; returns the orthonormal rows (P, 2, n) and R (P, 2, 2),
    ``t = R^T q`` row-wise. A zero row yields a zero row of q and a zero diagonal entry of R.
    """
    t0, t1 = t[:, 0], t[:, 1]
    r00 = torch.linalg.vector_norm(t0, dim=1)
    q0 = t0 / safe_divisor(r00)[:, None]
    r01 = (q0 * t1).sum(1)
    u = t1 - r01[:, None] * q0
    c = (q0 * u).sum(1)  # second pass ("twice is enough")
    u -= c[:, None] * q0
    r01 += c
    r11 = torch.linalg.vector_norm(u, dim=1)
    q1 = u / safe_divisor(r11)[:, None]
    rr = torch.zeros((t.shape[0], 2, 2), dtype=t.dtype, device=t.device)
    rr[:, 0, 0], rr[:, 0, 1], rr[:, 1, 1] = r00, r01, r11
    return torch.stack((q0, q1), dim=1), rr


def top_eig2(t: torch.Tensor, *, want_vector: bool):
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
    scale = safe_divisor(trace)
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
    v = torch.where(
        (n > 0)[:, None],
        v / safe_divisor(n)[:, None],
        torch.tensor([1.0, 0.0], dtype=v.dtype, device=v.device),
    )
    return lam, v, trace


def _symmetric_matvec(gram: torch.Tensor, v: torch.Tensor, scratch: torch.Tensor) -> torch.Tensor:
    """G v for a batch of symmetric G (P, r, r), as sum_i G[:, i, :] v_i: an elementwise product
    (into the flat ``scratch``) reduced over an outer axis, several times faster than ``bmm``."""
    prod = scratch[: gram.numel()].view(gram.shape)
    return torch.mul(gram, v[:, :, None], out=prod).sum(1)


def top_eig_power(
    t: torch.Tensor,
    tol: float,
    squarings: int = 3,
    rounds: int = 4,
    scratch: Sequence[torch.Tensor] | None = None,
):
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
    gram, power, square = (buf[: P * r * r].view(P, r, r) for buf in scratch)
    torch.bmm(t, t.transpose(1, 2), out=gram)
    trace = safe_divisor(gram.diagonal(dim1=1, dim2=2).sum(1))
    torch.div(gram, trace[:, None, None], out=power)
    fro2 = None
    for _ in range(squarings):
        torch.bmm(power, power, out=square)
        tr = safe_divisor(square.diagonal(dim1=1, dim2=2).sum(1))
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
        v = v / safe_divisor(torch.linalg.vector_norm(v, dim=1))[:, None]
        w = _symmetric_matvec(gram, v, scratch[2])
        rho = (v * w).sum(1)
        delta2 = (w - rho[:, None] * v).square().sum(1)
        alpha = torch.minimum(trace - rho, torch.sqrt((fro2 - rho * rho).clamp_min(0)))
        ok = (rho > alpha) & (delta2 <= tol * rho * (rho - alpha)) & torch.isfinite(rho)
        out[todo[ok]] = rho[ok].double()
        keep = ~ok
        todo, gram, power, v, trace, fro2 = (
            todo[keep],
            gram[keep],
            power[keep],
            v[keep],
            trace[keep],
            fro2[keep],
        )
        if todo.numel() == 0:
            return out
    td = t[todo].double()
    out[todo] = torch.linalg.eigvalsh(td @ td.transpose(1, 2))[:, -1]
    return out


def triangular_rank(rr: torch.Tensor, rel: float) -> torch.Tensor:
    """Per point, the singular values of ``A = Q R`` above ``rel`` times the largest, from R
    (P, m, r). Tall or square (m = r): the diagonal entries of R above ``rel`` times the
    largest (Gram-Schmidt adds a column's new direction there, so in exact arithmetic their
    count is the rank); wide (m < r), where a later column may bring the direction an earlier
    one lacked, from the singular values of R."""
    if rr.shape[1] < rr.shape[2]:
        s = torch.linalg.svdvals(rr)
        return (s > rel * s[:, :1]).sum(dim=1)
    diag = rr.diagonal(dim1=1, dim2=2).abs()
    return (diag > rel * diag.amax(dim=1, keepdim=True)).sum(dim=1)


def tanh_and_derivative(h: torch.Tensor, u: torch.Tensor, s: torch.Tensor):
    """Overwrite h = b by tanh(b) and s by sech^2(b), from one transcendental per element.

    With u = sigmoid(-2|b|) in (0, 1/2]: sech^2 b = 4u (1 - u) (relative accuracy even in deep
    saturation, where 1 - tanh^2 would round to 0) and tanh b = sign(b) (1 - 2u) (absolute
    accuracy ~ eps, the same as the rounding of the next layer's matrix product).
    """
    torch.abs(h, out=u).mul_(-2).sigmoid_()
    torch.mul(u, 4, out=s).addcmul_(s, u, value=-1)
    h.sign_()
    h.addcmul_(h, u, value=-2)


@contextmanager
def lapack_one_thread(device: torch.device):
    """Run small batched LAPACK calls (``eigh`` of many m x m matrices) on one CPU thread.

    MKL's divide-and-conquer ``syevd`` (m > 25) threads every tiny matrix: on 2 shared cores a
    batch of 1000 44 x 44 ``eigh`` took 2.1 s threaded and 0.25 s on one thread (measured).
    No effect on CUDA tensors."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
