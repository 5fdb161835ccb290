r"""Train many small networks of one layout at once (a *population*).

Small nets are bound by per-step overhead (Python, kernel launches), not arithmetic. Here the
``S`` members' weights are stacked into ``(S, n_in, n_out)`` tensors and every layer is one
batched product (``baddbmm``), so one step of the population costs little more than one step of
one net. Each member keeps everything that makes it an independent training run:

- its own initialisation (copied from the ``S`` given :class:`deepftle.nets.mlp.MLP` objects);
- its own minibatch order: its own ``torch.Generator``, drawing exactly as
  :func:`deepftle.nets.train.train` does (``torch.randperm(len(x), generator=gen)`` once per epoch);
- its own optimiser state: ``torch.optim.SGD`` / ``Adam`` act elementwise, so one optimiser over
  the stacked tensors performs each member's own update (momentum buffers, Adam moments and
  weight decay are per element, hence per member; Adam runs its fused kernel, the same
  formula in one pass); the same constant or cosine schedule;
- the same per-epoch history rows and weight snapshots as the solo loop, and divergence
  detection per member (:class:`deepftle.nets.train.TrainingDiverged` naming the member).

The members' losses are summed before ``backward``; members share no parameter, so each one's
gradient is its own loss's gradient. Tanh nets with the energy or cross-entropy loss skip
autograd: :meth:`_Stack.backward` runs the same three matrix products per layer by hand. The
result of each member equals training it alone up to floating-point rounding (batched vs
single matrix products; ``tests/nets/test_population.py`` measures the drift after 3 epochs:
<= 2.2e-15 in float64, <= 1.7e-6 in float32).

Grouping pays for narrow nets only: a wide net is bound by arithmetic, and a population of them
runs on one core what separate jobs would spread over all
(:func:`deepftle.pipeline.seeds.trains_as_population` decides which nets share a job).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd
import torch
from torch import nn

from .mlp import MLP
from .train import (
    TrainConfig,
    TrainingDiverged,
    class_error,
    cross_entropy_loss,
    energy_loss,
    optimizer_and_schedule,
    run_epochs,
    sign_error,
)

__all__ = ["train_population"]

EVAL_BATCH = 8192  # rows per evaluation chunk, as deepftle.nets.train.evaluate


# ----------------------------------------------------------------------------- losses


def _energy_batched(out, t):
    """H per member: out (S, B, 1), t (S, B) -> (S,)."""
    return 0.5 * ((t.reshape(out.shape) - out) ** 2).mean(dim=(1, 2))


def _sign_error_batched(out, t):
    pred = torch.where(out.reshape(t.shape) >= 0, 1.0, -1.0)
    return (pred != t).to(torch.float64).mean(dim=1)


def _cross_entropy_batched(logits, labels):
    s, b, c = logits.shape
    return (
        nn.functional.cross_entropy(
            logits.reshape(s * b, c), labels.reshape(s * b), reduction="none"
        )
        .view(s, b)
        .mean(dim=1)
    )


def _class_error_batched(logits, labels):
    return (logits.argmax(dim=2) != labels).to(torch.float64).mean(dim=1)


_BATCHED = {
    energy_loss: _energy_batched,
    sign_error: _sign_error_batched,
    cross_entropy_loss: _cross_entropy_batched,
    class_error: _class_error_batched,
}


def _energy_output_grad(out, t):
    """dH/dO per member of H = 1/2 <(t - O)^2> over (B, d_out): (O - t) / (B d_out)."""
    return (out - t.reshape(out.shape)) / (out.shape[1] * out.shape[2])


def _cross_entropy_output_grad(logits, labels):
    """d CE / d logits per member of the mean cross-entropy over B: (softmax - onehot) / B."""
    grad = torch.softmax(logits, dim=2)
    grad.scatter_add_(
        2,
        labels.unsqueeze(2),
        torch.full(labels.shape + (1,), -1.0, dtype=grad.dtype, device=grad.device),
    )
    return grad.div_(logits.shape[1])


# loss -> its derivative by the net's output, per member: the losses with a hand-written backward
_OUTPUT_GRAD = {energy_loss: _energy_output_grad, cross_entropy_loss: _cross_entropy_output_grad}


def _batched(fn: Callable) -> Callable:
    """The per-member version of a solo loss/error ``fn(out, y) -> scalar``: ``(S, B, ...)`` ->
    ``(S,)``. Hand-written for the four functions of :mod:`deepftle.nets.train`, ``torch.vmap``
    else."""
    return _BATCHED.get(fn) or torch.vmap(fn)


def _tanh_(h: torch.Tensor) -> torch.Tensor:
    r"""tanh in place as :math:`2\sigma(2h) - 1`: ATen's vectorised sigmoid makes this four
    cheap passes about 2.5x faster than ``tanh`` on the CPU (measured at 64 x 250). Accurate
    to an absolute ~eps, the rounding of the matrix product that made ``h``."""
    return h.mul_(2).sigmoid_().mul_(2).sub_(1)


# ----------------------------------------------------------------------------- the population


class _Stack:
    """The members' parameters stacked: per linear layer (hidden layers, then the head) a
    weight ``(S, n_in, n_out)`` (transposed, so that the forward products need no transpose)
    and a bias ``(S, 1, n_out)``.

    The trainable ones are views of one flat buffer ``flat``, and their ``.grad`` views of one
    flat ``grad`` (backward accumulates into an existing ``.grad`` in place), so that the
    optimiser steps one tensor instead of two per layer: its update is elementwise, so this
    changes no number, only the per-tensor overhead.
    """

    def __init__(self, models: Sequence[MLP], *, readout_only: bool):
        lins = [m.hidden_linears() + [m.head] for m in models]
        head = len(lins[0]) - 1
        with torch.no_grad():
            stacked = [
                (
                    torch.stack([ls[i].weight.T for ls in lins]),
                    torch.stack([ls[i].bias for ls in lins]).unsqueeze(1),
                )
                for i in range(head + 1)
            ]
        trainable = [not readout_only or i == head for i in range(head + 1)]
        p0 = stacked[0][0]
        total = sum(
            t.numel() for pair, tr in zip(stacked, trainable, strict=True) if tr for t in pair
        )
        self.flat = torch.empty(total, dtype=p0.dtype, device=p0.device)
        self.flat.grad = torch.zeros_like(self.flat)
        self.weights, self.biases = [], []
        offset = 0
        for (w, b), tr in zip(stacked, trainable, strict=True):
            views = []
            for t in (w, b):
                if not tr:
                    views.append(t.clone())
                    continue
                view = self.flat[offset : offset + t.numel()].view(t.shape)
                with torch.no_grad():
                    view.copy_(t)
                view.requires_grad_(True)
                view.grad = self.flat.grad[offset : offset + t.numel()].view(t.shape)
                offset += t.numel()
                views.append(view)
            self.weights.append(views[0])
            self.biases.append(views[1])
        first = models[0]
        self.act = first.trunk[1]  # stateless elementwise module, shared by every layer
        self.fast_tanh = type(self.act) is nn.Tanh
        self.tanh_head = first.arch["output"] == "tanh"
        # state_dict key of each stacked tensor, for snapshots and write-back
        names = {id(p): n for n, p in first.named_parameters()}
        self.keys = (
            [names[id(lin.weight)] for lin in lins[0]],
            [names[id(lin.bias)] for lin in lins[0]],
        )
        self.order = list(first.state_dict())

    def zero_grad(self) -> None:
        self.flat.grad.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-member inputs ``(S, B, d_in)`` -> outputs ``(S, B, d_out)``."""
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self.act(h)
        return torch.tanh(h) if self.tanh_head else h

    @torch.no_grad()
    def forward_cached(self, x: torch.Tensor) -> torch.Tensor:
        r""":meth:`forward` without autograd, keeping what :meth:`backward` needs: the input and
        every hidden layer's activation :math:`a_\ell = \tanh(z_\ell)` (tanh nets only)."""
        acts = [x]
        h = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = _tanh_(h)
                acts.append(h)
        self._acts = acts
        return _tanh_(h) if self.tanh_head else h

    @torch.no_grad()
    def backward(self, delta: torch.Tensor) -> None:
        r"""Write each member's gradient into ``flat.grad`` from ``delta`` = :math:`\partial H /
        \partial z_{L+1}` ``(S, B, d_out)``, the derivative of the member's loss by its output
        layer's local field, after :meth:`forward_cached`.

        Per layer, from the top: :math:`\partial W_\ell = a_{\ell-1}^{\mathsf T}\delta_\ell`,
        :math:`\partial b_\ell = \sum_B \delta_\ell`, and
        :math:`\delta_{\ell-1} = (\delta_\ell W_\ell^{\mathsf T})\odot(1 - a_{\ell-1}^2)`
        (tanh, one fused ``tanh_backward`` pass): the three matrix products per layer that
        autograd would run, without its graph. Frozen layers (``readout_only``) are skipped, and
        the recursion stops below the lowest trainable layer."""
        acts, self._acts = self._acts, None
        for i in range(len(self.weights) - 1, -1, -1):
            w, b = self.weights[i], self.biases[i]
            if w.grad is None:  # frozen: so is everything below
                break
            torch.bmm(acts[i].transpose(1, 2), delta, out=w.grad)
            torch.sum(delta, dim=1, keepdim=True, out=b.grad)
            if i == 0 or self.weights[i - 1].grad is None:
                break
            delta = torch.ops.aten.tanh_backward(torch.bmm(delta, w.transpose(1, 2)), acts[i])

    @torch.no_grad()
    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """One input set ``(B, d_in)`` for every member -> ``(S, B, d_out)``; the first layer is
        one matrix product for all members (no copy of ``x`` per member)."""
        w, b = self.weights[0], self.biases[0]
        s, n_in, n_out = w.shape
        h = torch.addmm(b.reshape(1, s * n_out), x, w.transpose(0, 1).reshape(n_in, s * n_out))
        h = h.view(len(x), s, n_out).transpose(0, 1)
        last = len(self.weights) - 1
        act = _tanh_ if self.fast_tanh else self.act
        for i in range(1, last + 1):
            h = act(h)
            h = torch.baddbmm(self.biases[i], h, self.weights[i])
        return _tanh_(h) if self.tanh_head else h

    @torch.no_grad()
    def state_dict(self, member: int) -> dict[str, torch.Tensor]:
        """Member ``member``'s parameters, keyed and ordered as ``MLP.state_dict()``, on CPU."""
        flat = {}
        for w, b, kw, kb in zip(self.weights, self.biases, *self.keys, strict=True):
            flat[kw] = w[member].detach().T.cpu().clone(memory_format=torch.contiguous_format)
            flat[kb] = b[member, 0].detach().cpu().clone(memory_format=torch.contiguous_format)
        return {k: flat[k] for k in self.order}

    @torch.no_grad()
    def write_back(self, model: MLP, member: int) -> None:
        for w, b, lin in zip(
            self.weights, self.biases, model.hidden_linears() + [model.head], strict=True
        ):
            lin.weight.copy_(w[member].T)
            lin.bias.copy_(b[member, 0])


