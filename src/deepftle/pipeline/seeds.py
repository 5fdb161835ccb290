"""Per-job seeds, torch-free (a Snakefile may compute them without importing torch)."""

from __future__ import annotations

import hashlib

__all__ = ["job_seed"]


def job_seed(*parts) -> int:
    """A 63-bit seed from the config's base seed and a job's wildcards (stable across runs,
    platforms and Python hash randomisation)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
