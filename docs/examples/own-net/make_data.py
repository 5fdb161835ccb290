"""Write mine.npz (a small three-class data set with inputs of shape (2, 8)) and, trained
with plain torch as a user would, two state_dict checkpoints of nets.make_net:
``python make_data.py OUTDIR``."""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from nets import make_net  # noqa: E402


def data(n: int, seed: int):
    """Points on three interleaved spirals in a random 16-dimensional embedding, as (2, 8)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    t = rng.uniform(0.2, 1.0, n)
    angle = 2 * np.pi * (y / 3 + 0.9 * t) + rng.normal(0, 0.35, n)
    plane = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    embed = np.random.default_rng(99).normal(size=(2, 16))
    x = plane @ embed + 0.05 * rng.normal(size=(n, 16))
    return x.reshape(n, 2, 8).astype(np.float32), y.astype(np.int64)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    x_train, y_train = data(1500, 0)
    x_test, y_test = data(400, 1)
    np.savez(out / "mine.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = make_net()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x, y = torch.as_tensor(x_train), torch.as_tensor(y_train)
        for _ in range(150):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        torch.save(model.state_dict(), out / f"net{seed}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
