"""train_mnist_ensemble: ensemble members 1 .. M-1 of the mnist.train protocol as one
population job (deepftle.mnist.nets.train_mnist_nets); one checkpoint and history per member."""

import torch

import deepftle
from deepftle.mnist.data import PIXEL_MEAN, PIXEL_STD
from deepftle.mnist.nets import load_tensors, train_mnist_nets
from deepftle.pipeline.devices import job_device
from deepftle.pipeline.files import log_to, provenance, save_tsv

sm = snakemake  # noqa: F821
with log_to(sm.log[0]), job_device(sm.config["device"]) as device:
    torch.set_num_threads(sm.threads)
    p, nets = dict(sm.params.train), [dict(n) for n in sm.params.nets]
    trained = train_mnist_nets(load_tensors(sm.input.data), p, device, nets)
    for net, (model, history), net_path, hist_path in zip(nets, trained, sm.output.nets,
                                                         sm.output.histories):
        prov = {k: str(v) for k, v in provenance(dict(p, **net), device).items()}
        save_tsv(hist_path, history, prov)
        deepftle.save_model(net_path, model, prov, pixel_mean=PIXEL_MEAN, pixel_std=PIXEL_STD)
