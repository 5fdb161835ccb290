r"""Targeted attack producing a path of images from one class into another.

Methods (pixels in [0, 1], every step ``x <- clip(x + dx, 0, 1)``):

- ``margin_l2`` (default): steps of L2 length ``step`` down the gradient of the logit margin
  :math:`m(x) = \max_{j \ne t} z_j - z_t` (Carlini-Wagner's margin), the gradient first
  projected onto the directions the box [0, 1] allows (components pushing a pixel beyond 0 or 1
  dropped) and then normalised; optionally kept inside an L2 ball of radius ``eps``. On a
  saturated softmax net the cross-entropy's gradient vanishes and sign steps oscillate around
  the decision boundary (the iterated FGSM of earlier versions stalled at p(4) = 0.001); the
  margin's gradient does not vanish and normalised steps keep their length.
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

__all__ = ["METHODS", "AttackFailed", "AttackSettings", "margin", "attack_batch", "attack_path",
           "candidate_starts", "first_successful_path"]

METHODS = ("margin_l2", "ce_l2", "pgd")


class AttackFailed(RuntimeError):
    """No candidate start reached the target probability."""


@dataclass(frozen=True)
class AttackSettings:
    target: int
    method: str = "margin_l2"
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


def _step(x, x0, grad, s: AttackSettings):
    """One attack step from ``x`` (rows) given the loss gradient."""
    if s.method == "pgd":
        x = x - s.step * grad.sign()
        x = torch.minimum(torch.maximum(x, x0 - s.eps), x0 + s.eps)
        return x.clamp(0.0, 1.0)
    blocked = ((x <= 0) & (grad > 0)) | ((x >= 1) & (grad < 0))
    g = torch.where(blocked, torch.zeros_like(grad), grad)
    norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    x = (x - s.step * g / torch.where(norm > 0, norm, torch.ones_like(norm))).clamp(0.0, 1.0)
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
        loss = nn.functional.cross_entropy(logits, tgt, reduction="sum")
    else:
        loss = margin(logits, s.target).sum()
    return loss, probs


def attack_batch(model: nn.Module, x0: torch.Tensor, s: AttackSettings, preprocess=None,
                 progress: bool = True):
    """Attack every row of ``x0`` (pixels) independently; a row stops once its target
    probability reaches ``s.stop_prob``. Returns ``(x_end, reached, best_p, steps)``: end
    images, whether each reached, its highest target probability, its number of steps."""
    from tqdm.auto import tqdm

    model.eval()
    x0 = x0.detach().reshape(len(x0), -1)
    x = x0.clone()
    n = len(x0)
    active = torch.ones(n, dtype=torch.bool, device=x0.device)
    reached = torch.zeros(n, dtype=torch.bool, device=x0.device)
    best = torch.zeros(n, dtype=torch.float64, device=x0.device)
    steps = torch.zeros(n, dtype=torch.long, device=x0.device)
    bar = tqdm(range(s.max_steps + 1), desc="attack steps", file=sys.stderr,
               disable=not progress, mininterval=2.0)
    for k in bar:
        xa = x[active].requires_grad_(True)
        loss, probs = _loss_and_probs(model, xa, s, preprocess)
        p = probs[:, s.target].double()
        idx = torch.nonzero(active).flatten()
        best[idx] = torch.maximum(best[idx], p)
        done = p >= s.stop_prob
        reached[idx[done]] = True
        if k == s.max_steps:
            break
        (grad,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            new = _step(xa.detach(), x0[active], grad, s)
            x[idx[~done]] = new[~done]
        steps[idx[~done]] += 1
        active[idx[done]] = False
        bar.set_postfix(active=int(active.sum()), reached=int(reached.sum()))
        if not active.any():
            break
    bar.close()
    return x, reached.cpu(), best.cpu(), steps.cpu()


def attack_path(model: nn.Module, x0: torch.Tensor, s: AttackSettings, preprocess=None,
                progress: bool = True):
    """One attack from the image ``x0`` (pixels), recording every image: returns
    ``(path (steps + 1, d), reached, best_p)``; row 0 is the start."""
    from tqdm.auto import tqdm

    model.eval()
    x0 = x0.detach().reshape(1, -1)
    x = x0.clone()
    path = [x[0].clone()]
    best, reached = 0.0, False
    bar = tqdm(range(s.max_steps + 1), desc="attack steps", file=sys.stderr,
               disable=not progress, mininterval=2.0)
    for k in bar:
        xa = x.clone().requires_grad_(True)
        loss, probs = _loss_and_probs(model, xa, s, preprocess)
        p = float(probs[0, s.target])
        best = max(best, p)
        bar.set_postfix(p_target=f"{p:.3f}")
        if p >= s.stop_prob:
            reached = True
            break
        if k == s.max_steps:
            break
        (grad,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            x = _step(x, x0, grad, s)
        path.append(x[0].clone())
    bar.close()
    return torch.stack(path), reached, best


@torch.no_grad()
def candidate_starts(model, pixels: torch.Tensor, labels, source: int, min_prob: float,
                     in_cluster=None, first: int | None = None, preprocess=None) -> list[int]:
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


def first_successful_path(model, pixels: torch.Tensor, candidates: list[int], k: int,
                          s: AttackSettings, preprocess=None, log=print):
    """Attack the candidates in order until one reaches ``s.stop_prob``; try at most ``k``.
    Returns ``(index, path, tried)`` with ``tried`` = [(index, best p), ...]; raises
    :class:`AttackFailed` naming every start tried and its best target probability."""
    tried = []
    for index in candidates[:k]:
        path, reached, best = attack_path(model, pixels[index], s, preprocess)
        tried.append((index, best))
        log(f"start test image {index}: {len(path) - 1} steps, best p({s.target}) = {best:.4f}, "
            f"{'reached' if reached else 'NOT reached'} {s.stop_prob}")
        if reached:
            return index, path, tried
    detail = ", ".join(f"{i} (best p = {p:.4f})" for i, p in tried) or "none (no candidate)"
    raise AttackFailed(f"the {s.method} attack reached p({s.target}) >= {s.stop_prob} from none "
                       f"of the {len(tried)} start(s) tried within {s.max_steps} steps of "
                       f"{s.step}: {detail}; nothing written")
