"""train_mnist: N x L tanh MLP with a softmax head, cross-entropy, on standardised pixels."""

from pathlib import Path

import torch

import deepftle
from deepftle.devices import job_device
from deepftle.io import log_to, provenance, save_tsv
from deepftle.mnist import (PIXEL_MEAN, PIXEL_STD, load_mnist, net_architecture, pixels,
                            standardise)
from deepftle.train import TrainConfig, class_error, cross_entropy_loss, train

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    p = dict(sm.params.train)
    torch.set_num_threads(sm.threads)
    xtr, ytr, xte, yte = load_mnist(Path(sm.input[0]).parent)
    train_data = (standardise(pixels(xtr)).to(device), torch.as_tensor(ytr).to(device))
    test_data = (standardise(pixels(xte)).to(device), torch.as_tensor(yte).to(device))
    print(f"train {tuple(xtr.shape)}, test {tuple(xte.shape)}", flush=True)
    gen = torch.Generator().manual_seed(p["seed"])
    torch.manual_seed(p["seed"])
    model = deepftle.MLP(**net_architecture(p))
    deepftle.init_mlp(model, gen)
    model.to(device)
    cfg = TrainConfig(optimizer=p["optimizer"], lr=p["lr"], epochs=p["epochs"],
                      batch_size=p["batch_size"], schedule=p["schedule"],
                      weight_decay=p["weight_decay"])
    history, _ = train(model, train_data, test_data, cfg, cross_entropy_loss, class_error, gen)
    last = history.iloc[-1]
    print(f"train accuracy {1 - last['train_error']:.4%}, test accuracy "
          f"{1 - last['test_error']:.4%}", flush=True)
    prov = provenance(p, device)
    # plain str: torch.__version__ is a TorchVersion, which weights_only loading rejects
    deepftle.save_model(sm.output.net, model.cpu(), {k: str(v) for k, v in prov.items()}, pixel_mean=PIXEL_MEAN,
                        pixel_std=PIXEL_STD)
    save_tsv(sm.output.history, history, prov)
