r"""Targeted attack producing a path of images from one class into another.

Methods (pixels in [0, 1], every step ``x <- clip(x + dx, 0, 1)``):

- ``ce_l2`` (default): steps of L2 length at most ``step`` down the gradient of the target's
  cross-entropy :math:`-\log p_t(x)`, the gradient first projected onto the directions the
  box [0, 1] allows (components pushing a pixel beyond 0 or 1 dropped) and then normalised;
  optionally kept inside an L2 ball of radius ``eps``. A step is kept only if it lowers the
  loss (backtracking), and a start stuck in a local minimum is pulled toward a guide image of
  the target class (see :func:`_attack`). Why these steps: sign steps of a fixed length
  (iterated FGSM, method ``pgd`` without a ball) oscillate around the decision boundary of the
  saturated net; ``bench/attack.py`` compares the variants on test 9s.
- ``margin_l2``: the same on the logit margin :math:`m(x) = \max_{j \ne t} z_j - z_t`
  (Carlini-Wagner's margin).
- ``pgd`` (Madry et al. 2018): sign steps of L-inf length ``step`` on the cross-entropy of the
  target, projected onto the L-inf ball of radius ``eps`` around the start.

The attack runs until the target probability reaches ``stop_prob`` (the path then ends inside
the target's region) or ``max_steps``. :func:`attack_batch` attacks many starts at once (each
image its own path); :func:`attack_path` records one path image by image.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = [
    "METHODS",
    "AttackFailed",
    "AttackSettings",
    "margin",
    "attack_batch",
    "attack_path",
    "nearest_guides",
    "candidate_starts",
    "first_successful_path",
]

METHODS = ("ce_l2", "margin_l2", "pgd")
WINDOW = 200  # iterations over which a row must lower its loss by 1 %
KICK = 20.0  # L2 length of the pull out of a local minimum, in units of the step


class AttackFailed(RuntimeError):
    """No candidate start reached the target probability."""


@dataclass(frozen=True)
class AttackSettings:
    target: int
    method: str = "ce_l2"
    step: float = 0.01
    eps: float | None = None
    stop_prob: float = 0.99
    max_steps: int = 6000

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"attack method must be one of {METHODS}, got {self.method!r}")
        if self.method == "pgd" and (self.eps is None or self.eps <= 0):
            raise ValueError("attack method pgd needs a positive eps (L-inf radius)")
        if not self.step > 0:
            raise ValueError(f"attack step must be > 0, got {self.step!r}")
        if not 0 < self.stop_prob <= 1:
            raise ValueError(f"stop_prob must be in (0, 1], got {self.stop_prob!r}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps!r}")


def margin(logits: torch.Tensor, target: int) -> torch.Tensor:
    """max over the other classes of the logit minus the target's logit, per row (< 0: the
    target wins)."""
    other = logits.clone()
    other[:, target] = -torch.inf
    return other.max(dim=1).values - logits[:, target]


def _step(x, x0, grad, s: AttackSettings, alpha=None):
    """One attack step from ``x`` (rows) given the loss gradient; ``alpha`` (per row) is the
    step length of the L2 methods (default ``s.step``)."""
    if s.method == "pgd":
        x = x - s.step * grad.sign()
        x = torch.minimum(torch.maximum(x, x0 - s.eps), x0 + s.eps)
        return x.clamp(0.0, 1.0)
    blocked = ((x <= 0) & (grad > 0)) | ((x >= 1) & (grad < 0))
    g = torch.where(blocked, torch.zeros_like(grad), grad)
    norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    length = s.step if alpha is None else alpha[:, None]
    x = (x - length * g / torch.where(norm > 0, norm, torch.ones_like(norm))).clamp(0.0, 1.0)
    if s.eps is not None:
        d = x - x0
        dn = torch.linalg.vector_norm(d, dim=1, keepdim=True)
        x = x0 + d * torch.clamp(s.eps / torch.where(dn > 0, dn, torch.ones_like(dn)), max=1.0)
    return x


def _loss_and_probs(model, x, s: AttackSettings, preprocess):
    logits = model(preprocess(x) if preprocess else x)
    probs = torch.softmax(logits.detach(), dim=1)
    if s.method in ("pgd", "ce_l2"):
        tgt = torch.full((len(x),), s.target, dtype=torch.long, device=logits.device)
        loss = nn.functional.cross_entropy(logits, tgt, reduction="none")
    else:
        loss = margin(logits, s.target)
    return loss, probs


def _evaluate(model, x, s, preprocess):
    """Per-row loss, target probability and loss gradient at ``x``."""
    xa = x.detach().clone().requires_grad_(True)
    loss, probs = _loss_and_probs(model, xa, s, preprocess)
    (grad,) = torch.autograd.grad(loss.sum(), xa)
    return loss.detach(), probs[:, s.target].double(), grad


def _attack(model, x0, s: AttackSettings, preprocess, *, record: bool, progress: bool, guides=None):
    """The attack loop on the rows of ``x0``. L2 methods: a step is kept only if it lowers the
    row's loss (else its length is halved; after a kept step it grows back by 1.5x up to
    ``s.step``), so the loss falls monotonically and no step overshoots a narrow valley (fixed
    steps zigzag there for thousands of iterations). A row whose step length fell below
    1e-3 ``s.step`` sits in a local minimum of the loss inside the box [0, 1] (so does a row
    whose loss fell by less than 1 % over the last ``WINDOW`` iterations): it moves
    ``KICK * s.step`` (L2) toward its ``guides`` row (an image of the target class; without
    guides, in a seeded random direction), recorded as a step of the path, and goes on. pgd:
    every step is kept. ``max_steps`` bounds the iterations. Returns the end images, reached,
    best target probability, number of kept steps, number of kicks and (``record``) the list of
    kept images of row 0."""
    from tqdm.auto import tqdm

    model.eval()
    x0 = x0.detach().reshape(len(x0), -1)
    x = x0.clone()
    n, dev = len(x0), x0.device
    loss, p, grad = _evaluate(model, x, s, preprocess)
    best = p.clone()
    reached = p >= s.stop_prob
    active = ~reached
    alpha = torch.full((n,), float(s.step), dtype=x0.dtype, device=dev)
    steps = torch.zeros(n, dtype=torch.long, device=dev)
    kicks = torch.zeros(n, dtype=torch.long, device=dev)
    gen = torch.Generator().manual_seed(0)  # CPU stream: the same kicks on every device
    path = [x[0].clone()] if record else None
    bar = tqdm(
        range(s.max_steps),
        desc="attack steps",
        file=sys.stderr,
        disable=not progress,
        mininterval=2.0,
    )
    checkpoint = loss.clone()
    for it in bar:
        if not active.any():
            break
        idx = torch.nonzero(active).flatten()
        cand = _step(x[idx], x0[idx], grad[idx], s, alpha[idx])
        c_loss, c_p, c_grad = _evaluate(model, cand, s, preprocess)
        keep = (
            torch.ones_like(c_loss, dtype=torch.bool) if s.method == "pgd" else c_loss < loss[idx]
        )
        k = idx[keep]
        x[k], loss[k], grad[k], p[k] = cand[keep], c_loss[keep], c_grad[keep], c_p[keep]
        steps[k] += 1
        alpha[k] = torch.clamp(alpha[k] * 1.5, max=float(s.step))
        alpha[idx[~keep]] *= 0.5
        best[idx] = torch.maximum(best[idx], p[idx])
        reached |= p >= s.stop_prob
        active &= ~reached
        stuck = alpha < 1e-3 * s.step
        if (it + 1) % WINDOW == 0:  # or crawling: the loss fell by < 1 % over the window
            stuck |= checkpoint - loss < 0.01 * checkpoint.abs()
            checkpoint = loss.clone()
        stalled = torch.nonzero(active & stuck).flatten()
        if len(stalled):
            if guides is None:
                noise = torch.randn(x[stalled].shape, generator=gen, dtype=x.dtype).to(dev)
            else:
                noise = guides[stalled].to(x.dtype) - x[stalled]
            noise *= KICK * s.step / torch.linalg.vector_norm(noise, dim=1, keepdim=True)
            x[stalled] = (x[stalled] + noise).clamp(0.0, 1.0)
            loss[stalled], p[stalled], grad[stalled] = _evaluate(model, x[stalled], s, preprocess)
            alpha[stalled] = float(s.step)
            kicks[stalled] += 1
            steps[stalled] += 1
        if record and (bool(keep[0]) or 0 in stalled.tolist()):
            path.append(x[0].clone())
        bar.set_postfix(
            active=int(active.sum()), reached=int(reached.sum()), p=f"{float(p[0]):.3f}"
        )
    bar.close()
    return x, reached.cpu(), best.cpu(), steps.cpu(), kicks.cpu(), path


def attack_batch(
    model: nn.Module,
    x0: torch.Tensor,
    s: AttackSettings,
    preprocess=None,
    *,
    progress: bool = True,
    guides=None,
):
    """Attack every row of ``x0`` (pixels) independently; a row stops once its target
    probability reaches ``s.stop_prob``. Returns ``(x_end, reached, best_p, steps)``: end
    images, whether each reached, its highest target probability, its number of steps."""
    x, reached, best, steps, _, _ = _attack(
        model, x0, s, preprocess, record=False, progress=progress, guides=guides
    )
    return x, reached, best, steps


def attack_path(
    model: nn.Module,
    x0: torch.Tensor,
    s: AttackSettings,
    preprocess=None,
    *,
    progress: bool = True,
    guide=None,
):
    """One attack from the image ``x0`` (pixels), recording every image: returns
    ``(path (steps + 1, d), reached, best_p, kicks)``; row 0 is the start."""
    guides = None if guide is None else guide.reshape(1, -1)
    _, reached, best, _, kicks, path = _attack(
        model, x0.reshape(1, -1), s, preprocess, record=True, progress=progress, guides=guides
    )
    return torch.stack(path), bool(reached[0]), float(best[0]), int(kicks[0])


@torch.no_grad()
def nearest_guides(starts: torch.Tensor, images: torch.Tensor, ok) -> torch.Tensor:
    """For every start image the nearest (pixel L2) of ``images[ok]`` (e.g. the training images
    the net recognises as the target class): where a stalled attack is pulled."""
    pool = images[torch.as_tensor(np.asarray(ok, dtype=bool), device=images.device)]
    if len(pool) == 0:
        raise ValueError("no image of the target class to guide the attack")
    return pool[torch.cdist(starts.reshape(len(starts), -1), pool).argmin(1)]


@torch.no_grad()
def candidate_starts(
    model,
    pixels: torch.Tensor,
    labels,
    *,
    source: int,
    min_prob: float,
    in_cluster=None,
    first: int | None = None,
    preprocess=None,
) -> list[int]:
    """Test indices of candidate start images, in increasing index order: images of class
    ``source`` classified as ``source`` with probability ``>= min_prob`` and (``in_cluster``, a
    boolean array over all images) inside the source cluster of the map; ``first`` (if given)
    is put at the front whatever it is."""
    labels = np.asarray(labels)
    probs = torch.softmax(model(preprocess(pixels) if preprocess else pixels), dim=1).cpu()
    ok = (labels == source) & (probs.argmax(1).numpy() == source)
    ok &= probs[:, source].numpy() >= min_prob
    if in_cluster is not None:
        ok &= np.asarray(in_cluster, dtype=bool)
    order = [int(i) for i in np.flatnonzero(ok)]
    if first is not None:
        if not 0 <= first < len(pixels):
            raise ValueError(f"adversarial start_index {first} outside 0..{len(pixels) - 1}")
        order = [int(first)] + [i for i in order if i != first]
    return order


def first_successful_path(
    model,
    pixels: torch.Tensor,
    candidates: list[int],
    *,
    k: int,
    s: AttackSettings,
    preprocess=None,
    log=print,
    guides=None,
    detour=None,
    max_detour: float = 1.0,
):
    """Attack the candidates in order until one reaches ``s.stop_prob`` with a detour (the
    fraction of its steps ``detour(path)`` finds in a third class) of at most ``max_detour``;
    try at most ``k``. When every path that reached detours more, the one with the smallest
    detour is returned (the caller states it). ``guides`` (optional): a callable giving the
    guide image of a start index. Returns ``(index, path, kicks, tried)`` with ``tried`` =
    [(index, best p, detour), ...]; raises :class:`AttackFailed` naming every start tried and
    its best target probability when none reached it."""
    tried, best_path = [], None
    for index in candidates[:k]:
        guide = None if guides is None else guides(index)
        path, reached, best, kicks = attack_path(model, pixels[index], s, preprocess, guide=guide)
        d = float(detour(path)) if (detour is not None and reached) else 0.0
        tried.append((index, best, d))
        log(
            f"start test image {index}: {len(path) - 1} steps ({kicks} pulls out of local "
            f"minima), best p({s.target}) = {best:.4f}, "
            f"{'reached' if reached else 'NOT reached'} {s.stop_prob}"
            + (f", {d:.1%} of its steps in a third class" if reached else "")
        )
        if reached and (best_path is None or d < best_path[3]):
            best_path = (index, path, kicks, d)
        if reached and d <= max_detour:
            return index, path, kicks, tried
    if best_path is not None:
        log(
            f"no path within the detour limit {max_detour:.0%}: kept start {best_path[0]} "
            f"({best_path[3]:.1%} of its steps in a third class)"
        )
        return best_path[0], best_path[1], best_path[2], tried
    detail = ", ".join(f"{i} (best p = {p:.4f})" for i, p, _ in tried) or "none (no candidate)"
    raise AttackFailed(
        f"the {s.method} attack reached p({s.target}) >= {s.stop_prob} from none "
        f"of the {len(tried)} start(s) tried within {s.max_steps} steps of "
        f"{s.step}: {detail}; nothing written"
    )
