r"""One training loop for both problems.

Losses: the circle problem's energy :math:`H = \tfrac12 \langle (t - O)^2 \rangle` (averaged over
the minibatch, so the learning rate does not depend on its size) with one tanh output and
targets :math:`t = \pm 1`; MNIST's cross-entropy of softmax outputs. Optimiser SGD (optional
momentum) or Adam, constant or cosine learning-rate schedule, shuffling from a seeded generator
(CPU runs are bitwise repeatable). ``readout_only`` freezes the hidden layers at their initial
weights and trains the head alone (random features). Training stops with
:class:`TrainingDiverged` as soon as a loss becomes NaN or infinite.
"""

from __future__ import annotations

import copy
import math
import sys
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "TrainConfig",
    "TrainingDiverged",
    "energy_loss",
    "sign_error",
    "cross_entropy_loss",
    "class_error",
    "train",
    "evaluate",
    "width_scaled_lr",
    "train_config",
    "TRAIN_SETTINGS",
    "optimizer_and_schedule",
    "run_epochs",
]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def energy_loss(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """H = 1/2 <(t - O)^2> over the minibatch."""
    return 0.5 * ((t.reshape(out.shape) - out) ** 2).mean()


def sign_error(out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Fraction of inputs with sign(O) != t (O = 0 counts as +1)."""
    pred = torch.where(out.reshape(t.shape) >= 0, 1.0, -1.0)
    return (pred != t).to(torch.float64).mean()


def cross_entropy_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits, labels)


def class_error(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=1) != labels).to(torch.float64).mean()


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "sgd"  # "sgd" or "adam"
    lr: float = 0.05
    epochs: int = 60
    batch_size: int = 64
    schedule: str = "constant"  # "constant" or "cosine"
    momentum: float = 0.0
    weight_decay: float = 0.0
    readout_only: bool = False
    snapshot_epochs: tuple[int, ...] = field(default_factory=tuple)
    eval_every: int = 1  # evaluate both sets every this many epochs and the last

    def evaluates(self, epoch: int) -> bool:
        """Whether the training and test sets are evaluated (a history row) after ``epoch``:
        before training, every ``eval_every`` epochs and after the last."""
        return epoch % self.eval_every == 0 or epoch == self.epochs

    def __post_init__(self):
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be sgd or adam, got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be constant or cosine, got {self.schedule!r}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr!r}")
        if (
            isinstance(self.eval_every, bool)
            or not isinstance(self.eval_every, int)
            or self.eval_every < 1
        ):
            raise ValueError(f"eval_every must be a positive integer, got {self.eval_every!r}")
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError(
                f"need epochs >= 0 and batch_size >= 1, got {self.epochs}, {self.batch_size}"
            )


def width_scaled_lr(lr: float, width: int, lr_width: float | None) -> float:
    """The learning rate of a net of ``width`` units per layer: ``lr * min(1, lr_width / width)``
    (fixed-lr SGD stalls or diverges on wide nets); ``lr_width=None`` keeps ``lr`` at every width.
    The one place this rule lives (full training and SGD readouts both use it)."""
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width!r}")
    if lr_width is None:
        return float(lr)
    if not lr_width > 0:
        raise ValueError(f"lr_width must be > 0 or None, got {lr_width!r}")
    return float(lr) * min(1.0, float(lr_width) / int(width))


#: the keys of a config's optimiser block that :func:`train_config` reads (``circle.train``;
#: ``mnist.train`` holds a subset of them beside the net's layout and seed)
TRAIN_SETTINGS = (
    "optimizer",
    "lr",
    "batch_size",
    "schedule",
    "momentum",
    "weight_decay",
    "lr_width",
    "eval_every",
)


def train_config(
    settings: dict,
    *,
    epochs: int,
    width: int | None = None,
    readout_only: bool = False,
    snapshot_epochs=(),
) -> TrainConfig:
    """The :class:`TrainConfig` of one net from a config's optimiser block: the one place a
    settings dict becomes a TrainConfig.

    ``settings`` holds optimizer, lr, batch_size, schedule and optionally momentum (absent:
    0), weight_decay (absent: 0), lr_width (absent or None: one learning rate for every width;
    else :func:`width_scaled_lr` of the net's ``width``, which must then be given) and
    eval_every (absent: 1). Any other key is an error naming it."""
    unknown = sorted(set(settings) - set(TRAIN_SETTINGS))
    if unknown:
        raise ValueError(
            f"unknown training setting(s) {unknown}; allowed: {sorted(TRAIN_SETTINGS)}"
        )
    missing = sorted({"optimizer", "lr", "batch_size", "schedule"} - set(settings))
    if missing:
        raise ValueError(f"missing training setting(s) {missing}")
    lr_width = settings.get("lr_width")
    if lr_width is not None and width is None:
        raise ValueError("lr_width scales the learning rate with the net's width: give width")
    lr = (
        float(settings["lr"])
        if lr_width is None
        else width_scaled_lr(settings["lr"], width, lr_width)
    )
    return TrainConfig(
        optimizer=settings["optimizer"],
        lr=lr,
        epochs=int(epochs),
        batch_size=int(settings["batch_size"]),
        schedule=settings["schedule"],
        momentum=settings.get("momentum", 0.0),
        weight_decay=settings.get("weight_decay", 0.0),
        readout_only=readout_only,
        eval_every=int(settings.get("eval_every", 1)),
        snapshot_epochs=tuple(int(e) for e in snapshot_epochs),
    )


@torch.no_grad()
def evaluate(model, x, y, loss_fn, error_fn, *, batch: int = 8192) -> tuple[float, float]:
    """Mean loss and error over a data set, in batches."""
    model.eval()
    loss, err = 0.0, 0.0
    for start in range(0, len(x), batch):
        out = model(x[start : start + batch])
        n = len(out)
        loss += float(loss_fn(out, y[start : start + batch])) * n
        err += float(error_fn(out, y[start : start + batch])) * n
    return loss / len(x), err / len(x)


def _parameters(model, readout_only):
    if not readout_only:
        return list(model.parameters())
    for p in model.trunk.parameters():
        p.requires_grad_(False)
    return list(model.head.parameters())


def optimizer_and_schedule(params, cfg: TrainConfig, n_train: int, *, fused: bool | None = None):
    """``(optimizer, scheduler or None)`` of ``cfg`` over ``params``: SGD (momentum, weight
    decay) or Adam (weight decay; ``fused`` as torch's Adam takes it); the cosine schedule
    steps once per minibatch and decays the learning rate to 0 over the ``cfg.epochs`` epochs
    of ``n_train`` training points."""
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    else:
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    total = max(1, cfg.epochs * steps_per_epoch)
    sched = (
        torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
        )
        if cfg.schedule == "cosine"
        else None
    )
    return opt, sched


def run_epochs(
    cfg: TrainConfig, train_epoch, record, snapshot, *, desc: str, progress: bool = True, stop=None
) -> None:
    """The epochs of one training run, as every loop runs them: ``record(epoch)`` (evaluate,
    append the history rows, return the progress bar's fields) and ``snapshot(epoch)`` before
    training, then per epoch ``train_epoch(epoch)``, ``record`` where ``cfg.evaluates(epoch)``
    and ``snapshot``; ``stop()`` (optional) true after an epoch ends the run early."""
    record(0)
    snapshot(0)
    bar = tqdm(
        range(1, cfg.epochs + 1), desc=desc, file=sys.stderr, disable=not progress, mininterval=2.0
    )
    for epoch in bar:
        train_epoch(epoch)
        if cfg.evaluates(epoch):
            bar.set_postfix(record(epoch))
        snapshot(epoch)
        if stop is not None and stop():
            break


def train(
    model: nn.Module,
    train_data,
    test_data,
    cfg: TrainConfig,
    loss_fn,
    error_fn,
    generator: torch.Generator,
    *,
    progress: bool = True,
):
    """Train ``model`` in place.

    ``train_data`` / ``test_data`` are ``(x, y)`` tensors on the model's device. Returns
    ``(history, snapshots)``: a DataFrame with one row per evaluated epoch (0 = before
    training, every ``cfg.eval_every``-th and the last; epoch, loss, train_error, test_loss,
    test_error, lr) and ``{epoch: state_dict}`` for the epochs in
    ``cfg.snapshot_epochs``.
    """
    x, y = train_data
    params = _parameters(model, cfg.readout_only)
    opt, sched = optimizer_and_schedule(params, cfg, len(x))
    rows, snapshots = [], {}

    def record(epoch):
        loss, err = evaluate(model, x, y, loss_fn, error_fn)
        test_loss, test_err = evaluate(model, *test_data, loss_fn, error_fn)
        if not (math.isfinite(loss) and math.isfinite(test_loss)):
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}: loss {loss!r}, test loss {test_loss!r}"
            )
        rows.append(
            dict(
                epoch=epoch,
                loss=loss,
                train_error=err,
                test_loss=test_loss,
                test_error=test_err,
                lr=opt.param_groups[0]["lr"],
            )
        )
        return dict(loss=f"{loss:.4g}", test_error=f"{test_err:.4f}")

    def snapshot(epoch):
        if epoch in cfg.snapshot_epochs:
            snapshots[epoch] = copy.deepcopy(
                {k: v.detach().cpu() for k, v in model.state_dict().items()}
            )

    def train_epoch(epoch):
        model.train()
        perm = torch.randperm(len(x), generator=generator).to(x.device)
        for start in range(0, len(x), cfg.batch_size):
            idx = perm[start : start + cfg.batch_size]
            loss = loss_fn(model(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}: minibatch loss {float(loss)!r}"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()

    run_epochs(cfg, train_epoch, record, snapshot, desc="epochs", progress=progress)
    model.eval()
    return pd.DataFrame(rows), snapshots
