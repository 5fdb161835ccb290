"""One function per pipeline stage of Figure 4 (MNIST), named like its rule: the
rule's script reads the input files, calls it and writes what it returns. Every tensor is
created on the job's ``device``; data come in as :class:`deepftle.images.datasets.DataSet`, nets as
checkpoint paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..ftle import ftle
from ..pipeline.claims import below_floor
from .attack import (
    AttackSettings,
    attack_path,
    candidate_starts,
    first_successful_path,
    nearest_guides,
)
from .bottleneck import fit_bottleneck_map, load_bottleneck, local_fields
from .data import pixels, standardise
from .datasets import DataSet
from .fig4 import fig4_claims, fig4_summary
from .nets import NetSpec, initial_net, load_net, predict_all, softmax_probs, train_nets
from .settings import AttackConfig, BottleneckSettings, TsneSettings
from .statistics import cluster_centres, ensemble_entropy, entropy, nearest_cluster
from .tsne import fit_tsne

__all__ = [
    "train_mnist",
    "train_mnist_ensemble",
    "ftle_mnist",
    "width_sweep",
    "bottleneck_mnist",
    "embed_mnist",
    "adversarial_path",
    "attack_paths",
    "ftle_mnist_mains",
    "adversarial_tsne",
    "mnist_summary",
    "width_point",
    "path_alignment",
]


def train_mnist(data: DataSet, *, spec: NetSpec, device) -> dict:
    """train_mnist, train_mnist_main and train_mnist_width: one MLP of Fig. 4 (a population of
    one: the hand-written backward pass, the arithmetic of the ensemble jobs).

    Returns ``model`` (on the CPU), ``history`` and ``params`` (what its provenance records)."""
    model, history = train_nets(data, [spec], device)[0]
    return dict(model=model, history=history, params=spec.to_config())


def train_mnist_ensemble(data: DataSet, *, specs: list[NetSpec], device) -> list:
    """train_mnist_ensemble: ensemble members of one layout as one population job
    (:func:`deepftle.images.nets.train_nets`); per member what :func:`train_mnist` returns."""
    return [
        dict(model=model, history=history, params=spec.to_config())
        for spec, (model, history) in zip(specs, train_nets(data, specs, device), strict=True)
    ]


def _report_claims(claims) -> None:
    for c in claims:
        print(
            f"{c.status}: {c.claim}: {c.estimate:.4g} [{c.ci_low:.4g}, {c.ci_high:.4g}] "
            f"({c.margin})",
            flush=True,
        )


def mnist_summary(
    history,
    ftle: dict,
    coords: dict,
    path: dict,
    widths,
    paths,
    mains: dict,
    *,
    box_fraction: float,
    paper_accuracy: float,
    settings,
    published,
) -> tuple:
    """mnist_summary: the summary table of Figure 4 (:func:`deepftle.images.fig4.fig4_summary`,
    with what the attack paths from many starts do: the fraction that reach the target, whose
    λ₁ maximum is interior, that pass through a third class, that go straight from the source
    to the target; all numbers, the classes of each path are in its table) and
    its claims (:func:`deepftle.images.fig4.fig4_claims`)."""
    table = fig4_summary(history, ftle, coords, box_fraction)
    reached = paths["reached"].astype(bool)
    extra = [
        ("attack_paths", len(paths)),
        ("attack_paths_reached", float(reached.mean())),
        ("attack_paths_interior_max", float(paths.loc[reached, "interior_max"].mean())),
        ("attack_paths_through_third_class", float((paths.loc[reached, "detour"] > 0).mean())),
        ("attack_paths_mean_detour", float(paths.loc[reached, "detour"].mean())),
        ("attack_paths_median_class_changes", float(paths.loc[reached, "class_changes"].median())),
        (
            "attack_paths_directly_to_target",
            float(
                (
                    paths.loc[reached, "classes"]
                    == paths.loc[reached, "source"].astype(str)
                    + ">"
                    + paths.loc[reached, "target"].astype(str)
                ).mean()
            ),
        ),
        ("drawn_path_detour", float(path["detour"])),
    ]
    extra += [
        (f"main_net{k}_test_accuracy", float(a))
        for k, a in enumerate(np.asarray(mains["test_accuracy"], dtype=float))
    ]
    table = pd.concat(
        [table, pd.DataFrame(extra, columns=["quantity", "value"])], ignore_index=True
    )
    claims = fig4_claims(
        history,
        ftle,
        coords,
        path,
        widths,
        paper_accuracy=paper_accuracy,
        settings=settings,
        published=published,
        paths=paths,
        mains=mains,
    )
    _report_claims(claims)
    return table, claims


def _lam1(model, x, batch_size=None):
    """λ₁ of ``model.trunk`` (input -> last hidden layer) at every row of ``x``, with the net's
    own depth ``L`` (``model.ftle_depth`` where it declares one, else the engine's count)."""
    return (
        ftle(model.trunk, x, k=1, batch_size=batch_size, depth=getattr(model, "ftle_depth", None))[
            :, 0
        ]
        .double()
        .cpu()
        .numpy()
    )


def ftle_mnist(
    data: DataSet, net_path, member_paths, *, arch: dict, device, batch_size=None
) -> dict:
    """λ₁ (input -> last hidden layer), prediction and probabilities of the main net for every
    train and test image; H from the averaged softmax of the main net and the members
    (``H``) and of the main net alone (``H_single``)."""
    model = load_net(net_path, arch, device)
    x, labels, split, index = predict_all(data, device)
    lam1 = _lam1(model, x, batch_size)
    probs = softmax_probs(model, x)
    member_probs = [probs] + [softmax_probs(load_net(p, arch, device), x) for p in member_paths]
    pred = probs.argmax(axis=1)
    print(
        f"{len(x)} inputs; lambda_1 in [{np.nanmin(lam1):.4f}, {np.nanmax(lam1):.4f}], "
        f"-inf: {int(np.isneginf(lam1).sum())}; ensemble of {len(member_probs)} nets",
        flush=True,
    )
    return dict(
        split=split,
        index=index,
        label=labels,
        pred=pred,
        correct=pred == labels,
        lam1=lam1,
        probs=probs,
        H=ensemble_entropy(member_probs),
        H_single=entropy(probs),
        ensemble_size=np.array(len(member_probs)),
    )


def ftle_mnist_mains(
    data: DataSet, net_paths, histories, member_paths, *, arch: dict, device, batch_size=None
) -> dict:
    """ftle_mnist_mains: for each realisation k of the main net (``net_paths``, net 0 first)
    over the test images: λ₁ (``lam1``, nets × images), whether it classifies each image right
    (``correct``), its softmax confidence (``confidence``), and ``H``: the entropy of the
    averaged softmax of every other net (the other realisations and the ensemble members), so
    that no net's λ₁ and H come from the same weights; each net's ``test_accuracy`` and
    ``train_accuracy`` from its history."""
    if len(histories) != len(net_paths) or not net_paths:
        raise ValueError(f"ftle_mnist_mains: {len(net_paths)} nets, {len(histories)} histories")
    x = data.inputs("test", device)
    models = [load_net(p, arch, device) for p in net_paths]
    probs = [softmax_probs(m, x) for m in models]
    others = [softmax_probs(load_net(p, arch, device), x) for p in member_paths]
    if len(probs) + len(others) < 2:
        raise ValueError("ftle_mnist_mains: H from the other nets needs at least two nets")
    lam1 = np.stack([_lam1(m, x, batch_size) for m in models])
    H = np.stack(
        [
            ensemble_entropy([q for j, q in enumerate(probs) if j != k] + others)
            for k in range(len(models))
        ]
    )
    pred = np.stack([p.argmax(1) for p in probs])
    last = [h.iloc[-1] for h in histories]
    print(
        f"{len(models)} main nets, H of each from {len(models) - 1 + len(others)} others; "
        f"test accuracy {[round(float((q == data.y_test).mean()), 4) for q in pred]}",
        flush=True,
    )
    return dict(
        lam1=lam1,
        correct=pred == data.y_test[None, :],
        confidence=np.stack([p.max(1) for p in probs]),
        H=H,
        test_accuracy=np.array([1 - float(r["test_error"]) for r in last]),
        train_accuracy=np.array([1 - float(r["train_error"]) for r in last]),
    )


def width_point(
    data: DataSet,
    net_path,
    *,
    spec: NetSpec,
    realisation: int,
    device,
    n_test: int,
    batch_size=None,
) -> dict:
    """Mean and standard deviation of λ₁ over the first ``n_test`` test images of one
    width-sweep net, after training and at its initialisation (rebuilt from its seed), and its
    test accuracy (all test images). ``spec``: the net's spec; ``realisation``: its index at
    its width."""
    import time

    width = int(spec.arch["width"])
    model = load_net(net_path, spec.arch, device)
    x = data.inputs("test", device)
    t0 = time.perf_counter()
    lam = _lam1(model, x[:n_test], batch_size)
    lam0 = _lam1(initial_net(spec).to(device), x[:n_test], batch_size)
    print(
        f"N = {width}, realisation {realisation}: lambda_1 of "
        f"{min(n_test, len(x))} test images, trained and at initialisation, in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    lam, lam0 = lam[np.isfinite(lam)], lam0[np.isfinite(lam0)]
    acc = float((softmax_probs(model, x).argmax(1) == data.y_test).mean())
    return dict(
        N=width,
        realisation=int(realisation),
        seed=spec.seed,
        mean_lam1=float(lam.mean()),
        std_lam1=float(lam.std(ddof=1)),
        mean_lam1_init=float(lam0.mean()),
        std_lam1_init=float(lam0.std(ddof=1)),
        test_accuracy=acc,
    )


def width_sweep(
    data: DataSet,
    net_paths,
    nets,
    *,
    device,
    n_test: int,
    min_accuracy: float,
    batch_size=None,
) -> pd.DataFrame:
    """One row per sweep net (``nets``: ``(spec, realisation)`` in the order of ``net_paths``):
    N, realisation, seed, mean and std of λ₁ trained and at initialisation, test accuracy and
    whether it is below ``min_accuracy``; sorted by N and realisation."""
    if len(nets) != len(net_paths):
        raise ValueError(f"width_sweep: {len(net_paths)} checkpoints for {len(nets)} nets")
    rows = [
        width_point(
            data,
            p,
            spec=spec,
            realisation=r,
            device=device,
            n_test=n_test,
            batch_size=batch_size,
        )
        for (spec, r), p in zip(nets, net_paths, strict=True)
    ]
    table = pd.DataFrame(rows).sort_values(["N", "realisation"], ignore_index=True)
    table["below_floor"] = below_floor(table["test_accuracy"], min_accuracy)
    print(table.to_string(index=False), flush=True)
    return table


def bottleneck_mnist(data: DataSet, net_path, arch: dict, bottleneck: BottleneckSettings, device):
    """Fit the bottleneck (Fig. 4a) on the training images; returns ``(net, arrays)``, arrays
    = local fields ``coords`` of the training images, ``label``, ``test_coords`` and the
    bottleneck net's own ``train_accuracy`` / ``test_accuracy``."""
    net, x, arrays = fit_bottleneck_map(data, load_net(net_path, arch, device), bottleneck, device)
    return net, dict(coords=local_fields(net, x), label=data.y_train, **arrays)


def path_alignment(v1: np.ndarray, images: np.ndarray, n_random: int, seed: int = 0) -> dict:
    """|cos| between v₁ at each path image and the attack's next step Δx, and the mean |cos|
    of ``n_random`` Gaussian random directions per image (the baseline, ≈ sqrt(2/(π d)))."""
    dx = np.diff(images.astype(np.float64), axis=0)
    v = v1[:-1].astype(np.float64)
    norm = np.linalg.norm(dx, axis=1)
    ok = norm > 0
    cos = np.full(len(dx), np.nan)
    cos[ok] = np.abs(np.sum(v[ok] * dx[ok], axis=1)) / (norm[ok] * np.linalg.norm(v[ok], axis=1))
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n_random, v.shape[1]))
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    vn = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos_random = np.abs(vn @ r.T).mean(axis=1)
    return dict(cos_v1_step=cos, cos_random=cos_random)


