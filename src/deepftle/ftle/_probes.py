r"""Checks on a few points that the generic path's Jacobian is the derivative of the map.

The generic path differentiates the model with ``torch.func`` on whole chunks of points. Its
answer is the derivative of each point's own map only if

- points do not interact: the output of a point does not change with its batch mates (batch
  statistics, attention across the batch axis, a normalisation by a batch maximum), checked
  by :func:`check_independent_points`;
- autograd sees the whole map: no branch of the output is computed under
  ``torch.no_grad()`` (forward mode differentiates through it, reverse mode does not, so
  the two disagree: :func:`check_independent_points`), and no input-dependent tensor reaches
  the output through ``.detach()`` or ``.data`` (a straight-through estimator: both modes
  see the surrogate, not the map), found by :class:`_HiddenPaths`.

Every check runs on :data:`SAMPLE_POINTS` points whatever the number of points: two forward
passes, one JVP and ``SAMPLE_POINTS`` VJPs of the sample, and one forward pass under a
``TorchFunctionMode`` that follows which tensors depend on the input invisibly to autograd.
"""

from __future__ import annotations

import weakref

import torch
from torch.func import jvp, vjp
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from ._layout import run_stage

SAMPLE_POINTS = 3  # points that the checks run on (two at least: see check_independent_points)

_DATA = torch.Tensor.data


def _is_data_access(func) -> bool:
    return getattr(func, "__self__", None) is _DATA and getattr(func, "__name__", "") == "__get__"


class _HiddenPaths(TorchFunctionMode):
    """Follows, during one forward pass whose input requires grad (and whose parameters do
    not), the floating tensors that depend on the input by a path that autograd does not
    record: the result of ``.detach()`` / ``detach_()`` / ``.data`` / ``requires_grad_(False)``
    on a tensor that requires grad, and everything computed from such a tensor.
    ``cause(out)``: how ``out`` came to depend on the input invisibly, or None."""

    def __init__(self):
        super().__init__()
        self._hidden: dict[int, tuple[weakref.ref, str]] = {}

    def _cause_of(self, t) -> str | None:
        entry = self._hidden.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else None

    def _mark(self, t, cause):
        if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()):
            self._hidden[id(t)] = (weakref.ref(t), cause)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        name = getattr(func, "__name__", "")
        cut = None
        if inputs and inputs[0].requires_grad:
            if _is_data_access(func):
                cut = ".data"
            elif name in ("detach", "detach_"):
                cut = f".{name}()"
            elif (
                name == "requires_grad_"
                and not (args[1:] or [kwargs.get("requires_grad", True)])[0]
            ):
                cut = ".requires_grad_(False)"
        inherited = next((c for c in map(self._cause_of, inputs) if c is not None), None)
        out = func(*args, **kwargs)
        cause = cut or inherited
        if cause is not None:
            for t in tree_leaves(out):
                self._mark(t, cause)
            if name.endswith("_") and inputs:  # in place: the first argument holds it now
                self._mark(inputs[0], cause)
        return out

    def cause(self, out) -> str | None:
        return self._cause_of(out)


def _close(a, b) -> bool:
    """Equal up to 64 eps of the largest component (two passes of the same shapes)."""
    scale = max(a.abs().max().item(), b.abs().max().item()) if a.numel() else 0.0
    return bool(((a - b).abs() <= 64 * torch.finfo(a.dtype).eps * scale).all())


def _sample(x):
    """The first :data:`SAMPLE_POINTS` points; a single point gets a second one (2 x + 1)."""
    xs = x[:SAMPLE_POINTS].detach().clone()
    return xs if xs.shape[0] >= 2 else torch.cat([xs, 2 * xs + 1])


COUPLED = (
    "the exponents of a point would depend on its batch mates. Make the model act on "
    "each point alone (eval-mode normalisation with running statistics, or LayerNorm / "
    "GroupNorm; nn.MultiheadAttention(batch_first=True) for (P, S, E) input; no "
    "statistic over the batch axis)"
)


