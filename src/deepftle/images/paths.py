r"""What an attack path does, measured: where λ₁ peaks, which classes the path passes through,
and how well the maximal stretching direction v₁ follows the attack's steps.

For one path of images :math:`x_0, \dots, x_n` (pixels) from a start of class ``source``:

- ``classes``: the predicted classes in the order the path first reaches them (``"9>7>4"``),
  ``class_changes``: how often the prediction changes along the path (a path that wavers on a
  boundary changes many times); ``detour``: the fraction of steps predicted as neither the
  source nor the target;
- ``interior_max``: whether λ₁'s maximum lies strictly inside the path;
  ``crossing_peak``: λ₁ near the first step off the source class (the largest within 5 % of
  the path's length of it) minus the larger of the two end values — positive where the path
  crosses a ridge;
- ``cos_v1``: the mean of :math:`|\cos(v_1(x_k), \Delta x_k)|` over the steps;
  its baselines, each a mean over the steps:
  ``cos_rowspace``, random directions in J's row space (:math:`J^\top z`, z Gaussian in the
  N-dimensional last hidden layer; v₁ always lies in that space, so this is what any direction
  the net can stretch gives), and ``cos_other``, the gradient of the loss toward another class
  (the nearest competitor other than the target).
"""

from __future__ import annotations

import numpy as np
import torch

from ..ftle import ftle

__all__ = ["path_statistics", "visited_classes", "crossing_peak", "WINDOW"]

#: half-width of the window around the first step off the source class, as a fraction of the
#: path's length
WINDOW = 0.05


def visited_classes(pred) -> list[int]:
    """The predicted classes in the order a path visits them (consecutive repeats merged)."""
    pred = [int(p) for p in np.asarray(pred)]
    return [p for i, p in enumerate(pred) if i == 0 or p != pred[i - 1]]


def crossing_peak(lam1, pred, source: int, window: float = WINDOW) -> float:
    """λ₁ near the first step predicted as another class than ``source`` (the largest within
    ``window`` of the path's length of it) minus the larger end value; NaN when the path never
    leaves the source class."""
    lam = np.asarray(lam1, dtype=float)
    left = np.flatnonzero(np.asarray(pred) != int(source))
    if not left.size or lam.size < 3:
        return float("nan")
    half = max(1, int(round(window * lam.size)))
    near = lam[max(0, left[0] - half) : left[0] + half + 1]
    return float(np.nanmax(near) - max(lam[0], lam[-1]))


def _abs_cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    num = (a * b).sum(-1).abs()
    den = torch.linalg.vector_norm(a, dim=-1) * torch.linalg.vector_norm(b, dim=-1)
    return torch.where(den > 0, num / den, torch.full_like(num, float("nan")))


def path_statistics(
    model,
    images: np.ndarray,
    *,
    source: int,
    target: int,
    preprocess,
    n_random: int = 20,
    seed: int = 0,
    batch: int = 4096,
) -> dict:
    """The statistics of the module's docstring for one path (``images``: (n + 1, 784) pixels
    in [0, 1]; ``model``: a net with ``trunk`` and a softmax head; ``preprocess``: pixels to the
    net's input). Returns the per-step arrays (``lam1``, ``pred``) and the summary."""
    dev = next(model.parameters()).device
    x = preprocess(torch.as_tensor(images, dtype=torch.float32, device=dev))
    lam, v = ftle(model.trunk, x, k=1, return_directions=True)
    lam1 = lam[:, 0].double().cpu().numpy()
    v1 = v[:, :, 0]
    with torch.no_grad():
        logits = torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])
    pred = logits.argmax(1).cpu().numpy()
    dx = torch.diff(torch.as_tensor(images, dtype=torch.float64, device=dev), dim=0).float()
    moved = torch.linalg.vector_norm(dx, dim=1) > 0
    xs = x[:-1]
    cos_v1 = _abs_cos(v1[:-1], dx)
    # random directions in J's row space: J^T z for Gaussian z in the trunk's output space
    gen = torch.Generator().manual_seed(int(seed))
    _, vjp = torch.func.vjp(model.trunk, xs)
    width = model.trunk(xs[:1]).shape[-1]
    cos_rows = torch.stack(
        [
            _abs_cos(
                vjp(torch.randn(len(xs), width, generator=gen).to(dev))[0].reshape(len(xs), -1), dx
            )
            for _ in range(int(n_random))
        ]
    ).mean(0)
    # the gradient toward the strongest competitor that is neither the target nor the source
    xg = xs.clone().requires_grad_(True)
    out = model(xg)
    masked = out.detach().clone()
    masked[:, [int(target), int(source)]] = -np.inf
    other = masked.argmax(1)
    (grad,) = torch.autograd.grad(torch.log_softmax(out, 1).gather(1, other[:, None]).sum(), xg)
    cos_other = _abs_cos(grad.reshape(len(xs), -1).detach(), dx)
    m = moved.cpu().numpy()
    mean = lambda t: float(np.nanmean(t.detach().double().cpu().numpy()[m])) if m.any() else np.nan
    classes = visited_classes(pred)
    first = list(dict.fromkeys(classes))
    others = (pred != int(source)) & (pred != int(target))
    return dict(
        lam1=lam1,
        pred=pred,
        classes=">".join(str(c) for c in first),
        class_changes=len(classes) - 1,
        detour=float(others.mean()),
        interior_max=bool(0 < int(np.argmax(lam1)) < len(lam1) - 1),
        crossing_peak=crossing_peak(lam1, pred, source),
        cos_v1=mean(cos_v1),
        cos_rowspace=mean(cos_rows),
        cos_other=mean(cos_other),
        lam1_start=float(lam1[0]),
        lam1_end=float(lam1[-1]),
        lam1_max=float(np.nanmax(lam1)),
        steps=int(len(images) - 1),
    )
