"""A synthetic CIFAR-10 copy in the publisher's exact format: ``cifar-10-batches-py/`` with five
``data_batch_<i>`` and one ``test_batch`` (pickled dicts of bytes keys: ``data`` 10000 × 3072
uint8, ``labels`` a list of 10000 ints, ``batch_label``, ``filenames``) and ``batches.meta``,
optionally packed as ``cifar-10-python.tar.gz``."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def batch(index: int, n: int = 10000, shape: tuple = (10000, 3072)) -> dict:
    """One batch: class-dependent mean colour plus noise, so the classes are learnable."""
    rng = np.random.default_rng(index)
    labels = rng.integers(0, 10, n)
    data = np.clip(labels[:, None] * 20 + rng.integers(0, 60, (n, shape[1])), 0, 255)
    return {
        b"batch_label": f"batch {index}".encode(),
        b"labels": labels.tolist(),
        b"data": data.astype(np.uint8).reshape(shape),
        b"filenames": [f"img_{index}_{i}.png".encode() for i in range(n)],
    }


def write_cifar_folder(root: Path, *, broken: dict | None = None) -> Path:
    """``root/cifar-10-batches-py/`` with every batch; ``broken`` replaces named entries by the
    given dicts (wrong shapes, labels ...). Returns the folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        d = (broken or {}).get(name) or batch(i)
        with open(folder / name, "wb") as fh:
            pickle.dump(d, fh, protocol=2)
    meta = {
        b"label_names": [c.encode() for c in CLASSES],
        b"num_cases_per_batch": 10000,
        b"num_vis": 3072,
    }
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump(meta, fh, protocol=2)
    return folder


def write_cifar_archive(root: Path, **kwargs) -> Path:
    """``root/cifar-10-python.tar.gz`` holding the folder of :func:`write_cifar_folder`."""
    folder = write_cifar_folder(Path(root) / "src", **kwargs)
    archive = Path(root) / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return archive