def adversarial_path(
    data: DataSet,
    net_path,
    bottleneck_path,
    coords: dict,
    *,
    arch: dict,
    attack: AttackConfig,
    device,
    log=print,
) -> dict:
    """The attack stage: candidate starts (test images of the source class, recognised with
    p >= min_start_prob, whose bottleneck position is nearest the source cluster's centre),
    tried in order until one reaches ``stop_prob`` (:class:`AttackFailed` after ``candidates``
    starts; a stalled attack is pulled toward the nearest recognised training image of the
    target class), the first whose path spends at most ``max_detour`` of its steps in a third
    class (else the least detouring one, its ``detour`` recorded); then λ₁, v₁,
    probabilities and bottleneck local fields along its path."""
    model = load_net(net_path, arch, device)
    bnet = load_bottleneck(bottleneck_path, device)
    s = AttackSettings(
        target=attack.target_class,
        method=attack.method,
        step=attack.step,
        eps=attack.eps,
        stop_prob=attack.stop_prob,
        max_steps=attack.max_steps,
    )
    test_pixels = pixels(data.x_test).to(device)
    centres = cluster_centres(coords["coords"], coords["label"])
    in_cluster = nearest_cluster(coords["test_coords"], centres) == attack.source_class
    order = candidate_starts(
        model,
        test_pixels,
        data.y_test,
        source=attack.source_class,
        min_prob=attack.min_start_prob,
        in_cluster=in_cluster,
        first=attack.start_index,
        preprocess=standardise,
    )
    log(f"candidate starts (test indices, in this order): {order[: attack.candidates]}")
    train_pixels = pixels(data.x_train).to(device)
    recognised = (softmax_probs(model, standardise(train_pixels)).argmax(1) == s.target) & (
        data.y_train == s.target
    )

    def guide(index):
        return nearest_guides(test_pixels[index : index + 1], train_pixels, recognised)[0]

    def detour(path):
        pred = softmax_probs(model, standardise(path)).argmax(1)
        return float(((pred != attack.source_class) & (pred != s.target)).mean())

    start, path, kicks, tried = first_successful_path(
        model,
        test_pixels,
        order,
        k=attack.candidates,
        s=s,
        preprocess=standardise,
        log=log,
        guides=guide,
        detour=detour,
        max_detour=attack.max_detour,
    )
    x = standardise(path)
    lam, v = ftle(model.trunk, x, k=1, return_directions=True)
    probs = softmax_probs(model, x)
    images = path.cpu().numpy()
    d = images[-1].astype(np.float64) - images[0]
    info = dict(
        start_index=np.array(start),
        method=np.array(s.method),
        eps=np.array(np.nan if s.eps is None else s.eps),
        step_size=np.array(s.step),
        steps=np.array(len(path) - 1),
        l2=np.array(np.linalg.norm(d)),
        linf=np.array(np.abs(d).max()),
        reached=np.array(True),
        stop_prob=np.array(s.stop_prob),
        pulls=np.array(kicks),
        tried=np.array([t[0] for t in tried]),
        tried_best_p=np.array([t[1] for t in tried]),
        detour=np.array(detour(path)),
        max_detour=np.array(attack.max_detour),
    )
    log(
        f"path from test image {start}: method {s.method}, eps {s.eps}, step {s.step}, "
        f"{len(path) - 1} steps, L2 {float(info['l2']):.4f}, L-inf {float(info['linf']):.4f}, "
        f"p({s.target}) at the end {probs[-1, s.target]:.4f}"
    )
    align = path_alignment(v[:, :, 0].double().cpu().numpy(), images, attack.n_random)
    return dict(
        images=images,
        lam1=lam[:, 0].double().cpu().numpy(),
        probs=probs,
        pred=probs.argmax(1),
        H=entropy(probs),
        coords=local_fields(bnet, x),
        step=np.arange(len(path)),
        source_class=np.array(attack.source_class),
        target_class=np.array(attack.target_class),
        centres=centres,
        **align,
        **info,
    )


