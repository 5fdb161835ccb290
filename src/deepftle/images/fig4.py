"""The numbers behind Figure 4: the tables every Figure 4 plot draws (and writes beside it),
the summary table and the claims of the paper the figure shows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..pipeline.claims import bookkeeping, direction, floor_claim, floor_note, magnitude, spearman
from ..pipeline.published import Published
from ..pipeline.resampling import claim_rng, permutation_p, within_slope
from .statistics import (
    MIN_PAIRS,
    box_table,
    class_box,
    cluster_centres,
    equal_width_bins,
    error_auroc_claim,
    mains_claims,
    rank_trend_claim,
    summary_table,
)

__all__ = [
    "map_tables",
    "path_table",
    "alignment_table",
    "fig4_tables",
    "tsne_tables",
    "fig4_summary",
    "fig4_claims",
    "fig4_magnitudes",
    "path_claims",
]


def _train(ftle: dict) -> np.ndarray:
    return ftle["split"] == "train"


def map_tables(
    ftle: dict, coords: np.ndarray, box_class: int = 0, box_fraction: float = 0.93
) -> dict:
    """The training images in a 2-D map with their λ₁ (``map``), and the smallest box around
    the median of the recognised ``box_class`` images holding ``box_fraction`` of them."""
    train = _train(ftle)
    label, correct = ftle["label"][train], ftle["correct"][train]
    if len(coords) != int(train.sum()):
        raise ValueError(
            f"map has {len(coords)} points but there are {int(train.sum())} training images"
        )
    m = pd.DataFrame(
        dict(
            index=ftle["index"][train],
            x=coords[:, 0],
            y=coords[:, 1],
            label=label,
            correct=correct.astype(int),
            lam1=ftle["lam1"][train],
        )
    )
    box = class_box(coords[(label == box_class) & correct], box_fraction)
    return dict(
        map=m,
        box=pd.DataFrame([dict(cls=box_class, target_fraction=box_fraction, **box)]),
        centres=cluster_centres(coords, label),
    )


def path_table(path: dict) -> pd.DataFrame:
    """One row per attack image: step, map position, λ₁, probabilities of source / target."""
    src, tgt = int(path["source_class"]), int(path["target_class"])
    return pd.DataFrame(
        dict(
            step=path["step"],
            x=path["coords"][:, 0],
            y=path["coords"][:, 1],
            lam1=path["lam1"],
            pred=path["pred"],
            p_source=path["probs"][:, src],
            p_target=path["probs"][:, tgt],
            H=path["H"],
        )
    )


def alignment_table(path: dict) -> pd.DataFrame:
    """Fig. S4's claim: per attack step, |cos(v₁(x), Δx)| and the random-direction mean."""
    n = len(path["cos_v1_step"])
    return pd.DataFrame(
        dict(
            step=path["step"][:n],
            lam1=path["lam1"][:n],
            cos_v1_step=path["cos_v1_step"],
            cos_random=path["cos_random"],
        )
    )


def fig4_tables(
    ftle: dict,
    coords: dict,
    path: dict,
    widths: pd.DataFrame,
    *,
    box_class: int = 0,
    box_fraction: float = 0.93,
    n_bins: int = 60,
) -> dict:
    """Everything the paper-layout Figure 4 draws: map + box (a), test error and H in
    equal-width λ₁ bins (b), the width sweep (c, d), the attack path in the map."""
    test = ftle["split"] == "test"
    t = map_tables(ftle, coords["coords"], box_class, box_fraction)
    t["bins"] = equal_width_bins(
        ftle["lam1"][test], (~ftle["correct"][test]).astype(float), ftle["H"][test], n_bins
    )
    t["path"] = path_table(path)
    t["detour"] = (float(path["detour"]), float(path["max_detour"])) if "detour" in path else None
    t["width"] = widths.sort_values("N", ignore_index=True)
    t["n_neg_inf_test"] = int(np.isneginf(ftle["lam1"][test]).sum())
    t["ensemble_size"] = int(ftle.get("ensemble_size", 1))
    return t


def tsne_tables(
    ftle: dict, emb: dict, path: dict, box_class: int = 0, box_fraction: float = 0.93
) -> dict:
    """The openTSNE map with the same colouring and box, and where ``transform`` put the path."""
    t = map_tables(ftle, emb["coords"], box_class, box_fraction)
    t["path"] = pd.DataFrame(
        dict(step=path["step"], x=path["coords"][:, 0], y=path["coords"][:, 1], lam1=path["lam1"])
    )
    t["embed"] = str(emb["embed"])
    return t


