"""Checkpoints: a net's weights with its architecture and provenance, written atomically
(:func:`save_model`) and rebuilt by its architecture (:func:`load_model`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..pipeline.files import atomic_path
from .archs import build_net
from .mlp import MLP

__all__ = ["save_model", "load_model"]


def save_model(path: str | Path, model: MLP, provenance: dict | None = None, **extra) -> None:
    """Write ``{state_dict, architecture, provenance, extra}`` atomically."""
    payload = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "architecture": dict(model.arch),
        "provenance": provenance or {},
        "extra": extra,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path: str | Path, expected: dict | None = None, map_location="cpu") -> nn.Module:
    """Rebuild a net from a checkpoint (an MLP, or a :mod:`deepftle.nets.archs` net by its
    ``kind``); ``expected`` (architecture keys) must match exactly."""
    payload = torch.load(path, map_location=map_location, weights_only=True)
    arch = payload.get("architecture")
    if not isinstance(arch, dict):
        raise ValueError(f"{path}: not a deepftle checkpoint (no architecture metadata)")
    if expected is not None:
        wrong = {k: (expected[k], arch.get(k)) for k in expected if arch.get(k) != expected[k]}
        if wrong:
            detail = ", ".join(
                f"{k}: expected {e!r}, checkpoint has {a!r}" for k, (e, a) in wrong.items()
            )
            raise ValueError(f"{path}: checkpoint made for another architecture ({detail})")
    model = build_net(arch)
    state = payload["state_dict"]
    own = model.state_dict()
    mismatch = [
        f"{k}: expected {tuple(own[k].shape)}, checkpoint has {tuple(state[k].shape)}"
        for k in own
        if k in state and own[k].shape != state[k].shape
    ]
    missing = [k for k in own if k not in state] + [k for k in state if k not in own]
    if mismatch or missing:
        raise ValueError(
            f"{path}: state does not fit its architecture "
            f"({'; '.join(mismatch + [f'missing/unexpected {k}' for k in missing])})"
        )
    model.load_state_dict(state)
    return model
