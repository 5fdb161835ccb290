"""Image networks: one typed spec per net (:class:`NetSpec`: architecture, training, seed),
their training (:func:`train_net`: any architecture, the training loop; :func:`train_nets`: MLPs
of one layout as one population) and what every later stage reads from them.

Fig. 4's nets are ``N x L`` MLPs with a softmax head (:func:`net_architecture`) of the
``mnist.train`` protocol; the main net uses ``train.seed``, the others
:func:`deepftle.pipeline.seeds.job_seed` of it with their name, so every net starts from other
weights. The nets of an image analysis (:mod:`deepftle.images.analysis`) are specs too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..nets.archs import build_net, describe, init_net
from ..nets.checkpoints import load_model
from ..nets.population import train_population
from ..nets.train import TrainConfig, class_error, cross_entropy_loss, train_config
from ..nets.train import train as train_loop
from .datasets import DataSet

__all__ = [
    "NetSpec",
    "describe_protocol",
    "initial_net",
    "train_net",
    "train_nets",
    "load_net",
    "softmax_probs",
    "predict_all",
]


@dataclass(frozen=True)
class NetSpec:
    """One image net, typed: its architecture (a :func:`deepftle.nets.archs.build_net` dict),
    its training (:class:`deepftle.nets.train.TrainConfig`, epochs included) and its seed.

    Built once from the plain dict a rule passes (:meth:`from_config`; the workflow's
    ``protocol_net`` makes it from a protocol section such as ``mnist.train``) and passed as it
    is to every stage. The
    net starts from ``init_net`` with ``Generator().manual_seed(seed)``, which then shuffles its
    minibatches."""

    arch: dict
    train: TrainConfig
    seed: int

    def __post_init__(self):
        if not isinstance(self.arch, dict):
            raise TypeError(f"NetSpec.arch must be a build_net dict, got {type(self.arch)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"NetSpec.seed must be an int, got {self.seed!r}")

    @property
    def epochs(self) -> int:
        return int(self.train.epochs)

    @classmethod
    def from_config(cls, config: dict) -> NetSpec:
        """From the plain dict of :meth:`to_config` (``arch``, ``train`` with ``epochs``,
        ``seed``); an unknown or missing key is an error that names it."""
        keys = {"arch", "train", "seed"}
        if set(config) != keys:
            raise ValueError(
                f"a net spec holds exactly {sorted(keys)}; got {sorted(config)} "
                f"(missing {sorted(keys - set(config))}, unknown {sorted(set(config) - keys)})"
            )
        train = dict(config["train"])
        if "epochs" not in train:
            raise ValueError("a net spec's train settings need 'epochs'")
        epochs = train.pop("epochs")
        return cls(
            arch=dict(config["arch"]),
            train=train_config(train, epochs=int(epochs)),
            seed=int(config["seed"]),
        )

    def to_config(self) -> dict:
        """The plain dict :meth:`from_config` reads (what a rule passes and provenance keeps)."""
        t = self.train
        train = dict(
            optimizer=t.optimizer,
            lr=t.lr,
            batch_size=t.batch_size,
            schedule=t.schedule,
            momentum=t.momentum,
            weight_decay=t.weight_decay,
            epochs=t.epochs,
        )
        return dict(arch=dict(self.arch), train=train, seed=self.seed)

    def build(self) -> tuple[nn.Module, torch.Generator]:
        """The net as it starts training (fan-in initialisation) and the generator that then
        shuffles its minibatches."""
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        model = build_net(self.arch)
        init_net(model, gen)
        return model, gen


def initial_net(spec: NetSpec) -> nn.Module:
    """The net of ``spec`` as it starts training (in eval mode): the initial weights
    :func:`train_net` draws."""
    return spec.build()[0].eval()


def _report(spec: NetSpec, history, model):
    last = history.iloc[-1]
    print(
        f"{describe(model.arch)}, {spec.epochs} epochs, seed {spec.seed}: train accuracy "
        f"{1 - last['train_error']:.4%}, test accuracy {1 - last['test_error']:.4%}",
        flush=True,
    )


def _splits(data: DataSet, device):
    return (
        (data.inputs("train", device), data.labels("train", device)),
        (data.inputs("test", device), data.labels("test", device)),
    )


def describe_protocol(spec: NetSpec) -> str:
    """``"SGD lr 0.05, cosine, 20 epochs"``: a net's training protocol in a caption."""
    t = spec.train
    name = {"sgd": "SGD", "adam": "Adam"}.get(t.optimizer, t.optimizer)
    return f"{name} lr {t.lr:g}, {t.schedule}, {int(t.epochs)} epochs"


def _is_mlp(arch: dict) -> bool:
    return arch.get("kind", "mlp") == "mlp"


def train_net(data: DataSet, spec: NetSpec, device, *, progress: bool = True):
    """Build, initialise and train the net of ``spec`` (any architecture) on ``data`` with the
    training loop (cross-entropy of the softmax). Returns ``(model on the CPU, history)``."""
    model, gen = spec.build()
    model.to(device)
    history, _ = train_loop(
        model,
        *_splits(data, device),
        spec.train,
        cross_entropy_loss,
        class_error,
        gen,
        progress=progress,
    )
    _report(spec, history, model)
    return model.cpu(), history


def train_nets(data: DataSet, specs, device, *, progress: bool = True):
    """:func:`train_net` for every MLP spec of ``specs`` (one layout, one training
    configuration, any seeds) as one population
    (:func:`deepftle.nets.population.train_population`): each net equals its solo run up to
    rounding. Returns one ``(model on the CPU, history)`` per spec, in order."""
    specs = list(specs)
    if not specs:
        raise ValueError("train_nets: no nets given")
    if not all(_is_mlp(s.arch) for s in specs):
        raise ValueError("train_nets trains MLPs as a population; train other nets one by one")
    if len({(repr(s.arch), s.train) for s in specs}) != 1:
        raise ValueError(
            "train_nets trains one layout and training configuration; got "
            f"{sorted({(describe(s.arch), s.epochs) for s in specs})}"
        )
    built = [s.build() for s in specs]
    models = [model.to(device) for model, _ in built]
    results = train_population(
        models,
        *_splits(data, device),
        specs[0].train,
        cross_entropy_loss,
        class_error,
        [gen for _, gen in built],
        progress=progress,
    )
    out = []
    for spec, model, (history, _) in zip(specs, models, results, strict=True):
        _report(spec, history, model)
        out.append((model.cpu(), history))
    return out


def load_net(path, arch: dict, device="cpu"):
    """A trained net of architecture ``arch`` (its checkpoint must match it), in eval mode on
    ``device`` with its parameters frozen."""
    model = load_model(path, expected=arch).to(device).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model


@torch.no_grad()
def softmax_probs(model, x: torch.Tensor, batch: int = 8192) -> np.ndarray:
    """Softmax outputs ``(n, classes)`` as float64 (computed on ``x``'s device, in batches)."""
    out = [
        torch.softmax(model(x[s : s + batch]), dim=1).double().cpu()
        for s in range(0, len(x), batch)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, 10))


def predict_all(data: DataSet, device):
    """Train then test inputs concatenated, with the contract's bookkeeping arrays."""
    x = torch.cat([data.inputs("train", device), data.inputs("test", device)])
    labels = np.concatenate([data.y_train, data.y_test])
    split = np.array(["train"] * len(data.y_train) + ["test"] * len(data.y_test))
    index = np.concatenate([np.arange(len(data.y_train)), np.arange(len(data.y_test))])
    return x, labels, split, index
