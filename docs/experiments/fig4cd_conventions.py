"""Fig. 4(c, d): which convention or protocol gives the published scale of λ₁ against N.

The published panels show ⟨λ₁⟩ rising from 0.42 (N = 10) to 0.64 (N = 250) and Std[λ₁] falling
from 0.35 to 0.09, while the same paper's Fig. 4(a, b) (N = 20) colours λ₁ from −0.10 to 0.25.
This script measures, on width-sweep nets of the ``mnist.train`` layout (N × L = 16 tanh, softmax
head, trained on standardised pixels), every candidate the text leaves open:

- the map whose Jacobian is measured (the definition): the trunk to the last hidden layer's
  output x^(L) (the pipeline's, Fig. 4(a, b)), to its local field b^(L) (without the last
  g'), through the output layer (logits, divided by L + 1), and through the softmax
  (probabilities, L + 1);
- the input scaling: λ with respect to the standardised input (what the nets see) or to pixels
  in [0, 1] (J · 1/0.3081, a shift of log(1/0.3081) / L);
- the training length: the nets at initialisation (fan-in), and trained for the epochs of the
  sweep folders given (``--sweep LABEL=DIR``: a folder of ``N<width>.pt``);
- the inputs: the first ``--n`` test images or the first ``--n`` training images.

For each (nets, map, scaling, split): mean and std of λ₁ at every width and Spearman's ρ of
each against N. Writes ``docs/fig4cd-conventions.tsv`` and ``docs/fig4cd-conventions.png``
(beside the published curves, read off the figure: approximate levels only).

    python docs/experiments/fig4cd_conventions.py \
        --sweep "60 epochs=results/mnist/widths" --sweep "5 epochs=/path/to/default/widths"
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

import deepftle  # noqa: E402
from deepftle.images.data import PIXEL_STD  # noqa: E402
from deepftle.images.datasets import load_image_set  # noqa: E402
from deepftle.images.nets import NetSpec, initial_net, load_net  # noqa: E402
from deepftle.images.protocol import mlp_architecture, protocol_net  # noqa: E402
from deepftle.pipeline.seeds import job_seed  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# the published Fig. 4(c, d), read off the figure (approximate levels only)
PUBLISHED_N = [10, 12, 15, 19, 24, 29, 36, 45, 56, 69, 85, 106, 131, 163, 202, 250]
PUBLISHED_MEAN = [
    0.42,
    0.425,
    0.425,
    0.445,
    0.445,
    0.445,
    0.455,
    0.475,
    0.47,
    0.475,
    0.50,
    0.52,
    0.535,
    0.55,
    0.59,
    0.64,
]
PUBLISHED_STD = [
    0.35,
    0.27,
    0.27,
    0.225,
    0.21,
    0.17,
    0.145,
    0.125,
    0.115,
    0.11,
    0.105,
    0.105,
    0.10,
    0.10,
    0.095,
    0.09,
]
MAPS = {  # name: (module list from the net, divisor as a function of L)
    "x(L) (trunk)": (lambda m: list(m.trunk), lambda L: L),
    "b(L) (trunk, no last g')": (lambda m: list(m.trunk)[:-1], lambda L: L),
    "logits (trunk + output layer)": (lambda m: [*m.trunk, m.head], lambda L: L + 1),
    "softmax (probabilities)": (
        lambda m: [*m.trunk, m.head, torch.nn.Softmax(dim=1)],
        lambda L: L + 1,
    ),
}
SCALINGS = {"standardised": 0.0, "pixels/255": math.log(1.0 / PIXEL_STD)}


def log_sigma1(modules, x) -> np.ndarray:
    """log σ₁ of the Jacobian of ``Sequential(*modules)`` at every row of ``x`` (float64)."""
    seq = torch.nn.Sequential(*modules).eval()
    return deepftle.ftle(seq, x, k=1, depth=1)[:, 0].double().numpy()


def sweep_nets(folder: Path, train: dict):
    """``{N: model}`` of every ``N<width>.pt`` in ``folder``."""
    nets = {}
    for path in sorted(folder.glob("N*.pt")):
        width = int(path.stem[1:])
        nets[width] = load_net(path, mlp_architecture(train, width))
    if not nets:
        raise FileNotFoundError(f"no N<width>.pt nets in {folder}")
    return nets


def init_nets(widths, train: dict):
    """The sweep's nets at initialisation: the seeds of ``train_mnist_width``, no training."""
    nets = {}
    for w in widths:
        seed = job_seed(train["seed"], "width", w)
        nets[w] = initial_net(
            NetSpec.from_config(protocol_net(train, seed=seed, width=w, epochs=0))
        )
    return nets


