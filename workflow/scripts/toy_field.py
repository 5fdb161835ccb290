"""ftle_field: lambda_1, lambda_2, v_1 and the output on a grid (glue; logic in
deepftle.circle.fields)."""
import time

import numpy as np
import torch

import deepftle.pipeline.files as dio
from deepftle.circle.fields import field_on_grid
from deepftle.nets.checkpoints import load_model
from deepftle.pipeline.devices import job_device

with dio.log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = dict(grid=snakemake.params.grid, lim=snakemake.params.lim,
             net=str(snakemake.input.net))
    with job_device(snakemake.config["device"]) as device:
        # the file name says which net this must be: a mismatching checkpoint is an error
        model = load_model(snakemake.input.net, expected=dict(
            d_in=2, width=int(snakemake.wildcards.N), depth=int(snakemake.wildcards.L)))
        t0 = time.perf_counter()
        f = field_on_grid(model, p["grid"], p["lim"], device)
        print(f"{p['grid']}^2 grid in {time.perf_counter() - t0:.2f} s; lam1 in "
              f"[{np.nanmin(f['lam1']):.4g}, {np.nanmax(f['lam1']):.4g}], "
              f"{int(np.isneginf(f['lam1']).sum())} points with lam1 = -inf", flush=True)
        arch = model.arch
        dio.save_npz(snakemake.output[0], dio.provenance(p, device), width=arch["width"],
                     depth=arch["depth"], **f)
