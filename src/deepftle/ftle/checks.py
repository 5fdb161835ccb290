"""Validation shared by both paths: the points, the model's dtype and parameters, random layers.

Every problem is a ``ValueError`` naming it, raised before any work starts.
"""

from __future__ import annotations

import torch
from torch import nn

SUPPORTED_DTYPES = (torch.float32, torch.float64)


def check_points(x, dtype, device) -> torch.Tensor:
    """``x`` as a tensor of ``dtype`` on ``device``; NaN or infinite entries raise."""
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.numel() and torch.isfinite(x.sum()):  # one pass; NaN/inf (or overflow) -> exact checks
        return x.to(device=device, dtype=dtype)
    if torch.isnan(x).any():
        bad = torch.isnan(x).reshape(x.shape[0], -1).any(dim=1).sum() if x.dim() > 1 else 1
        raise ValueError(f"x contains NaN ({int(bad)} of {x.shape[0] if x.dim() > 1 else 1} "
                         f"points)")
    if not torch.isfinite(x).all():
        raise ValueError("x contains infinite values")
    return x.to(device=device, dtype=dtype)


def check_dtype(dtype, what: str):
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"{what} has dtype {dtype}: the FTLE engine computes in float32 or "
                         f"float64 (half precision cannot resolve the exponents); convert with "
                         f"model.float() / x.float()")


def check_module(model: nn.Module):
    """Floating parameters of one supported dtype, all finite; no random or batch-coupled layer
    in training mode."""
    for name, p in model.named_parameters():
        if not p.is_floating_point():
            continue
        check_dtype(p.dtype, f"parameter {name!r}")
        with torch.no_grad():
            if not torch.isfinite(p.sum()) and not torch.isfinite(p).all():
                raise ValueError(f"parameter {name!r} holds non-finite values "
                                 f"({int((~torch.isfinite(p)).sum())} of {p.numel()}): "
                                 f"the Jacobian is undefined")
    for name, m in model.named_modules():
        if not m.training:
            continue
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            raise ValueError(f"module {name or type(m).__name__!r} ({m!r}) is a Dropout in "
                             f"training mode: the map is random; call model.eval() first")
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            raise ValueError(f"module {name!r} ({type(m).__name__}) is in training mode: it "
                             f"normalises by batch statistics, so points are coupled; call "
                             f"model.eval() first")


def model_dtype_device(model, x):
    """dtype and device of the computation: the model's first floating parameter, else x's."""
    if isinstance(model, nn.Module):
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype, p.device
    x = torch.as_tensor(x)
    dtype = x.dtype if x.is_floating_point() else torch.float64
    return dtype, x.device
