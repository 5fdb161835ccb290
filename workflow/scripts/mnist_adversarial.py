"""adversarial_path: targeted iterative attack from a 9 to a 4, with lambda_1, probabilities
and map position of every image along the way."""

import pickle
from pathlib import Path

import numpy as np
import torch

import deepftle
from deepftle.devices import job_device
from deepftle.adversarial import attack_path, choose_start
from deepftle.analysis import entropy
from deepftle.io import log_to, provenance, save_npz
from deepftle.mnist import load_mnist, net_architecture, pixels, standardise

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    a = dict(sm.params.attack)
    torch.set_num_threads(sm.threads)
    _, _, xte, yte = load_mnist(Path(sm.input.data[0]).parent)
    arch = net_architecture(sm.config["mnist"]["train"])  # the checkpoint must be this net
    model = deepftle.load_model(sm.input.net, expected=arch).to(device).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    test_pixels = pixels(xte).to(device)
    start, why = choose_start(model, test_pixels, yte, a["source_class"], a["min_start_prob"],
                              preprocess=standardise, index=a["start_index"])
    print(f"start: test image {start} (label {yte[start]}): {why}", flush=True)
    path, reached = attack_path(model, test_pixels[start], a["target_class"], step=a["step"],
                                stop_prob=a["stop_prob"], max_steps=a["max_steps"],
                                method=a["method"], eps=a["eps"], preprocess=standardise)
    print(f"{len(path) - 1} steps; target probability reached: {reached}", flush=True)
    x = standardise(path)
    lam1 = deepftle.ftle(model.trunk, x, k=1)[:, 0].double().cpu().numpy()
    with torch.no_grad():
        probs = torch.softmax(model(x), dim=1).double().cpu().numpy()
    with open(sm.input.embedding, "rb") as fh:
        emb = pickle.load(fh)
    print(f"placing {len(path)} images into the {emb.method} map", flush=True)
    coords = emb.transform(path.double().cpu().numpy(), n_iter=sm.params.transform_iter)
    save_npz(sm.output[0], provenance(a, device), images=path.cpu().numpy(), lam1=lam1,
             probs=probs, pred=probs.argmax(axis=1), H=entropy(probs), coords=coords,
             step=np.arange(len(path)), start_index=np.array(start),
             source_class=np.array(a["source_class"]), target_class=np.array(a["target_class"]),
             reached=np.array(reached))
