"""Validation shared by both paths: the points, the model's dtype and parameters, random layers.

Every problem is a ``ValueError`` naming it, raised before any work starts.
:func:`check_deterministic` is the general test that the model is a function of its input:
a forward pass that draws random numbers from torch's global generators, or two passes over
the same points that do not agree bit for bit, make the Jacobian undefined.
"""

from __future__ import annotations

import torch
from torch import nn

SUPPORTED_DTYPES = (torch.float32, torch.float64)


def as_tensor(x) -> torch.Tensor:
    """``x`` (tensor, array or nested list of numbers) as a tensor, else a ValueError."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (str, bytes)):
        raise ValueError(
            f"x must be a tensor or array of points (P, *in_shape), got a {type(x).__name__}"
        )
    try:
        return torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError) as exc:
        hint = (
            ": stack a list of tensors with torch.stack"
            if isinstance(x, (list, tuple)) and any(isinstance(e, torch.Tensor) for e in x)
            else ""
        )
        raise ValueError(
            f"x must be a tensor or array of points (P, *in_shape), got a "
            f"{type(x).__name__} that torch.as_tensor cannot convert ({exc})"
            f"{hint}"
        ) from exc


def check_points(x, dtype, device) -> torch.Tensor:
    """``x`` as a tensor of ``dtype`` on ``device``; NaN or infinite entries raise."""
    x = as_tensor(x)
    if x.is_complex():
        raise ValueError(f"x is a {x.dtype} tensor: the engine takes real inputs")
    if x.device.type == "meta":
        raise ValueError("x is on the meta device (shapes only, no values)")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.numel() and torch.isfinite(x.sum()):  # one pass; NaN/inf (or overflow) -> exact checks
        return x.to(device=device, dtype=dtype)
    if torch.isnan(x).any():
        bad = torch.isnan(x).reshape(x.shape[0], -1).any(dim=1).sum() if x.dim() > 1 else 1
        raise ValueError(
            f"x contains NaN ({int(bad)} of {x.shape[0] if x.dim() > 1 else 1} points)"
        )
    if not torch.isfinite(x).all():
        raise ValueError("x contains infinite values")
    return x.to(device=device, dtype=dtype)


def check_dtype(dtype, what: str):
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(
            f"{what} has dtype {dtype}: the FTLE engine computes in float32 or "
            f"float64 (half precision cannot resolve the exponents); convert with "
            f"model.float() / x.float()"
        )


def check_module(model: nn.Module):
    """Floating parameters of one supported dtype, all finite; no random or batch-coupled layer
    in training mode."""
    for name, p in [*model.named_parameters(), *model.named_buffers()]:
        if p.device.type == "meta":
            raise ValueError(
                f"{name!r} of the model is on the meta device (shapes only, no "
                f"values): load the weights first (e.g. model.to_empty(device="
                f"'cpu') and load_state_dict)"
            )
    for name, p in model.named_parameters():
        if not p.is_floating_point():
            continue
        check_dtype(p.dtype, f"parameter {name!r}")
        with torch.no_grad():
            if not torch.isfinite(p.sum()) and not torch.isfinite(p).all():
                raise ValueError(
                    f"parameter {name!r} holds non-finite values "
                    f"({int((~torch.isfinite(p)).sum())} of {p.numel()}): "
                    f"the Jacobian is undefined"
                )
    for name, m in model.named_modules():
        if not m.training:
            continue
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            raise ValueError(
                f"module {name or type(m).__name__!r} ({m!r}) is a Dropout in "
                f"training mode: the map is random; call model.eval() first"
            )
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            raise ValueError(
                f"module {name!r} ({type(m).__name__}) is in training mode: it "
                f"normalises by batch statistics, so points are coupled; call "
                f"model.eval() first"
            )
        if _spectral_norm_in_training(m):
            raise ValueError(
                f"module {name or type(m).__name__!r} has spectral_norm in "
                f"training mode: every call runs a power-iteration step that "
                f"changes its weight, so the map is not the same from one pass to "
                f"the next; call model.eval() first"
            )
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is None:
            raise ValueError(
                f"module {name!r} ({type(m).__name__}) has "
                f"track_running_stats=False: it normalises by batch statistics in "
                f"eval mode too, so points are coupled and the exponents of a "
                f"point would depend on its batch mates; build it with "
                f"track_running_stats=True (running statistics in eval mode) or "
                f"use a per-point normalisation (LayerNorm, GroupNorm)"
            )


def _spectral_norm_in_training(module: nn.Module) -> bool:
    """``torch.nn.utils.spectral_norm`` (a forward pre-hook) or its parametrization on
    ``module``, in training mode (where each call updates the power iteration's vectors)."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.parametrizations import _SpectralNorm
    from torch.nn.utils.spectral_norm import SpectralNorm

    if module.training and any(
        isinstance(h, SpectralNorm) for h in module._forward_pre_hooks.values()
    ):
        return True
    if not parametrize.is_parametrized(module):
        return False
    return any(
        isinstance(p, _SpectralNorm) and p.training
        for plist in module.parametrizations.values()
        for p in plist
    )


def check_integer_input(model, x):
    """Token ids of an ``nn.Embedding`` front end: the map is not differentiable in them."""
    x = as_tensor(x)
    if x.is_floating_point() or not isinstance(model, nn.Module):
        return
    embeddings = [
        name for name, m in model.named_modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))
    ]
    if embeddings:
        raise ValueError(
            f"x is a {x.dtype} tensor of indices into {embeddings[0]!r} "
            f"({type(model.get_submodule(embeddings[0])).__name__}): the model is "
            f"not differentiable in discrete tokens. Compute the exponents of the "
            f"map from the embedded input: pass a model that starts after the "
            f"embedding and the embedding vectors as x"
        )


