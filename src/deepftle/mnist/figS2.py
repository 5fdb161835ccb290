"""Fig. S2: the MNIST analysis of Fig. 4(b) (test error and predictive uncertainty H against
λ₁) for another architecture. The net's settings from the config, the table the figure draws
and the claims it shows; the arrays come from :func:`deepftle.mnist.stages.figS2_arrays`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.claims import below_floor, bookkeeping, floor_claim, floor_note, spearman
from .statistics import (
    MIN_PAIRS,
    decile_gap_claim,
    decile_means,
    equal_width_bins,
    error_auroc_claim,
    rank_trend_claim,
)

__all__ = ["figS2_architecture", "figS2_tables", "figS2_claims", "figS2_summary"]

#: the architecture as the claims name it (the figure's title gives the full layout)
SHORT_NAMES = {"cnn": "CNN", "resmlp": "residual MLP", "mlp": "MLP"}


def figS2_architecture(figS2: dict, train: dict) -> dict:
    """The :func:`deepftle.nets.archs.build_net` dict of the configured architecture:
    ``figS2`` holds ``arch`` (cnn or resmlp) and that architecture's block
    (``mnist.figS2.<arch>``); the activation is the main net's (``mnist.train.activation``)."""
    kind = figS2.get("arch")
    if kind not in ("cnn", "resmlp"):
        raise ValueError(f"mnist.figS2.arch must be cnn or resmlp, got {kind!r}")
    if not isinstance(figS2.get(kind), dict):
        raise ValueError(f"mnist.figS2.{kind}: the settings of the {kind} architecture are missing")
    return dict(kind=kind, **figS2[kind], activation=train["activation"])


def figS2_tables(ftle: dict, n_bins: int = 60) -> dict:
    """Test error and H in equal-width λ₁ bins (``bins``, as Fig. 4(b)), the number of test
    images with λ₁ = -inf (not binned), and what the figure states about the nets."""
    error = (~np.asarray(ftle["correct"], dtype=bool)).astype(float)
    return dict(
        bins=equal_width_bins(ftle["lam1"], error, ftle["H"], n_bins),
        n_neg_inf=int(np.isneginf(ftle["lam1"]).sum()),
        ensemble_size=int(ftle["ensemble_size"]),
        arch=str(ftle["arch"]),
        depth=int(ftle["depth"]),
        n_test=int(len(ftle["lam1"])),
        n_bins=int(n_bins),
        test_accuracy=np.asarray(ftle["test_accuracy"], dtype=float),
        epochs=int(ftle["epochs"]),
    )


def figS2_claims(
    ftle: dict, min_accuracy: float, decile: float = 0.1, *, settings, figure: str = "figS2"
) -> list:
    """The claims of Fig. 4(b), for the other architecture, each with its interval over the
    test images (``settings``: :class:`deepftle.pipeline.claims.ClaimSettings`): error and H
    rise with λ₁ (Spearman ρ), λ₁ ranks errors above correct predictions (AUROC, beside the
    softmax confidence's), the top λ₁ decile has a higher error rate and a higher H than the
    bottom decile. Every net of the ensemble reaching the accuracy floor, and net 0's train
    accuracy, are bookkeeping rows; when nets are below the floor, every claim says so."""
    arch = f"{SHORT_NAMES.get(str(ftle['kind']), str(ftle['kind']))} (L = {int(ftle['depth'])})"
    m = int(ftle["ensemble_size"])
    below = below_floor(ftle["test_accuracy"], min_accuracy)
    if below.size != m:
        raise ValueError(f"{figure}: {below.size} test accuracies for an ensemble of {m} nets")
    lam = np.asarray(ftle["lam1"], dtype=float)
    err = (~np.asarray(ftle["correct"], dtype=bool)).astype(float)
    H = np.asarray(ftle["H"], dtype=float)
    note = floor_note(below)
    pct = f"{decile:.0%}"
    return [
        floor_claim(
            figure,
            below,
            f"every net of the {arch} ensemble reaches {min_accuracy:.0%} test accuracy",
        ),
        bookkeeping(
            figure,
            f"train accuracy of the {arch} net (net 0)",
            float(np.asarray(ftle["train_accuracy"])[0]),
            ">=",
            float(min_accuracy),
            n=1,
        ),
        rank_trend_claim(
            figure,
            f"test error rises with lambda_1, {arch} (Spearman rho, test set){note}",
            lam,
            err,
            settings=settings,
        ),
        error_auroc_claim(
            figure,
            f"lambda_1 predicts misclassification, {arch} (AUROC; "
            f"baseline: softmax confidence){note}",
            lam,
            err,
            ftle["probs"],
            settings=settings,
        ),
        rank_trend_claim(
            figure,
            f"predictive uncertainty H ({m}-net ensemble) rises with "
            f"lambda_1, {arch} (Spearman rho, test set){note}",
            lam,
            H,
            settings=settings,
        ),
        decile_gap_claim(
            figure,
            f"test error in the top {pct} of lambda_1 minus the bottom {pct}, {arch}{note}",
            lam,
            err,
            decile,
            settings=settings,
        ),
        decile_gap_claim(
            figure,
            f"H in the top {pct} of lambda_1 minus the bottom {pct}, {arch}{note}",
            lam,
            H,
            decile,
            settings=settings,
        ),
    ]


def figS2_summary(ftle: dict, decile: float = 0.1) -> pd.DataFrame:
    """Long table (quantity, value) of the numbers the README and the report quote."""
    lam = np.asarray(ftle["lam1"], dtype=float)
    err = (~np.asarray(ftle["correct"], dtype=bool)).astype(float)
    e = decile_means(lam, err, decile)
    rows = [
        ("n_test", len(lam)),
        ("lam1_mean", float(np.mean(lam[np.isfinite(lam)]))),
        ("error_all", float(err.mean())),
        ("error_bottom_decile", e["bottom"]),
        ("error_top_decile", e["top"]),
        ("spearman_lam1_H_single_net", spearman(lam, ftle["H_single"], min_pairs=MIN_PAIRS)),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"])