def attack_paths(
    data: DataSet, net_path, coords: dict, *, arch: dict, attack: AttackConfig, device, log=print
) -> pd.DataFrame:
    """attack_paths: the Fig. 4(a) attack repeated from ``attack.paths.starts`` starts (test
    images of the source class in its cluster, recognised with p >= min_start_prob, in index
    order) toward each of ``attack.paths.targets``; one row per path with what it does
    (:func:`deepftle.images.paths.path_statistics`: classes visited, detour, where λ₁ peaks,
    |cos(v₁, Δx)| against random directions in J's row space and another class's gradient)."""
    from .paths import path_statistics

    model = load_net(net_path, arch, device)
    test_pixels = pixels(data.x_test).to(device)
    train_pixels = pixels(data.x_train).to(device)
    src = int(attack.source_class)
    centres = cluster_centres(coords["coords"], coords["label"])
    in_cluster = nearest_cluster(coords["test_coords"], centres) == src
    starts = candidate_starts(
        model,
        test_pixels,
        data.y_test,
        source=src,
        min_prob=attack.min_start_prob,
        in_cluster=in_cluster,
        preprocess=standardise,
    )[: int(attack.paths.starts)]
    if not starts:
        raise ValueError(f"attack_paths: no test image of class {src} qualifies as a start")
    train_probs = softmax_probs(model, standardise(train_pixels))
    rows = []
    for target in attack.paths.targets:
        s = AttackSettings(
            target=int(target),
            method=attack.method,
            step=attack.step,
            eps=attack.eps,
            stop_prob=attack.stop_prob,
            max_steps=attack.max_steps,
        )
        recognised = (train_probs.argmax(1) == s.target) & (data.y_train == s.target)
        for index in starts:
            guide = nearest_guides(test_pixels[index : index + 1], train_pixels, recognised)[0]
            path, reached, best, kicks = attack_path(
                model, test_pixels[index], s, standardise, progress=False, guide=guide
            )
            st = path_statistics(
                model,
                path.cpu().numpy(),
                source=src,
                target=s.target,
                preprocess=standardise,
                n_random=attack.paths.n_random,
                seed=index,
            )
            row = dict(
                source=src,
                target=s.target,
                start_index=int(index),
                reached=reached,
                best_p=best,
                pulls=kicks,
                **{k: v for k, v in st.items() if k not in ("lam1", "pred")},
            )
            log(
                f"{src} -> {s.target} from {index}: {row['steps']} steps, classes "
                f"{row['classes']}, detour {row['detour']:.1%}, crossing peak "
                f"{row['crossing_peak']:.4f}, cos v1 {row['cos_v1']:.3f} (row space "
                f"{row['cos_rowspace']:.3f}, other class {row['cos_other']:.3f})"
            )
            rows.append(row)
    return pd.DataFrame(rows)


