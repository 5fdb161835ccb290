"""The numbers behind Figure 4: the tables every Figure 4 plot draws (and writes beside it),
the summary table and the claims of the paper the figure shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.claims import claim, spearman
from .statistics import (MIN_PAIRS, box_table, class_box, cluster_centres, equal_width_bins,
                         summary_table)

__all__ = ["map_tables", "path_table", "alignment_table", "fig4_tables", "tsne_tables",
           "fig4_summary", "fig4_claims"]


def _train(ftle: dict) -> np.ndarray:
    return ftle["split"] == "train"


def map_tables(ftle: dict, coords: np.ndarray, box_class: int = 0,
               box_fraction: float = 0.93) -> dict:
    """The training images in a 2-D map with their λ₁ (``map``), and the smallest box around
    the median of the recognised ``box_class`` images holding ``box_fraction`` of them."""
    train = _train(ftle)
    label, correct = ftle["label"][train], ftle["correct"][train]
    if len(coords) != int(train.sum()):
        raise ValueError(f"map has {len(coords)} points but there are {int(train.sum())} "
                         f"training images")
    m = pd.DataFrame(dict(index=ftle["index"][train], x=coords[:, 0], y=coords[:, 1],
                          label=label, correct=correct.astype(int), lam1=ftle["lam1"][train]))
    box = class_box(coords[(label == box_class) & correct], box_fraction)
    return dict(map=m, box=pd.DataFrame([dict(cls=box_class, target_fraction=box_fraction,
                                              **box)]),
                centres=cluster_centres(coords, label))


def path_table(path: dict) -> pd.DataFrame:
    """One row per attack image: step, map position, λ₁, probabilities of source / target."""
    src, tgt = int(path["source_class"]), int(path["target_class"])
    return pd.DataFrame(dict(step=path["step"], x=path["coords"][:, 0], y=path["coords"][:, 1],
                             lam1=path["lam1"], pred=path["pred"], p_source=path["probs"][:, src],
                             p_target=path["probs"][:, tgt], H=path["H"]))


def alignment_table(path: dict) -> pd.DataFrame:
    """Fig. S4's claim: per attack step, |cos(v₁(x), Δx)| and the random-direction mean."""
    n = len(path["cos_v1_step"])
    return pd.DataFrame(dict(step=path["step"][:n], lam1=path["lam1"][:n],
                             cos_v1_step=path["cos_v1_step"], cos_random=path["cos_random"]))


def fig4_tables(ftle: dict, coords: dict, path: dict, widths: pd.DataFrame, *, box_class: int = 0,
                box_fraction: float = 0.93, n_bins: int = 60) -> dict:
    """Everything the paper-layout Figure 4 draws: map + box (a), test error and H in
    equal-width λ₁ bins (b), the width sweep (c, d), the attack path in the map."""
    test = ftle["split"] == "test"
    t = map_tables(ftle, coords["coords"], box_class, box_fraction)
    t["bins"] = equal_width_bins(ftle["lam1"][test], (~ftle["correct"][test]).astype(float),
                                 ftle["H"][test], n_bins)
    t["path"] = path_table(path)
    t["width"] = widths.sort_values("N", ignore_index=True)
    t["n_neg_inf_test"] = int(np.isneginf(ftle["lam1"][test]).sum())
    t["ensemble_size"] = int(ftle.get("ensemble_size", 1))
    return t


def tsne_tables(ftle: dict, emb: dict, path: dict, box_class: int = 0,
                box_fraction: float = 0.93) -> dict:
    """The openTSNE map with the same colouring and box, and where ``transform`` put the path."""
    t = map_tables(ftle, emb["coords"], box_class, box_fraction)
    t["path"] = pd.DataFrame(dict(step=path["step"], x=path["coords"][:, 0],
                                  y=path["coords"][:, 1], lam1=path["lam1"]))
    t["embed"] = str(emb["embed"])
    return t


