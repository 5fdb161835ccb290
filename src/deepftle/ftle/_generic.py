r"""The generic path: exact finite-depth FTLEs of any differentiable batched map.

The map ``fn`` takes points (P, *in_shape) to (P, d_out); each point's Jacobian
:math:`J_p` (d_out x d_in) is reached through products computed for all points of a chunk at
once (the points are the batch; the tangents or cotangents of one point are mapped with
``torch.func.vmap``). Three ways, chosen by :func:`choose_method`:

- ``forward``: :math:`J_p` from d_in tangents (``torch.func.jvp``), for small inputs. For an
  ``nn.Sequential`` the tangent frame passes its children one by one and is rescaled per point
  (k = 1: after a child where some point's frame norm left [tiny, max]^(1/4) of the dtype) or
  re-orthonormalised by QR with the triangular factors multiplied up in float64 (k > 1, after
  every child, the last one included: the singular values are those of the triangular
  factor), as in the fused path, so depth neither overflows nor loses the small singular
  values. Nested Sequentials are opened; a Sequential's own forward hooks are a last stage
  (see :func:`._layout.sequential_stages`).
- ``reverse``: :math:`J_p` from d_out cotangents (``torch.func.vjp``), for small outputs (a
  10-class head over 784 or 3072 inputs). Without directions, a leading ``nn.Linear`` that
  narrows the input is folded in by QR (:func:`_folded_jacobian`).
- ``lanczos``: when both sides are large and only the top k are wanted, block Lanczos on
  :math:`J^T J` (or :math:`J J^T`, the smaller side), stopped by the Kato-Temple bound
  (:mod:`._krylov`) at a relative accuracy of :math:`\sigma_1^2` that bounds the exponent
  error by 1e-5 (float32) or 1e-12 (float64) (:func:`_lanczos_tol`); points that certified
  leave the iteration; uncertified points are computed exactly. The products: for an
  ``nn.Sequential`` of affine maps and elementwise activations (a CNN of convolutions,
  ``Flatten`` and ``Linear``) by :mod:`._chain`, without autograd, in chunks sized for the CPU
  cache (:data:`CHAIN_CHUNK_BYTES`); for any other model one JVP (``torch.func.linearize``:
  the primal computation is traced once per chunk) and one VJP per step, re-traced on the
  running points when half have left (:class:`_Linearised`). The first
  :data:`PILOT_POINTS` points start from random blocks; the directions of their top Ritz
  vectors then start every other point (:class:`._krylov.SharedStart`).

With J formed, :math:`\sigma_1` alone (k = 1) comes from the Gram of the smaller side in the
model's dtype, by the fused path's kernels (closed form for 2 x 2, else certified power
iteration); several :math:`\sigma_i` from that Gram in float64, or from the SVD of J (float64
models, k > 1).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from contextlib import contextmanager

import torch
from torch.func import jvp, vjp, vmap

from ._chain import ChainProducts, chain_widest
from ._kernels import canonical_sign, top_eig2, top_eig_power, triangular_rank
from ._krylov import SharedStart, block_lanczos, recheck
from ._layout import Target, run_stage
from ._saturation import saturating

METHODS = ("forward", "reverse", "lanczos")
MATERIALISE_MAX = 64  # min(d_in, d_out) up to which J is formed rather than iterated on
_CHUNK_BYTES = 128 << 20  # Krylov basis of one chunk of points
# J of one chunk (forward / reverse): fresh buffers above glibc's mmap threshold (32 MiB) are
# page-faulted in at every chunk; MNIST's 20 x 784 Jacobians ran 1.6x faster in chunks of 512
# points (32 MB) than of 1070 (measured)
_JACOBIAN_BYTES = 32 << 20
# the widest activation of one block product through a chain. The bench's CNN (widest 5408
# floats, block 2; 2 cores): 2400 images took 8.0 s in chunks of 1208 points (a 52 MB stage
# leaves the cache) and 4.1-5.7 s in chunks of 100-300; 3000 images, three runs each: 4.7-5.5 s
# with 8 MiB (194 points), 4.3-4.8 s with 16 MiB, 4.9-5.3 s with 24 MiB
CHAIN_CHUNK_BYTES = 16 << 20
_LANCZOS_STEPS = 40  # block steps before the remaining points are computed exactly
# block size k + 1: a near-degenerate top pair (common: sigma_2 / sigma_1 ~ 0.99 in a random
# CNN) is resolved as a cluster; with block size 1 the gap estimate can certify too early
LANCZOS_EXTRA_BLOCK = 1
LANCZOS_LAMBDA_TOL_32 = 1e-5  # exponent accuracy the float32 stopping rule aims at
PILOT_POINTS = 64  # points of the first Lanczos chunk, whose Ritz vectors start the others
SHRINK = 0.5  # re-trace the Lanczos products on the running points below this fraction
SHRINK_MIN_DROP = 128  # ... when at least this many points leave (a trace has a fixed cost)


@contextmanager
def differentiable_attention():
    """Attention through differentiable kernels: the fused CPU attention kernels and the
    transformer layers' fast path have no forward-mode rule."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def choose_method(d_in: int, d_out: int, k: int, method: str) -> str:
    """The generic path's method for ``method="auto"``: J is formed (forward or reverse, the
    smaller side) when that side is at most :data:`MATERIALISE_MAX` or 4k; otherwise Lanczos.

    Cost model: forming J costs min(d_in, d_out) products per point, Lanczos ~2 b s (block b =
    k + 1, s steps: 11-21 from a random start on the bench's random CNN, whose top singular
    values are tightly clustered; 11.3 on average from the shared start). On that CNN
    (784 -> 128) one measurement in one process on 1000 images: reverse mode (128 cotangents
    under ``vmap``) 61 s, Lanczos 12.7 s with torch.func's products (2 s now, with the chain's
    products and the shared start)."""
    if method != "auto":
        return method
    small = min(d_in, d_out)
    if small <= MATERIALISE_MAX or 4 * k >= small:
        return "forward" if d_in <= d_out else "reverse"
    return "lanczos"


