"""Targeted iterative gradient attack producing a path of images from one class to another.

Step (in pixel space, pixels in [0, 1]):

- ``fgsm``: ``x <- clip(x - step * sign(grad_x CE(f(x), target)), 0, 1)`` (iterated targeted
  FGSM, also called BIM);
- ``pgd``: the same step followed by projection onto the L-infinity ball of radius ``eps``
  around the start image (and onto [0, 1]).

Every intermediate image is recorded until the network assigns the target class a probability
``>= stop_prob`` (or ``max_steps`` is reached).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn

__all__ = ["choose_start", "attack_path"]


@torch.no_grad()
def choose_start(model: nn.Module, pixels: torch.Tensor, labels, source: int,
                 min_prob: float = 0.9, preprocess=None, index: int | None = None) -> tuple[int, str]:
    """Index of the start image: ``index`` if given, else the first image of class ``source``
    that the network classifies correctly with probability ``>= min_prob``; falls back to the
    correctly classified ``source`` image of highest probability (then to any ``source``
    image). Returns ``(index, reason)``."""
    labels = torch.as_tensor(np.asarray(labels))
    if index is not None:
        if not 0 <= index < len(pixels):
            raise ValueError(f"adversarial start index {index} outside 0..{len(pixels) - 1}")
        return int(index), "index from config"
    candidates = torch.nonzero(labels == source).flatten()
    if len(candidates) == 0:
        raise ValueError(f"no test image of class {source}")
    x = pixels[candidates]
    probs = torch.softmax(model(preprocess(x) if preprocess else x), dim=1)
    p = probs[:, source]
    ok = (probs.argmax(dim=1) == source) & (p >= min_prob)
    if ok.any():
        return int(candidates[torch.nonzero(ok).flatten()[0]]), (
            f"first {source} classified correctly with p >= {min_prob}")
    correct = probs.argmax(dim=1) == source
    pool = torch.nonzero(correct).flatten() if correct.any() else torch.arange(len(candidates))
    best = pool[p[pool].argmax()]
    return int(candidates[best]), (f"no {source} with p >= {min_prob}; took the most confident "
                                   f"{'correct ' if correct.any() else ''}one (p = {float(p[best]):.3f})")


def attack_path(model: nn.Module, x0: torch.Tensor, target: int, step: float = 0.01,
                stop_prob: float = 0.9, max_steps: int = 500, method: str = "fgsm",
                eps: float | None = None, preprocess=None, progress: bool = True):
    """Images along the attack, ``(steps + 1, d)`` in pixel units (row 0 = the start), and
    whether the target probability reached ``stop_prob``."""
    from tqdm.auto import tqdm

    if method not in ("fgsm", "pgd"):
        raise ValueError(f"attack method must be fgsm or pgd, got {method!r}")
    if method == "pgd" and (eps is None or eps <= 0):
        raise ValueError("pgd needs a positive eps (L-infinity radius)")
    model.eval()
    x0 = x0.detach().reshape(1, -1)
    path = [x0[0].clone()]
    x = x0.clone()
    tgt = torch.tensor([target])
    reached = False
    bar = tqdm(range(max_steps + 1), desc="attack steps", file=sys.stderr, disable=not progress,
               mininterval=1.0)
    for _ in bar:
        x.requires_grad_(True)
        logits = model(preprocess(x) if preprocess else x)
        p_target = float(torch.softmax(logits.detach(), dim=1)[0, target])
        bar.set_postfix(p_target=f"{p_target:.3f}")
        if p_target >= stop_prob:
            reached = True
            break
        if len(path) > max_steps:
            break
        loss = nn.functional.cross_entropy(logits, tgt)
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = x - step * grad.sign()
            if method == "pgd":
                x = torch.minimum(torch.maximum(x, x0 - eps), x0 + eps)
            x = x.clamp(0.0, 1.0)
        path.append(x[0].detach().clone())
    bar.close()
    return torch.stack(path), reached
