"""Tiny synthetic MNIST-format data set (valid IDX files) for offline pipeline tests."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

from deepftle.images.data import FILES, sha256, write_idx


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images, ten classes: a fixed random stroke pattern per class, randomly
    shifted by up to 2 pixels, scaled in brightness and with noise added."""
    templates = np.zeros((10, 28, 28))
    trng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:28, 0:28]
    for c in range(10):
        for _ in range(3):  # three gaussian strokes per class
            cy, cx = trng.uniform(7, 21, size=2)
            sy, sx = trng.uniform(1.5, 5, size=2)
            templates[c] += np.exp(-((yy - cy) ** 2 / (2 * sy**2) + (xx - cx) ** 2 / (2 * sx**2)))
        templates[c] /= templates[c].max()
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.empty((n, 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        img = np.roll(templates[c], tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
        img = img * rng.uniform(0.7, 1.0) + rng.normal(0, 0.08, size=img.shape)
        images[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def write_synthetic_mnist(
    folder: str | Path, n_train: int = 300, n_test: int = 100, gz: bool = False
) -> dict:
    """Write the four files (raw, or ``.gz`` with ``gz=True``) and return the SHA-256 of each
    raw file, keyed by name (the ``mnist.data.checksums`` config entry)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    xtr, ytr = synthetic_digits(n_train, seed=1)
    xte, yte = synthetic_digits(n_test, seed=2)
    checksums = {}
    for name, arr in zip(FILES, (xtr, ytr, xte, yte), strict=True):
        write_idx(folder / name, arr)
        checksums[name] = sha256(folder / name)
        if gz:
            with open(folder / name, "rb") as src, gzip.open(folder / f"{name}.gz", "wb") as dst:
                shutil.copyfileobj(src, dst)
            (folder / name).unlink()
    return checksums