def _rng_states(device) -> list[torch.Tensor]:
    states = [torch.get_rng_state()]
    if device.type == "cuda":
        states.append(torch.cuda.get_rng_state(device))
    return states


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit for bit on the CPU; on a GPU, whose reductions may run in another order from one
    call to the next, within 64 eps of the largest output component."""
    if torch.equal(a, b):
        return True
    if a.device.type == "cpu" or not a.is_floating_point():
        return False
    scale = a.abs().max().item() if a.numel() else 0.0
    return bool(((a - b).abs() <= 64 * torch.finfo(a.dtype).eps * scale).all())


def check_deterministic(fn, x, where: str = "the model"):
    """``fn`` (points -> outputs) must not draw random numbers and must give the same output
    on two passes over ``x`` (one chunk of points; bit for bit on the CPU, :func:`_same`);
    else a ValueError that names training mode. Functional dropout
    (``F.dropout(h, p, self.training)``), stochastic depth
    and any other random layer written without an ``nn.Dropout`` module are caught here by
    the generator state they advance, or by the outputs of two passes."""
    before = _rng_states(x.device)
    with torch.no_grad():
        first = fn(x)
        drew = any(
            not torch.equal(a, b) for a, b in zip(before, _rng_states(x.device), strict=True)
        )
        second = None if drew else fn(x)
    if drew:
        raise ValueError(
            f"{where} is random: it draws random numbers in its forward pass "
            f"(functional dropout or stochastic depth in training mode?), so its "
            f"Jacobian is not defined; call model.eval() first"
        )
    if (
        isinstance(first, torch.Tensor)
        and isinstance(second, torch.Tensor)
        and (first.shape != second.shape or not _same(first, second))
    ):
        raise ValueError(
            f"{where} is not a function of its input: two forward passes over the "
            f"same points give different outputs (a layer whose state changes at "
            f"every call in training mode, or randomness from a private "
            f"generator), so its Jacobian is not defined; call model.eval() "
            f"first, or make the forward pass deterministic"
        )


def model_dtype_device(model, x):
    """dtype and device of the computation: the model's first floating parameter, else x's."""
    if isinstance(model, nn.Module):
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype, p.device
    x = as_tensor(x)
    dtype = x.dtype if x.is_floating_point() else torch.float64
    return dtype, x.device
