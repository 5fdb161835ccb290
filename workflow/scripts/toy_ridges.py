"""ridge_metrics: contrast, alignment and orthogonality of the FTLE ridges for every Fig. 2 net,
and the claims of Fig. 2 (glue; logic in deepftle.circle.ridges and
deepftle.circle.claims)."""
import pandas as pd

import deepftle.pipeline.files as dio
from deepftle.circle.claims import fig2_claims, mark_accuracy
from deepftle.circle.ridges import ridge_metrics
from deepftle.pipeline.claims import write_claims

with dio.log_to(snakemake.log[0]):
    p = snakemake.params
    rows = []
    for net, field, hist in zip(p.nets, snakemake.input.fields, snakemake.input.histories):
        f, _ = dio.load_npz(field)
        h = dio.read_tsv(hist).iloc[-1]
        m = ridge_metrics(f["x1"], f["x2"], int(f["depth"]) * f["lam1"], f["output"],
                          delta=p.delta, top=p.top, v1=f["v1"])
        rows.append(dict(N=net["N"], L=net["L"], s=net["s"], seed=net["seed"],
                         contrast=m["contrast"], alignment=m["alignment"],
                         orthogonality=m["orthogonality"],
                         circle_distance=m["circle_distance"], mean_L_lam1=m["mean_L_lam1"],
                         std_L_lam1=m["std_L_lam1"], n_masked=m["n_masked"],
                         boundary_length=m["boundary_length"], train_error=h.train_error,
                         test_error=h.test_error, epochs=int(h.epoch),
                         draw=int(h.get("draw", 0))))
        print(rows[-1], flush=True)
    table = mark_accuracy(pd.DataFrame(rows), p.min_accuracy)
    prov = dio.provenance(dict(delta=p.delta, top=p.top, min_accuracy=p.min_accuracy,
                               nets=p.nets))
    dio.save_tsv(snakemake.output.ridges, table, prov)
    write_claims(snakemake.output.claims, fig2_claims(table, p.min_accuracy), prov)
