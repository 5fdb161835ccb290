"""Device choice: ``auto`` (CUDA when present), ``cpu`` or ``cuda``; one device per job.

On a node with several GPUs, Snakemake's ``--resources gpu=K`` bounds how many GPU jobs run
at once, but not *which* GPU each one uses. :func:`job_device` closes that gap: a CUDA job
takes an exclusive ``flock`` on one lock file per device (under the run directory
``gpu_lock_dir``), for the lifetime of the job, so no two concurrent jobs share a device. The
kernel drops the lock when the holding process exits, however it exits (crash, ``kill -9``,
SLURM timeout), so a dead job never blocks a device. A job that finds every device taken
waits and polls.

Testing only: ``DEEPFTLE_FAKE_GPUS=K`` makes :func:`job_device` behave as if ``K`` CUDA
devices existed (same locks, same waiting) but yield the CPU; it prints the fake device index
it holds. Never set it for real runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import time
from pathlib import Path

import torch

from ..ftle import exact_float32

__all__ = [
    "resolve_device",
    "job_device",
    "set_deterministic",
    "DEFAULT_LOCK_DIR",
    "FAKE_GPUS_ENV",
    "LOCK_DIR_ENV",
]

DEFAULT_LOCK_DIR = ".snakemake/gpu-locks"
FAKE_GPUS_ENV = "DEEPFTLE_FAKE_GPUS"  # tests only
LOCK_DIR_ENV = "DEEPFTLE_GPU_LOCK_DIR"


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


def _fake_gpus() -> int:
    raw = os.environ.get(FAKE_GPUS_ENV, "").strip()
    if not raw:
        return 0
    try:
        k = int(raw)
    except ValueError:
        raise ValueError(f"{FAKE_GPUS_ENV} must be a positive integer, got {raw!r}") from None
    if k < 1:
        raise ValueError(f"{FAKE_GPUS_ENV} must be a positive integer, got {raw!r}")
    return k


def set_deterministic(*, enabled: bool = True) -> None:
    """Bitwise-repeatable CUDA runs (config ``deterministic: true``): deterministic kernels only
    (an op without one raises) and a fixed cuBLAS workspace. Must run before the first CUDA
    matmul of the process; CPU runs are deterministic without it."""
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = enabled


def _lock_dir(lock_dir) -> Path:
    chosen = lock_dir or os.environ.get(LOCK_DIR_ENV) or DEFAULT_LOCK_DIR
    path = Path(str(chosen)).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _physical_ids(n: int) -> list[str]:
    """A stable name for each visible device: under CUDA_VISIBLE_DEVICES (set by SLURM or by
    hand) ``cuda:i`` is the i-th listed GPU, so two jobs that each see ``cuda:0`` but were
    given different GPUs do not contend for one lock."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    listed = [v.strip() for v in visible.split(",") if v.strip()] if visible else []
    return [listed[i] if i < len(listed) else str(i) for i in range(n)]


def _try_lock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    # who holds it, for a human looking at the lock directory (the lock itself is the flock)
    os.ftruncate(fd, 0)
    holder = f"pid {os.getpid()} host {socket.gethostname()} since {time.time():.3f}\n"
    os.write(fd, holder.encode())
    return fd


def _acquire(n: int, lock_dir: Path, poll_s: float, timeout_s: float | None):
    """Lock one of ``n`` devices; returns (index, fd, path). Waits while all are held."""
    host = socket.gethostname()
    paths = [lock_dir / f"{host}-gpu-{pid}.lock" for pid in _physical_ids(n)]
    start = time.monotonic()
    announced = False
    while True:
        # start the scan at a pid-dependent offset so simultaneous starters spread out
        offset = os.getpid() % n
        for j in range(n):
            i = (offset + j) % n
            fd = _try_lock(paths[i])
            if fd is not None:
                return i, fd, paths[i]
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise TimeoutError(f"no free GPU among {n} after {timeout_s:g} s (locks in {lock_dir})")
        if not announced:
            print(f"device: all {n} GPUs busy (locks in {lock_dir}); waiting", flush=True)
            announced = True
        time.sleep(poll_s)


@contextlib.contextmanager
def job_device(
    name: str = "auto",
    *,
    lock_dir=None,
    poll_s: float = 0.5,
    timeout_s: float | None = None,
    deterministic: bool = False,
):
    """The device a pipeline job runs on, held for the job's lifetime; prints it to the log.

    ``cpu`` (or ``auto`` without CUDA) yields the CPU and locks nothing. CUDA: locks a free
    device under ``lock_dir`` (default: ``$DEEPFTLE_GPU_LOCK_DIR``, else
    ``.snakemake/gpu-locks``; pipeline jobs pass the config's ``gpu_lock_dir``), makes it the
    current CUDA device and yields ``cuda:i`` (inside :func:`exact_float32`: no TF32, so GPU and
    CPU runs agree to float32 rounding); the lock is released on exit. ``deterministic``
    (pipeline jobs: the config's ``deterministic``) calls :func:`set_deterministic` first.
    """
    if deterministic:
        set_deterministic()
    fake = _fake_gpus() if name in ("auto", "cuda") else 0
    if fake:
        n = fake
    else:
        device = resolve_device(name)
        if device.type != "cuda":
            print(f"device: {device}", flush=True)
            yield device
            return
        n = torch.cuda.device_count()
    directory = _lock_dir(lock_dir)
    i, fd, path = _acquire(n, directory, poll_s, timeout_s)
    try:
        if fake:
            print(
                f"device: cpu (fake GPU {i} of {n} from {FAKE_GPUS_ENV}; lock {path})", flush=True
            )
            yield torch.device("cpu")
        else:
            torch.cuda.set_device(i)
            device = torch.device("cuda", i)
            print(
                f"device: {device} ({torch.cuda.get_device_name(i)}; "
                f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')}; "
                f"lock {path})",
                flush=True,
            )
            with exact_float32():
                yield device
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