def fig4_summary(history: pd.DataFrame, ftle: dict, coords: dict, box_fraction: float = 0.93):
    """summary.tsv: accuracies, Spearman correlations, decile errors, per-class boxes (in the
    bottleneck map)."""
    train, test = _train(ftle), ftle["split"] == "test"
    boxes = box_table(coords["coords"], ftle["label"][train], ftle["correct"][train],
                      fraction=box_fraction)
    table = summary_table(history, ftle["lam1"][test], (~ftle["correct"][test]).astype(float),
                          ftle["H"][test], boxes)
    extra = [("spearman_lam1_H_single_net", spearman(ftle["lam1"][test], ftle["H_single"][test],
                                                     min_pairs=MIN_PAIRS)),
             ("ensemble_size", int(ftle.get("ensemble_size", 1))),
             ("bottleneck_test_accuracy", float(coords["test_accuracy"]))]
    return pd.concat([table, pd.DataFrame(extra, columns=["quantity", "value"])],
                     ignore_index=True)


def fig4_claims(history: pd.DataFrame, ftle: dict, coords: dict, path: dict,
                widths: pd.DataFrame, *, paper_accuracy: float) -> list:
    """The claims of the paper that Figure 4 shows, each computed as a number."""
    test, train = ftle["split"] == "test", _train(ftle)
    lam_te = ftle["lam1"][test]
    err_te = (~ftle["correct"][test]).astype(float)
    m = int(ftle.get("ensemble_size", 1))
    src, tgt = int(path["source_class"]), int(path["target_class"])
    lam_p = np.asarray(path["lam1"], dtype=float)
    interior = lam_p[1:-1]
    peak = (float(interior.max() - max(lam_p[0], lam_p[-1])) if interior.size
            and np.isfinite(interior).any() else float("nan"))
    centres = cluster_centres(coords["coords"], coords["label"])
    end = np.asarray(path["coords"])[-1]
    ratio = float(np.linalg.norm(end - centres[tgt]) / np.linalg.norm(end - centres[src]))
    own = centres[np.asarray(coords["label"])]
    dist = np.linalg.norm(np.asarray(coords["coords"]) - own, axis=1)
    cos = np.asarray(path["cos_v1_step"], dtype=float)
    cos_ratio = float(np.nanmean(cos) / np.mean(path["cos_random"]))
    w = widths.sort_values("N")
    train_acc = 1 - float(history.iloc[-1]["train_error"])
    return [
        claim("fig4", f"train accuracy of the N x L = 20 x 16 net reaches the published "
              f"{paper_accuracy:.2%}", train_acc, ">=", paper_accuracy),
        claim("fig4", "test error rises with lambda_1 (Spearman rho, test set)",
              spearman(lam_te, err_te, min_pairs=MIN_PAIRS), ">", 0.0),
        claim("fig4", f"predictive uncertainty H ({m}-net ensemble) rises with lambda_1 "
              "(Spearman rho, test set)", spearman(lam_te, ftle["H"][test], min_pairs=MIN_PAIRS),
              ">", 0.0),
        claim("fig4", "lambda_1 is small at the cluster centres, larger between clusters "
              "(Spearman rho of lambda_1 and distance to the own class centre, bottleneck map)",
              spearman(ftle["lam1"][train], dist, min_pairs=MIN_PAIRS), ">", 0.0),
        claim("fig4", f"the attack {src} -> {tgt} reaches p({tgt}) >= {float(path['stop_prob']):g}",
              float(np.asarray(path["probs"])[-1, tgt]), ">=", float(path["stop_prob"])),
        claim("fig4", "lambda_1 along the attack path peaks inside the path (interior max "
              "minus the larger end value)", peak, ">", 0.0),
        claim("fig4", f"the path ends nearer the {tgt} than the {src} cluster centre (distance "
              f"ratio, bottleneck map)", ratio, "<", 1.0),
        claim("fig4", "the stretching direction v1 follows the attack: mean |cos(v1, dx)| over "
              "the mean for random directions", cos_ratio, ">", 1.0),
        claim("fig4", "mean of lambda_1 rises with N (Spearman rho over widths, L = 16)",
              spearman(w["N"], w["mean_lam1"], min_pairs=MIN_PAIRS), ">", 0.0),
        claim("fig4", "std of lambda_1 falls with N (Spearman rho over widths, L = 16)",
              spearman(w["N"], w["std_lam1"], min_pairs=MIN_PAIRS), "<", 0.0),
    ]