def check_independent_points(fn, x, where: str):
    """``fn`` (P, *in_shape) -> (P, d_out) on a sample of points: the output of a point must
    not change when its batch mates change, its derivative must not reach other points, and
    forward mode must agree with reverse mode (a branch under ``torch.no_grad()`` is seen by
    the first and not by the second). ValueError naming the failure otherwise."""
    xs = _sample(x)
    s = xs.shape[0]
    eps = torch.finfo(xs.dtype).eps
    with torch.no_grad():
        base = fn(xs)
        try:
            moved = fn(torch.cat([xs[:1], 2 * xs[1:] + 1]))
        except Exception:  # noqa: BLE001 - batch mates outside the model's domain
            moved = None
    if moved is not None and not _close(base[0], moved[0]):
        diff = (base[0] - moved[0]).abs().max().item()
        raise ValueError(
            f"{where} couples the points of a batch: the output of a point changes "
            f"(by up to {diff:.3g}) when other points of the batch change; " + COUPLED
        )
    gen = torch.Generator(device="cpu").manual_seed(0)
    v = torch.randn(xs.shape, generator=gen, dtype=torch.float64).to(xs)
    try:
        out, pull = vjp(fn, xs)
    except (RuntimeError, NotImplementedError):  # torch.func refuses it: reported by the path
        return
    u = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out)
    try:
        jv = jvp(fn, (xs,), (v,))[1]
    except (RuntimeError, NotImplementedError):  # no forward-mode rule (CPU LSTM kernels)
        jv = None
    for i in range(s):
        cot = torch.zeros_like(out)
        cot[i] = u[i]
        (grad,) = pull(cot)
        grad = grad.reshape(s, -1)
        others = torch.cat([grad[:i], grad[i + 1 :]])
        if bool(((others != 0) & torch.isfinite(others)).any()):
            raise ValueError(
                f"{where} couples the points of a batch: the derivative of one "
                f"point's output reaches the inputs of other points (batch "
                f"statistics, attention across the batch axis, a normalisation "
                f"by a statistic of the batch); " + COUPLED
            )
        if jv is None:
            continue
        forward = (u[i] * jv[i]).sum().double()
        reverse = (grad[i] * v[i].reshape(-1)).sum().double()
        scale = (
            torch.linalg.vector_norm(u[i]) * torch.linalg.vector_norm(jv[i])
            + torch.linalg.vector_norm(grad[i]) * torch.linalg.vector_norm(v[i])
        ).double()
        if abs(forward - reverse) > eps**0.5 * scale:
            raise ValueError(
                f"{where} is not differentiated alike by forward mode and reverse "
                f"mode (u^T J v = {forward.item():.6g} against {reverse.item():.6g} "
                f"at point {i}): part of the output is computed from the input "
                f"under torch.no_grad() (or inference_mode), which forward mode "
                f"differentiates through and reverse mode does not, so J is not "
                f"defined by the model. Compute that branch with grad enabled "
                f"(or from a detached constant, not from the input)"
            )


def check_visible_paths(fn, x, where: str):
    """The output of ``fn`` on the sample must not depend on the input through ``.detach()``,
    ``.data`` or ``requires_grad_(False)`` (:class:`_HiddenPaths`); the Jacobian autograd
    computes is then not the derivative of the map. ValueError naming the operation."""
    xs = _sample(x).requires_grad_(True)
    tracker = _HiddenPaths()
    with torch.enable_grad(), tracker:
        out = fn(xs)
    cause = tracker.cause(out) if isinstance(out, torch.Tensor) else None
    if cause is not None:
        raise ValueError(
            f"{where} depends on the input through {cause}, a path that autograd "
            f"does not differentiate (a straight-through estimator, a detached "
            f"normalisation, ...): every method would return the Jacobian of "
            f"the surrogate autograd sees, not of the map. Remove the {cause} "
            f"from the path of the input to the output, or pass the map whose "
            f"Jacobian you want as a function without it"
        )


def stages_agree(fn, stages, x) -> bool:
    """One random tangent of the sample through the composed ``stages`` (a Sequential's
    children and its own hooks, whose ``args`` the stages take as a constant) gives the same
    J v as through ``fn`` (to sqrt(eps) of its norm): the stages are then the model's map."""
    xs = _sample(x)
    gen = torch.Generator(device="cpu").manual_seed(1)
    v = torch.randn(xs.shape, generator=gen, dtype=torch.float64).to(xs)
    try:
        whole = jvp(fn, (xs,), (v,))[1]
        h, t = xs, v
        for stage in stages:
            h, t = jvp(lambda z, stage=stage: run_stage(stage, z, xs), (h,), (t,))
    except (RuntimeError, NotImplementedError):
        return False
    t = t.reshape(whole.shape)
    return bool(
        torch.linalg.vector_norm(t - whole)
        <= torch.finfo(xs.dtype).eps ** 0.5 * torch.linalg.vector_norm(whole)
    )
