"""Device choice: ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(name: str = "auto") -> torch.device:
    """Map the config value ``device`` to a torch device; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("config device: cuda, but torch sees no CUDA device")
        return torch.device("cuda")
    raise ValueError(f"config device must be auto, cpu or cuda, got {name!r}")
