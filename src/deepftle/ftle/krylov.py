r"""Matrix-free top-k eigenpairs of a batch of symmetric positive semi-definite operators.

For each point p the operator is :math:`A_p = J_p^T J_p` (or :math:`J_p J_p^T`), known only
through products with blocks of vectors (one JVP and one VJP each). Block Lanczos with full
re-orthogonalisation builds, after ``m`` steps of block size ``b``, the block-tridiagonal
projection :math:`T_m = Q_m^T A Q_m` and the relation :math:`A Q_m = Q_m T_m + Q_{m+1} B_m
E_m^T`. A Ritz pair :math:`(\theta_i, y_i = Q_m s_i)` then has the residual norm
:math:`\|A y_i - \theta_i y_i\| = \|B_m s_i^{(m)}\|` (the last block of :math:`s_i`) without
another product.

Stopping rule (per point, per wanted pair): the Kato-Temple bound in its cluster form,
:math:`\theta_i \le \lambda_i \le \theta_i + \sum_{l \le j}\|r_l\|^2 / (\theta_j - \alpha)`
for the best cluster :math:`j \ge i` of top Ritz pairs, with :math:`\alpha = \theta_{j+1} +
\|r_{j+1}\|` (the next Ritz interval's upper end standing for :math:`\lambda_{j+1}`: the bound
is rigorous when that interval holds :math:`\lambda_{j+1}`, which a gap estimate cannot
prove). A point stops when the bound is below ``tol`` relative to :math:`\theta_i` for every
wanted i; its exponent error is then below ``tol / (2 L)``. Points that do not certify within ``max_steps``
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
    certified_at: torch.Tensor  # (P,) step at which each point certified (0: never)


def _certified(theta: torch.Tensor, resid: torch.Tensor, k: int, tol: float) -> torch.Tensor:
    """Kato-Temple check of the top k Ritz pairs. ``theta``, ``resid``: (P, m) descending.

    Ritz values are lower bounds (Cauchy interlacing: theta_i <= lambda_i). The upper bound
    for pair i uses the best cluster of the top j >= i pairs: lambda_i - theta_i <=
    sum_{l <= j} r_l^2 / (theta_j - alpha_{j+1}), alpha_{j+1} = theta_{j+1} + r_{j+1} standing
    for lambda_{j+1}; a near-degenerate top cluster does not have to be resolved.
    """
    P, m = theta.shape
    if m < 2:  # no next Ritz value: only an invariant subspace certifies
        return (resid[:, :k] == 0).all(dim=1) & torch.isfinite(theta[:, :k]).all(dim=1)
    alpha = theta[:, 1:] + resid[:, 1:]  # (P, m - 1): alpha_{j+1} for j = 1..m-1
    gap = theta[:, :-1] - alpha
    cum = resid[:, :-1].square().cumsum(dim=1)
    bound = torch.where(gap > 0, cum / gap.clamp_min(1e-300), torch.full_like(cum, torch.inf))
    # best cluster j >= i for each i: reverse cumulative minimum
    best = bound.flip(1).cummin(dim=1).values.flip(1)[:, :k]
    ok = (best <= tol * theta[:, :k]) | (resid[:, :k] == 0).all(dim=1, keepdim=True)
    return ok.all(dim=1) & torch.isfinite(theta[:, :k]).all(dim=1)


def block_lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], P: int, n: int, k: int,
                  block: int, tol: float, max_steps: int, want_vectors: bool, dtype, device,
                  seed: int = 0) -> KrylovResult:
    """Top-k eigenpairs of P operators of size n (``matvec``: (P, n, b) -> (P, n, b)).

    The Krylov basis (P, n, m b) is kept in ``dtype``; projections and the Ritz problem in
    float64. Each point's answer is the one of the step at which it first certified.
    """
    max_steps = max(1, min(max_steps, n // block))  # the Krylov space cannot exceed n
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(P, n, block, generator=gen, dtype=torch.float64).to(device=device,
                                                                        dtype=dtype)
    basis = torch.empty(P, n, (max_steps + 1) * block, dtype=dtype, device=device)
    basis[:, :, :block] = torch.linalg.qr(v)[0]
    diag_blocks, off_blocks = [], []
    eig = torch.zeros(P, k, dtype=torch.float64, device=device)
    done = torch.zeros(P, dtype=torch.bool, device=device)
    certified_at = torch.zeros(P, dtype=torch.long, device=device)
    coeffs = torch.zeros(P, max_steps * block, k, dtype=torch.float64, device=device)
    steps = 0
    for step in range(max_steps):
        steps = step + 1
        m = steps * block
        current = basis[:, :, m - block:m]
        w = matvec(current)
        a = (current.transpose(1, 2) @ w).double()
        a = 0.5 * (a + a.transpose(1, 2))
        q = basis[:, :, :m]
        for _ in range(2):  # full re-orthogonalisation, twice
            w = w - q @ (q.transpose(1, 2) @ w)
        v_next, b = torch.linalg.qr(w)
        diag_blocks.append(a)
        off_blocks.append(b.double())
        t = torch.zeros(P, m, m, dtype=torch.float64, device=device)
        for j, aj in enumerate(diag_blocks):
            t[:, j * block:(j + 1) * block, j * block:(j + 1) * block] = aj
        for j, bj in enumerate(off_blocks[:-1]):
            t[:, (j + 1) * block:(j + 2) * block, j * block:(j + 1) * block] = bj
            t[:, j * block:(j + 1) * block, (j + 1) * block:(j + 2) * block] = bj.transpose(1, 2)
        last = step == max_steps - 1
        if m > k and (steps >= 4 or last):  # Ritz problem of the points still running
            act = torch.nonzero(~done)[:, 0]
            theta, s = torch.linalg.eigh(t[act])
            theta, s = theta.flip(1), s.flip(2)  # descending
            resid = torch.linalg.vector_norm(off_blocks[-1][act] @ s[:, -block:, :], dim=1)
            new = _certified(theta, resid, k, tol)
            idx = act[new]
            eig[idx] = theta[new, :k]
            coeffs[idx, :m] = s[new, :, :k]
            done[idx] = True
            certified_at[idx] = steps
            if last:  # best available answer for the others (the caller recomputes them)
                eig[act[~new]] = theta[~new, :k]
                coeffs[act[~new], :m] = s[~new, :, :k]
        if done.all():
            break
        basis[:, :, m:m + block] = v_next
    m = steps * block
    q = basis[:, :, :m]
    vectors = None
    if want_vectors:
        vectors = (q.double() @ coeffs[:, :m]).to(dtype)
        vectors = vectors / torch.linalg.vector_norm(vectors, dim=1, keepdim=True).clamp_min(
            torch.finfo(dtype).tiny)
    return KrylovResult(eig, vectors, done, steps, certified_at)
