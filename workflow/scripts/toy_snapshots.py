"""ftle_snapshots: lambda_1 over the test inputs at every saved epoch (glue)."""
import torch

import deepftle.pipeline.files as dio
from deepftle.circle.fields import snapshot_lam1
from deepftle.nets.checkpoints import load_model
from deepftle.pipeline.devices import job_device

with dio.log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    payload = torch.load(snakemake.input.net, map_location="cpu", weights_only=True)
    snapshots = payload["extra"].get("snapshots") or {}
    if not snapshots:
        raise ValueError(f"{snakemake.input.net} holds no weight snapshots")
    arrays, _ = dio.load_npz(snakemake.input.data)
    x = torch.as_tensor(arrays["x_test"])
    with job_device(snakemake.config["device"]) as device:
        # the file name says which net this must be: a mismatching checkpoint is an error
        model = load_model(snakemake.input.net, expected=dict(
            d_in=2, width=int(snakemake.wildcards.N), depth=int(snakemake.wildcards.L)))
        epochs, lam1 = snapshot_lam1(model, snapshots, x, device)
        params = dict(net=str(snakemake.input.net), train=payload["provenance"].get("params"))
        print(f"{len(epochs)} snapshots; median lam1 at epoch {epochs[0]}: "
              f"{float(torch.as_tensor(lam1[0]).median()):.4f}", flush=True)
        dio.save_npz(snakemake.output[0], dio.provenance(params, device), epochs=epochs,
                     lam1=lam1, width=model.arch["width"], depth=model.arch["depth"])
