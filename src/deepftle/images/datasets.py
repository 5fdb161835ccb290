"""The data sets the image analyses run on: one type, :class:`DataSet`, for every source.

- The image sets by key (:data:`SETS`: ``mnist``, ``fashion_mnist``, ``cifar10``): a key fixes
  the image shape, the files its data rule writes and checks (names and SHA-256 sums, in
  :class:`ImageSet`) and the standardisation of the network inputs: flattened images, pixels
  scaled to [0, 1] and standardised per channel with the training set's statistics,
  ``(p - mean[c]) / std[c]``.
- A user's ``.npz`` (:meth:`DataSet.from_npz`): ``x_test`` and ``y_test`` (and ``x_train``,
  ``y_train`` when the pipeline trains the nets); the model sees exactly ``x_test`` as float32,
  of any shape, unless standardisation is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .cifar import load_cifar10
from .data import CHECKSUMS, FASHION_CHECKSUMS, FILES, PIXEL_MEAN, PIXEL_STD, load_mnist

__all__ = ["ImageSet", "SETS", "DataSet", "load_image_set"]


@dataclass(frozen=True)
class ImageSet:
    """What a data-set key fixes: its name, image shape ``(channels, height, width)``, ten
    classes, the per-channel pixel mean and standard deviation of its training set (pixels in
    [0, 1]), the files its data rule writes under ``resources/<key>/`` and their SHA-256 sums
    (empty where the files are checked otherwise: CIFAR-10's archive by its MD5)."""

    key: str
    name: str
    image: tuple
    mean: tuple
    std: tuple
    files: tuple
    checksums: dict

    @property
    def d_in(self) -> int:
        """Inputs per image (the flattened image)."""
        return int(np.prod(self.image))


SETS = {
    "mnist": ImageSet("mnist", "MNIST", (1, 28, 28), (PIXEL_MEAN,), (PIXEL_STD,), FILES, CHECKSUMS),
    "fashion_mnist": ImageSet(
        "fashion_mnist",
        "Fashion-MNIST",
        (1, 28, 28),
        (0.2860,),
        (0.3530,),
        FILES,
        FASHION_CHECKSUMS,
    ),
    "cifar10": ImageSet(
        "cifar10",
        "CIFAR-10",
        (3, 32, 32),
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        ("cifar10.npz",),
        {},
    ),
}


class DataSet:
    """Training and test inputs with their int64 labels, and how the network sees them.

    Image sets hold uint8 rows ``(n, d_in)`` (channel-major) and standardise them per channel;
    a user's ``.npz`` holds float32 arrays of any shape, given to the net as they are or, with
    ``standardise``, as ``(x - mean) / std`` over every element of ``x_train`` (of ``x_test``
    when there is no training split). ``x_train`` / ``y_train`` are None when absent."""

    def __init__(
        self,
        name: str,
        x_train,
        y_train,
        x_test,
        y_test,
        *,
        image_set: ImageSet | None = None,
        standardise: bool = False,
    ):
        self.name, self.set = name, image_set
        splits = [("test", x_test, y_test)]
        if x_train is not None or y_train is not None:
            splits.insert(0, ("train", x_train, y_train))
        for split, x, y in splits:
            if x is None or y is None:
                raise ValueError(f"{name}: x_{split} and y_{split} come together; one is missing")
            x, y = np.asarray(x), np.asarray(y)
            if image_set is not None and (
                x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != image_set.d_in
            ):
                raise ValueError(
                    f"{name} {split} images must be uint8 rows of "
                    f"{image_set.d_in}, got {x.dtype} {x.shape}"
                )
            if y.ndim != 1 or len(y) != len(x):
                raise ValueError(f"{name} {split}: {len(x)} inputs but labels of shape {y.shape}")
            if y.dtype.kind not in "iu":
                raise ValueError(f"{name} y_{split}: integer class labels, got {y.dtype}")
        self.x_train = None if x_train is None else np.asarray(x_train)
        self.x_test = np.asarray(x_test)
        self.y_train = None if y_train is None else np.asarray(y_train, dtype=np.int64)
        self.y_test = np.asarray(y_test, dtype=np.int64)
        self._scale = None
        if image_set is None and standardise:
            ref = (self.x_train if self.x_train is not None else self.x_test).astype(np.float64)
            mean, std = float(ref.mean()), float(ref.std())
            if not std > 0:
                raise ValueError(f"{name}: cannot standardise inputs with standard deviation 0")
            self._scale = (mean, std)

    @classmethod
    def from_npz(cls, path: str | Path, *, standardise: bool = False, need_train: bool = False):
        """A user's data set: ``x_test``, ``y_test`` (and ``x_train``, ``y_train``; required
        when ``need_train``). A missing key or a non-finite input is an error naming the file
        and the key."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"data set {path}: no such file")
        with np.load(path, allow_pickle=False) as f:
            keys = set(f.files)
            need = ["x_test", "y_test"] + (["x_train", "y_train"] if need_train else [])
            missing = [k for k in need if k not in keys]
            if missing:
                raise KeyError(f"{path}: missing array(s) {missing}; it holds {sorted(keys)}")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test") if k in keys}
        for k in ("x_train", "x_test"):
            if k in arrays:
                if arrays[k].dtype.kind not in "fiub":
                    raise ValueError(f"{path}: {k} must be numeric, got {arrays[k].dtype}")
                arrays[k] = arrays[k].astype(np.float32)
                if not np.isfinite(arrays[k]).all():
                    raise ValueError(f"{path}: {k} holds NaN or infinite values")
        return cls(
            path.name,
            arrays.get("x_train"),
            arrays.get("y_train"),
            arrays["x_test"],
            arrays["y_test"],
            standardise=standardise,
        )

    @property
    def has_train(self) -> bool:
        return self.x_train is not None

    @property
    def n_classes(self) -> int:
        if self.set is not None:
            return 10
        ys = [self.y_test] + ([self.y_train] if self.has_train else [])
        return int(max(int(y.max()) for y in ys if y.size) + 1)

    def inputs(self, split: str, device="cpu") -> torch.Tensor:
        """The network inputs of ``split`` (train / test) on ``device``, float32."""
        x = self._split(split, self.x_train, self.x_test)
        t = torch.as_tensor(x, dtype=torch.float32)
        if self.set is not None:
            t = t / 255.0
            c = self.set.image[0]
            mean = torch.tensor(self.set.mean, dtype=torch.float32).repeat_interleave(
                self.set.d_in // c
            )
            std = torch.tensor(self.set.std, dtype=torch.float32).repeat_interleave(
                self.set.d_in // c
            )
            t = (t - mean) / std
        elif self._scale is not None:
            t = (t - self._scale[0]) / self._scale[1]
        return t.to(device)

    def labels(self, split: str, device="cpu") -> torch.Tensor:
        return torch.as_tensor(self._split(split, self.y_train, self.y_test)).to(device)

    def _split(self, split, train, test):
        if split == "test":
            return test
        if split != "train":
            raise ValueError(f"split must be train or test, got {split!r}")
        if train is None:
            raise ValueError(f"{self.name}: no training split (x_train, y_train)")
        return train


def load_image_set(key: str, source) -> DataSet:
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
    data = DataSet(SETS[key].name, *arrays, image_set=SETS[key])
    print(
        f"{SETS[key].name} from {source}: train {data.x_train.shape}, test {data.x_test.shape}",
        flush=True,
    )
    return data
