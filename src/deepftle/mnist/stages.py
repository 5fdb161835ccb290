"""One function per MNIST pipeline stage (Figure 4 and Fig. S2), named like its rule: the
rule's script reads the input files, calls it and writes what it returns. Every tensor is
created on the job's ``device``; data come in as :class:`deepftle.mnist.nets.MnistData`, nets as
checkpoint paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..ftle import ftle
from ..nets.archs import describe
from ..pipeline.claims import below_floor
from .attack import (
    AttackSettings,
    attack_path,
    candidate_starts,
    first_successful_path,
    nearest_guides,
)
from .bottleneck import fit_bottleneck, load_bottleneck, local_fields
from .data import pixels, standardise
from .fig4 import fig4_claims, fig4_summary
from .figS2 import figS2_architecture, figS2_claims, figS2_summary
from .figS3 import figS3_architecture, figS3_claims, figS3_summary
from .nets import (
    MnistData,
    load_mnist_net,
    predict_all,
    softmax_probs,
    train_mnist_net,
    train_mnist_nets,
)
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
    "ftle_mnist_figS2",
    "claims_figS2",
    "train_figS3",
    "ftle_figS3",
    "bottleneck_figS3",
    "claims_figS3",
    "figS2_arrays",
    "width_point",
    "path_alignment",
]


def train_mnist(
    data: MnistData, *, train: dict, device, net: dict, figS2_arch: dict | None = None
) -> dict:
    """train_mnist, train_mnist_member, train_mnist_width and train_mnist_figS2: one net of the
    ``mnist.train`` protocol. ``net``: its ``seed`` and optional ``width`` / ``epochs``
    overrides; ``figS2_arch``: Fig. S2's architecture choice (``arch`` and its block), which
    replaces the MLP (:func:`deepftle.mnist.figS2.figS2_architecture`).

    Returns ``model`` (on the CPU), ``history`` and ``params`` (what its provenance records)."""
    if figS2_arch is None:
        model, history = train_mnist_net(data, train, device, **net)
        return dict(model=model, history=history, params=dict(train, **net))
    arch = figS2_architecture(figS2_arch, train)
    model, history = train_mnist_net(data, train, device, arch=arch, **net)
    return dict(model=model, history=history, params=dict(train, **net, arch=arch))


def train_mnist_ensemble(data: MnistData, *, train: dict, device, nets: list[dict]) -> list:
    """train_mnist_ensemble: ensemble members of one layout as one population job
    (:func:`deepftle.mnist.nets.train_mnist_nets`); per member what :func:`train_mnist`
    returns."""
    return [
        dict(model=model, history=history, params=dict(train, **net))
        for net, (model, history) in zip(
            nets, train_mnist_nets(data, train, device, nets), strict=True
        )
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
    """mnist_summary: the summary table of Figure 4 (:func:`deepftle.mnist.fig4.fig4_summary`,
    with what the attack paths from many starts do: the fraction that reach the target, whose
    λ₁ maximum is interior, that pass through a third class, that go straight from the source
    to the target; all numbers, the classes of each path are in its table) and
    its claims (:func:`deepftle.mnist.fig4.fig4_claims`)."""
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


def claims_figS2(ftle: dict, *, min_accuracy: float, settings) -> tuple:
    """claims_figS2: the summary table and the claims of Fig. 4(b) for Fig. S2's
    architecture (:mod:`deepftle.mnist.figS2`)."""
    claims = figS2_claims(ftle, min_accuracy, settings=settings)
    _report_claims(claims)
    return figS2_summary(ftle), claims


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
    data: MnistData, net_path, member_paths, *, train: dict, device, batch_size=None
) -> dict:
    """λ₁ (input -> last hidden layer), prediction and probabilities of the main net for every
    train and test image; H from the averaged softmax of the main net and the members
    (``H``) and of the main net alone (``H_single``)."""
    model = load_mnist_net(net_path, train, device)
    x, labels, split, index = predict_all(data, device)
    lam1 = _lam1(model, x, batch_size)
    probs = softmax_probs(model, x)
    member_probs = [probs] + [
        softmax_probs(load_mnist_net(p, train, device), x) for p in member_paths
    ]
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
    data: MnistData, net_paths, histories, member_paths, *, train: dict, device, batch_size=None
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
    models = [load_mnist_net(p, train, device) for p in net_paths]
    probs = [softmax_probs(m, x) for m in models]
    others = [softmax_probs(load_mnist_net(p, train, device), x) for p in member_paths]
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


def figS2_arrays(
    data: MnistData,
    net_paths,
    histories,
    *,
    train: dict,
    arch: dict,
    device,
    n_test: int | None = None,
    batch_size=None,
) -> dict:
    """Fig. S2: the Fig. 4(b) quantities for nets of another architecture ``arch`` (a
    :func:`deepftle.nets.archs.build_net` dict). Net 0 gives λ₁ (input -> its last hidden layer),
    predictions and ``H_single``; ``H`` is the entropy of the averaged softmax of all
    ``net_paths`` (an ensemble of the same layout, other seeds). Over the first ``n_test`` test
    images (None: all). ``train_accuracy`` / ``test_accuracy``: one per net, from the final
    row of its training history (all images)."""
    if len(histories) != len(net_paths) or not net_paths:
        raise ValueError(
            f"figS2 needs one history per net and at least one net; got "
            f"{len(net_paths)} nets, {len(histories)} histories"
        )
    models = [load_mnist_net(p, train, device, arch=arch) for p in net_paths]
    x = data.inputs("test", device)
    n = len(x) if n_test is None else min(int(n_test), len(x))
    x, labels = x[:n], data.y_test[:n]
    lam1 = _lam1(models[0], x, batch_size)
    probs = [softmax_probs(m, x) for m in models]
    pred = probs[0].argmax(axis=1)
    last = [h.iloc[-1] for h in histories]
    print(
        f"{describe(arch)}: {n} test images; lambda_1 in [{np.nanmin(lam1):.4f}, "
        f"{np.nanmax(lam1):.4f}], -inf: {int(np.isneginf(lam1).sum())}; H from "
        f"{len(models)} nets",
        flush=True,
    )
    return dict(
        index=np.arange(n),
        label=labels,
        pred=pred,
        correct=pred == labels,
        lam1=lam1,
        probs=probs[0],
        H=ensemble_entropy(probs),
        H_single=entropy(probs[0]),
        ensemble_size=np.array(len(models)),
        depth=np.array(getattr(models[0], "ftle_depth", arch.get("depth"))),
        arch=np.array(describe(arch)),
        kind=np.array(arch.get("kind", "mlp")),
        train_accuracy=np.array([1 - float(r["train_error"]) for r in last]),
        test_accuracy=np.array([1 - float(r["test_error"]) for r in last]),
        epochs=np.array(int(last[0]["epoch"])),
    )


def ftle_mnist_figS2(
    data: MnistData,
    net_paths,
    histories,
    *,
    train: dict,
    figS2_arch: dict,
    device,
    n_test: int | None = None,
    batch_size=None,
) -> tuple[dict, dict]:
    """ftle_mnist_figS2: :func:`figS2_arrays` for Fig. S2's architecture choice
    ``figS2_arch`` (``arch`` and its block). Returns ``(arrays, architecture dict)``."""
    arch = figS2_architecture(figS2_arch, train)
    return figS2_arrays(
        data,
        net_paths,
        histories,
        train=train,
        arch=arch,
        device=device,
        n_test=n_test,
        batch_size=batch_size,
    ), arch


def _figS3_arch(figS3_arch: dict, train: dict) -> dict:
    return figS3_architecture(figS3_arch["kind"], figS3_arch["set"], train, figS3_arch["cnn"])


def train_figS3(data, *, train: dict, figS3_arch: dict, device, net: dict) -> dict:
    """train_figS3: one net of Fig. S3, of the choice ``figS3_arch`` (``set``, ``kind``,
    ``cnn``: :func:`deepftle.mnist.figS3.figS3_architecture`) on ``data`` (an
    :class:`deepftle.mnist.datasets.ImageData`), trained with the ``mnist.train`` protocol, its
    own seed and epochs (``net``)."""
    arch = _figS3_arch(figS3_arch, train)
    model, history = train_mnist_net(data, train, device, arch=arch, **net)
    return dict(model=model, history=history, params=dict(train, **net, arch=arch))


def ftle_figS3(
    data,
    net_paths,
    histories,
    *,
    train: dict,
    figS3_arch: dict,
    device,
    n_test: int | None = None,
    batch_size=None,
) -> tuple[dict, dict]:
    """ftle_figS3: λ₁ of net 0 over the test images of ``data``, predictions, H of the ensemble
    of ``net_paths`` and every net's accuracies (:func:`figS2_arrays`). Returns ``(arrays,
    architecture dict)``."""
    arch = _figS3_arch(figS3_arch, train)
    return figS2_arrays(
        data,
        net_paths,
        histories,
        train=train,
        arch=arch,
        device=device,
        n_test=n_test,
        batch_size=batch_size,
    ), arch


def bottleneck_figS3(data, net_path, *, train: dict, figS3_arch: dict, b: dict, device) -> dict:
    """bottleneck_figS3: the bottleneck of Fig. 4(a) fitted to the MLP (``figS3_arch``) of one
    Fig. S3 set on its training images; the local fields of its test images and the bottleneck
    net's accuracies."""
    model = load_mnist_net(net_path, train, device, arch=_figS3_arch(figS3_arch, train))
    return _bottleneck(data, model, b, device)[2]


