"""ftle_mnist: lambda_1 (input -> last hidden layer), prediction, entropy for all inputs."""

from pathlib import Path

import numpy as np
import torch

import deepftle
from deepftle.devices import job_device
from deepftle.analysis import entropy
from deepftle.io import log_to, provenance, save_npz
from deepftle.mnist import load_mnist, net_architecture, pixels, standardise

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    xtr, ytr, xte, yte = load_mnist(Path(sm.input.data[0]).parent)
    arch = net_architecture(sm.config["mnist"]["train"])  # the checkpoint must be this net
    model = deepftle.load_model(sm.input.net, expected=arch).to(device).eval()
    x = standardise(pixels(np.concatenate([xtr, xte]))).to(device)
    labels = np.concatenate([ytr, yte])
    split = np.array(["train"] * len(xtr) + ["test"] * len(xte))
    index = np.concatenate([np.arange(len(xtr)), np.arange(len(xte))])
    lam1 = deepftle.ftle(model.trunk, x, k=1, batch_size=sm.params.ftle.get("batch_size"))[:, 0]
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1).double().cpu().numpy()
    pred = probs.argmax(axis=1)
    lam1 = lam1.double().cpu().numpy()
    print(f"{len(x)} inputs; lambda_1 in [{np.nanmin(lam1):.4f}, {np.nanmax(lam1):.4f}], "
          f"-inf: {int(np.isneginf(lam1).sum())}", flush=True)
    save_npz(sm.output[0], provenance(dict(sm.params.ftle), device), split=split, index=index,
             label=labels, pred=pred, correct=pred == labels, lam1=lam1, H=entropy(probs),
             probs=probs)