def fig4_summary(history: pd.DataFrame, ftle: dict, coords: dict, box_fraction: float = 0.93):
    """summary.tsv: accuracies, Spearman correlations, decile errors, per-class boxes (in the
    bottleneck map)."""
    train, test = _train(ftle), ftle["split"] == "test"
    boxes = box_table(
        coords["coords"], ftle["label"][train], ftle["correct"][train], fraction=box_fraction
    )
    table = summary_table(
        history, ftle["lam1"][test], (~ftle["correct"][test]).astype(float), ftle["H"][test], boxes
    )
    extra = [
        (
            "spearman_lam1_H_single_net",
            spearman(ftle["lam1"][test], ftle["H_single"][test], min_pairs=MIN_PAIRS),
        ),
        ("ensemble_size", int(ftle.get("ensemble_size", 1))),
        ("bottleneck_test_accuracy", float(coords["test_accuracy"])),
    ]
    return pd.concat([table, pd.DataFrame(extra, columns=["quantity", "value"])], ignore_index=True)


#: half-width of the λ₁ window around a published Fig. 4(b) abscissa (the published bins are
#: about 0.006 wide; the window holds a few of them, enough test images for an error rate)
BIN_HALF_WIDTH = 0.0125
#: the published Fig. 4(b) abscissae our magnitude claims are read at: the cluster centres'
#: λ₁ ≈ 0 and the high-λ₁ side where the published error has risen to ~10 %
FIG4B_AT = (0.0, 0.15)


def _matched_widths(published: Published, widths, rel: float = 0.05) -> list:
    """``(our N, published N)`` pairs within ``rel`` of each other (the published sweep's grid
    differs from ours); the smallest and the largest pair."""
    pub_n = sorted(
        {r["N"] for r in published.rows if r["figure"] == "fig4" and r["quantity"] == "lam1_mean"}
    )
    pairs = [(int(n), int(p)) for n in widths for p in pub_n if abs(n / p - 1) <= rel]
    return sorted(set([pairs[0], pairs[-1]])) if pairs else []


def fig4_magnitudes(ftle: dict, widths: pd.DataFrame, *, published: Published, settings) -> list:
    """Fig. 4 against the published values: test error (%) and H near λ₁ = 0 and 0.15 (test
    images within ``BIN_HALF_WIDTH``; interval from resampling them), and the mean and
    standard deviation of λ₁ at the smallest and largest width both sweeps share (interval
    from resampling the realisations of that width; none for one net)."""
    test = ftle["split"] == "test"
    lam = np.asarray(ftle["lam1"][test], dtype=float)
    err = 100.0 * (~np.asarray(ftle["correct"][test], dtype=bool))
    H = np.asarray(ftle["H"][test], dtype=float)
    rows = []
    for x in FIG4B_AT:
        sel = np.abs(lam - x) < BIN_HALF_WIDTH
        for quantity, values, name in (
            ("error", err[sel], "test error (%)"),
            ("entropy", H[sel], "H"),
        ):
            pub, read = published.get("fig4", quantity, L=16, N=20, x=x)
            text = f"(b) {name} at lambda_1 = {x:g} +- {BIN_HALF_WIDTH:g} against the published"
            ci = (
                settings.interval(
                    f"fig4/{text}", lambda idx, v=values: float(v[idx].mean()), len(values)
                )
                if len(values) > 1
                else None
            )
            rows.append(
                magnitude(
                    "fig4",
                    text,
                    float(values.mean()) if len(values) else float("nan"),
                    ci,
                    published=pub,
                    tolerance=settings.tolerance(pub, read),
                    n=int(sel.sum()),
                )
            )
    for ours, theirs in _matched_widths(published, sorted(set(widths["N"]))):
        for quantity, column, name in (
            ("lam1_mean", "mean_lam1", "mean"),
            ("lam1_std", "std_lam1", "std"),
        ):
            pub, read = published.get("fig4", quantity, L=16, N=theirs)
            v = widths.loc[widths["N"] == ours, column].to_numpy(dtype=float)
            text = (
                f"(c, d) {name} of lambda_1 at N = {ours} (published N = {theirs}; "
                f"{len(v)} net(s)) against the published"
            )
            ci = (
                settings.interval(f"fig4/{text}", lambda idx, v=v: float(v[idx].mean()), len(v))
                if len(v) > 1
                else None
            )
            rows.append(
                magnitude(
                    "fig4",
                    text,
                    float(v.mean()),
                    ci,
                    published=pub,
                    tolerance=settings.tolerance(pub, read),
                    n=len(v),
                )
            )
    return rows


