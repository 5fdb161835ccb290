"""plot_fig3: random-feature vs fully-trained errors; lambda_1 during training (glue)."""
import pandas as pd

import deepftle.io as dio
from deepftle.plots.fig3 import plot_fig3, summarise_lam1

with dio.log_to(snakemake.log[0]):
    p = dict(snakemake.params.plot)
    rows = []
    for net, path in zip(snakemake.params.nets_a, snakemake.input.histories):
        h = dio.read_tsv(path).iloc[-1]
        rows.append(dict(N=net["N"], L=net["L"], mode=net["mode"], seed=net["seed"],
                         epochs=int(h.epoch), train_error=h.train_error,
                         test_error=h.test_error))
    errors = pd.DataFrame(rows)
    lam = []
    for net, path in zip(snakemake.params.nets_b, snakemake.input.snapshots):
        d, _ = dio.load_npz(path)
        lam.append(summarise_lam1(float(net["s"]), d["epochs"], d["lam1"]))
    lam = pd.concat(lam, ignore_index=True)
    nets_b = snakemake.params.nets_b
    plot_fig3(errors, lam, snakemake.output.pdf, snakemake.output.png,
              depth_a=int(snakemake.params.nets_a[0]["L"]), width_b=int(nets_b[0]["N"]),
              depth_b=int(nets_b[0]["L"]), ymax_error=p["ymax_error"])
    prov = dio.provenance(dict(p, nets_a=snakemake.params.nets_a, nets_b=nets_b))
    dio.save_tsv(snakemake.output.tsv_a, errors, prov)
    dio.save_tsv(snakemake.output.tsv_b, lam, prov)
