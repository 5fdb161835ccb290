r"""The public entry point :func:`ftle`: checks the arguments and picks the path.

A ``torch.nn.Sequential`` of ``nn.Linear`` layers and elementwise activations (and a module
that declares itself one by ``as_sequential()``, as the ``deepftle.MLP`` object does) takes the
fused path (:mod:`._sequential`); any other model or callable the generic path (:mod:`._generic`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
import warnings
from typing import Callable, Sequence

import torch
from torch import nn

from . import _generic as generic
from . import _layout as layout
from . import _probes as probes
from ._chain import parse_chain
from ._checks import (
    as_tensor,
    check_deterministic,
    check_dtype,
    check_integer_input,
    check_module,
    check_points,
    model_dtype_device,
)
from ._precision import exact_float32
from ._saturation import saturating
from ._sequential import NotFusable, layer_depths, parse_trunk, sequential_ftle


def _as_sequential(model) -> nn.Sequential | None:
    """The Sequential a module declares itself to be: an ``nn.Module`` with a method
    ``as_sequential()`` returning the same map as one ``nn.Sequential`` (``deepftle.MLP``:
    trunk, head, tanh output) is read as that Sequential; anything else as itself (None)."""
    if not isinstance(model, nn.Module):
        return None
    as_sequential = getattr(model, "as_sequential", None)
    return as_sequential() if callable(as_sequential) else None


def _fused_steps(model, layers, x):
    """Parsed steps when the fused path applies (integer or no ``layers``, points (P, d_in)
    or one point (d_in,)), else None."""
    if (
        layers is not None
        and not isinstance(layers, int)
        and any(isinstance(l, str) for l in layers)
    ):
        return None
    if x.dim() > 2:  # e.g. (P, S, E) tokens: a map of S E components per point
        return None
    seq = _as_sequential(model)
    try:
        return parse_trunk(seq if seq is not None else model)
    except NotFusable:
        return None


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _targets(model, x, layers, depth) -> list[layout.Target]:
    """The maps whose exponents are wanted, each with its depth L."""
    if layers is None:
        names = []
    else:
        names = [layers] if isinstance(layers, (str, int)) else list(layers)
        if not names:
            raise ValueError("layers must be a non-empty list of module names")
        if not isinstance(model, nn.Module):
            raise ValueError("layers= names modules: it needs an nn.Module model")
        modules = dict(model.named_modules())
        for name in names:
            if not isinstance(name, str) or name not in modules or name == "":
                known = [n for n in modules if n][:12]
                raise ValueError(
                    f"layers must hold names of the model's modules (e.g. {known}), got {name!r}"
                )
    depths = (
        [depth] * max(1, len(names)) if depth is None or isinstance(depth, int) else list(depth)
    )
    if len(depths) != max(1, len(names)):
        raise ValueError(f"depth must be an integer or one per layer ({len(names)}), got {depth!r}")
    for d in depths:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1):
            raise ValueError(
                f"depth must be a positive integer (L in lambda = L^-1 log sigma), got {d!r}"
            )
    if any(d is None for d in depths):
        total, at = layout.count_layers(model, x[:1], names)
        if total is None:
            raise ValueError(
                f"cannot count the layers L of {layout.unknown_layout_message(model)}"
                f": pass depth= (L in lambda = L^-1 log sigma)"
            )
        counted = [at[n] for n in names] if names else [total]
        for name, d, c in zip(names or ["the model"], depths, counted, strict=True):
            if d is None and c == 0:
                raise ValueError(
                    f"no weight layer (Linear / Conv) on the path from the input "
                    f"to the output of {name!r}: pass depth="
                )
        depths = [d if d is not None else c for d, c in zip(depths, counted, strict=True)]
    if not names:
        fn = layout.whole_model(model)
        stages, hooked = layout.sequential_stages(model)
        if hooked and not probes.stages_agree(fn, stages, x):
            stages = None  # the model's hooks read its input: the stages miss that path
        return [layout.Target(None, fn, depths[0], stages, parse_chain(model))]
    modules = dict(model.named_modules())
    return [
        layout.Target(n, layout.module_output(model, n, modules[n]), d)
        for n, d in zip(names, depths, strict=True)
    ]


def ftle(
    model: nn.Module | Callable,
    x,
    k: int = 1,
    *,
    return_directions: bool = False,
    layers: Sequence[int] | Sequence[str] | None = None,
    batch_size: int | None = None,
    depth: int | Sequence[int] | None = None,
    method: str = "auto",
):
    r"""Finite-time Lyapunov exponents :math:`\lambda_i^{(L)}(x) = L^{-1}\log\sigma_i(J(x))`.

    Parameters
    ----------
    model:
        Any differentiable map of a batch ``(P, *in_shape)`` to ``(P, *out_shape)`` (the output
        is flattened for the Jacobian): an ``nn.Module`` (MLPs, CNNs, residual blocks,
        LayerNorm / eval-mode BatchNorm, attention, a softmax output, ``deepftle.MLP``) or a
        plain function. Points must not interact (eval mode; checked on a few points), and
        autograd must see the whole map (no input-dependent branch under ``torch.no_grad()``,
        ``.detach()`` or ``.data``); the model gets a copy of ``x`` at every call. An
        ``nn.Sequential`` of ``nn.Linear`` layers and elementwise activations (``Tanh``,
        ``ReLU``, ``Sigmoid``, ``Softplus``, ``deepftle.activations.Erf``, ...; nested
        Sequentials, ``Identity`` and eval-mode ``Dropout`` allowed), and ``deepftle.MLP``,
        take the fused path. Runs on the model's device and in its dtype (float32 or
        float64; ``k > 1`` on a float32 model in float64); on CUDA with TF32 switched off for
        the call (:func:`deepftle.ftle.exact_float32`).
    x:
        Inputs ``(P, *in_shape)`` (or ``(d_in,)`` for one point of a vector input), tensor or
        array.
    k:
        Number of exponents, ``1 <= k <= min(d_in, d_out)`` (and the hidden widths).
    return_directions:
        Also return the right singular vectors :math:`v_1..v_k` in input space, shape
        ``(P, *in_shape, k)``; ``[..., 0]`` is the maximal stretching direction. The sign of
        each vector is fixed so that its largest component is positive.
    layers:
        Module names (any model): :math:`\lambda` of the map from the input to each named
        module's output (captured with hooks). Or depths ``l`` (integers, fused path): the map
        through the first ``l`` Linear layers, all in one pass. Adds a leading axis.
    batch_size:
        Points per chunk (memory bound); the default keeps a chunk near a fixed byte budget.
    depth:
        ``L`` (one integer, or one per entry of ``layers``). By default the number of weight
        layers (``Linear``, ``Bilinear``, convolutions) on the point's path to the output (a
        layer whose output the output depends on), counted with hooks; a model with other
        parameterised modules (attention) or a plain function needs it.
    method:
        ``"auto"`` (default: fused where it applies, else generic), ``"fused"``, ``"generic"``
        (the generic path's own choice), or for the generic path ``"forward"`` (J from d_in JVPs,
        the frame renormalised between the children of a Sequential), ``"reverse"`` (J from d_out
        VJPs) or ``"lanczos"`` (block Lanczos on JᵀJ, Kato-Temple stopping rule, for the top k
        when both sides are large).

    Returns
    -------
    ``lam`` of shape ``(P, k)`` (descending), or ``(len(layers), P, k)``; with
    ``return_directions`` the tuple ``(lam, v)``. A zero singular value gives ``-inf``, never NaN.
    """
    _check_k(k)
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if method not in ("auto", "fused", "generic") + generic.METHODS:
        raise ValueError(
            f"method must be 'auto', 'fused', 'generic' or one of {generic.METHODS}, got {method!r}"
        )
    if not callable(model):
        raise ValueError(f"model must be an nn.Module or a callable, got {type(model).__name__}")
    model = layout.eager_module(model)
    if isinstance(model, nn.Module):
        check_module(model)
    x = as_tensor(x)
    check_integer_input(model, x)
    dtype, device = model_dtype_device(model, x)
    check_dtype(dtype, "the model" if isinstance(model, nn.Module) else "x")

    steps = _fused_steps(model, layers, x) if method in ("auto", "fused") else None
    if method == "fused" and steps is None:
        raise ValueError(
            "method='fused' needs an nn.Sequential of Linear layers and "
            "elementwise activations (or a deepftle.MLP), integer layers and "
            "points of shape (P, d_in)"
        )
    with exact_float32():  # no TF32 on CUDA: the exponents need full float32 products
        if steps is not None:
            out = sequential_ftle(
                steps,
                x,
                k=k,
                return_directions=return_directions,
                layers=layers,
                batch_size=batch_size,
            )
            if depth is not None:
                out = _rescale_depth(out, steps, layers, depth, return_directions)
            return out
        with _attributes_kept(model):
            return _generic(
                model, x, k, return_directions, layers, batch_size, depth, method, dtype, device
            )


@contextlib.contextmanager
def _attributes_kept(model):
    """The modules' plain tensor attributes (neither parameters nor buffers) as they were
    before the call, and none left holding a torch.func wrapper: a forward (pre-)hook that
    sets one at every call (old-style ``spectral_norm``'s ``weight``, a module keeping its
    last output) would otherwise keep a tensor of the engine's transforms, which
    ``copy.deepcopy`` and later calls cannot use."""
    if not isinstance(model, nn.Module):
        yield
        return
    modules = list(model.modules())
    saved = [{n: v for n, v in vars(m).items() if isinstance(v, torch.Tensor)} for m in modules]
    try:
        yield
    finally:
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor
        for m, before in zip(modules, saved, strict=True):
            for name, value in list(vars(m).items()):
                if name in before:
                    m.__dict__[name] = before[name]
                elif isinstance(value, torch.Tensor) and wrapped(value):
                    del m.__dict__[name]


def _rescale_depth(out, steps, layers, depth, return_directions):
    """Fused results use L = number of Linear layers: divide by ``depth`` instead."""
    lam, vecs = out if return_directions else (out, None)
    counted, _ = layer_depths(steps, layers)
    wanted = [depth] * len(counted) if isinstance(depth, int) else list(depth)
    if len(wanted) != len(counted) or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in wanted
    ):
        raise ValueError(f"depth must be a positive integer or one per layer, got {depth!r}")
    factor = torch.tensor(
        [c / d for c, d in zip(counted, wanted, strict=True)], dtype=lam.dtype, device=lam.device
    )
    lam = lam * (factor.reshape(-1, *[1] * (lam.dim() - 1)) if layers is not None else factor[0])
    return (lam, vecs) if return_directions else lam


def _probe(fn, x, given=None):
    """``fn`` on the first point, with errors from inside the model turned into ValueError.
    ``given``: the dtype of x as passed, when it was converted (integers)."""
    try:
        with torch.no_grad(), generic.differentiable_attention():
            return fn(x[:1])
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - shape errors etc. from inside the model
        cast = (
            f" (x was given as {given} and converted to {x.dtype}: the exponents need a "
            f"continuous input)"
            if given is not None and given != x.dtype
            else ""
        )
        raise ValueError(
            f"the model failed on x of shape {tuple(x.shape)} (points of shape "
            f"{tuple(x.shape[1:])}){cast}: {type(exc).__name__}: {exc}"
        ) from exc


def _check_differentiable(fn, x, where: str):
    """The output must be a floating tensor that autograd connects to the input (one backward
    pass on the first point); ``.detach()``, ``torch.no_grad``, ``argmax`` or a detour through
    NumPy inside the model break that, and would otherwise give ``-inf`` or, in forward mode
    (which ``torch.no_grad`` does not stop), a wrong exponent."""
    why = None
    xp = x[:1].detach().clone().requires_grad_(True)
    try:
        with torch.enable_grad(), generic.differentiable_attention():
            out = fn(xp)
    except Exception as exc:  # noqa: BLE001 - e.g. .numpy() on a tensor that requires grad
        why = f"it fails when the input requires grad ({type(exc).__name__}: {exc})"
    else:
        if not (out.is_floating_point() or out.is_complex()):
            why = f"it is a {out.dtype} tensor (argmax, rounding to integers, ...)"
        elif (
            not out.requires_grad
            or torch.autograd.grad(out, xp, torch.ones_like(out), allow_unused=True)[0] is None
        ):
            why = (
                "autograd finds no path from the input to it (.detach(), torch.no_grad(), "
                "a detour through NumPy or a copy of the data inside the model)"
            )
    if why is not None:
        raise ValueError(f"{where} does not depend differentiably on the input: {why}")


RANDOMNESS_POINTS = 16  # points of the chunk that the model runs on twice (check_deterministic)


def _out_of_memory(exc: BaseException) -> bool:
    return (
        isinstance(exc, torch.OutOfMemoryError)
        or isinstance(exc, RuntimeError)
        and ("can't allocate memory" in str(exc) or "out of memory" in str(exc))
    )


def _memory_error(exc, where, method, batch_size, d_in, d_out, k, itemsize):
    found = re.search(r"allocate (\d+) bytes", str(exc))
    asked = f"{int(found.group(1)) / 2**20:.0f} MiB" if found else str(exc).splitlines()[0][:200]
    jac = d_in * d_out * itemsize / 2**20
    hint = (
        "a smaller batch_size= (points per chunk)"
        if batch_size != 1
        else "a machine with more memory"
    )
    if method in ("forward", "reverse") and k < min(d_in, d_out) // 4:
        hint += " or method='lanczos' (matrix-free, the top k only)"
    return ValueError(
        f"out of memory computing {where} with method {method!r} (an allocation of "
        f"{asked}; J of one point alone is {d_out} x {d_in}, {jac:.1f} MiB): pass "
        f"{hint}"
    )


def _run_generic(target, x, k, return_directions, batch_size, method, d_in, d_out, where):
    """The generic path with ``method``; under ``auto`` / ``generic``, a method whose
    transform the model does not support (no forward-mode rule, e.g. CPU LSTM kernels) gives
    way to the other one."""
    chosen = generic.choose_method(d_in, d_out, k, "auto" if method == "generic" else method)
    tries = [chosen]
    if method in ("auto", "generic"):
        tries += [m for m in ("reverse", "forward") if m != chosen]
    itemsize = x.element_size()
    failures = []
    for attempt in tries:
        try:
            lam, vecs, _ = generic.generic_ftle(
                target,
                x,
                k=k,
                want_directions=return_directions,
                batch_size=batch_size,
                method=attempt,
                d_out=d_out,
            )
            return lam, vecs
        except ValueError:
            raise
        except (RuntimeError, MemoryError) as exc:
            if _out_of_memory(exc) or isinstance(exc, MemoryError):
                raise _memory_error(
                    exc, where, attempt, batch_size, d_in, d_out, k, itemsize
                ) from exc
            failures.append((attempt, exc))
    # functorch refusals: .item(), data-dependent control flow, no forward-mode rule
    said = "; ".join(
        f"method {m!r}: {type(e).__name__}: {str(e).splitlines()[0][:300]}" for m, e in failures
    )
    raise ValueError(
        f"{where} could not be differentiated with torch.func (jvp / vjp under vmap): {said}"
    ) from failures[-1][1]


def _in_float64(model, x):
    """A float64 twin of a float32 model and x for lambda_2..k: a copy of an ``nn.Module``
    converted by ``.double()`` (a plain function as it is), if it runs on x in float64 and
    returns float64: J formed in float32 carries errors of ~eps sigma_1 in every sigma_i, so
    that sigma_i ~ 1e-4 sigma_1 would be off by ~1e-3 relative. Returns (model, x, None), or
    the float32 model and x with why no twin runs (:func:`_warn_float32_spread` then warns
    where that matters)."""
    try:
        twin = copy.deepcopy(model).double() if isinstance(model, nn.Module) else model
        x64 = x.double()
        with torch.no_grad(), generic.differentiable_attention():
            out = layout.on_copies(twin)(x64[:1])
        if isinstance(out, torch.Tensor) and out.dtype == torch.float64:
            return twin, x64, None
        why = f"it returns {getattr(out, 'dtype', type(out).__name__)} for float64 input"
    except Exception as exc:  # noqa: BLE001 - a model tied to float32 (fixed-dtype tensors)
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    return model, x, why


FLOAT32_SPREAD = 1e-4  # lambda error allowed for max(m, n) eps sigma_1 / sigma_i (float32 J)


def _warn_float32_spread(lam, depth, d_in, d_out, why):
    """Where J was formed in float32 (no float64 twin: ``why``), sigma_i carries an error of
    ~max(m, n) eps sigma_1: a RuntimeWarning counts the points whose lambda_i may then be off
    by more than 1e-4 (max(m, n) eps sigma_1 / sigma_i > 1e-4)."""
    spread = (lam[:, :1] - lam) * depth  # log(sigma_1 / sigma_i), -inf gaps excluded
    bound = math.log(FLOAT32_SPREAD / (max(d_in, d_out) * torch.finfo(torch.float32).eps))
    risky = int(((spread > bound) & torch.isfinite(spread)).any(dim=1).sum())
    if risky:
        warnings.warn(
            f"{risky} of {lam.shape[0]} points have a sigma_i below "
            f"{math.exp(-bound):.1e} sigma_1, where a Jacobian formed in float32 "
            f"gives lambda_i only to ~max(d_in, d_out) eps sigma_1 / sigma_i > 1e-4: "
            f"the model could not run in float64 ({why}); pass a float64 model "
            f"(model.double(), x.double()) for these exponents",
            RuntimeWarning,
            stacklevel=4,
        )


def _generic(model, x, k, return_directions, layers, batch_size, depth, method, dtype, device):
    if layers is not None and (isinstance(layers, int) or any(isinstance(l, int) for l in layers)):
        raise ValueError(
            "integer layers are depths of the fused path (an nn.Sequential of "
            "Linear layers and elementwise activations); for other models give "
            "module names"
        )
    given = x.dtype
    x = check_points(x, dtype, device)
    single = x.dim() == 1
    if single:
        x = x[None]
    if x.shape[0] == 0:
        raise ValueError("x holds no points")
    call = layout.on_copies(model)
    _probe(call, x, given)
    with generic.differentiable_attention():
        check_deterministic(call, x[:RANDOMNESS_POINTS])
    wanted_dtype = x.dtype
    float32_why = None  # why a float32 model runs in float32 for k > 1
    if x.dtype == torch.float32 and k > 1:
        model, x, float32_why = _in_float64(model, x)
    targets = _targets(model, x, layers, depth)
    in_shape = x.shape[1:]
    d_in = math.prod(in_shape)
    lams, dirs = [], []
    for target in targets:
        probe = _probe(target.fn, x)
        where = "the model's output" + ("" if target.name is None else f" at {target.name!r}")
        _check_differentiable(target.fn, x, where)
        if not torch.isfinite(probe).all():
            raise ValueError(f"{where} is not finite at the first point")
        with generic.differentiable_attention():
            probes.check_visible_paths(target.fn, x, where)
            probes.check_independent_points(saturating(target.fn), x, where)
        d_out = probe.shape[1]
        if k > min(d_in, d_out):
            raise ValueError(
                f"k must be an integer in 1..min(d_in, d_out) = 1..{min(d_in, d_out)}, got {k!r}"
            )
        lam, vecs = _run_generic(
            target, x, k, return_directions, batch_size, method, d_in, d_out, where
        )
        if float32_why is not None:
            _warn_float32_spread(lam, target.depth, d_in, d_out, float32_why)
        lams.append(lam)
        if return_directions:
            dirs.append(vecs.reshape(x.shape[0], *in_shape, k))
    lam = torch.stack(lams).to(wanted_dtype)
    vecs = torch.stack(dirs).to(wanted_dtype) if return_directions else None
    return layout.squeeze_result(
        lam, vecs, single=single, per_layer=layers is not None, return_directions=return_directions
    )