def _path_mean_claim(
    text: str, values, *, against: float, settings, baseline: float = float("nan")
):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    ci = settings.interval(f"fig4/{text}", lambda idx: float(v[idx].mean()), len(v))
    return direction(
        "fig4",
        text,
        float(v.mean()) if v.size else float("nan"),
        ci,
        sign=">",
        against=against,
        n=int(v.size),
        baseline=baseline,
    )


def path_claims(paths: pd.DataFrame, *, settings) -> list:
    """Claims on the attack paths from many starts (``paths``: the table of
    :func:`deepftle.images.stages.attack_paths`, one row per path), intervals from resampling
    the paths: λ₁ peaks where a path crosses a decision boundary, and v₁ follows the attack's
    steps better than random directions in J's row space and than the gradient toward another
    class."""
    ok = paths[paths["reached"].astype(bool)]
    targets = ", ".join(str(t) for t in sorted(set(paths["target"])))
    what = f"{len(ok)} paths {int(paths['source'].iloc[0])} -> {{{targets}}}"
    rows = [
        _path_mean_claim(
            "lambda_1 along attack paths peaks where they cross a decision boundary (max "
            "lambda_1 within 5 % of the path length of the first step off the source class minus "
            f"the larger end value, mean over {what})",
            ok["crossing_peak"],
            against=0.0,
            settings=settings,
        )
    ]
    for column, name in (
        ("cos_rowspace", "random directions in J's row space"),
        ("cos_other", "the gradient toward another class"),
    ):
        rows.append(
            _path_mean_claim(
                f"the stretching direction v1 follows the attack better than {name} (mean over "
                f"{what} of mean |cos(v1, dx)| / mean |cos(baseline, dx)|)",
                ok["cos_v1"] / ok[column],
                against=1.0,
                settings=settings,
                baseline=float(ok[column].mean()),
            )
        )
    return rows