def _check_members(models, generators):
    if len(models) == 0:
        raise ValueError("a population needs at least one model")
    if len(generators) != len(models):
        raise ValueError(
            f"need one generator per model: {len(models)} models, {len(generators)} generators"
        )
    for name, objs in (("model", models), ("generator", generators)):
        if len({id(o) for o in objs}) != len(objs):
            raise ValueError(
                f"the same {name} object is given for two members; each member needs its own"
            )
    if not all(isinstance(m, MLP) for m in models):
        raise ValueError("every member must be a deepftle.nets.mlp.MLP")
    arch = models[0].arch
    for i, m in enumerate(models):
        if m.arch != arch:
            raise ValueError(
                f"member {i} has layout {m.arch}, member 0 has {arch}: a population "
                f"trains one layout"
            )
        p = next(m.parameters())
        p0 = next(models[0].parameters())
        if (p.device, p.dtype) != (p0.device, p0.dtype):
            raise ValueError(
                f"member {i} is on {p.device}/{p.dtype}, member 0 on {p0.device}/{p0.dtype}"
            )


@torch.no_grad()
def _evaluate(stack: _Stack, x, y, loss_b, error_b, batch: int = EVAL_BATCH):
    """Per-member mean loss and error over one data set (float64 tensors of shape (S,)),
    chunked as :func:`deepftle.nets.train.evaluate`."""
    s = stack.weights[0].shape[0]
    loss = torch.zeros(s, dtype=torch.float64)
    err = torch.zeros(s, dtype=torch.float64)
    for start in range(0, len(x), batch):
        out = stack.forward_shared(x[start : start + batch])
        yb = y[start : start + batch]
        yb = yb.unsqueeze(0).expand(s, *yb.shape)
        n = out.shape[1]
        loss += loss_b(out, yb).double().cpu() * n
        err += error_b(out, yb).double().cpu() * n
    return loss / len(x), err / len(x)


