"""Fig. S3: the analysis of Fig. 4(b) on harder data sets (Fashion-MNIST, CIFAR-10): for each
set an MLP of the paper's layout and the Fig. S2 CNN, λ₁ over the test images, H from an
ensemble, the claims of Fig. 4(b) per net, and the bottleneck map of the MLP coloured by λ₁.

The architectures follow the set (:mod:`deepftle.mnist.datasets`): the MLP takes the flattened
image (784 or 3072 inputs), the CNN its channels and size. Claims are those of Fig. S2
(:func:`deepftle.mnist.figS2.figS2_claims`) for every (set, architecture), named by both.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..nets.archs import IMAGE
from .datasets import SETS
from .figS2 import figS2_claims, figS2_summary, figS2_tables
from .nets import net_architecture

__all__ = ["ARCHS", "figS3_architecture", "figS3_claims", "figS3_summary", "figS3_tables"]

ARCHS = ("mlp", "cnn")


def figS3_architecture(kind: str, set_key: str, train: dict, cnn: dict) -> dict:
    """The :func:`deepftle.nets.archs.build_net` dict of net ``kind`` (``mlp``: the
    ``mnist.train`` layout, N × L with a softmax head; ``cnn``: the block ``cnn`` of Fig. S2)
    for the images of ``set_key``."""
    image_set = SETS[set_key]
    if kind == "mlp":
        return dict(net_architecture(train), d_in=image_set.d_in)
    if kind == "cnn":
        arch = dict(kind="cnn", **cnn, activation=train["activation"])
        if tuple(image_set.image) != IMAGE:
            arch["image"] = list(image_set.image)
        return arch
    raise ValueError(f"figS3 architectures are {ARCHS}, got {kind!r}")


def _label(set_key: str) -> str:
    return SETS[set_key].name


def figS3_claims(ftles: dict, min_accuracy: dict, decile: float = 0.1, *, settings) -> list:
    """The claims of Fig. 4(b) for every ``(set, kind)`` of ``ftles`` (the arrays of
    :func:`deepftle.mnist.stages.ftle_figS3`), against ``min_accuracy[set][kind]``; each claim
    names its data set."""
    claims = []
    for (set_key, kind), ftle in ftles.items():
        for c in figS2_claims(
            ftle, min_accuracy[set_key][kind], decile, settings=settings, figure="figS3"
        ):
            claims.append(dataclasses.replace(c, claim=f"{_label(set_key)}: {c.claim}"))
    return claims


def figS3_summary(ftles: dict, decile: float = 0.1) -> pd.DataFrame:
    """Long table (data set, architecture, quantity, value), with each net's test accuracy."""
    rows = []
    for (set_key, kind), ftle in ftles.items():
        t = figS2_summary(ftle, decile)
        for i, acc in enumerate(np.asarray(ftle["test_accuracy"], dtype=float)):
            t.loc[len(t)] = (f"test_accuracy_net{i}", float(acc))
        rows.append(t.assign(data_set=set_key, arch=kind))
    return pd.concat(rows, ignore_index=True)[["data_set", "arch", "quantity", "value"]]


def figS3_tables(ftles: dict, maps: dict, n_bins: int = 60) -> dict:
    """What Fig. S3 draws: per ``(set, kind)`` the binned error and H
    (:func:`deepftle.mnist.figS2.figS2_tables`); per set the MLP's bottleneck map of the test
    images (x, y, lam1, label)."""
    panels = {key: figS2_tables(ftle, n_bins) for key, ftle in ftles.items()}
    out_maps = {}
    for set_key, m in maps.items():
        lam = np.asarray(ftles[(set_key, "mlp")]["lam1"], dtype=float)
        coords = np.asarray(m["test_coords"], dtype=float)[: len(lam)]
        out_maps[set_key] = pd.DataFrame(
            dict(
                x=coords[:, 0],
                y=coords[:, 1],
                lam1=lam,
                label=np.asarray(m["test_label"])[: len(lam)],
            )
        )
    return dict(panels=panels, maps=out_maps)
