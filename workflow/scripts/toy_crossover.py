"""crossover: L<lambda_1> on the decision boundary and in the centre for every Fig. 3(b) net,
and the fit of C_c, C_d (glue; logic in deepftle.circle.crossover)."""
import pandas as pd
import torch
from tqdm.auto import tqdm

import deepftle.pipeline.files as dio
from deepftle.circle.claims import mark_accuracy
from deepftle.circle.crossover import fit_crossover, crossover_means
from deepftle.nets.checkpoints import load_model
from deepftle.pipeline.devices import job_device

with dio.log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    rows = []
    with job_device(snakemake.config["device"]) as device:
        for net, path, hist in tqdm(list(zip(p.nets, snakemake.input.nets,
                                             snakemake.input.histories)), mininterval=5):
            model = load_model(path, expected=dict(d_in=2, width=int(net["N"]),
                                                   depth=int(net["L"])))
            lam_d, lam_c = crossover_means(model, grid=p.grid, lim=p.lim, delta=p.delta,
                                           centre_radius=p.centre_radius, device=device)
            h = dio.read_tsv(hist).iloc[-1]
            rows.append(dict(N=net["N"], L=net["L"], seed=net["seed"], lam_d=lam_d,
                             lam_c=lam_c, train_error=h.train_error, test_error=h.test_error,
                             epochs=int(h.epoch), draw=int(h.get("draw", 0))))
            print(rows[-1], flush=True)
    table = mark_accuracy(pd.DataFrame(rows), p.min_accuracy)
    fit = fit_crossover(table)
    print(f"fit: {fit}", flush=True)
    prov = dio.provenance(dict(grid=p.grid, lim=p.lim, delta=p.delta,
                               centre_radius=p.centre_radius, min_accuracy=p.min_accuracy,
                               nets=p.nets), device)
    dio.save_tsv(snakemake.output.table, table, prov)
    dio.save_tsv(snakemake.output.fit, pd.DataFrame([fit]), prov)