def _tsne_inputs(images_u8_or_pixels, model, embed: str, device) -> np.ndarray:
    """What the t-SNE map embeds: pixels in [0, 1], or the last hidden layer x^(L)."""
    x = torch.as_tensor(np.asarray(images_u8_or_pixels), dtype=torch.float32, device=device)
    if embed == "pixels":
        return x.double().cpu().numpy()
    with torch.no_grad():
        return model.trunk(standardise(x)).double().cpu().numpy()


def embed_mnist(data: DataSet, net_path, arch: dict, tsne: TsneSettings, device="cpu"):
    """openTSNE of the training images (``embed``: pixels or x^(L)); returns the map object
    (with ``.embed``) and its arrays."""
    model = load_net(net_path, arch, device)
    x = _tsne_inputs(data.x_train.astype(np.float32) / 255.0, model, tsne.embed, device)
    print(f"openTSNE of {x.shape[0]} x {x.shape[1]} ({tsne.embed})", flush=True)
    emb = fit_tsne(x, **tsne.fit_settings())
    emb.embed = tsne.embed
    return emb, dict(
        coords=emb.coords,
        label=data.y_train,
        index=np.arange(len(data.y_train)),
        embed=np.array(tsne.embed),
    )


def adversarial_tsne(
    emb, path: dict, net_path, *, arch: dict, tsne: TsneSettings, device="cpu"
) -> dict:
    """Where openTSNE ``transform`` puts the attack path's images (each placed independently
    against the fixed map: not a continuous map of the input)."""
    model = load_net(net_path, arch, device)
    x = _tsne_inputs(path["images"], model, emb.embed, device)
    coords = emb.transform(x, n_iter=tsne.transform_iter)
    return dict(coords=coords, lam1=path["lam1"], step=path["step"], embed=np.array(emb.embed))
