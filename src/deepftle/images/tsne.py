"""The openTSNE map of the inputs (the bottleneck map of Fig. 4a is
:mod:`deepftle.images.bottleneck`).

:class:`TSNEMap` has ``.coords`` (the embedded fitting inputs, ``(n, 2)``), ``.embed`` (what
was embedded: ``pixels`` or ``hidden``) and ``.transform(x)``, openTSNE's
``TSNEEmbedding.transform``: every new point is optimised on its own against the fixed map, so
nearby inputs need not land nearby (the map is not a continuous function of the input).
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["TSNEMap", "fit_tsne"]


class TSNEMap:
    method = "tsne"

    def __init__(self, embedding, embed: str = "pixels"):
        self.embedding = embedding  # openTSNE.TSNEEmbedding
        self.embed = embed

    @property
    def coords(self) -> np.ndarray:
        return np.asarray(self.embedding, dtype=np.float64)

    def transform(self, x, n_iter: int = 100) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            return np.zeros((0, 2))
        return np.asarray(self.embedding.transform(x, n_iter=n_iter), dtype=np.float64)


def fit_tsne(
    x,
    *,
    perplexity: float = 30.0,
    pca: bool = True,
    n_jobs: int = 1,
    seed: int = 0,
    n_iter: int = 500,
    early_exaggeration_iter: int = 250,
    verbose: bool = True,
) -> TSNEMap:
    """openTSNE on ``x`` (rows = inputs). ``pca``: PCA initialisation (else random)."""
    from openTSNE import TSNE

    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        initialization="pca" if pca else "random",
        n_jobs=n_jobs,
        random_state=seed,
        n_iter=n_iter,
        early_exaggeration_iter=early_exaggeration_iter,
        verbose=verbose,
    )
    old = sys.stdout
    sys.stdout = sys.stderr  # openTSNE prints its progress; keep it in the job log
    try:
        embedding = tsne.fit(np.asarray(x, dtype=np.float64))
    finally:
        sys.stdout = old
    return TSNEMap(embedding)