def fig4_claims(
    history: pd.DataFrame,
    ftle: dict,
    coords: dict,
    path: dict,
    widths: pd.DataFrame,
    *,
    paper_accuracy: float,
    settings,
    published: Published | None = None,
    paths: pd.DataFrame | None = None,
    mains: dict | None = None,
) -> list:
    """The claims of the paper that Figure 4 shows, each a number with its interval
    (``settings``: :class:`deepftle.pipeline.claims.ClaimSettings`). Per-input claims resample
    the test images; the width trends resample the realisations of each width (and test the
    mechanism: training moves λ₁ less in wide nets, against each net's initialisation); the
    attack claims rest on the paths from many starts (``paths``: :func:`path_claims`); what the
    drawn attack reaches by construction, whether it detours, and
    the train accuracy are bookkeeping rows; with ``published``, the magnitudes of
    :func:`fig4_magnitudes`; with ``mains`` (every realisation of the main net), the
    per-input claims of panel (b) over all of them
    (:func:`deepftle.images.statistics.mains_claims`), else over net 0 alone."""
    test, train = ftle["split"] == "test", _train(ftle)
    lam_te = ftle["lam1"][test]
    err_te = (~ftle["correct"][test]).astype(float)
    m = int(ftle.get("ensemble_size", 1))
    src, tgt = int(path["source_class"]), int(path["target_class"])
    centres = cluster_centres(coords["coords"], coords["label"])
    end = np.asarray(path["coords"])[-1]
    ratio = float(np.linalg.norm(end - centres[tgt]) / np.linalg.norm(end - centres[src]))
    own = centres[np.asarray(coords["label"])]
    dist = np.linalg.norm(np.asarray(coords["coords"]) - own, axis=1)
    w = widths.sort_values("N", ignore_index=True)
    train_acc = 1 - float(history.iloc[-1]["train_error"])
    n_path = int(len(path["lam1"]))

    def width_trend(w, y, sign, text):
        x = np.log(w["N"].to_numpy(dtype=float))
        y = np.asarray(y, dtype=float)
        cells = w["N"].to_numpy()
        ci = settings.interval(
            "fig4/" + text + "/ci", lambda idx: within_slope(x[idx], y[idx]), len(x), strata=cells
        )
        p = permutation_p(
            lambda perm: within_slope(perm, y),
            x,
            alternative="greater" if sign == ">" else "less",
            n_perm=settings.n_perm,
            rng=claim_rng(settings.seed, "fig4/" + text),
        )
        return direction(
            "fig4",
            text,
            within_slope(x, y),
            ci,
            sign=sign,
            n=len(w),
            p_value=p,
            null="no trend: widths exchangeable (permutation)",
        )

    n_real = int(w.groupby("N").size().min())
    below = (
        w["below_floor"].astype(bool).to_numpy()
        if "below_floor" in w
        else np.zeros(len(w), dtype=bool)
    )
    note = floor_note(below)
    sweep = f"{n_real} net(s) per width, L = 16"
    width_rows = (
        [floor_claim("fig4", below, "every width-sweep net reaches its test-accuracy floor")]
        if "below_floor" in w
        else []
    )
    for subset, tag in (
        (np.ones(len(w), dtype=bool), note),
        (~below, " [nets below the floor left out]") if below.any() else (None, None),
    ):
        if subset is None:
            continue
        ws = w[subset].reset_index(drop=True)
        width_rows += [
            width_trend(
                ws,
                ws["mean_lam1"],
                ">",
                f"(c) mean of lambda_1 rises with N (slope on log N; {sweep}){tag}",
            ),
            width_trend(
                ws,
                ws["std_lam1"],
                "<",
                f"(d) std of lambda_1 falls with N (slope on log N; {sweep}){tag}",
            ),
        ]
        if "mean_lam1_init" in ws:
            width_rows += [
                width_trend(
                    ws,
                    (ws["mean_lam1"] - ws["mean_lam1_init"]).abs(),
                    "<",
                    "(c) training moves the mean of lambda_1 less as N grows (slope of "
                    f"|trained - initial| on log N; {sweep}){tag}",
                ),
                width_trend(
                    ws,
                    (ws["std_lam1"] - ws["std_lam1_init"]).abs(),
                    "<",
                    "(d) training moves the std of lambda_1 less as N grows (slope of "
                    f"|trained - initial| on log N; {sweep}){tag}",
                ),
            ]

    return (
        [
            bookkeeping(
                "fig4",
                f"train accuracy of the N x L = 20 x 16 net reaches the published "
                f"{paper_accuracy:.2%}",
                train_acc,
                ">=",
                paper_accuracy,
                n=1,
            ),
            *(
                mains_claims("fig4", mains, settings=settings)
                if mains is not None
                else [
                    rank_trend_claim(
                        "fig4",
                        "test error rises with lambda_1 (Spearman rho, test set)",
                        lam_te,
                        err_te,
                        settings=settings,
                    ),
                    error_auroc_claim(
                        "fig4",
                        "lambda_1 predicts misclassification (AUROC, test set; "
                        "baseline: softmax confidence)",
                        lam_te,
                        err_te,
                        ftle["probs"][test],
                        settings=settings,
                    ),
                    rank_trend_claim(
                        "fig4",
                        f"predictive uncertainty H ({m}-net ensemble) rises with "
                        "lambda_1 (Spearman rho, test set)",
                        lam_te,
                        ftle["H"][test],
                        settings=settings,
                    ),
                ]
            ),
            *(
                [
                    bookkeeping(
                        "fig4",
                        f"lowest test accuracy of the {len(mains['test_accuracy'])} "
                        "main nets (reported; the paper states none)",
                        float(np.min(mains["test_accuracy"])),
                        ">",
                        0.0,
                        n=len(mains["test_accuracy"]),
                    )
                ]
                if mains is not None
                else []
            ),
            rank_trend_claim(
                "fig4",
                "lambda_1 is small at the cluster centres, larger between "
                "clusters (Spearman rho of lambda_1 and distance to the own class "
                "centre, bottleneck map, training images)",
                ftle["lam1"][train],
                dist,
                settings=settings,
            ),
            bookkeeping(
                "fig4",
                f"the attack {src} -> {tgt} reaches p({tgt}) >= "
                f"{float(path['stop_prob']):g} (its stopping rule)",
                float(np.asarray(path["probs"])[-1, tgt]),
                ">=",
                float(path["stop_prob"]),
                n=1,
            ),
            bookkeeping(
                "fig4",
                f"the path ends nearer the {tgt} than the {src} cluster centre "
                "(distance ratio, bottleneck map)",
                ratio,
                "<",
                1.0,
                n=1,
            ),
            bookkeeping(
                "fig4",
                f"the drawn path spends at most {float(path['max_detour']):.0%} of "
                f"its steps in a third class (the paper's path goes {src} -> {tgt})",
                float(path["detour"]),
                "<=",
                float(path["max_detour"]),
                n=n_path,
            ),
        ]
        + (path_claims(paths, settings=settings) if paths is not None else [])
        + width_rows
        + (
            fig4_magnitudes(ftle, widths, published=published, settings=settings)
            if published is not None
            else []
        )
    )
