r"""Matrix-free top-k eigenpairs of a batch of symmetric positive semi-definite operators.

For each point p the operator is :math:`A_p = J_p^T J_p` (or :math:`J_p J_p^T`), known only
through products with blocks of vectors (one JVP and one VJP each). Block Lanczos with full
re-orthogonalisation builds, after ``m`` steps of block size ``b``, the block-tridiagonal
projection :math:`T_m = Q_m^T A Q_m` and the relation :math:`A Q_m = Q_m T_m + Q_{m+1} B_m
E_m^T`. A Ritz pair :math:`(\theta_i, y_i = Q_m s_i)` then has the residual norm
:math:`\|A y_i - \theta_i y_i\| = \|B_m s_i^{(m)}\|` (the last block of :math:`s_i`) without
another product.

Stopping rule (per point, per wanted pair): the Kato-Temple bound
:math:`\theta_i \le \lambda_i \le \theta_i + \|r_i\|^2 / (\theta_i - \alpha)` with
:math:`\alpha = \theta_{i+1} + \|r_{i+1}\|` (the next Ritz interval's upper end standing for
:math:`\lambda_{i+1}`; the lower side with :math:`\theta_{i-1} - \|r_{i-1}\|` likewise). A point
stops when this bound is below ``tol`` relative to :math:`\theta_i` for every wanted i; its
exponent error is then below ``tol / (2 L)``. Points that do not certify within ``max_steps``
are reported, and the caller computes them exactly.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch


class KrylovResult(NamedTuple):
    eigenvalues: torch.Tensor  # (P, k) float64, descending
    vectors: torch.Tensor | None  # (P, n, k), unit columns, or None
    certified: torch.Tensor  # (P,) bool
    steps: int  # block steps taken


def _certified(theta: torch.Tensor, resid: torch.Tensor, k: int, tol: float) -> torch.Tensor:
    """Kato-Temple check of the top k Ritz pairs. ``theta``, ``resid``: (P, m) descending."""
    P, m = theta.shape
    ok = torch.ones(P, dtype=torch.bool, device=theta.device)
    for i in range(k):
        t, r2 = theta[:, i], resid[:, i].square()
        if i + 1 < m:
            alpha = theta[:, i + 1] + resid[:, i + 1]
            upper = torch.where(t > alpha, r2 / (t - alpha).clamp_min(1e-300),
                                torch.full_like(t, torch.inf))
        else:  # no next Ritz value: only an invariant subspace certifies
            upper = torch.where(r2 == 0, torch.zeros_like(t), torch.full_like(t, torch.inf))
        err = upper
        if i > 0:
            beta = theta[:, i - 1] - resid[:, i - 1]
            lower = torch.where(beta > t, r2 / (beta - t).clamp_min(1e-300),
                                torch.full_like(t, torch.inf))
            err = torch.maximum(err, lower)
        ok &= (err <= tol * t) | (t <= 0) & (r2 == 0)
    return ok & torch.isfinite(theta[:, :k]).all(dim=1)


def block_lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], P: int, n: int, k: int,
                  block: int, tol: float, max_steps: int, want_vectors: bool, dtype, device,
                  seed: int = 0) -> KrylovResult:
    """Top-k eigenpairs of P operators of size n (``matvec``: (P, n, b) -> (P, n, b)).

    The Krylov basis (P, n, m b) is kept in ``dtype``; projections and the Ritz problem in
    float64. Each point's answer is the one of the step at which it first certified.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(P, n, block, generator=gen, dtype=torch.float64).to(device=device,
                                                                        dtype=dtype)
    v = torch.linalg.qr(v)[0]
    basis = [v]
    diag_blocks, off_blocks = [], []
    eig = torch.zeros(P, k, dtype=torch.float64, device=device)
    done = torch.zeros(P, dtype=torch.bool, device=device)
    coeffs = torch.zeros(P, max_steps * block, k, dtype=torch.float64, device=device)
    steps = 0
    for step in range(max_steps):
        steps = step + 1
        w = matvec(basis[-1])
        a = (basis[-1].transpose(1, 2) @ w).double()
        a = 0.5 * (a + a.transpose(1, 2))
        q = torch.cat(basis, dim=2)
        for _ in range(2):  # full re-orthogonalisation, twice
            w = w - q @ (q.transpose(1, 2) @ w)
        v_next, b = torch.linalg.qr(w)
        diag_blocks.append(a)
        off_blocks.append(b.double())
        m = steps * block
        t = torch.zeros(P, m, m, dtype=torch.float64, device=device)
        for j, aj in enumerate(diag_blocks):
            t[:, j * block:(j + 1) * block, j * block:(j + 1) * block] = aj
        for j, bj in enumerate(off_blocks[:-1]):
            t[:, (j + 1) * block:(j + 2) * block, j * block:(j + 1) * block] = bj
            t[:, j * block:(j + 1) * block, (j + 1) * block:(j + 2) * block] = bj.transpose(1, 2)
        theta, s = torch.linalg.eigh(t)
        theta, s = theta.flip(1), s.flip(2)  # descending
        resid = torch.linalg.vector_norm(off_blocks[-1] @ s[:, -block:, :], dim=1)
        if m >= k:
            new = _certified(theta, resid, k, tol) & ~done
            if new.any():
                eig[new] = theta[new, :k]
                coeffs[new, :m] = s[new, :, :k]
                done |= new
        if done.all():
            break
        basis.append(v_next)
    m = steps * block
    q = torch.cat(basis, dim=2)[:, :, :m]
    if not done.all():  # best available answer for the others (the caller recomputes them)
        rest = ~done
        eig[rest] = theta[rest, :k] if m >= k else 0.0
        if m >= k:
            coeffs[rest, :m] = s[rest, :, :k]
    vectors = None
    if want_vectors:
        vectors = (q.double() @ coeffs[:, :m]).to(dtype)
        vectors = vectors / torch.linalg.vector_norm(vectors, dim=1, keepdim=True).clamp_min(
            torch.finfo(dtype).tiny)
    return KrylovResult(eig, vectors, done, steps)
