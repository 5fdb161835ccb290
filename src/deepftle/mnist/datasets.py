"""The image data sets the MNIST analysis runs on, by key: ``mnist``, ``fashion_mnist``,
``cifar10``. A key fixes the image shape, the standardisation of the network inputs and the
loader of the files the data rule writes.

Network inputs are flattened images, pixels scaled to [0, 1] and standardised per channel with
the training set's statistics: ``(p - mean[c]) / std[c]``. :class:`ImageData` has the interface
of :class:`deepftle.mnist.nets.MnistData`, so every MNIST stage runs on any of the sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .cifar import load_cifar10
from .data import PIXEL_MEAN, PIXEL_STD, load_mnist

__all__ = ["ImageSet", "SETS", "ImageData", "load_image_set"]


@dataclass(frozen=True)
class ImageSet:
    """What a data-set key fixes: its name, image shape ``(channels, height, width)``, ten
    classes, and the per-channel pixel mean and standard deviation of its training set (pixels
    in [0, 1])."""

    key: str
    name: str
    image: tuple
    mean: tuple
    std: tuple

    @property
    def d_in(self) -> int:
        """Inputs per image (the flattened image)."""
        return int(np.prod(self.image))


SETS = {
    "mnist": ImageSet("mnist", "MNIST", (1, 28, 28), (PIXEL_MEAN,), (PIXEL_STD,)),
    "fashion_mnist": ImageSet("fashion_mnist", "Fashion-MNIST", (1, 28, 28), (0.2860,), (0.3530,)),
    "cifar10": ImageSet(
        "cifar10", "CIFAR-10", (3, 32, 32), (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    ),
}


class ImageData:
    """The training and test images of one set as uint8 rows ``(n, d_in)`` (channel-major) and
    int64 labels; :meth:`inputs` gives the standardised network inputs."""

    def __init__(self, image_set: ImageSet, x_train, y_train, x_test, y_test):
        self.set = image_set
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            x, y = np.asarray(x), np.asarray(y)
            if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != image_set.d_in:
                raise ValueError(
                    f"{image_set.name} {split} images must be uint8 rows of "
                    f"{image_set.d_in}, got {x.dtype} {x.shape}"
                )
            if y.shape != (len(x),):
                raise ValueError(f"{image_set.name} {split}: {len(x)} images but {y.size} labels")
        self.x_train, self.x_test = np.asarray(x_train), np.asarray(x_test)
        self.y_train = np.asarray(y_train, dtype=np.int64)
        self.y_test = np.asarray(y_test, dtype=np.int64)

    def inputs(self, split: str, device="cpu") -> torch.Tensor:
        """Standardised network inputs of ``split`` (train / test) on ``device``."""
        x = torch.as_tensor(self.x_train if split == "train" else self.x_test)
        c = self.set.image[0]
        mean = torch.tensor(self.set.mean, dtype=torch.float32).repeat_interleave(
            self.set.d_in // c
        )
        std = torch.tensor(self.set.std, dtype=torch.float32).repeat_interleave(self.set.d_in // c)
        return ((x.to(torch.float32) / 255.0 - mean) / std).to(device)

    def labels(self, split: str, device="cpu") -> torch.Tensor:
        y = self.y_train if split == "train" else self.y_test
        return torch.as_tensor(y).to(device)


def load_image_set(key: str, source) -> ImageData:
    """The set ``key`` from what its data rule wrote: the folder of the four IDX files (or the
    list of them) for ``mnist`` and ``fashion_mnist``, the ``.npz`` (or a list holding it) for
    ``cifar10``."""
    if key not in SETS:
        raise ValueError(f"unknown data set {key!r}; one of {sorted(SETS)}")
    if key == "cifar10":
        if not isinstance(source, (str, Path)):
            source = list(source)[0]
        arrays = load_cifar10(source)
    else:
        if not isinstance(source, (str, Path)):
            source = Path(list(source)[0]).parent
        arrays = load_mnist(Path(source))
    data = ImageData(SETS[key], *arrays)
    print(
        f"{SETS[key].name} from {source}: train {data.x_train.shape}, test {data.x_test.shape}",
        flush=True,
    )
    return data
