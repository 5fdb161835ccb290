"""train_toy_group_*: the nets of one (N, L) as one population job (glue; settings built by
deepftle.circle.nets.toy_net, training by deepftle.circle.nets.train_toy_nets)."""
import dataclasses

import torch

import deepftle.pipeline.files as dio
from deepftle.circle.nets import train_toy_nets, toy_net
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.devices import job_device

with dio.log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    wc, settings = snakemake.wildcards, snakemake.params.settings
    nets = [toy_net(settings, int(wc.N), int(wc.L), float(s), int(seed))
            for s, seed in snakemake.params.members]
    arrays, _ = dio.load_npz(snakemake.input.data)
    data = {k: torch.as_tensor(arrays[k]) for k in ("x_train", "t_train", "x_test", "t_test")}
    with job_device(snakemake.config["device"]) as device:
        print(f"train_toy_group: {len(nets)} nets, N = {wc.N}, L = {wc.L}", flush=True)
        trained = train_toy_nets(nets, data, device)
        for net, (model, history, snapshots, sigma_w), net_path, hist_path in zip(
                nets, trained, snakemake.output.nets, snakemake.output.histories):
            params = dict(settings, net=dataclasses.asdict(net))
            prov = {k: str(v) for k, v in dio.provenance(params, device).items()}
            last = history.iloc[-1]
            print(f"seed {net.seed}, s = {net.s:g}: sigma_w = {sigma_w:.6f}; final train error "
                  f"{last.train_error:.4f}, test error {last.test_error:.4f}", flush=True)
            dio.save_tsv(hist_path, history, prov)
            save_model(net_path, model.cpu(), prov, sigma_w=sigma_w, snapshots=snapshots)
