"""How often the Figure 4 attack succeeds: from the first ``--n`` correctly classified test 9s,
the fraction reaching p(4) >= ``--stop`` on the
trained default net. Writes results/bench/attack.tsv (one row per start) and prints the count.

    .venv/bin/python bench/attack.py [--net results/mnist/net.pt] [--method margin_l2] ...
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from deepftle.images.attack import AttackSettings, attack_batch, nearest_guides
from deepftle.images.data import pixels, standardise
from deepftle.images.datasets import load_image_set
from deepftle.images.nets import load_net
from deepftle.images.protocol import mlp_architecture
from deepftle.pipeline.files import save_tsv

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())["mnist"]
    a = cfg["adversarial"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="results/mnist/net.pt")
    ap.add_argument("--data", default="resources/mnist")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--stop", type=float, default=0.9)
    ap.add_argument("--method", default=a["method"])
    ap.add_argument("--step", type=float, default=a["step"])
    ap.add_argument("--eps", type=float, default=a["eps"])
    ap.add_argument("--max-steps", type=int, default=a["max_steps"])
    ap.add_argument("--out", default="results/bench/attack.tsv")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    data = load_image_set("mnist", args.data)
    model = load_net(args.net, mlp_architecture(cfg["train"]))
    x = pixels(data.x_test)
    with torch.no_grad():
        pred = model(standardise(x)).argmax(1).numpy()
    src, tgt = a["source_class"], a["target_class"]
    starts = np.flatnonzero((data.y_test == src) & (pred == src))[: args.n]
    s = AttackSettings(
        target=tgt,
        method=args.method,
        step=args.step,
        eps=args.eps,
        stop_prob=args.stop,
        max_steps=args.max_steps,
    )
    xtr = pixels(data.x_train)
    with torch.no_grad():
        recognised = (model(standardise(xtr)).argmax(1).numpy() == tgt) & (data.y_train == tgt)
    guides = nearest_guides(x[starts], xtr, recognised)
    t0 = time.perf_counter()
    end, reached, best, steps = attack_batch(model, x[starts], s, standardise, guides=guides)
    wall = time.perf_counter() - t0
    d = (end - x[starts]).numpy()
    table = pd.DataFrame(
        dict(
            test_index=starts,
            reached=reached.numpy(),
            best_p=best.numpy(),
            steps=steps.numpy(),
            l2=np.linalg.norm(d, axis=1),
            linf=np.abs(d).max(axis=1),
        )
    )
    save_tsv(
        args.out,
        table,
        {
            "method": s.method,
            "step": s.step,
            "eps": s.eps,
            "stop_prob": s.stop_prob,
            "max_steps": s.max_steps,
            "net": args.net,
            "wall_s": f"{wall:.1f}",
        },
    )
    print(table.to_string(index=False))
    print(
        f"{int(reached.sum())} of {len(starts)} correctly classified test {src}s reach "
        f"p({tgt}) >= {s.stop_prob} ({s.method}, step {s.step}, at most {s.max_steps} steps; "
        f"{wall:.1f} s)"
    )


if __name__ == "__main__":
    main()
