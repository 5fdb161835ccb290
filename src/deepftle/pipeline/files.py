"""Atomic writes, provenance and log redirection shared by every pipeline stage.

Every output goes to a temporary file in the destination folder and is renamed into place
only after it was written completely, so an interrupted job never leaves a file that looks
finished. Tables (TSV) carry provenance as leading ``# key: value`` lines; arrays (``.npz``)
as a JSON string under ``__provenance__``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

from .._version import __version__

__all__ = [
    "atomic_path",
    "config_hash",
    "provenance",
    "save_npz",
    "load_npz",
    "save_tsv",
    "read_tsv",
    "log_to",
]


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success, delete it
    on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def config_hash(params) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``params``."""
    text = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def provenance(params, device: str = "cpu") -> dict:
    """What produced a result: parameter hash, package/torch versions, git commit, device."""
    import torch

    return {
        "config_hash": config_hash(params),
        "deepftle": __version__,
        "torch": str(torch.__version__),
        "git_commit": _git_commit(),
        "device": str(device),
        "params": json.dumps(params, sort_keys=True, default=str),
    }


def save_npz(path: str | Path, provenance: dict | None = None, **arrays) -> None:
    """Atomically write arrays (uncompressed ``.npz``) with provenance."""
    arrays["__provenance__"] = np.array(json.dumps(provenance or {}, sort_keys=True))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_npz(path: str | Path) -> tuple[dict, dict]:
    """Return ``(arrays, provenance)`` from a file written by :func:`save_npz`."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "__provenance__"}
        prov = json.loads(str(data["__provenance__"])) if "__provenance__" in data.files else {}
    return arrays, prov


def save_tsv(
    path: str | Path, table, provenance: dict | None = None, *, exact: bool = False
) -> None:
    """Atomically write a pandas DataFrame as TSV, provenance as leading ``#`` lines.
    Infinite values are written as ``inf``/``-inf``. Floats carry 10 significant digits, or
    with ``exact`` 17, so that reading the file back gives every float64 bit for bit."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            for key, value in sorted((provenance or {}).items()):
                fh.write(f"# {key}: {value}\n")
            table.to_csv(fh, sep="\t", index=False, float_format="%.17g" if exact else "%.10g")


def read_tsv(path: str | Path):
    """Read a TSV written by :func:`save_tsv` (provenance lines skipped)."""
    import pandas as pd

    return pd.read_csv(path, sep="\t", comment="#")


@contextlib.contextmanager
def log_to(path: str | Path | None):
    """Send stdout and stderr (tqdm included) of the body to ``path``, appending. An exception
    leaving the body is written to the log too (then re-raised), so the log says why a job
    failed."""
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", buffering=1) as fh:
        old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = fh
        try:
            yield fh
        except Exception:
            fh.write("\n")
            traceback.print_exc(file=fh)
            raise
        finally:
            sys.stdout, sys.stderr = old
