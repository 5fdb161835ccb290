"""CIFAR-10 from the user's copy: the publisher's ``cifar-10-python.tar.gz`` or its extracted
``cifar-10-batches-py/`` folder, checked and converted into one ``.npz``.

No registry these machines reach ships CIFAR-10, so there is no download: ``cifar10.local``
points at the archive, at the folder, or at a folder holding either. The archive must have
the publisher's MD5 (:data:`ARCHIVE_MD5`, as the publisher and torchvision record it). Every
batch is checked for the format the publisher documents: a pickled dict whose ``data`` is a
10000 × 3072 uint8 array (one row per image: the 1024 red, 1024 green, 1024 blue pixels of a
32 × 32 image, row-major) and whose ``labels`` are 10000 integers in 0..9; ``batches.meta``
names the 10 classes. The pickles are read with an unpickler that builds nothing but numpy
arrays and plain containers. The output is written atomically, so a failed check leaves
nothing that looks finished.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..pipeline.files import atomic_path

__all__ = [
    "ARCHIVE",
    "ARCHIVE_MD5",
    "FOLDER",
    "BATCHES",
    "IMAGE_SHAPE",
    "CifarDataError",
    "read_batch",
    "fetch_cifar10",
    "load_cifar10",
]

ARCHIVE = "cifar-10-python.tar.gz"
#: MD5 of the publisher's archive, as the publisher's page and torchvision record it
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
BATCHES = TRAIN_BATCHES + ("test_batch",)
META = "batches.meta"
IMAGES_PER_BATCH = 10000
IMAGE_SHAPE = (3, 32, 32)
N_CLASSES = 10

# what a CIFAR-10 pickle may build: numpy arrays, their dtypes, and bytes (Python 2 and 3
# names; a protocol-2 pickle written by Python 3 builds bytes through _codecs.encode)
_ALLOWED = {
    ("_codecs", "encode"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
}


class CifarDataError(RuntimeError):
    """The CIFAR-10 copy is missing or fails a check; the message names the file and the check."""


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise CifarDataError(f"refuses to build {module}.{name}")
        return super().find_class(module, name)


def read_batch(fileobj, name: str, *, meta: bool = False):
    """One pickled batch (an open binary file): ``(data (n, 3072) uint8, labels (n,) int64)``,
    or for ``meta`` the 10 class names. Raises :class:`CifarDataError` naming ``name``."""
    try:
        d = _ArraysOnly(fileobj, encoding="bytes").load()
    except CifarDataError as err:
        raise CifarDataError(f"{name}: not a CIFAR-10 batch ({err})") from None
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        raise CifarDataError(
            f"{name}: not a CIFAR-10 batch ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(d, dict):
        raise CifarDataError(f"{name}: not a CIFAR-10 batch (a {type(d).__name__}, not a dict)")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    if meta:
        names = d.get("label_names")
        if not isinstance(names, list) or len(names) != N_CLASSES:
            raise CifarDataError(f"{name}: label_names must list {N_CLASSES} classes")
        return [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    data, labels = d.get("data"), d.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise CifarDataError(
            f"{name}: data must be a uint8 array, got {getattr(data, 'dtype', type(data).__name__)}"
        )
    if data.shape != (IMAGES_PER_BATCH, int(np.prod(IMAGE_SHAPE))):
        raise CifarDataError(
            f"{name}: data has shape {data.shape}, expected "
            f"({IMAGES_PER_BATCH}, {int(np.prod(IMAGE_SHAPE))})"
        )
    labels = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if labels.shape != (IMAGES_PER_BATCH,):
        raise CifarDataError(f"{name}: {labels.size} labels for {len(data)} images")
    if labels.min() < 0 or labels.max() >= N_CLASSES:
        raise CifarDataError(f"{name}: labels outside 0..{N_CLASSES - 1}")
    return data, labels


def _md5(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - the publisher records MD5
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _locate(local: Path) -> Path:
    """The archive or the batches folder that ``local`` names or holds."""
    for candidate in (local, local / ARCHIVE, local / FOLDER):
        if candidate.is_file() and candidate.name.endswith(".tar.gz"):
            return candidate
        if candidate.is_dir() and (candidate / META).is_file():
            return candidate
    raise CifarDataError(
        f"CIFAR-10 not found at {local}: put the publisher's {ARCHIVE} (or its extracted "
        f"{FOLDER}/ folder) there, or set cifar10.local to the path of either"
    )


def _read_archive(path: Path, md5: str | None, log) -> dict:
    if md5 is not None:
        digest = _md5(path)
        if digest != md5.lower():
            raise CifarDataError(f"{path.name}: wrong checksum (MD5 {digest}, expected {md5})")
        log(f"  {path.name}: MD5 ok")
    out = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
            for name in BATCHES + (META,):
                if name not in members:
                    raise CifarDataError(f"{path.name}: no {FOLDER}/{name} in the archive")
                raw = tar.extractfile(members[name]).read()
                out[name] = read_batch(io.BytesIO(raw), name, meta=name == META)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise CifarDataError(
            f"{path.name}: unreadable archive ({type(err).__name__}: {err})"
        ) from None
    return out


def _read_folder(folder: Path) -> dict:
    out = {}
    for name in BATCHES + (META,):
        if not (folder / name).is_file():
            raise CifarDataError(f"{folder}: no {name}")
        with open(folder / name, "rb") as fh:
            out[name] = read_batch(fh, name, meta=name == META)
    return out


def fetch_cifar10(
    dest: str | Path,
    *,
    local: str | Path | None,
    md5: str | None = ARCHIVE_MD5,
    log: Callable[[str], None] = print,
) -> Path:
    """Check the user's CIFAR-10 copy ``local`` and write ``dest`` (``.npz``: ``x_train``
    (50000, 3072) and ``x_test`` (10000, 3072) uint8 rows, ``y_train``, ``y_test``,
    ``label_names``). ``md5`` checks an archive (``None``: no check, for test archives)."""
    if not local:
        raise CifarDataError(
            f"CIFAR-10 has no download: set cifar10.local to the publisher's "
            f"{ARCHIVE} or its extracted {FOLDER}/ folder"
        )
    found = _locate(Path(local).expanduser())
    log(f"CIFAR-10 from {found}")
    batches = _read_archive(found, md5, log) if found.is_file() else _read_folder(found)
    x_train = np.concatenate([batches[b][0] for b in TRAIN_BATCHES])
    y_train = np.concatenate([batches[b][1] for b in TRAIN_BATCHES])
    x_test, y_test = batches["test_batch"]
    log(
        f"  {len(x_train)} training and {len(x_test)} test images, classes "
        f"{', '.join(batches[META])}"
    )
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                x_train=x_train,
                y_train=y_train,
                x_test=x_test,
                y_test=y_test,
                label_names=np.array(batches[META]),
            )
    return Path(dest)


def load_cifar10(path: str | Path):
    """``(x_train, y_train, x_test, y_test)`` from the file :func:`fetch_cifar10` wrote; images
    as uint8 rows of 3072 (channel-major 3 × 32 × 32)."""
    with np.load(path, allow_pickle=False) as d:
        return d["x_train"], d["y_train"], d["x_test"], d["y_test"]
