"""ridge_metrics: contrast and alignment of the FTLE ridges for every Fig. 2 net (glue)."""
import pandas as pd

import deepftle.io as dio
from deepftle.ridges import ridge_metrics

with dio.log_to(snakemake.log[0]):
    delta, top = snakemake.params.delta, snakemake.params.top
    rows = []
    for net, field, hist in zip(snakemake.params.nets, snakemake.input.fields,
                                snakemake.input.histories):
        f, _ = dio.load_npz(field)
        h = dio.read_tsv(hist).iloc[-1]
        m = ridge_metrics(f["x1"], f["x2"], int(f["depth"]) * f["lam1"], f["output"],
                          delta=delta, top=top)
        rows.append(dict(N=net["N"], L=net["L"], s=net["s"], seed=net["seed"],
                         contrast=m["contrast"], alignment=m["alignment"],
                         circle_distance=m["circle_distance"], mean_L_lam1=m["mean_L_lam1"],
                         std_L_lam1=m["std_L_lam1"], n_masked=m["n_masked"],
                         boundary_length=m["boundary_length"], train_error=h.train_error,
                         test_error=h.test_error, epochs=int(h.epoch)))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    dio.save_tsv(snakemake.output[0], table,
                 dio.provenance(dict(delta=delta, top=top, nets=snakemake.params.nets)))