def _default_chunk(method, d_in, d_out, k, itemsize, widest=None) -> int:
    """Points per chunk: (co)tangents of J, or the Krylov basis, within a byte budget; for a
    chain (:mod:`._chain`, ``widest``: its largest activation, elements per point) the Lanczos
    chunks are also small enough for one product's widest stage to stay in the CPU cache
    (:data:`CHAIN_CHUNK_BYTES`)."""
    if method in ("forward", "reverse"):  # (co)tangents of the widest stage: J's size
        per_point = (d_in if method == "forward" else d_out) * max(d_in, d_out)
        return max(1, _JACOBIAN_BYTES // (per_point * itemsize))
    block = k + LANCZOS_EXTRA_BLOCK
    per_point = min(d_in, d_out) * _LANCZOS_STEPS * block * 2 + 8 * (d_in + d_out)
    chunk = _CHUNK_BYTES // (per_point * itemsize)
    if widest is not None:
        chunk = min(chunk, CHAIN_CHUNK_BYTES // (block * widest * itemsize))
    return max(1, chunk)


def _tangent_basis(P, shape, dtype, device):
    """The d unit tangents of every point: (d, P, *shape)."""
    d = math.prod(shape)
    eye = torch.eye(d, dtype=dtype, device=device).reshape(d, 1, *shape)
    return eye.expand(d, P, *shape)


def _rescale_range(dtype) -> tuple[float, float]:
    """Frame norms inside which the k = 1 forward frame is not rescaled: [tiny, max]^(1/4).

    Rescaling every stage to norm 1 assumes that no single stage grows or shrinks the frame by
    ~1e38 (float32); letting the norm drift within [tiny, max]^(1/4) (float32: ~[3e-10, 4e9])
    assumes the same for factors of max^(3/4) ~ 1e28 (in practice both never happen) and
    saves a pass over the frame at every stage."""
    info = torch.finfo(dtype)
    return info.tiny**0.25, info.max**0.25


def _forward_jacobian(stages, x, *, orthonormalise: bool, depth: int = 1):
    """J of the composed ``stages`` at every point, and the log of a per-point factor it was
    divided by. Renormalised between stages (see module doc): with ``orthonormalise`` by QR
    after every stage (the last one included), else each point's frame is divided by its norm
    after a stage where some point's norm left :func:`_rescale_range` (by its largest
    component).

    Returns ``(jac, log_scale, rank)``. Without ``orthonormalise``: J (P, d_out, d_in) and
    rank None. With it: the triangular factor R (P, r, d_in) float64 of J = Q R (Q with
    orthonormal columns: the same singular values and right singular vectors, the small ones
    to the relative accuracy of each stage rather than of J), and ``rank`` (P,): the number
    of singular values that no stage reduced to rounding noise: the least rank of a stage's
    R at ``max(D, r) eps`` relative (:func:`._kernels.triangular_rank`), ``eps`` scaled by the
    layers a stage holds (``depth`` over the number of stages, at least 1); the others are
    zero to working precision (a softmax stage: 1^T J = 0)."""
    P = x.shape[0]
    t = _tangent_basis(P, x.shape[1:], x.dtype, x.device).contiguous()
    h = x
    log_scale = torch.zeros(P, dtype=torch.float64, device=x.device)
    tri = None  # (P, r, d_in) float64: J = frame @ tri * exp(log_scale)
    rank = None
    eps = torch.finfo(x.dtype).eps * max(1, math.ceil(depth / len(stages)))
    low, high = _rescale_range(x.dtype)
    for i, stage in enumerate(stages):

        def push(tangent, stage=stage, h=h):
            return jvp(lambda z: run_stage(stage, z, x), (h,), (tangent,))

        h, t = vmap(push, out_dims=(None, 0))(t)
        if i == len(stages) - 1 and not orthonormalise:
            break
        r = t.shape[0]
        frame = t.reshape(r, P, -1)
        if orthonormalise:
            q, rr = torch.linalg.qr(frame.permute(1, 2, 0))  # (P, D, r') (P, r', r)
            alive = triangular_rank(rr, max(frame.shape[2], r) * eps)
            rank = alive if rank is None else torch.minimum(rank, alive)
            rr = rr.double() if tri is None else rr.double() @ tri
            scale = rr.abs().amax(dim=(1, 2))
            scale = torch.where((scale > 0) & torch.isfinite(scale), scale, torch.ones_like(scale))
            tri = rr / scale[:, None, None]
            t = q.permute(2, 0, 1).reshape(q.shape[2], *h.shape)
        else:
            # one contiguous pass; the squares neither overflow nor underflow inside the range
            # (out of it they may: inf or 0 then also reads as out of range)
            norm2 = torch.linalg.vector_norm(frame, dim=2).square().sum(dim=0)
            if bool(((norm2 >= low * low) & (norm2 <= high * high)).all()):
                continue  # every norm in range: no rescaling at this stage
            # divide by the largest |component| (vector_norm's squares would overflow or
            # underflow out here): the new frame's norm lies in [1, sqrt(r D)]
            big = frame.abs().amax(dim=(0, 2))
            scale = torch.where((big > 0) & torch.isfinite(big), big, torch.ones_like(big))
            t = t / scale.reshape(1, P, *([1] * (t.dim() - 2))).to(t.dtype)
        log_scale += torch.log(scale.double())
    if orthonormalise:
        return tri, log_scale, rank
    return t.reshape(t.shape[0], P, -1).permute(1, 2, 0), log_scale, None


def _cotangent_chunk(P, d_in, d_out, itemsize) -> int | None:
    """Cotangents per ``vmap`` call of the reverse mode: the gradients of one call, (c, P,
    d_in), within :data:`_JACOBIAN_BYTES` (each cotangent's backward pass allocates at least
    that much); None (all d_out at once) when they fit."""
    c = max(1, _JACOBIAN_BYTES // (P * d_in * itemsize))
    return None if c >= d_out else c


def _reverse_jacobian(fn, x):
    """J at every point from d_out cotangents: (P, d_out, d_in), log factor 0. The
    cotangents pass the backward pass in chunks (:func:`_cotangent_chunk`), so that the
    memory of one call does not grow with d_out."""
    P = x.shape[0]
    out, pull = vjp(fn, x)
    basis = _tangent_basis(P, out.shape[1:], out.dtype, out.device)
    chunk = _cotangent_chunk(P, x[0].numel(), basis.shape[0], x.element_size())
    (grads,) = vmap(pull, chunk_size=chunk)(basis)  # (d_out, P, *in_shape)
    jac = grads.reshape(grads.shape[0], P, -1).transpose(0, 1)
    return jac, torch.zeros(P, dtype=torch.float64, device=x.device)


def _leading_weight(target: Target):
    """W of a first stage ``nn.Linear`` narrower than its input (else None)."""
    stages = target.stages
    w = getattr(stages[0], "linear_weight", None) if stages and len(stages) > 1 else None
    return w if w is not None and w.shape[0] < w.shape[1] else None


def _folded_jacobian(stages, weight, x):
    r"""K = U R^T with the same singular values as J, for a Sequential whose first stage is
    ``nn.Linear`` (weight W, n_1 < d_in): (P, d_out, n_1), log factor 0.

    J = U W with U the Jacobian of the other stages at h_1 = W x + b (from d_out cotangents of
    length n_1). With W^T = Q R (reduced QR, done once), J = (U R^T) Q^T and Q has orthonormal
    columns, so sigma_i(J) = sigma_i(U R^T): the d_in-long cotangents and their Gram, the bulk
    of the reverse mode for a 784 -> 20 first layer, are never formed (the fused path folds
    the first layer the same way). Right singular vectors would need Q: not used for them."""
    P = x.shape[0]
    h = run_stage(stages[0], x, x)

    def rest(h):
        for stage in stages[1:]:
            h = run_stage(stage, h, x)
        return h.reshape(P, -1)

    u, log_scale = _reverse_jacobian(rest, h)
    r = torch.linalg.qr(weight.T, mode="r")[1]  # (n_1, n_1)
    return u @ r.T.to(u.dtype), log_scale


def _gram(a, b, k):
    """a @ b in float64; for k = 1 the product runs in a's dtype (float32: its rounding moves
    sigma_1^2 by ~1e-7 relative, far below float32's exponent accuracy) and is converted."""
    if k == 1:
        return (a @ b).double()
    return a.double() @ b.double()


def _dense_top(jac, k: int, *, want_directions: bool, exact_svd: bool):
    """log sigma_1..k (P, k) and right singular vectors (P, d_in, k) of J (P, m, n).

    sigma_1 alone (k = 1, no directions) comes from the Gram of the smaller side in J's dtype
    like the fused path: closed form for a 2 x 2 Gram, else the certified power iteration
    (:func:`._kernels.top_eig_power`, Kato-Temple to 1e-6 relative in float32, 1e-13 in
    float64; float64 ``eigvalsh`` for the points it does not certify)."""
    m, n = jac.shape[1:]
    if exact_svd:
        _, s, vh = torch.linalg.svd(jac.double(), full_matrices=False)
        vecs = vh.transpose(1, 2)[:, :, :k] if want_directions else None
        return torch.log(s[:, :k]), vecs
    if k == 1 and not want_directions and jac.dtype in (torch.float32, torch.float64):
        rows = (jac if m <= n else jac.transpose(1, 2)).detach()
        if rows.shape[1] == 2:
            sigma2 = top_eig2(rows, want_vector=False)[0]
        else:
            tol = 1e-13 if jac.dtype == torch.float64 else 1e-6
            sigma2 = top_eig_power(rows, tol)  # strided rows: bmm reads them in place
        return 0.5 * torch.log(sigma2.clamp_min(0))[:, None], None
    if m < n:  # Gram of the output side: v = J^T u / sigma
        gram = _gram(jac, jac.transpose(1, 2), k)
        if want_directions:
            evals, evecs = torch.linalg.eigh(gram)
        else:
            evals, evecs = torch.linalg.eigvalsh(gram), None
        sigma2 = evals.flip(1)[:, :k].clamp_min(0)
        vecs = None
        if want_directions:
            u = evecs.flip(2)[:, :, :k]
            vecs = jac.double().transpose(1, 2) @ u
            vecs = vecs / torch.linalg.vector_norm(vecs, dim=1, keepdim=True).clamp_min(1e-300)
    else:
        gram = _gram(jac.transpose(1, 2), jac, k)
        if want_directions:
            evals, evecs = torch.linalg.eigh(gram)
            vecs = evecs.flip(2)[:, :, :k]
        else:
            evals, vecs = torch.linalg.eigvalsh(gram), None
        sigma2 = evals.flip(1)[:, :k].clamp_min(0)
    return 0.5 * torch.log(sigma2), vecs


def _exact(target: Target, x, k, want_directions, method, exact_svd):
    if method == "forward":
        stages = target.stages or [target.fn]
        jac, log_scale, rank = _forward_jacobian(
            stages, x, orthonormalise=k > 1, depth=target.depth
        )
        if rank is not None:  # the triangular factor of J: its SVD keeps the small ones
            log_sigma, vecs = _dense_top(jac, k, want_directions=want_directions, exact_svd=True)
            lost = torch.arange(k, device=x.device)[None, :] >= rank[:, None]
            return log_sigma.masked_fill(lost, -math.inf) + log_scale[:, None], vecs
    elif not want_directions and (weight := _leading_weight(target)) is not None:
        jac, log_scale = _folded_jacobian(target.stages, weight, x)
    else:
        jac, log_scale = _reverse_jacobian(target.fn, x)
    log_sigma, vecs = _dense_top(jac, k, want_directions=want_directions, exact_svd=exact_svd)
    return (
        _zero_below_rank(log_sigma, jac.shape[1:], x.dtype, target.depth) + log_scale[:, None],
        vecs,
    )


def _zero_below_rank(log_sigma, shape, dtype, depth: int = 1):
    """-inf for the singular values of a formed J that are zero to working precision.

    J (m x n) computed in ``dtype`` through ``depth`` layers carries absolute errors of order
    depth eps ||J||: singular values below max(m, n) depth eps sigma_1 (numpy's
    ``matrix_rank`` threshold, times the layers whose rounding adds up) are indistinguishable
    from zero, and structurally zero ones (a softmax output: 1^T J = 0, so rank <= d_out - 1)
    come out there as rounding noise. They are returned as -inf (log 0)."""
    if log_sigma.shape[1] < 2:
        return log_sigma
    cut = math.log(max(shape) * max(depth, 1) * torch.finfo(dtype).eps)
    below = log_sigma - log_sigma[:, :1] <= cut
    return log_sigma.masked_fill(below, -math.inf)


def _exact_chunked(target: Target, x, *, d_out, k, want_directions, method, exact_svd):
    """:func:`_exact` on ``x`` in chunks that keep J of one chunk within the byte budget."""
    d_in = x[0].numel()
    chunk = _default_chunk(method, d_in, d_out, k, x.element_size())
    parts = [
        _exact(target, x[i : i + chunk], k, want_directions, method, exact_svd)
        for i in range(0, x.shape[0], chunk)
    ]
    log_sigma = torch.cat([p[0] for p in parts])
    vecs = torch.cat([p[1] for p in parts]) if want_directions else None
    return log_sigma, vecs


class _TorchFuncProducts:
    """J v and J^T u of the points still running in the Lanczos iteration, by torch.func.

    J^T u: one ``vjp`` per set of points (the autograd graph of the forward pass, kept), one
    backward pass per column. J v: ``jvp`` with the block's columns batched by ``vmap`` (one
    primal pass per block, shared by the columns). Both are right on every call whatever the
    model does in place (``torch.func.linearize`` replays a traced graph whose in-place
    operations act on the stored primal values, so that its second call differs from the
    first for ``hardswish_`` / ``elu_`` outputs used again). When the running points drop to
    ``SHRINK`` of the traced set (and at least ``SHRINK_MIN_DROP`` points left it: a trace
    costs about as much as a few products whatever the number of points), the vjp is traced
    again on them alone, so that points that certified stop costing products. Between two
    re-traces, the products of the running points are taken on the traced set with zero
    columns for the others (points do not interact).
    """

    def __init__(self, fn, x):
        self.fn, self.x = fn, x
        self._trace(torch.arange(x.shape[0], device=x.device))

    def _trace(self, ids):
        xs = self.x[ids]
        self.ids, self.xs = ids, xs
        self.out, self.pull = vjp(self.fn, xs)

    def _embed(self, blocks, ids):
        """blocks (len(ids), n, b) of the points ids as (traced points, n, b), zero elsewhere,
        and the rows of ids among the traced points (None when they are all of them)."""
        if (
            ids.numel() <= SHRINK * self.ids.numel()
            and self.ids.numel() - ids.numel() >= SHRINK_MIN_DROP
        ):
            self._trace(ids)
        if ids.numel() == self.ids.numel():
            return blocks, None
        rows = torch.searchsorted(self.ids, ids)
        full = blocks.new_zeros(self.ids.numel(), *blocks.shape[1:]).index_copy_(0, rows, blocks)
        return full, rows

    def jt_columns(self, blocks, ids):
        """J^T on each column of blocks (len(ids), d_out, b): a loop over the columns (vmap
        over a few cotangents of a CNN's graph is slower than calls)."""
        full, rows = self._embed(blocks, ids)
        cols = [
            self.jt(full[:, :, i].contiguous()).reshape(self.ids.numel(), -1)
            for i in range(full.shape[2])
        ]
        out = torch.stack(cols, dim=2)
        return out if rows is None else out[rows]

    def j_columns(self, blocks, ids):
        """J on each column of blocks (len(ids), d_in, b): one jvp, the columns under vmap."""
        full, rows = self._embed(blocks, ids)
        tangents = full.permute(2, 0, 1).reshape(full.shape[2], *self.xs.shape).contiguous()
        xs, fn = self.xs, self.fn
        out = vmap(lambda t: jvp(fn, (xs,), (t,))[1])(tangents)
        out = out.reshape(full.shape[2], self.ids.numel(), -1).permute(1, 2, 0)
        return out if rows is None else out[rows]

    def gram(self, blocks, ids, *, output_side: bool):
        """J J^T (``output_side``) or J^T J on blocks (len(ids), n, b) of the points ids."""
        if output_side:
            return self.j_columns(self.jt_columns(blocks, ids), ids)
        return self.jt_columns(self.j_columns(blocks, ids), ids)

    def pullback(self, vecs, ids):
        """J^T u for the columns of ``vecs`` (len(ids), d_out, k)."""
        if ids.numel() > self.ids.numel():  # points that left: trace again
            self._trace(ids)
        return self.jt_columns(vecs, ids)

    def jt(self, u):  # J^T u, u (p, d_out) on the traced points
        return self.pull(u.reshape(self.out.shape))[0]


def _lanczos_tol(depth: int, dtype) -> float:
    """Relative accuracy of sigma^2 asked of the Kato-Temple bound.

    A relative error delta of sigma_1^2 moves lambda_1 = log(sigma_1^2) / (2 L) by
    log(1 + delta) / (2 L) <= delta / (2 L). Float32 results are promised to 1e-4 in lambda:
    the bound targets 1e-5 (ten times below; the Ritz value is a lower bound and its actual
    error is usually far below the bound). Float64: 1e-12.
    """
    return 2 * depth * (1e-12 if dtype == torch.float64 else LANCZOS_LAMBDA_TOL_32)


def _fresh_residuals(ops, target: Target, x, ids, vectors, theta, output_side):
    """||A y_i - theta_i y_i|| for the returned unit Ritz vectors y_i (p, n, k) of the points
    ``ids``, with products computed anew: by a new torch.func operator for models whose
    products come from torch.func, by the chain's products (pure functions of the point's
    stored g'(b), see :mod:`._chain`) for chains."""
    if not isinstance(ops, ChainProducts):
        ops = _TorchFuncProducts(target.fn, x[ids])
        ids = torch.arange(ids.numel(), device=x.device)
    applied = ops.gram(vectors, ids, output_side=output_side).double()
    resid = applied - theta[:, None, :] * vectors.double()
    return torch.linalg.vector_norm(resid, dim=1)


def _lanczos(target: Target, x, d_out, k, want_directions, exact_svd, shared: SharedStart):
    P, in_shape = x.shape[0], x.shape[1:]
    d_in = math.prod(in_shape)
    exact_method = "reverse" if d_out <= d_in else "forward"
    if min(d_in, d_out) < 2 * (k + LANCZOS_EXTRA_BLOCK):  # too small to iterate on
        log_sigma, vecs = _exact_chunked(
            target,
            x,
            d_out=d_out,
            k=k,
            want_directions=want_directions,
            method=exact_method,
            exact_svd=exact_svd,
        )
        return log_sigma, vecs, 0, 0
    ops = (
        ChainProducts(target.chain, x)
        if target.chain is not None
        else _TorchFuncProducts(target.fn, x)
    )
    output_side = d_out < d_in
    pilot = shared.basis is None  # this chunk's Ritz vectors start the next ones

    def matvec(blocks, ids):
        return ops.gram(blocks, ids, output_side=output_side)

    tol = _lanczos_tol(target.depth, x.dtype)
    res = block_lanczos(
        matvec,
        P,
        min(d_in, d_out),
        k=k,
        block=k + LANCZOS_EXTRA_BLOCK,
        tol=tol,
        max_steps=_LANCZOS_STEPS,
        want_vectors=True,
        dtype=x.dtype,
        device=x.device,
        start=shared.basis,
    )
    # the certificate: each certified answer's residual recomputed with fresh products
    certified = res.certified
    ids = torch.nonzero(certified)[:, 0]
    if ids.numel():
        fresh = torch.full((P, k), torch.inf, dtype=torch.float64, device=x.device)
        fresh[ids] = _fresh_residuals(
            ops, target, x, ids, res.vectors[ids], res.eigenvalues[ids], output_side
        )
        certified = recheck(res, fresh, k, tol)
        failed = int(res.certified.sum() - certified.sum())
        if failed:
            warnings.warn(
                f"{failed} of {P} points whose Lanczos iteration certified failed "
                f"the independent residual check (products recomputed for the "
                f"returned vectors differ from the iteration's): computed exactly "
                f"({exact_method} mode)",
                RuntimeWarning,
                stacklevel=2,
            )
    if pilot:
        shared.learn(res.vectors[certified])
    log_sigma = 0.5 * torch.log(res.eigenvalues.clamp_min(0))
    vecs = res.vectors if want_directions else None
    if want_directions and output_side:  # right singular vectors v = J^T u / sigma
        vecs = ops.pullback(vecs, torch.arange(P, device=x.device))
        vecs = vecs / torch.linalg.vector_norm(vecs, dim=1, keepdim=True).clamp_min(
            torch.finfo(vecs.dtype).tiny
        )
    if vecs is not None:
        vecs = vecs.double()
    todo = torch.nonzero(~certified)[:, 0]
    if todo.numel():
        ls, vs = _exact_chunked(
            target,
            x[todo],
            d_out=d_out,
            k=k,
            want_directions=want_directions,
            method=exact_method,
            exact_svd=exact_svd,
        )
        log_sigma[todo] = ls
        if vecs is not None:
            vecs[todo] = vs
    return log_sigma, vecs, int((~certified).sum()), res.steps


def generic_ftle(target: Target, x, *, k, want_directions, batch_size, method, d_out):
    """lambda (P, k) and directions (P, d_in, k) (or None) of ``target`` at the points ``x``.

    ``method`` is one of :data:`METHODS` (already chosen). Returns also a dict of statistics
    (Lanczos steps, points computed exactly after the iteration did not certify).
    """
    P, in_shape = x.shape[0], x.shape[1:]
    d_in = math.prod(in_shape)
    exact_svd = x.dtype == torch.float64 and k > 1
    itemsize = torch.finfo(x.dtype).bits // 8
    widest = (
        chain_widest(target.chain, x[:1])
        if (method == "lanczos" and target.chain is not None)
        else None
    )
    chunk = batch_size or _default_chunk(method, d_in, d_out, k, itemsize, widest)
    lam = torch.empty(P, k, dtype=x.dtype, device=x.device)
    dirs = torch.empty(P, d_in, k, dtype=x.dtype, device=x.device) if want_directions else None
    stats = {"method": method, "uncertified": 0, "steps": 0}
    # the shared directions fill k columns of the start block: at least one stays random
    shared = SharedStart(k)
    begins = range(0, P, chunk)
    pilot = min(PILOT_POINTS, chunk)
    if method == "lanczos" and batch_size is None and P > 2 * pilot:
        begins = [0, *range(pilot, P, chunk)]  # a small first chunk: the pilot
    # the model's tanh / sigmoid with accurate derivatives (the chain's products have them)
    target = dataclasses.replace(
        target,
        fn=saturating(target.fn),
        stages=None if target.stages is None else [saturating(s) for s in target.stages],
    )
    with differentiable_attention():
        for begin, end in zip(begins, [*begins[1:], P], strict=True):
            rows = slice(begin, end)
            xc = x[rows]
            if method == "lanczos":
                log_sigma, vecs, missed, steps = _lanczos(
                    target, xc, d_out, k, want_directions, exact_svd, shared
                )
                stats["uncertified"] += missed
                stats["steps"] = max(stats["steps"], steps)
            else:
                log_sigma, vecs = _exact(target, xc, k, want_directions, method, exact_svd)
            lam[rows] = (log_sigma.detach() / target.depth).to(x.dtype)
            if dirs is not None:
                dirs[rows] = canonical_sign(vecs.detach()).to(x.dtype)
    return lam, dirs, stats