def measure(label: str, nets: dict, inputs: dict, depth: int) -> list[dict]:
    rows = []
    for width, model in sorted(nets.items()):
        for split, x in inputs.items():
            for map_name, (modules, divisor) in MAPS.items():
                logs = log_sigma1(modules(model), x)
                logs = logs[np.isfinite(logs)]
                L = divisor(depth)
                for scaling, shift in SCALINGS.items():
                    lam = (logs + shift) / L
                    rows.append(
                        dict(
                            nets=label,
                            N=width,
                            split=split,
                            map=map_name,
                            scaling=scaling,
                            divisor=L,
                            n=len(lam),
                            mean=float(lam.mean()),
                            std=float(lam.std(ddof=1)),
                        )
                    )
        print(f"{label}: N = {width} done", flush=True)
    return rows


def trends(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["nets", "split", "map", "scaling"]
    out = []
    for key, g in table.groupby(keys, sort=False):
        g = g.sort_values("N")
        out.append(
            dict(
                zip(keys, key, strict=True),
                widths=len(g),
                rho_mean=float(spearmanr(g["N"], g["mean"])[0]),
                rho_std=float(spearmanr(g["N"], g["std"])[0]),
                mean_first=g["mean"].iloc[0],
                mean_last=g["mean"].iloc[-1],
                std_first=g["std"].iloc[0],
                std_last=g["std"].iloc[-1],
            )
        )
    return pd.DataFrame(out)


def plot(table: pd.DataFrame, path: Path) -> None:
    sel = table[(table["split"] == "test")]
    fig, axes = plt.subplots(2, len(MAPS), figsize=(4 * len(MAPS), 6.5), sharex=True)
    labels = list(dict.fromkeys(sel["nets"]))
    colours = dict(
        zip(labels, ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"], strict=True)
    )
    for j, map_name in enumerate(MAPS):
        for label in labels:
            for scaling, style in (("standardised", "-"), ("pixels/255", ":")):
                g = sel[
                    (sel["nets"] == label) & (sel["map"] == map_name) & (sel["scaling"] == scaling)
                ].sort_values("N")
                kw = dict(
                    color=colours[label], ls=style, marker="o", ms=3, label=f"{label}, {scaling}"
                )
                axes[0, j].plot(g["N"], g["mean"], **kw)
                axes[1, j].plot(g["N"], g["std"], **kw)
        axes[0, j].plot(PUBLISHED_N, PUBLISHED_MEAN, color="k", lw=2, label="published")
        axes[1, j].plot(PUBLISHED_N, PUBLISHED_STD, color="k", lw=2, label="published")
        axes[0, j].set_title(map_name, fontsize=10)
        axes[1, j].set_xlabel("N")
        axes[1, j].set_xscale("log")
    axes[0, 0].set_ylabel(r"$\langle\lambda_1^{(L)}(\mathbf{x})\rangle$")
    axes[1, 0].set_ylabel(r"Std$[\lambda_1^{(L)}(\mathbf{x})]$")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Fig. 4(c, d) under each convention (test images); black: published", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="a folder of trained width-sweep nets N<width>.pt and its label",
    )
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--data", default=str(ROOT / "resources" / "mnist"))
    ap.add_argument("--n", type=int, default=1000, help="images per split")
    ap.add_argument("--init-widths", default="10,16,25,40,63,100,158,250")
    ap.add_argument("--out", default=str(DOCS / "fig4cd-conventions"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train = yaml.safe_load(Path(args.config).read_text())["mnist"]["train"]
    data = load_image_set("mnist", args.data)
    inputs = {"test": data.inputs("test")[: args.n], "train": data.inputs("train")[: args.n]}
    rows = []
    widths = [int(w) for w in args.init_widths.split(",") if w]
    rows += measure("initialisation", init_nets(widths, train), inputs, train["depth"])
    for item in args.sweep:
        label, _, folder = item.partition("=")
        rows += measure(label, sweep_nets(Path(folder), train), inputs, train["depth"])
    table = pd.DataFrame(rows)
    summary = trends(table)
    table.to_csv(f"{args.out}.tsv", sep="\t", index=False, float_format="%.4f")
    summary.to_csv(f"{args.out}-trends.tsv", sep="\t", index=False, float_format="%.3f")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(summary.to_string(index=False))
    plot(table, Path(f"{args.out}.png"))


if __name__ == "__main__":
    main()
