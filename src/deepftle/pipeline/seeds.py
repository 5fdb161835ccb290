"""Per-job seeds and the grouping predicate, torch-free: the Snakefile loads this file by path
(without importing the package, which imports torch) to name seeds and plan jobs."""

from __future__ import annotations

import hashlib

__all__ = ["job_seed", "trains_as_population"]


def job_seed(*parts) -> int:
    """A 63-bit seed from the config's base seed and a job's wildcards (stable across runs,
    platforms and Python hash randomisation)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def trains_as_population(width: int, max_width: int) -> bool:
    """Whether nets of hidden width ``width`` share one vectorised job
    (config ``population.max_width``): narrow nets are bound by per-step overhead, which a
    population pays once; wider ones are arithmetic-bound and better spread over jobs."""
    for name, value in (("width", width), ("max_width", max_width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return width <= max_width