def claims_figS3(ftles: dict, *, min_accuracy: dict, settings) -> tuple:
    """claims_figS3: the summary table and the claims of Fig. 4(b) for every (data set,
    architecture) of Fig. S3 (:mod:`deepftle.mnist.figS3`)."""
    claims = figS3_claims(ftles, min_accuracy, settings=settings)
    _report_claims(claims)
    return figS3_summary(ftles), claims


def width_point(
    data: MnistData, net_path, *, train: dict, net: dict, device, n_test: int, batch_size=None
) -> dict:
    """Mean and standard deviation of λ₁ over the first ``n_test`` test images of one
    width-sweep net, after training and at its initialisation (rebuilt from its seed), and its
    test accuracy (all test images). ``net``: the net's ``width``, ``seed``, ``epochs`` and
    ``realisation``."""
    import time

    from .nets import initial_net

    width = int(net["width"])
    model = load_mnist_net(net_path, train, device, width=width)
    x = data.inputs("test", device)
    t0 = time.perf_counter()
    lam = _lam1(model, x[:n_test], batch_size)
    lam0 = _lam1(
        initial_net(train, seed=int(net["seed"]), width=width).to(device), x[:n_test], batch_size
    )
    print(
        f"N = {width}, realisation {net['realisation']}: lambda_1 of "
        f"{min(n_test, len(x))} test images, trained and at initialisation, in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    lam, lam0 = lam[np.isfinite(lam)], lam0[np.isfinite(lam0)]
    acc = float((softmax_probs(model, x).argmax(1) == data.y_test).mean())
    return dict(
        N=width,
        realisation=int(net["realisation"]),
        seed=int(net["seed"]),
        mean_lam1=float(lam.mean()),
        std_lam1=float(lam.std(ddof=1)),
        mean_lam1_init=float(lam0.mean()),
        std_lam1_init=float(lam0.std(ddof=1)),
        test_accuracy=acc,
    )


def width_sweep(
    data: MnistData,
    net_paths,
    nets,
    *,
    train: dict,
    device,
    n_test: int,
    min_accuracy: float,
    batch_size=None,
) -> pd.DataFrame:
    """One row per sweep net (``nets``: width, seed, epochs, realisation, in the order of
    ``net_paths``): N, realisation, seed, mean and std of λ₁ trained and at initialisation,
    test accuracy and whether it is below ``min_accuracy``; sorted by N and realisation."""
    if len(nets) != len(net_paths):
        raise ValueError(f"width_sweep: {len(net_paths)} checkpoints for {len(nets)} nets")
    rows = [
        width_point(
            data, p, train=train, net=n, device=device, n_test=n_test, batch_size=batch_size
        )
        for n, p in zip(nets, net_paths, strict=True)
    ]
    table = pd.DataFrame(rows).sort_values(["N", "realisation"], ignore_index=True)
    table["below_floor"] = below_floor(table["test_accuracy"], min_accuracy)
    print(table.to_string(index=False), flush=True)
    return table


def bottleneck_mnist(data: MnistData, net_path, train: dict, b: dict, device):
    """Fit the bottleneck (Fig. 4a) on the training images; returns ``(net, arrays)``, arrays
    = local fields ``coords`` of the training images, ``label``, ``test_coords`` and the
    bottleneck net's own ``train_accuracy`` / ``test_accuracy``."""
    net, x, arrays = _bottleneck(data, load_mnist_net(net_path, train, device), b, device)
    return net, dict(coords=local_fields(net, x), label=data.y_train, **arrays)


def _bottleneck(data, model, b: dict, device):
    """Fit the bottleneck to ``model`` on the training images of ``data``; returns the
    bottleneck net, the training inputs, and the local fields of the test images with the
    bottleneck net's accuracies."""
    x, y = data.inputs("train", device), data.labels("train", device)
    net, history = fit_bottleneck(
        model, x, y, epochs=b["epochs"], lr=b["lr"], batch_size=b["batch_size"], seed=b["seed"]
    )
    xt = data.inputs("test", device)
    with torch.no_grad():
        test_acc = float((net(xt).argmax(1).cpu().numpy() == data.y_test).mean())
    print(f"bottleneck net: test accuracy {test_acc:.4f}", flush=True)
    return (
        net,
        x,
        dict(
            test_coords=local_fields(net, xt),
            test_label=data.y_test,
            train_accuracy=np.array(history["train_accuracy"].iloc[-1]),
            test_accuracy=np.array(test_acc),
        ),
    )


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
    data: MnistData,
    net_path,
    bottleneck_path,
    coords: dict,
    *,
    train: dict,
    a: dict,
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
    model = load_mnist_net(net_path, train, device)
    bnet = load_bottleneck(bottleneck_path, device)
    s = AttackSettings(
        target=a["target_class"],
        method=a["method"],
        step=a["step"],
        eps=a["eps"],
        stop_prob=a["stop_prob"],
        max_steps=a["max_steps"],
    )
    test_pixels = pixels(data.x_test).to(device)
    centres = cluster_centres(coords["coords"], coords["label"])
    in_cluster = nearest_cluster(coords["test_coords"], centres) == a["source_class"]
    order = candidate_starts(
        model,
        test_pixels,
        data.y_test,
        source=a["source_class"],
        min_prob=a["min_start_prob"],
        in_cluster=in_cluster,
        first=a["start_index"],
        preprocess=standardise,
    )
    log(f"candidate starts (test indices, in this order): {order[: a['candidates']]}")
    train_pixels = pixels(data.x_train).to(device)
    recognised = (softmax_probs(model, standardise(train_pixels)).argmax(1) == s.target) & (
        data.y_train == s.target
    )

    def guide(index):
        return nearest_guides(test_pixels[index : index + 1], train_pixels, recognised)[0]

    def detour(path):
        pred = softmax_probs(model, standardise(path)).argmax(1)
        return float(((pred != a["source_class"]) & (pred != s.target)).mean())

    start, path, kicks, tried = first_successful_path(
        model,
        test_pixels,
        order,
        k=a["candidates"],
        s=s,
        preprocess=standardise,
        log=log,
        guides=guide,
        detour=detour,
        max_detour=a["max_detour"],
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
        max_detour=np.array(a["max_detour"]),
    )
    log(
        f"path from test image {start}: method {s.method}, eps {s.eps}, step {s.step}, "
        f"{len(path) - 1} steps, L2 {float(info['l2']):.4f}, L-inf {float(info['linf']):.4f}, "
        f"p({s.target}) at the end {probs[-1, s.target]:.4f}"
    )
    align = path_alignment(v[:, :, 0].double().cpu().numpy(), images, a["n_random"])
    return dict(
        images=images,
        lam1=lam[:, 0].double().cpu().numpy(),
        probs=probs,
        pred=probs.argmax(1),
        H=entropy(probs),
        coords=local_fields(bnet, x),
        step=np.arange(len(path)),
        source_class=np.array(a["source_class"]),
        target_class=np.array(a["target_class"]),
        centres=centres,
        **align,
        **info,
    )


def attack_paths(
    data: MnistData, net_path, coords: dict, *, train: dict, a: dict, device, log=print
) -> pd.DataFrame:
    """attack_paths: the Fig. 4(a) attack repeated from ``a["paths"]["starts"]`` starts (test
    images of the source class in its cluster, recognised with p >= min_start_prob, in index
    order) toward each of ``a["paths"]["targets"]``; one row per path with what it does
    (:func:`deepftle.mnist.paths.path_statistics`: classes visited, detour, where λ₁ peaks,
    |cos(v₁, Δx)| against random directions in J's row space and another class's gradient)."""
    from .paths import path_statistics

    model = load_mnist_net(net_path, train, device)
    test_pixels = pixels(data.x_test).to(device)
    train_pixels = pixels(data.x_train).to(device)
    src = int(a["source_class"])
    centres = cluster_centres(coords["coords"], coords["label"])
    in_cluster = nearest_cluster(coords["test_coords"], centres) == src
    starts = candidate_starts(
        model,
        test_pixels,
        data.y_test,
        source=src,
        min_prob=a["min_start_prob"],
        in_cluster=in_cluster,
        preprocess=standardise,
    )[: int(a["paths"]["starts"])]
    if not starts:
        raise ValueError(f"attack_paths: no test image of class {src} qualifies as a start")
    train_probs = softmax_probs(model, standardise(train_pixels))
    rows = []
    for target in a["paths"]["targets"]:
        s = AttackSettings(
            target=int(target),
            method=a["method"],
            step=a["step"],
            eps=a["eps"],
            stop_prob=a["stop_prob"],
            max_steps=a["max_steps"],
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
                n_random=a["paths"]["n_random"],
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


def embed_mnist(data: MnistData, net_path, train: dict, t: dict, device="cpu"):
    """openTSNE of the training images (``embed``: pixels or x^(L)); returns the map object
    (with ``.embed``) and its arrays."""
    model = load_mnist_net(net_path, train, device)
    x = _tsne_inputs(data.x_train.astype(np.float32) / 255.0, model, t["embed"], device)
    print(f"openTSNE of {x.shape[0]} x {x.shape[1]} ({t['embed']})", flush=True)
    emb = fit_tsne(
        x,
        perplexity=t["perplexity"],
        pca=t["pca"],
        n_jobs=t["n_jobs"],
        seed=t["seed"],
        n_iter=t["n_iter"],
        early_exaggeration_iter=t["early_exaggeration_iter"],
    )
    emb.embed = t["embed"]
    return emb, dict(
        coords=emb.coords,
        label=data.y_train,
        index=np.arange(len(data.y_train)),
        embed=np.array(t["embed"]),
    )


def adversarial_tsne(emb, path: dict, net_path, *, train: dict, t: dict, device="cpu") -> dict:
    """Where openTSNE ``transform`` puts the attack path's images (each placed independently
    against the fixed map: not a continuous map of the input)."""
    model = load_mnist_net(net_path, train, device)
    x = _tsne_inputs(path["images"], model, emb.embed, device)
    coords = emb.transform(x, n_iter=t["transform_iter"])
    return dict(coords=coords, lam1=path["lam1"], step=path["step"], embed=np.array(emb.embed))
