"""Device choice: ``auto`` (CUDA when present), ``cpu`` or ``cuda``; one device per job."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["resolve_device", "job_device"]


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


@contextlib.contextmanager
def job_device(name: str = "auto"):
    """The device a pipeline job runs on, held for the job's lifetime; prints it to the log."""
    device = resolve_device(name)
    print(f"device: {device}", flush=True)
    yield device
