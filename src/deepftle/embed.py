"""Two-dimensional maps of the inputs: openTSNE (default) or a trained 2-unit bottleneck.

Both give an object with ``.coords`` (the embedded fitting inputs, ``(n, 2)``) and
``.transform(x)`` placing new inputs into the same map; both pickle.

- :class:`TSNEMap`: openTSNE fitted on the inputs (pixels in [0, 1]); ``transform`` uses
  openTSNE's ``TSNEEmbedding.transform`` (new points optimised against the fixed map).
- :class:`BottleneckMap`: the frozen hidden stack of a trained network, followed by a trained
  ``Linear(N, 2) -> tanh -> Linear(2, classes)`` head; the map is the 2 bottleneck units.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn

__all__ = ["TSNEMap", "BottleneckMap", "fit_tsne", "fit_bottleneck"]


class TSNEMap:
    method = "tsne"

    def __init__(self, embedding):
        self.embedding = embedding  # openTSNE.TSNEEmbedding

    @property
    def coords(self) -> np.ndarray:
        return np.asarray(self.embedding, dtype=np.float64)

    def transform(self, x, n_iter: int = 100) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            return np.zeros((0, 2))
        return np.asarray(self.embedding.transform(x, n_iter=n_iter), dtype=np.float64)


def fit_tsne(x, perplexity: float = 30.0, pca: bool = True, n_jobs: int = 1, seed: int = 0,
             n_iter: int = 500, early_exaggeration_iter: int = 250, verbose: bool = True) -> TSNEMap:
    """openTSNE on ``x`` (rows = inputs). ``pca``: PCA initialisation (else random)."""
    from openTSNE import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, initialization="pca" if pca else "random",
                n_jobs=n_jobs, random_state=seed, n_iter=n_iter,
                early_exaggeration_iter=early_exaggeration_iter, verbose=verbose)
    old = sys.stdout
    sys.stdout = sys.stderr  # openTSNE prints its progress; keep it in the job log
    try:
        embedding = tsne.fit(np.asarray(x, dtype=np.float64))
    finally:
        sys.stdout = old
    return TSNEMap(embedding)


class _BottleneckNet(nn.Module):
    def __init__(self, trunk: nn.Sequential, width: int, classes: int):
        super().__init__()
        self.trunk = trunk
        self.down = nn.Linear(width, 2)
        self.up = nn.Linear(2, classes)

    def project(self, x):
        return torch.tanh(self.down(self.trunk(x)))

    def forward(self, x):
        return self.up(self.project(x))


class BottleneckMap:
    method = "bottleneck"

    def __init__(self, net: _BottleneckNet, coords: np.ndarray, preprocess=None):
        self.net = net
        self._coords = coords
        self.preprocess = preprocess

    @property
    def coords(self) -> np.ndarray:
        return self._coords

    @torch.no_grad()
    def transform(self, x, **_) -> np.ndarray:
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        if self.preprocess is not None:
            x = self.preprocess(x)
        self.net.eval()
        return self.net.project(x).double().numpy()


def fit_bottleneck(trunk: nn.Sequential, x, y, width: int, classes: int = 10, epochs: int = 5,
                   lr: float = 1e-2, batch_size: int = 256, seed: int = 0, preprocess=None,
                   progress: bool = True) -> BottleneckMap:
    """Train a 2-unit bottleneck head on the frozen ``trunk``; ``x`` in the map's input units
    (``preprocess`` turns them into network inputs)."""
    from tqdm.auto import tqdm

    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for p in trunk.parameters():
        p.requires_grad_(False)
    net = _BottleneckNet(trunk, width, classes)
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    xin = preprocess(x) if preprocess is not None else x
    y = torch.as_tensor(np.asarray(y), dtype=torch.int64)
    opt = torch.optim.Adam(list(net.down.parameters()) + list(net.up.parameters()), lr=lr)
    for _ in tqdm(range(epochs), desc="bottleneck epochs", file=sys.stderr, disable=not progress):
        perm = torch.randperm(len(x), generator=g)
        for start in range(0, len(x), batch_size):
            idx = perm[start:start + batch_size]
            loss = nn.functional.cross_entropy(net(xin[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        coords = net.project(xin).double().numpy()
    return BottleneckMap(net, coords, preprocess)
