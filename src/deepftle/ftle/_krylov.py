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
wanted i; its exponent error is then below ``tol / (2 L)``. Points that do not certify within
``max_steps`` are reported, and the caller computes them exactly.

Active set: a point that certified costs nothing more. Its Ritz pair is stored and it leaves
the working arrays (basis, projection); ``matvec`` is called with the indices of the points
still running, so that the caller can evaluate the products on those points only. The Ritz
problem (a batched ``eigh`` of the (m b) x (m b) projections) is solved from step
``first_check`` on, every step, on one CPU thread (:func:`._kernels.lapack_one_thread`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from ._kernels import lapack_one_thread

START_NOISE = 0.1  # random part of a warm-started block column (relative to its unit length)


class KrylovResult(NamedTuple):
    eigenvalues: torch.Tensor  # (P, k) float64, descending
    vectors: torch.Tensor | None  # (P, n, k), unit columns, or None
    certified: torch.Tensor  # (P,) bool
    steps: int  # block steps taken
    certified_at: torch.Tensor  # (P,) step at which each point certified (0: never)
    # the top k + block + 1 Ritz values and residual norms of each point's answer (float64,
    # NaN past the m Ritz pairs of its last step): :func:`recheck` re-evaluates the bound
    ritz: torch.Tensor
    ritz_resid: torch.Tensor


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


def block_lanczos(
    matvec: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    P: int,
    n: int,
    *,
    k: int,
    block: int,
    tol: float,
    max_steps: int,
    want_vectors: bool,
    dtype,
    device,
    seed: int = 0,
    first_check: int = 4,
    start: torch.Tensor | None = None,
) -> KrylovResult:
    """Top-k eigenpairs of P operators of size n.

    ``matvec(blocks, ids)``: the products of the operators of the points ``ids`` (ascending
    indices into 0..P-1, the points still running) with ``blocks`` (len(ids), n, b), same
    shape back. The Krylov basis (P, n, m b) is kept in ``dtype``; projections and the Ritz
    problem in float64. Each point's answer is the one of the step at which it certified (or,
    uncertified, of the last step).

    ``start`` (n, s), s < ``block``: a warm start shared by all points, e.g. the directions
    where the top eigenvectors of other points lay (:class:`SharedStart`), plus
    ``START_NOISE`` times a random unit vector per point; the other ``block - s`` columns are
    random. At least one random column: a start made only of shared directions that are a
    point's second and third eigenvectors resolves them at once, and the Kato-Temple check
    (whose gap estimate assumes that the next eigenvalue lies in the next Ritz interval) then
    certified the second eigenvalue in float32 (measured: 75 of 200 operators with
    lambda_1 / lambda_2 = 1.2; 0 with one random column, as from a random start).
    """
    max_steps = max(1, min(max_steps, n // block))  # the Krylov space cannot exceed n
    width = max_steps * block
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(P, n, block, generator=gen, dtype=torch.float64)
    if start is not None:
        s = start.shape[1]
        if start.shape[0] != n or s >= block:
            raise ValueError(
                f"start must have shape (n, s < block) = ({n}, < {block}), got {tuple(start.shape)}"
            )
        noise = v[:, :, :s] / torch.linalg.vector_norm(v[:, :, :s], dim=1, keepdim=True)
        v[:, :, :s] = start.detach().to("cpu", torch.float64) + START_NOISE * noise
    v = v.to(device=device, dtype=dtype)
    ids = torch.arange(P, device=device)  # the points still running
    basis = torch.empty(P, n, width + block, dtype=dtype, device=device)
    basis[:, :, :block] = torch.linalg.qr(v)[0]
    t = torch.zeros(P, width, width, dtype=torch.float64, device=device)  # T_m, growing
    eig = torch.zeros(P, k, dtype=torch.float64, device=device)
    vectors = torch.zeros(P, n, k, dtype=dtype, device=device) if want_vectors else None
    done = torch.zeros(P, dtype=torch.bool, device=device)
    certified_at = torch.zeros(P, dtype=torch.long, device=device)
    top = k + block + 1
    ritz = torch.full((P, top), torch.nan, dtype=torch.float64, device=device)
    ritz_resid = torch.full((P, top), torch.nan, dtype=torch.float64, device=device)
    steps = 0
    for step in range(max_steps):
        steps = step + 1
        lo, m = step * block, steps * block
        current = basis[:, :, lo:m]
        w = matvec(current, ids)
        a = (current.transpose(1, 2) @ w).double()
        t[:, lo:m, lo:m] = 0.5 * (a + a.transpose(1, 2))
        q = basis[:, :, :m]
        for _ in range(2):  # full re-orthogonalisation, twice
            w = w - q @ (q.transpose(1, 2) @ w)
        v_next, b = torch.linalg.qr(w)  # A Q_m = Q_m T_m + v_next b E_m^T
        last = step == max_steps - 1
        if m > k and (steps >= first_check or last):
            with lapack_one_thread(t.device):
                theta, s = torch.linalg.eigh(t[:, :m, :m])
            theta, s = theta.flip(1), s.flip(2)  # descending
            resid = torch.linalg.vector_norm(b.double() @ s[:, -block:, :], dim=1)
            ok = _certified(theta, resid, k, tol)
            stop = torch.ones_like(ok) if last else ok  # the last step: best available answer
            if stop.any():
                idx = ids[stop]
                eig[idx] = theta[stop, :k]
                ritz[idx, : min(top, m)] = theta[stop, :top]
                ritz_resid[idx, : min(top, m)] = resid[stop, :top]
                done[idx] = ok[stop]
                certified_at[idx[ok[stop]]] = steps
                if want_vectors:
                    y = (q[stop].double() @ s[stop, :, :k]).to(dtype)
                    vectors[idx] = y / torch.linalg.vector_norm(y, dim=1, keepdim=True).clamp_min(
                        torch.finfo(dtype).tiny
                    )
            if stop.all():
                break
            if stop.any():  # the certified points leave the working arrays
                keep = ~stop
                ids, v_next, b = ids[keep], v_next[keep], b[keep]
                basis = _rows(basis, keep, m)
                t = _rows(t, keep, m, square=True)
        basis[:, :, m : m + block] = v_next
        t[:, m : m + block, lo:m] = b.double()
        t[:, lo:m, m : m + block] = t[:, m : m + block, lo:m].transpose(1, 2)
    return KrylovResult(eig, vectors, done, steps, certified_at, ritz, ritz_resid)


def recheck(result: KrylovResult, fresh: torch.Tensor, k: int, tol: float) -> torch.Tensor:
    """The Kato-Temple bound of each point's answer again, with the residual norms of its k
    wanted Ritz pairs replaced by ``fresh`` (P, k) where those are larger: ||A y_i - theta_i
    y_i|| recomputed with new products of the operator for the returned vectors y_i. An
    operator that changes between calls (or a basis that lost orthogonality) yields Ritz pairs
    whose actual residual is far above the one the iteration reported; the bound then fails.
    Returns the points whose bound holds (certified by the iteration and still here)."""
    resid = result.ritz_resid.clone()
    resid[:, :k] = torch.maximum(resid[:, :k], fresh.to(resid.dtype))
    ok = _certified(result.ritz, resid, k, tol)
    return ok & result.certified


def _rows(x: torch.Tensor, keep: torch.Tensor, m: int, *, square: bool = False) -> torch.Tensor:
    """The rows ``keep`` of a preallocated (P, ., width) array, copying only the first m
    columns in use (and rows, ``square``)."""
    out = x.new_empty((int(keep.sum()),) + tuple(x.shape[1:]))
    if square:
        out.zero_()
        out[:, :m, :m] = x[keep, :m, :m]
    else:
        out[:, :, :m] = x[keep, :, :m]
    return out


class SharedStart:
    """A warm start for the operators of many points whose top eigenvectors share directions.

    The top eigenvectors of :math:`J_p J_p^T` at different inputs p of one network are far
    from independent: on the benchmark's random CNN (784 -> 128) the top left singular vectors
    of two images overlap by 0.86 on average and four directions hold 96 % of them, while the
    top eight singular values lie within 7 % of each other (so that a random start needs many
    steps). :meth:`learn` takes the top Ritz vectors of a pilot of points (run from random
    starts) and keeps the ``size`` leading left singular vectors of them all; they then start
    the others (``block_lanczos(start=...)``).
    """

    def __init__(self, size: int):
        self.size = size
        self.basis: torch.Tensor | None = None  # (n, size) float64, orthonormal columns

    def learn(self, vectors: torch.Tensor) -> None:
        """``vectors`` (P, n, k): unit Ritz vectors of the pilot points."""
        n = vectors.shape[1]
        stacked = vectors.detach().transpose(0, 1).reshape(n, -1).to("cpu", torch.float64)
        stacked = stacked[:, torch.isfinite(stacked).all(dim=0)]
        if stacked.shape[1] >= self.size:
            self.basis = torch.linalg.svd(stacked, full_matrices=False)[0][:, : self.size]