def train_population(
    models: Sequence[MLP],
    train_data,
    test_data,
    cfg: TrainConfig,
    loss_fn,
    error_fn,
    generators: Sequence[torch.Generator],
    *,
    progress: bool = True,
    on_diverge: str = "raise",
):
    """Train ``S = len(models)`` networks of one layout at once, each as
    :func:`deepftle.nets.train.train` would train it alone with ``generators[i]``.

    ``models``: MLPs of identical ``arch``, on one device and dtype; they are updated in place
    (their ``state_dict`` holds the trained weights, so each is saved as one checkpoint as
    before). ``train_data`` / ``test_data``: ``(x, y)`` tensors on that device, shared by all
    members. ``loss_fn`` / ``error_fn``: the solo functions (``energy_loss`` / ``sign_error``,
    ``cross_entropy_loss`` / ``class_error`` run as hand-batched versions; any other is batched
    with ``torch.vmap``). ``cfg``: as for ``train``; ``cfg.readout_only`` trains the heads only
    (trunks frozen and marked ``requires_grad=False``, as ``train`` does).

    Returns one ``(history, snapshots)`` per member, exactly as ``train`` returns them.
    ``on_diverge="raise"``: a member whose loss becomes NaN or infinite stops the whole job with
    :class:`TrainingDiverged` naming it (``.members`` lists the indices). ``"continue"``: the
    other members train on (members share nothing, so a NaN member cannot contaminate them);
    the diverged member's entry is its ``TrainingDiverged`` instead of a result, and its model
    holds the weights at divergence (as a solo run leaves it).
    """
    if on_diverge not in ("raise", "continue"):
        raise ValueError(f"on_diverge must be raise or continue, got {on_diverge!r}")
    models, generators = list(models), list(generators)
    _check_members(models, generators)
    s_count = len(models)
    x, y = train_data
    loss_b, error_b = _batched(loss_fn), _batched(error_fn)
    stack = _Stack(models, readout_only=cfg.readout_only)
    # tanh nets with the two losses of deepftle.nets.train: the hand-written backward of
    # _Stack.backward (the same gradient as autograd, without its graph); others: autograd
    output_grad = _OUTPUT_GRAD.get(loss_fn) if type(stack.act) is nn.Tanh else None
    # Adam: the fused kernel, one pass over the flat buffer (~7 % of a step at S = 16)
    opt, sched = optimizer_and_schedule(
        [stack.flat], cfg, len(x), fused=stack.flat.device.type in ("cpu", "cuda") or None
    )

    rows = [[] for _ in models]
    snapshots = [{} for _ in models]
    failed: dict[int, TrainingDiverged] = {}
    diverged_mask = torch.zeros(s_count, dtype=torch.bool, device=x.device)

    def diverge(members, epoch, what, values):
        for i in members:
            who = f"member {i} of {s_count}: " if s_count > 1 else ""  # one net: as train()
            err = TrainingDiverged(f"{who}training diverged at epoch {epoch}: {what} {values[i]!r}")
            err.members = [i]
            failed[i] = err
            stack.write_back(models[i], i)
            diverged_mask[i] = True
        if on_diverge == "raise":
            if s_count == 1:
                raise failed[members[0]]
            detail = "; ".join(str(failed[i]) for i in members)
            err = TrainingDiverged(f"population training: {detail}")
            err.members = list(members)
            raise err

    def record(epoch):
        loss, err = _evaluate(stack, x, y, loss_b, error_b)
        test_loss, test_err = _evaluate(stack, *test_data, loss_b, error_b)
        bad = [
            i
            for i in range(s_count)
            if i not in failed and not (math.isfinite(loss[i]) and math.isfinite(test_loss[i]))
        ]
        if bad:
            diverge(
                bad,
                epoch,
                "loss, test loss",
                {i: (float(loss[i]), float(test_loss[i])) for i in bad},
            )
        lr = opt.param_groups[0]["lr"]
        for i in range(s_count):
            if i in failed:
                continue
            rows[i].append(
                dict(
                    epoch=epoch,
                    loss=float(loss[i]),
                    train_error=float(err[i]),
                    test_loss=float(test_loss[i]),
                    test_error=float(test_err[i]),
                    lr=lr,
                )
            )
        alive = [i for i in range(s_count) if i not in failed]
        mean_loss = sum(float(loss[i]) for i in alive) / max(1, len(alive))
        worst = max((float(test_err[i]) for i in alive), default=math.nan)
        return dict(mean_loss=f"{mean_loss:.4g}", worst_test_error=f"{worst:.4f}")

    def snapshot(epoch):
        if epoch in cfg.snapshot_epochs:
            for i in range(s_count):
                if i not in failed:
                    snapshots[i][epoch] = stack.state_dict(i)

    def train_epoch(epoch):
        perms = torch.stack([torch.randperm(len(x), generator=g) for g in generators])
        perms = perms.to(x.device)
        for start in range(0, len(x), cfg.batch_size):
            idx = perms[:, start : start + cfg.batch_size]
            batch = idx.shape[1]
            idx = idx.reshape(-1)
            xb = x.index_select(0, idx).view(s_count, batch, *x.shape[1:])
            yb = y.index_select(0, idx).view(s_count, batch, *y.shape[1:])
            if output_grad is None:
                losses = loss_b(stack.forward(xb), yb)
            else:
                out = stack.forward_cached(xb)
                losses = loss_b(out, yb)
            ok = torch.isfinite(losses) | diverged_mask
            if not bool(ok.all()):
                bad = [i for i in range(s_count) if not bool(ok[i])]
                with torch.no_grad():
                    diverge(bad, epoch, "minibatch loss", {i: float(losses[i]) for i in bad})
            if output_grad is None:
                stack.zero_grad()
                losses.sum().backward()
            else:
                delta = output_grad(out, yb)
                stack.backward(
                    torch.ops.aten.tanh_backward(delta, out) if stack.tanh_head else delta
                )
            opt.step()
            if sched is not None:
                sched.step()

    run_epochs(
        cfg,
        train_epoch,
        record,
        snapshot,
        desc=f"epochs ({s_count} nets)",
        progress=progress,
        stop=lambda: len(failed) == s_count,
    )  # all diverged: stop

    for i, model in enumerate(models):
        if i not in failed:
            stack.write_back(model, i)
        if cfg.readout_only:
            for p in model.trunk.parameters():
                p.requires_grad_(False)
        model.eval()
    return [
        failed[i] if i in failed else (pd.DataFrame(rows[i]), snapshots[i]) for i in range(s_count)
    ]
