"""MNIST networks: the main net, the ensemble members and the width-sweep nets, one training
call each (one pipeline job per net), and what every later stage reads from them.

Every net is an ``N x L`` MLP with a softmax head (:func:`net_architecture`), trained with
:func:`deepftle.nets.train.train` on standardised pixels, cross-entropy. Seeds: the main net uses
``train.seed``; ensemble member ``m`` and the width-``N`` net use
:func:`deepftle.pipeline.seeds.job_seed` of it with their name, so every net starts from other
weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..nets.archs import build_net, describe, init_net
from ..nets.checkpoints import load_model
from ..nets.population import train_population
from ..nets.train import class_error, cross_entropy_loss, train_config
from ..nets.train import train as train_loop
from .data import load_mnist, pixels, standardise

__all__ = [
    "MnistData",
    "load_tensors",
    "net_architecture",
    "describe_protocol",
    "train_mnist_net",
    "train_mnist_nets",
    "load_mnist_net",
    "softmax_probs",
    "predict_all",
]


class MnistData:
    """The four arrays of the MNIST folder as uint8 (``x_*`` ``(n, 784)``) / int64 arrays."""

    def __init__(self, folder: str | Path):
        self.x_train, self.y_train, self.x_test, self.y_test = load_mnist(Path(folder))
        print(
            f"MNIST from {folder}: train {self.x_train.shape}, test {self.x_test.shape}", flush=True
        )

    def inputs(self, split: str, device="cpu") -> torch.Tensor:
        """Standardised network inputs of ``split`` (train / test) on ``device``."""
        x = self.x_train if split == "train" else self.x_test
        return standardise(pixels(x)).to(device)

    def labels(self, split: str, device="cpu") -> torch.Tensor:
        y = self.y_train if split == "train" else self.y_test
        return torch.as_tensor(y).to(device)


def load_tensors(source) -> MnistData:
    """The data set from its folder, or from the list of its four files (a rule's input)."""
    if not isinstance(source, (str, Path)):
        source = Path(list(source)[0]).parent
    return MnistData(source)


#: the keys of ``mnist.train`` beside its optimiser settings (:func:`train_config` reads those)
NET_SETTINGS = ("width", "depth", "activation", "epochs", "seed")


def net_architecture(train: dict) -> dict:
    """The MLP architecture of the ``mnist.train`` config (784 pixels -> 10 classes, softmax):
    what :func:`train_mnist_net` builds and what the later stages require of its checkpoint."""
    return dict(
        d_in=784,
        width=train["width"],
        depth=train["depth"],
        d_out=10,
        activation=train["activation"],
        output="softmax",
    )


def _build(train: dict, seed: int, width: int | None, epochs: int | None, arch: dict | None = None):
    """``(protocol, model, generator, TrainConfig)`` of one net: ``train`` with the ``width`` /
    ``epochs`` overrides, the model (the ``train`` MLP, or ``arch``: a
    :func:`deepftle.nets.archs.build_net` dict) initialised (fan-in) from
    ``Generator().manual_seed(seed)``, which then shuffles its minibatches."""
    p = dict(train)
    if width is not None:
        p["width"] = int(width)
    if epochs is not None:
        p["epochs"] = int(epochs)
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    model = build_net(net_architecture(p) if arch is None else arch)
    init_net(model, gen)
    cfg = train_config(p, epochs=p["epochs"], ignore=NET_SETTINGS)
    return p, model, gen, cfg


def initial_net(
    train: dict, *, seed: int, width: int | None = None, arch: dict | None = None
) -> torch.nn.Module:
    """The net of the ``mnist.train`` protocol with seed ``seed`` as it starts training: the
    same initial weights :func:`train_mnist_net` draws (in eval mode)."""
    return _build(train, seed, width, None, arch)[1].eval()


def _report(p, seed, history, model):
    last = history.iloc[-1]
    print(
        f"{describe(model.arch)}, {p['epochs']} epochs, seed {seed}: train accuracy "
        f"{1 - last['train_error']:.4%}, test accuracy {1 - last['test_error']:.4%}",
        flush=True,
    )


def _splits(data: MnistData, device):
    return (
        (data.inputs("train", device), data.labels("train", device)),
        (data.inputs("test", device), data.labels("test", device)),
    )


def describe_protocol(train: dict) -> str:
    """``"SGD lr 0.05, cosine, 20 epochs"``: a net's training protocol in a caption."""
    name = {"sgd": "SGD", "adam": "Adam"}.get(train["optimizer"], train["optimizer"])
    return f"{name} lr {train['lr']:g}, {train['schedule']}, {int(train['epochs'])} epochs"


def train_mnist_net(
    data: MnistData,
    train: dict,
    device,
    *,
    seed: int,
    width: int | None = None,
    epochs: int | None = None,
    progress: bool = True,
    arch: dict | None = None,
):
    """Build, initialise (fan-in, seeded) and train one net of the ``mnist.train`` protocol;
    ``width`` / ``epochs`` override the config's; ``arch`` (a :func:`deepftle.nets.archs.build_net`
    dict) replaces its MLP by another architecture. Returns ``(model on the CPU, history)``."""
    if arch is None:  # the MLP: a population of one (hand-written backward, same arithmetic)
        return train_mnist_nets(
            data, train, device, [dict(seed=seed, width=width, epochs=epochs)], progress=progress
        )[0]
    p, model, gen, cfg = _build(train, seed, width, epochs, arch)
    model.to(device)
    history, _ = train_loop(
        model, *_splits(data, device), cfg, cross_entropy_loss, class_error, gen, progress=progress
    )
    _report(p, seed, history, model)
    return model.cpu(), history


def train_mnist_nets(data: MnistData, train: dict, device, nets, *, progress: bool = True):
    """:func:`train_mnist_net` for every ``nets[i]`` (dicts of its keyword arguments ``seed``,
    ``width``, ``epochs``; one layout and one epoch count) as one population
    (:func:`deepftle.nets.population.train_population`): each net equals its solo run up to
    rounding. Returns one ``(model on the CPU, history)`` per net, in order."""
    built = [_build(train, n["seed"], n.get("width"), n.get("epochs")) for n in nets]
    if not built:
        raise ValueError("train_mnist_nets: no nets given")
    if len({(b[0]["width"], b[0]["epochs"]) for b in built}) != 1:
        raise ValueError(
            f"train_mnist_nets trains one layout and epoch count; got "
            f"{sorted({(b[0]['width'], b[0]['epochs']) for b in built})}"
        )
    models = [model.to(device) for _, model, _, _ in built]
    results = train_population(
        models,
        *_splits(data, device),
        built[0][3],
        cross_entropy_loss,
        class_error,
        [gen for _, _, gen, _ in built],
        progress=progress,
    )
    out = []
    for (p, _, _, _), n, model, (history, _) in zip(built, nets, models, results, strict=True):
        _report(p, n["seed"], history, model)
        out.append((model.cpu(), history))
    return out


def load_mnist_net(
    path, train: dict, device="cpu", width: int | None = None, arch: dict | None = None
):
    """A trained net of the ``mnist.train`` layout (``width`` overrides) or of ``arch``, in
    eval mode on ``device`` with its parameters frozen."""
    if arch is None:
        arch = net_architecture(dict(train, **({"width": int(width)} if width else {})))
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


def predict_all(data: MnistData, device):
    """Train then test inputs concatenated, with the contract's bookkeeping arrays."""
    x = torch.cat([data.inputs("train", device), data.inputs("test", device)])
    labels = np.concatenate([data.y_train, data.y_test])
    split = np.array(["train"] * len(data.y_train) + ["test"] * len(data.y_test))
    index = np.concatenate([np.arange(len(data.y_train)), np.arange(len(data.y_test))])
    return x, labels, split, index
