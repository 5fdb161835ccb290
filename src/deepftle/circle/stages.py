"""One function per stage of the circle problem (Figures 1-3 and S1), named like its rule.

The rule's script reads the input files, calls the function and writes what it returns. Arrays
and tables come in loaded (their file format belongs to :mod:`deepftle.pipeline.files`),
networks as checkpoint paths; tensors are created on the job's ``device``. A net's identity is
the dict ``{N, L, s, seed}`` (``mode`` too for Fig. 3(a)) that the workflow passes as params,
in the order of the input files.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import torch

from ..nets.checkpoints import load_model
from ..pipeline.claims import ClaimSettings
from ..pipeline.published import Published
from . import claims as circle_claims
from . import ridges
from .crossover import crossover_means, fit_crossover
from .data import R0
from .data import circle_data as _circle_data
from .fields import field_on_grid, snapshot_lam1, summarise_lam1
from .nets import circle_net, train_circle_nets

__all__ = [
    "circle_data",
    "train_circle",
    "ftle_field",
    "ftle_snapshots",
    "ridge_metrics",
    "crossover",
    "fig3a_errors",
    "claims_fig3",
    "lam1_training",
    "fig2_panels",
    "fig3_note",
    "TRAINING_ARRAYS",
]

TRAINING_ARRAYS = ("x_train", "t_train", "x_test", "t_test")


def _expected(N, L) -> dict:
    """What a checkpoint named for width ``N`` and depth ``L`` must hold."""
    return dict(d_in=2, width=int(N), depth=int(L))


def _last(history: pd.DataFrame):
    """The final row of a training history (the net's reported errors)."""
    return history.iloc[-1]


def circle_data(data: dict) -> dict:
    """circle_data: the training and test sets (``data``: ``n_train``, ``n_test``, ``seed``),
    as numpy arrays with the radius ``r0`` of the circle."""
    d = _circle_data(data["n_train"], data["n_test"], data["seed"])
    print(
        f"circle data: {data['n_train']} train, {data['n_test']} test, r0 = {R0:.6f}; "
        f"fraction inside (train) = {float((d['t_train'] < 0).double().mean()):.4f}",
        flush=True,
    )
    return dict(r0=R0, **{k: v.numpy() for k, v in d.items()})


def train_circle(
    settings: dict, members, data: dict, device, *, N: int, L: int, mode: str = "full"
) -> list[dict]:
    """train_circle and train_circle_group_*: the nets of one layout (width ``N``, depth ``L``,
    ``mode``), one per ``(s, seed)`` of ``members``, trained as one population job
    (:func:`deepftle.circle.nets.train_circle_nets`; settings from
    :func:`deepftle.circle.nets.circle_net`). ``data``: the arrays of :func:`circle_data`.

    Returns, per member: ``model`` (on the CPU), ``history``, ``snapshots``, ``sigma_w`` and
    ``params`` (the settings with the net's own, for its provenance)."""
    nets = [
        circle_net(settings, int(N), int(L), float(s), int(seed), mode=mode) for s, seed in members
    ]
    tensors = {k: torch.as_tensor(data[k]) for k in TRAINING_ARRAYS}
    print(f"train_circle: {len(nets)} net(s), N = {N}, L = {L}, {mode}: {nets[0]}", flush=True)
    out = []
    for net, (model, history, snapshots, sigma_w) in zip(
        nets, train_circle_nets(nets, tensors, device), strict=True
    ):
        last = _last(history)
        print(
            f"seed {net.seed}, s = {net.s:g}: sigma_w = {sigma_w:.6f}; final train error "
            f"{last.train_error:.4f}, test error {last.test_error:.4f}",
            flush=True,
        )
        out.append(
            dict(
                model=model.cpu(),
                history=history,
                snapshots=snapshots,
                sigma_w=sigma_w,
                params=dict(settings, net=dataclasses.asdict(net)),
            )
        )
    return out


def ftle_field(net_path, device, *, N: int, L: int, grid: int, lim: float) -> dict:
    """ftle_field: λ₁, λ₂, v₁ and the output on a ``grid`` × ``grid`` lattice over
    [-lim, lim]² (:func:`deepftle.circle.fields.field_on_grid`), with the net's width and
    depth. The checkpoint must be the net its file name says (``N``, ``L``)."""
    model = load_model(net_path, expected=_expected(N, L))
    t0 = time.perf_counter()
    f = field_on_grid(model, grid, lim, device)
    print(
        f"{grid}^2 grid in {time.perf_counter() - t0:.2f} s; lam1 in "
        f"[{np.nanmin(f['lam1']):.4g}, {np.nanmax(f['lam1']):.4g}], "
        f"{int(np.isneginf(f['lam1']).sum())} points with lam1 = -inf",
        flush=True,
    )
    return dict(width=model.arch["width"], depth=model.arch["depth"], **f)


def ftle_snapshots(net_path, x_test: np.ndarray, device, *, N: int, L: int) -> tuple[dict, dict]:
    """ftle_snapshots: λ₁ at every test input for every weight snapshot the checkpoint holds
    (an error if it holds none). Returns ``(arrays, params)``: ``epochs``, ``lam1``
    (epochs × inputs), ``width``, ``depth``; and the net's training params for provenance."""
    payload = torch.load(net_path, map_location="cpu", weights_only=True)
    snapshots = payload["extra"].get("snapshots") or {}
    if not snapshots:
        raise ValueError(f"{net_path} holds no weight snapshots")
    model = load_model(net_path, expected=_expected(N, L))
    epochs, lam1 = snapshot_lam1(model, snapshots, torch.as_tensor(x_test), device)
    print(
        f"{len(epochs)} snapshots; median lam1 at epoch {epochs[0]}: "
        f"{float(torch.as_tensor(lam1[0]).median()):.4f}",
        flush=True,
    )
    params = dict(net=str(net_path), train=payload["provenance"].get("params"))
    return dict(
        epochs=epochs, lam1=lam1, width=model.arch["width"], depth=model.arch["depth"]
    ), params


def _net_record(net: dict, history: pd.DataFrame) -> dict:
    """The final errors, epochs and draw of one net's training."""
    h = _last(history)
    return dict(
        train_error=h.train_error,
        test_error=h.test_error,
        epochs=int(h.epoch),
        draw=int(h.get("draw", 0)),
    )


def ridge_metrics(
    nets,
    fields,
    histories,
    *,
    delta: float,
    top: float,
    min_accuracy: float,
    settings: ClaimSettings,
    published: Published,
) -> tuple[pd.DataFrame, list]:
    """ridge_metrics: contrast, alignment and orthogonality of the λ₁ ridges of every Fig. 2
    net (:func:`deepftle.circle.ridges.ridge_metrics` on its field, ``L λ₁``), its final
    errors and whether it is below ``min_accuracy``; and the claims of Fig. 2."""
    rows = []
    for net, f, history in zip(nets, fields, histories, strict=True):
        m = ridges.ridge_metrics(
            f["x1"],
            f["x2"],
            int(f["depth"]) * f["lam1"],
            f["output"],
            delta=delta,
            top=top,
            v1=f["v1"],
            L_lam2=int(f["depth"]) * f["lam2"],
        )
        h = _net_record(net, history)
        rows.append(
            dict(
                N=net["N"],
                L=net["L"],
                s=net["s"],
                seed=net["seed"],
                contrast=m["contrast"],
                alignment=m["alignment"],
                band_fraction=m["band_fraction"],
                orthogonality=m["orthogonality"],
                orthogonality_random=m["orthogonality_random"],
                L_lam1_centre=m["L_lam1_centre"],
                L_lam1_ridge=m["L_lam1_ridge"],
                circle_distance=m["circle_distance"],
                mean_L_lam1=m["mean_L_lam1"],
                std_L_lam1=m["std_L_lam1"],
                n_masked=m["n_masked"],
                boundary_length=m["boundary_length"],
                train_error=h["train_error"],
                test_error=h["test_error"],
                epochs=h["epochs"],
                draw=h["draw"],
            )
        )
        print(rows[-1], flush=True)
    table = circle_claims.mark_accuracy(pd.DataFrame(rows), min_accuracy)
    return table, circle_claims.fig2_claims(
        table, min_accuracy, settings=settings, published=published
    )


def crossover(
    nets,
    net_paths,
    histories,
    device,
    *,
    grid: int,
    lim: float,
    delta: float,
    centre_radius: float,
    min_accuracy: float,
) -> tuple[pd.DataFrame, dict]:
    """crossover: L⟨λ₁⟩ on the decision boundary (``lam_d``) and in the centre (``lam_c``) of
    every Fig. 3(b) net (:func:`deepftle.circle.crossover.crossover_means`), with its final
    errors and floor mark; and the fit of C_c, C_d
    (:func:`deepftle.circle.crossover.fit_crossover`)."""
    from tqdm.auto import tqdm

    rows = []
    for net, path, history in tqdm(
        list(zip(nets, net_paths, histories, strict=True)), mininterval=5
    ):
        model = load_model(path, expected=_expected(net["N"], net["L"]))
        lam_d, lam_c = crossover_means(
            model, grid=grid, lim=lim, delta=delta, centre_radius=centre_radius, device=device
        )
        h = _net_record(net, history)
        rows.append(
            dict(
                N=net["N"],
                L=net["L"],
                seed=net["seed"],
                lam_d=lam_d,
                lam_c=lam_c,
                train_error=h["train_error"],
                test_error=h["test_error"],
                epochs=h["epochs"],
                draw=h["draw"],
            )
        )
        print(rows[-1], flush=True)
    table = circle_claims.mark_accuracy(pd.DataFrame(rows), min_accuracy)
    fit = fit_crossover(table)
    print(f"fit: {fit}", flush=True)
    return table, fit


def fig3a_errors(nets_a, histories) -> pd.DataFrame:
    """The Fig. 3(a) table: final train and test error of every random-feature (``readout``)
    and fully trained (``full``) net."""
    rows = []
    for net, history in zip(nets_a, histories, strict=True):
        h = _last(history)
        rows.append(
            dict(
                N=net["N"],
                L=net["L"],
                mode=net["mode"],
                seed=net["seed"],
                epochs=int(h.epoch),
                train_error=h.train_error,
                test_error=h.test_error,
            )
        )
    return pd.DataFrame(rows)


def claims_fig3(
    nets_a,
    histories,
    crossover_table: pd.DataFrame,
    *,
    min_accuracy: float,
    settings: ClaimSettings,
    published: Published,
) -> list:
    """claims_fig3: the claims of Fig. 3 from the panel-(a) nets' histories and the
    crossover table of panel (b) (its fit is refitted on every resample)."""
    claims = circle_claims.fig3_claims(
        fig3a_errors(nets_a, histories),
        crossover_table,
        min_accuracy,
        settings=settings,
        published=published,
    )
    for c in claims:
        print(c, flush=True)
    return claims


def lam1_training(nets, snapshots, *, settings: ClaimSettings) -> tuple[pd.DataFrame, list]:
    """lam1_training: quantiles of λ₁ over the test inputs at every saved epoch of the Fig. S1
    nets (``snapshots``: the arrays of :func:`ftle_snapshots`, one per net), and the claim of
    Fig. S1."""
    lam = pd.concat(
        [
            summarise_lam1(float(net["s"]), d["epochs"], d["lam1"])
            for net, d in zip(nets, snapshots, strict=True)
        ],
        ignore_index=True,
    )
    return lam, circle_claims.figS1_claims([net["s"] for net in nets], snapshots, settings=settings)


def fig2_panels(nets, fields, ridge_table: pd.DataFrame) -> tuple[list[dict], dict]:
    """What Fig. 2 draws: one field per (N, L), of the first seed; and ``{(N, L): test
    accuracy}`` of those nets that are below their accuracy floor (marked, not hidden)."""
    first_seed = min(n["seed"] for n in nets)
    panels = [
        dict(N=int(net["N"]), L=int(net["L"]), **f)
        for net, f in zip(nets, fields, strict=True)
        if net["seed"] == first_seed
    ]
    bad = ridge_table[(ridge_table.seed == first_seed) & ridge_table.below_floor]
    return panels, {(int(r.N), int(r.L)): float(r.accuracy) for r in bad.itertuples()}


def fig3_note(
    errors: pd.DataFrame,
    crossover_table: pd.DataFrame,
    fit: dict,
    *,
    epochs_b: int,
    schedule: str,
    min_accuracy: float,
) -> str:
    """The line under Fig. 3: realisations per point, the training protocol of panel (b) where
    it departs from the paper's 200 epochs, the redrawn realisations and the fitted C_c, C_d."""
    n_real = int(crossover_table.groupby(["N", "L"]).size().min())
    n_seeds_a = int(errors.groupby(["N", "mode"]).size().min())
    redrawn = int((crossover_table["draw"] > 0).sum()) if "draw" in crossover_table else 0
    return (
        f"(a): {n_seeds_a} seed(s) per N; (b): {n_real} realisations per (N, L), "
        f"{epochs_b} epochs of {'cosine-decayed ' if schedule == 'cosine' else ''}SGD"
        + (" (paper: 200)" if epochs_b < 200 else "")
        + (
            f", {redrawn} redrawn below {min_accuracy:.0%} on their training data"
            if redrawn
            else ""
        )
        + f"; $C_c = {fit['C_c']:.2f}$, $C_d = {fit['C_d']:.2f}$"
    )
