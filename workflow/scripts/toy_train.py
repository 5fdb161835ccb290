"""train_toy: one network on the circle data (glue; settings built by deepftle.circle.nets.toy_net,
training and redraws by deepftle.circle.nets.train_toy_nets)."""
import dataclasses

import torch

import deepftle.pipeline.files as dio
from deepftle.circle.nets import train_toy_nets, toy_net
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.devices import job_device

with dio.log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    wc = snakemake.wildcards
    net = toy_net(snakemake.params.settings, int(wc.N), int(wc.L), float(wc.s), int(wc.seed),
                  mode=wc.mode)
    arrays, _ = dio.load_npz(snakemake.input.data)
    data = {k: torch.as_tensor(arrays[k]) for k in ("x_train", "t_train", "x_test", "t_test")}
    with job_device(snakemake.config["device"]) as device:
        print(f"train_toy: {net}", flush=True)
        (model, history, snapshots, sigma_w), = train_toy_nets([net], data, device)
        params = dict(snakemake.params.settings, net=dataclasses.asdict(net))
        prov = {k: str(v) for k, v in dio.provenance(params, device).items()}  # plain str: weights_only load
        last = history.iloc[-1]
        print(f"sigma_w = {sigma_w:.6f}; final train error {last.train_error:.4f}, "
              f"test error {last.test_error:.4f}", flush=True)
        # the history first: the checkpoint is the rule's last output, written only on success
        dio.save_tsv(snakemake.output.history, history, prov)
        save_model(snakemake.output.net, model.cpu(), prov, sigma_w=sigma_w,
                   snapshots=snapshots)
