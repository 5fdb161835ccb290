"""One image analysis for any network and any data set: the analysis of Fig. 4(b).

For an ensemble of nets on one data set: λ₁ of net 0 at every analysed test input, its
predictions, the predictive uncertainty ``H`` (entropy of the ensemble's averaged softmax, from
two nets on), test error and ``H`` against λ₁ in equal-width bins, the claims (error and ``H``
rise with λ₁, λ₁ ranks errors above correct predictions beside the softmax confidence, the top
λ₁ decile against the bottom one) and an openTSNE map of the inputs coloured by λ₁.

An analysis is an :class:`AnalysisSpec`, built once from its config entry
(:meth:`AnalysisSpec.from_config`):

- Fig. S2 is {mnist} × {cnn, resmlp} of it, Fig. S3 {fashion_mnist, cifar10} × {mlp, cnn}; their
  nets are the project's architectures (:mod:`deepftle.nets.archs`), trained by the pipeline, and
  λ₁ is that of the trunk (input -> last hidden layer) with the net's own depth, as Fig. 4's;
- a user's analysis names a model builder (``"/path/file.py:function"`` or
  ``"package.module:function"`` with ``kwargs``), a data set (an image set or an ``.npz``) and
  either state-dict checkpoints or training settings; λ₁ is exactly
  ``deepftle.ftle(model, x_test)[:, 0]`` of its first net, the whole model.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..ftle import ftle
from ..nets.archs import build_net, describe
from ..nets.train import class_error, cross_entropy_loss, train_config
from ..nets.train import train as train_loop
from ..pipeline.claims import below_floor, bookkeeping, floor_claim, floor_note, spearman
from .bottleneck import fit_bottleneck_map
from .datasets import SETS, DataSet, load_image_set
from .nets import NetSpec, load_net, softmax_probs
from .statistics import (
    MIN_PAIRS,
    decile_gap_claim,
    decile_means,
    ensemble_entropy,
    entropy,
    equal_width_bins,
    error_auroc_claim,
    rank_trend_claim,
)

__all__ = [
    "DataSource",
    "ModelSource",
    "AnalysisSpec",
    "complete_architecture",
    "load_data",
    "build_model",
    "load_checkpoint",
    "check_checkpoints",
    "train_analysis_net",
    "ftle_analysis",
    "lambda_table",
    "analysis_claims",
    "analysis_summary",
    "analysis_bins",
    "embed_analysis",
    "claims_analysis",
    "claims_figure",
    "figure_claims",
    "figure_summary",
    "bottleneck_analysis",
    "figure_tables",
]

#: the architecture as the claims name it (the figure's title gives the full layout)
SHORT_NAMES = {"cnn": "CNN", "resmlp": "residual MLP", "mlp": "MLP"}
#: the keys an analysis entry may hold
ENTRY_KEYS = {
    "data",
    "model",
    "checkpoints",
    "train",
    "points",
    "min_accuracy",
    "tsne",
    "lambda_of",
    "label",
}
#: the openTSNE settings an entry may set (deepftle.images.tsne.fit_tsne)
TSNE_KEYS = {"perplexity", "pca", "n_jobs", "seed", "n_iter", "early_exaggeration_iter"}
TRAIN_KEYS = {"nets", "seed", "epochs", "optimizer", "lr", "batch_size", "schedule"}
TRAIN_OPTIONAL = {"momentum", "weight_decay", "seeds"}


def _fail(name: str, msg: str):
    raise ValueError(f"analyses.{name}: {msg}")


@dataclass(frozen=True)
class DataSource:
    """Where an analysis's inputs come from: an image set by key (``set``) or a user's
    ``.npz`` (``npz``), given to the net as they are unless ``standardise``."""

    set: str | None = None
    npz: str | None = None
    standardise: bool = False

    @classmethod
    def from_config(cls, name: str, d) -> DataSource:
        if not isinstance(d, dict) or len({"set", "npz"} & set(d)) != 1:
            _fail(name, f"data must hold one of 'set' or 'npz', got {d!r}")
        unknown = set(d) - {"set", "npz", "standardise"}
        if unknown:
            _fail(name, f"data: unknown key(s) {sorted(unknown)}")
        if "set" in d and d["set"] not in SETS:
            _fail(name, f"data.set {d['set']!r} is not one of {sorted(SETS)}")
        if "set" in d and d.get("standardise"):
            _fail(name, "data.standardise applies to an npz (image sets are standardised)")
        return cls(set=d.get("set"), npz=d.get("npz"), standardise=bool(d.get("standardise")))

    @property
    def label(self) -> str:
        return SETS[self.set].name if self.set else Path(self.npz).name


@dataclass(frozen=True)
class ModelSource:
    """The nets' architecture: a project architecture (``arch``: a
    :func:`deepftle.nets.archs.build_net` dict) or a user's ``builder`` with ``kwargs``."""

    arch: dict | None = None
    builder: str | None = None
    kwargs: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, d, set_key: str | None = None) -> ModelSource:
        if not isinstance(d, dict) or len({"arch", "builder"} & set(d)) != 1:
            _fail(name, f"model must hold one of 'builder' or 'arch', got {d!r}")
        unknown = set(d) - {"arch", "builder", "kwargs"}
        if unknown:
            _fail(name, f"model: unknown key(s) {sorted(unknown)}")
        if "builder" in d:
            b = d["builder"]
            if not isinstance(b, str) or b.count(":") != 1 or not all(b.split(":")):
                _fail(
                    name,
                    f"model.builder must read 'file.py:function' or "
                    f"'package.module:function', got {b!r}",
                )
            kwargs = d.get("kwargs") or {}
            if not isinstance(kwargs, dict):
                _fail(name, f"model.kwargs must be a mapping, got {kwargs!r}")
            return cls(builder=b, kwargs=dict(kwargs))
        if "kwargs" in d:
            _fail(name, "model.kwargs goes with a builder")
        if not isinstance(d["arch"], dict):
            _fail(name, f"model.arch must be a mapping, got {d['arch']!r}")
        try:
            return cls(arch=complete_architecture(d["arch"], set_key))
        except (KeyError, ValueError) as err:
            _fail(name, f"model.arch {d['arch']!r}: {err}")

    @property
    def is_project(self) -> bool:
        return self.arch is not None

    def describe(self) -> str:
        if self.is_project:
            return describe(self.arch)
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.builder.split(':')[1]}({args})"


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis, typed: its ``name`` (``results/analyses/<name>/``), data, model, nets
    (``checkpoints``, or ``nets``: one :class:`NetSpec` per net the pipeline trains), the number
    of test inputs analysed (``points``; None: all), the accuracy floor (``min_accuracy``; None:
    no floor), openTSNE settings, and what λ₁ is of (``lambda_of``: ``trunk``, input -> last
    hidden layer, for the project's nets; ``model`` for a user's)."""

    name: str
    data: DataSource
    model: ModelSource
    checkpoints: tuple = ()
    nets: tuple = ()
    points: int | None = None
    min_accuracy: float | None = None
    tsne: dict = field(default_factory=dict)
    lambda_of: str = "model"
    label: str = ""

    @classmethod
    def from_config(cls, name: str, entry) -> AnalysisSpec:
        """From an entry of the config's ``analyses:`` section (or one the workflow makes for
        Figs. S2 and S3); every unknown, missing or ill-typed key is an error naming it."""
        if not isinstance(entry, dict):
            _fail(name, f"an analysis is a mapping, got {entry!r}")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            _fail(name, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(ENTRY_KEYS)}")
        for key in ("data", "model"):
            if key not in entry:
                _fail(name, f"'{key}' is missing")
        if ("checkpoints" in entry) == ("train" in entry):
            _fail(name, "give either 'checkpoints' (state_dicts) or 'train' (settings)")
        data = DataSource.from_config(name, entry["data"])
        model = ModelSource.from_config(name, entry["model"], data.set)
        checkpoints, nets = (), ()
        if "checkpoints" in entry:
            cps = entry["checkpoints"]
            if not isinstance(cps, list) or not cps or not all(isinstance(c, str) for c in cps):
                _fail(name, f"checkpoints must be a non-empty list of paths, got {cps!r}")
            checkpoints = tuple(cps)
        else:
            nets = _net_specs(name, entry["train"], model)
        points = entry.get("points")
        if points is not None and (
            isinstance(points, bool) or not isinstance(points, int) or points < 1
        ):
            _fail(name, f"points must be a positive integer or null, got {points!r}")
        floor = entry.get("min_accuracy")
        if floor is not None and not (isinstance(floor, (int, float)) and 0 <= floor <= 1):
            _fail(name, f"min_accuracy must lie in [0, 1] or be null, got {floor!r}")
        lambda_of = entry.get("lambda_of", "trunk" if model.is_project else "model")
        if lambda_of not in ("trunk", "model"):
            _fail(name, f"lambda_of must be trunk or model, got {lambda_of!r}")
        if lambda_of == "trunk" and not model.is_project:
            _fail(name, "lambda_of: trunk needs a project architecture (a net with .trunk)")
        tsne = dict(entry.get("tsne") or {})
        unknown = set(tsne) - TSNE_KEYS
        if unknown:
            _fail(name, f"tsne: unknown key(s) {sorted(unknown)}; allowed: {sorted(TSNE_KEYS)}")
        return cls(
            name=name,
            data=data,
            model=model,
            checkpoints=checkpoints,
            nets=nets,
            points=points,
            min_accuracy=None if floor is None else float(floor),
            tsne=tsne,
            lambda_of=lambda_of,
            label=str(entry.get("label") or name),
        )

    @property
    def n_nets(self) -> int:
        return len(self.checkpoints) or len(self.nets)

    @property
    def trains(self) -> bool:
        return bool(self.nets)


def _net_specs(name: str, train, model: ModelSource) -> tuple:
    """One :class:`NetSpec` per net the pipeline trains: ``train`` holds the optimiser
    settings, ``epochs``, ``nets`` (how many) and ``seed`` (net i's seed: seed + i) or
    ``seeds`` (one per net)."""
    if not isinstance(train, dict):
        _fail(name, f"train must be a mapping, got {train!r}")
    unknown = set(train) - TRAIN_KEYS - TRAIN_OPTIONAL
    if unknown:
        _fail(name, f"train: unknown key(s) {sorted(unknown)}")
    if "seeds" in train:
        seeds = train["seeds"]
        if not isinstance(seeds, list) or not seeds:
            _fail(name, f"train.seeds must be a non-empty list, got {seeds!r}")
        if "nets" in train and train["nets"] != len(seeds):
            _fail(name, f"train.nets = {train['nets']} but {len(seeds)} seeds")
    else:
        missing = {"nets", "seed"} - set(train)
        if missing:
            _fail(name, f"train: missing key(s) {sorted(missing)} (or give 'seeds')")
        if (
            isinstance(train["nets"], bool)
            or not isinstance(train["nets"], int)
            or (train["nets"] < 1)
        ):
            _fail(name, f"train.nets must be a positive integer, got {train['nets']!r}")
        seeds = [int(train["seed"]) + i for i in range(train["nets"])]
    if "epochs" not in train:
        _fail(name, "train: missing key 'epochs'")
    optimiser = {k: v for k, v in train.items() if k not in ("nets", "seed", "seeds", "epochs")}
    try:
        cfg = train_config(optimiser, epochs=int(train["epochs"]))
    except ValueError as err:
        _fail(name, f"train: {err}")
    arch = model.arch if model.is_project else {"builder": model.builder, **model.kwargs}
    return tuple(NetSpec(arch=dict(arch), train=cfg, seed=int(s)) for s in seeds)


def complete_architecture(arch: dict, set_key: str | None) -> dict:
    """The :func:`deepftle.nets.archs.build_net` dict of a project architecture for the images
    of ``set_key``: an MLP (``kind`` mlp or absent: ``width``, ``depth``, ``activation``) gets
    the flattened image as input and a softmax head over ten classes; a CNN the image's shape
    where it is not MNIST's. Keys given stay as given (an ``.npz`` needs ``d_in`` for an MLP)."""
    arch = dict(arch)
    kind = arch.get("kind", "mlp")
    image_set = SETS.get(set_key) if set_key else None
    if kind == "mlp":
        arch.pop("kind", None)
        if image_set is None and "d_in" not in arch:
            raise ValueError("an MLP on an npz data set needs d_in")
        return dict(
            d_in=arch.pop("d_in", image_set.d_in if image_set else None),
            width=arch.pop("width"),
            depth=arch.pop("depth"),
            d_out=arch.pop("d_out", 10),
            activation=arch.pop("activation"),
            output=arch.pop("output", "softmax"),
            **arch,
        )
    if kind == "cnn" and image_set is not None and tuple(image_set.image) != (1, 28, 28):
        arch.setdefault("image", list(image_set.image))
    return arch


def load_data(spec: AnalysisSpec, source) -> DataSet:
    """The analysis's data set: an image set from what its data rule wrote (``source``), or the
    user's ``.npz`` (``source``: its path)."""
    if spec.data.set is not None:
        return load_image_set(spec.data.set, source)
    if not isinstance(source, (str, Path)):
        source = list(source)[0]
    data = DataSet.from_npz(source, standardise=spec.data.standardise, need_train=spec.trains)
    print(
        f"{source}: test inputs {data.x_test.shape}"
        + (f", training inputs {data.x_train.shape}" if data.has_train else ""),
        flush=True,
    )
    return data


def _builder(path: str):
    """The function a builder string names: ``/path/file.py:function`` or
    ``package.module:function``."""
    where, func = path.rsplit(":", 1)
    if where.endswith(".py"):
        file = Path(where)
        if not file.is_file():
            raise FileNotFoundError(f"model builder {path!r}: no such file {file}")
        mod_name = f"_deepftle_builder_{abs(hash(str(file.resolve())))}"
        module = sys.modules.get(mod_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_name, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ImportError(f"model builder {path!r}: cannot import {where!r}: {err}") from err
    if not callable(getattr(module, func, None)):
        raise AttributeError(f"model builder {path!r}: {where} has no function {func!r}")
    return getattr(module, func)


def build_model(source: ModelSource) -> nn.Module:
    """An untrained net of ``source``: the project architecture, or the user's builder called
    with its kwargs (which must return a ``torch.nn.Module``)."""
    if source.is_project:
        return build_net(source.arch)
    model = _builder(source.builder)(**source.kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model builder {source.builder!r} returned {type(model).__name__}, not a "
            "torch.nn.Module"
        )
    return model


def load_checkpoint(source: ModelSource, path) -> nn.Module:
    """The net of ``source`` with the state dict of ``path`` (loaded with
    ``weights_only=True``; a project checkpoint's ``state_dict`` entry is read as well), in
    eval mode with its parameters frozen. A missing or unexpected key or a wrong shape is an
    error naming the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"checkpoint {path}: not a state_dict torch.load can read "
            f"with weights_only=True ({err})"
        ) from err
    if isinstance(state, dict) and "state_dict" in state and "architecture" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"checkpoint {path}: a state_dict (parameter name -> tensor) expected")
    model = build_model(source)
    own = model.state_dict()
    problems = [f"missing key {k!r}" for k in own if k not in state]
    problems += [f"unexpected key {k!r}" for k in state if k not in own]
    problems += [
        f"key {k!r}: shape {tuple(state[k].shape)}, the model's is {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if problems:
        raise ValueError(
            f"checkpoint {path} does not fit {source.describe()}: " + "; ".join(problems)
        )
    model.load_state_dict(state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def check_checkpoints(spec: AnalysisSpec, paths) -> list:
    """Every checkpoint of the analysis loaded and checked before any work starts."""
    return [load_checkpoint(spec.model, p) for p in paths]


def train_analysis_net(spec: AnalysisSpec, data: DataSet, index: int, device) -> dict:
    """Net ``index`` of the analysis trained by the project's loop (cross-entropy of the
    softmax, seeded shuffling). A project architecture starts from its fan-in initialisation
    (:meth:`NetSpec.build`), a user's model from its builder's, under
    ``torch.manual_seed(seed)``. Returns ``model`` (CPU), ``history`` and ``params``."""
    if not spec.trains:
        raise ValueError(f"analyses.{spec.name} has checkpoints; it trains no nets")
    if not 0 <= index < len(spec.nets):
        raise ValueError(f"analyses.{spec.name}: net {index} of {len(spec.nets)}")
    if not data.has_train:
        raise ValueError(f"analyses.{spec.name}: training needs x_train and y_train")
    net = spec.nets[index]
    if spec.model.is_project:
        model, gen = net.build()
    else:
        gen = torch.Generator().manual_seed(net.seed)
        torch.manual_seed(net.seed)
        model = build_model(spec.model)
    model.to(device)
    splits = [(data.inputs(s, device), data.labels(s, device)) for s in ("train", "test")]
    history, _ = train_loop(model, *splits, net.train, cross_entropy_loss, class_error, gen)
    last = history.iloc[-1]
    print(
        f"{spec.model.describe()}, {net.epochs} epochs, seed {net.seed}: train accuracy "
        f"{1 - last['train_error']:.4%}, test accuracy {1 - last['test_error']:.4%}",
        flush=True,
    )
    return dict(model=model.cpu(), history=history, params=net.to_config())


def _load_nets(spec: AnalysisSpec, paths, device) -> list:
    if spec.model.is_project:
        return [load_net(p, spec.model.arch, device) for p in paths]
    return [m.to(device) for m in check_checkpoints(spec, paths)]


def _lam1(model, x, spec: AnalysisSpec, batch_size=None) -> np.ndarray:
    if spec.lambda_of == "trunk":
        lam = ftle(
            model.trunk, x, k=1, batch_size=batch_size, depth=getattr(model, "ftle_depth", None)
        )
    else:
        lam = ftle(model, x, k=1, batch_size=batch_size)
    return lam[:, 0].double().cpu().numpy()


def ftle_analysis(
    spec: AnalysisSpec, data: DataSet, net_paths, histories=None, *, device, batch_size=None
) -> dict:
    """The per-input arrays of the analysis over its first ``points`` test inputs: net 0's λ₁,
    prediction and softmax, ``H`` (entropy of the averaged softmax of every net) and
    ``H_single`` (net 0's own); each net's accuracies: from its training history's final row
    where the pipeline trained it, else on the data (test: all test inputs; train: the
    training inputs, NaN without them). Every checkpoint is checked before any λ₁ is
    computed."""
    net_paths = list(net_paths)
    if not net_paths:
        raise ValueError(f"analyses.{spec.name}: no nets")
    if histories is not None and len(histories) != len(net_paths):
        raise ValueError(
            f"analyses.{spec.name}: {len(net_paths)} nets but {len(histories)} histories"
        )
    models = _load_nets(spec, net_paths, device)
    x_all = data.inputs("test", device)
    n = len(x_all) if spec.points is None else min(int(spec.points), len(x_all))
    x, labels = x_all[:n], data.y_test[:n]
    lam1 = _lam1(models[0], x, spec, batch_size)
    probs = [softmax_probs(m, x) for m in models]
    pred = probs[0].argmax(axis=1)
    if histories is not None:
        last = [h.iloc[-1] for h in histories]
        train_acc = [1 - float(r["train_error"]) for r in last]
        test_acc = [1 - float(r["test_error"]) for r in last]
        epochs = int(last[0]["epoch"])
    else:
        test_acc = [
            float((softmax_probs(m, x_all).argmax(1) == data.y_test).mean()) for m in models
        ]
        if data.has_train:
            xt = data.inputs("train", device)
            train_acc = [
                float((softmax_probs(m, xt).argmax(1) == data.y_train).mean()) for m in models
            ]
        else:
            train_acc = [float("nan")] * len(models)
        epochs = -1
    print(
        f"{spec.name}: {n} test inputs; lambda_1 in [{np.nanmin(lam1):.4f}, "
        f"{np.nanmax(lam1):.4f}], -inf: {int(np.isneginf(lam1).sum())}; H from "
        f"{len(models)} net(s); test accuracy {[round(a, 4) for a in test_acc]}",
        flush=True,
    )
    depth = getattr(models[0], "ftle_depth", None)
    if depth is None and spec.model.is_project:
        depth = spec.model.arch.get("depth")
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
        depth=np.array(-1 if depth is None else int(depth)),
        arch=np.array(spec.model.describe()),
        kind=np.array(spec.model.arch.get("kind", "mlp") if spec.model.is_project else "user"),
        train_accuracy=np.array(train_acc, dtype=float),
        test_accuracy=np.array(test_acc, dtype=float),
        epochs=np.array(epochs),
    )


def lambda_table(arrays: dict) -> pd.DataFrame:
    """``index, label, prediction, lambda_1`` per analysed test input, and ``H`` when the
    ensemble has two or more nets."""
    table = pd.DataFrame(
        dict(
            index=np.asarray(arrays["index"], dtype=np.int64),
            label=np.asarray(arrays["label"], dtype=np.int64),
            prediction=np.asarray(arrays["pred"], dtype=np.int64),
            lambda_1=np.asarray(arrays["lam1"], dtype=np.float64),
        )
    )
    if int(arrays["ensemble_size"]) >= 2:
        table["H"] = np.asarray(arrays["H"], dtype=np.float64)
    return table


def _arch_name(arrays: dict) -> str:
    kind = str(arrays["kind"])
    if kind == "user":
        return str(arrays["arch"])
    return f"{SHORT_NAMES.get(kind, kind)} (L = {int(arrays['depth'])})"


def analysis_claims(
    arrays: dict,
    min_accuracy: float | None,
    decile: float = 0.1,
    *,
    settings,
    figure: str,
) -> list:
    """The claims of Fig. 4(b) for one analysis, each with its interval over the test inputs
    (``settings``: :class:`deepftle.pipeline.claims.ClaimSettings`): test error rises with λ₁
    (Spearman ρ), λ₁ ranks errors above correct predictions (AUROC, beside the softmax
    confidence's), the top λ₁ decile has a higher error rate than the bottom one; with two or
    more nets the same for ``H``. With a floor: every net reaching it and net 0's train
    accuracy are bookkeeping rows, and when nets are below it every claim says so."""
    arch = _arch_name(arrays)
    m = int(arrays["ensemble_size"])
    lam = np.asarray(arrays["lam1"], dtype=float)
    err = (~np.asarray(arrays["correct"], dtype=bool)).astype(float)
    H = np.asarray(arrays["H"], dtype=float)
    claims, note = [], ""
    if min_accuracy is not None:
        below = below_floor(arrays["test_accuracy"], min_accuracy)
        if below.size != m:
            raise ValueError(f"{figure}: {below.size} test accuracies for {m} nets")
        note = floor_note(below)
        claims += [
            floor_claim(
                figure,
                below,
                f"every net of the {arch} ensemble reaches {min_accuracy:.0%} test accuracy",
            ),
            bookkeeping(
                figure,
                f"train accuracy of the {arch} net (net 0)",
                float(np.asarray(arrays["train_accuracy"])[0]),
                ">=",
                float(min_accuracy),
                n=1,
            ),
        ]
    pct = f"{decile:.0%}"
    claims += [
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
            arrays["probs"],
            settings=settings,
        ),
    ]
    if m >= 2:
        claims.append(
            rank_trend_claim(
                figure,
                f"predictive uncertainty H ({m}-net ensemble) rises with "
                f"lambda_1, {arch} (Spearman rho, test set){note}",
                lam,
                H,
                settings=settings,
            )
        )
    claims.append(
        decile_gap_claim(
            figure,
            f"test error in the top {pct} of lambda_1 minus the bottom {pct}, {arch}{note}",
            lam,
            err,
            decile,
            settings=settings,
        )
    )
    if m >= 2:
        claims.append(
            decile_gap_claim(
                figure,
                f"H in the top {pct} of lambda_1 minus the bottom {pct}, {arch}{note}",
                lam,
                H,
                decile,
                settings=settings,
            )
        )
    return claims


def claims_analysis(spec: AnalysisSpec, arrays: dict, *, settings) -> tuple:
    """claims_analysis: the claims of one analysis (:func:`analysis_claims`, figure
    ``analysis:<name>``, against its floor) and its summary table."""
    claims = analysis_claims(
        arrays, spec.min_accuracy, settings=settings, figure=f"analysis:{spec.name}"
    )
    return claims, analysis_summary(arrays)


def claims_figure(
    instances: dict, min_accuracy: dict, *, settings, figure: str, name_sets: bool
) -> tuple:
    """claims_figS2, claims_figS3: the claims of every analysis a figure draws
    (:func:`figure_claims`) and its summary table (:func:`figure_summary`)."""
    claims = figure_claims(
        instances, min_accuracy, settings=settings, figure=figure, name_sets=name_sets
    )
    return claims, figure_summary(instances)


def analysis_summary(arrays: dict, decile: float = 0.1) -> pd.DataFrame:
    """Long table (quantity, value) of the numbers the docs and the report quote, with each
    net's test accuracy."""
    lam = np.asarray(arrays["lam1"], dtype=float)
    err = (~np.asarray(arrays["correct"], dtype=bool)).astype(float)
    e = decile_means(lam, err, decile)
    rows = [
        ("n_test", len(lam)),
        ("lam1_mean", float(np.mean(lam[np.isfinite(lam)]))),
        ("error_all", float(err.mean())),
        ("error_bottom_decile", e["bottom"]),
        ("error_top_decile", e["top"]),
        ("spearman_lam1_H_single_net", spearman(lam, arrays["H_single"], min_pairs=MIN_PAIRS)),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value"])


def analysis_bins(arrays: dict, n_bins: int = 60) -> dict:
    """Test error and H in equal-width λ₁ bins (``bins``, as Fig. 4(b)), the number of test
    inputs with λ₁ = -inf (not binned), and what the figure states about the nets."""
    error = (~np.asarray(arrays["correct"], dtype=bool)).astype(float)
    return dict(
        bins=equal_width_bins(arrays["lam1"], error, arrays["H"], n_bins),
        n_neg_inf=int(np.isneginf(arrays["lam1"]).sum()),
        ensemble_size=int(arrays["ensemble_size"]),
        arch=str(arrays["arch"]),
        depth=int(arrays["depth"]),
        n_test=int(len(arrays["lam1"])),
        n_bins=int(n_bins),
        test_accuracy=np.asarray(arrays["test_accuracy"], dtype=float),
        epochs=int(arrays["epochs"]),
    )


def embed_analysis(spec: AnalysisSpec, data: DataSet, arrays: dict, **tsne) -> dict:
    """openTSNE map of the analysed test inputs (flattened, as the net sees them), with their
    λ₁, label and whether net 0 classifies them right. ``tsne``: :func:`fit_tsne` settings
    (the analysis's own ``tsne`` entry overrides them)."""
    from .tsne import fit_tsne

    n = len(arrays["lam1"])
    x = data.inputs("test").reshape(len(data.y_test), -1)[:n].double().numpy()
    settings = dict(tsne, **spec.tsne)
    settings["perplexity"] = min(float(settings.get("perplexity", 30.0)), max(1.0, (n - 1) / 3))
    emb = fit_tsne(x, **settings)
    return dict(
        coords=emb.coords,
        lam1=np.asarray(arrays["lam1"], dtype=float),
        label=np.asarray(arrays["label"]),
        correct=np.asarray(arrays["correct"], dtype=bool),
    )


def figure_claims(
    instances: dict,
    min_accuracy: dict,
    decile: float = 0.1,
    *,
    settings,
    figure: str,
    name_sets: bool,
) -> list:
    """The claims of a figure made of analyses (Figs. S2, S3): :func:`analysis_claims` for every
    ``(set, kind)`` of ``instances`` (their arrays) against ``min_accuracy[(set, kind)]``; with
    ``name_sets`` each claim names its data set."""
    claims = []
    for (set_key, kind), arrays in instances.items():
        for c in analysis_claims(
            arrays, min_accuracy[(set_key, kind)], decile, settings=settings, figure=figure
        ):
            if name_sets:
                c = dataclasses.replace(c, claim=f"{SETS[set_key].name}: {c.claim}")
            claims.append(c)
    return claims


def figure_summary(instances: dict, decile: float = 0.1) -> pd.DataFrame:
    """Long table (data set, architecture, quantity, value), with each net's test accuracy."""
    rows = []
    for (set_key, kind), arrays in instances.items():
        t = analysis_summary(arrays, decile)
        for i, acc in enumerate(np.asarray(arrays["test_accuracy"], dtype=float)):
            t.loc[len(t)] = (f"test_accuracy_net{i}", float(acc))
        rows.append(t.assign(data_set=set_key, arch=kind))
    return pd.concat(rows, ignore_index=True)[["data_set", "arch", "quantity", "value"]]


def bottleneck_analysis(spec: AnalysisSpec, data: DataSet, net_path, settings, device) -> dict:
    """The bottleneck map of Fig. 4(a) (:func:`deepftle.images.bottleneck.fit_bottleneck_map`)
    of the analysis's net 0, an MLP of the project's: the local fields of the test inputs and
    the bottleneck net's accuracies."""
    if not spec.model.is_project or spec.model.arch.get("kind", "mlp") != "mlp":
        raise ValueError(f"analyses.{spec.name}: the bottleneck map needs a project MLP")
    return fit_bottleneck_map(data, load_net(net_path, spec.model.arch, device), settings, device)[
        2
    ]


def figure_tables(instances: dict, maps: dict, n_bins: int = 60) -> dict:
    """What Fig. S3 draws: per ``(set, kind)`` the binned error and H (:func:`analysis_bins`);
    per set the MLP's bottleneck map of the test inputs (x, y, lam1, label)."""
    panels = {key: analysis_bins(arrays, n_bins) for key, arrays in instances.items()}
    out_maps = {}
    for set_key, m in maps.items():
        lam = np.asarray(instances[(set_key, "mlp")]["lam1"], dtype=float)
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
