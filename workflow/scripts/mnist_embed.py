"""embed_mnist: 2-D map of the training inputs (openTSNE, or a bottleneck on the hidden stack)."""

import pickle
from pathlib import Path

import numpy as np
import torch

import deepftle
from deepftle.embed import fit_bottleneck, fit_tsne
from deepftle.io import atomic_path, log_to, provenance, save_npz
from deepftle.mnist import load_mnist, net_architecture, standardise

sm = snakemake  # noqa: F821
with log_to(sm.log[0]):
    p = dict(sm.params.embed)
    torch.set_num_threads(sm.threads)
    xtr, ytr, _, _ = load_mnist(Path(sm.input.data[0]).parent)
    x = xtr.astype(np.float64) / 255.0
    if p["method"] == "tsne":
        emb = fit_tsne(x, perplexity=p["perplexity"], pca=p["pca"], n_jobs=p["n_jobs"],
                       seed=p["seed"], n_iter=p["n_iter"],
                       early_exaggeration_iter=p["early_exaggeration_iter"])
    else:
        model = deepftle.load_model(
            sm.input.net, expected=net_architecture(sm.config["mnist"]["train"])).eval()
        b = p["bottleneck"]
        emb = fit_bottleneck(model.trunk, x, ytr, width=model.arch["width"], epochs=b["epochs"],
                             lr=b["lr"], seed=p["seed"], preprocess=standardise)
    with atomic_path(sm.output.model) as tmp, open(tmp, "wb") as fh:
        pickle.dump(emb, fh, protocol=pickle.HIGHEST_PROTOCOL)
    save_npz(sm.output.coords, provenance(p, "cpu"), coords=emb.coords, label=ytr,
             index=np.arange(len(ytr)), method=np.array(p["method"]))
