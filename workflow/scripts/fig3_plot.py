"""plot_fig3: (a) random-feature vs fully-trained errors; (b) the ridge / random-embedding
crossover (glue; logic in deepftle.plots.fig3)."""
import pandas as pd

import deepftle.pipeline.files as dio
from deepftle.plots.fig3 import plot_fig3

with dio.log_to(snakemake.log[0]):
    p = snakemake.params
    rows = []
    for net, path in zip(p.nets_a, snakemake.input.histories):
        h = dio.read_tsv(path).iloc[-1]
        rows.append(dict(N=net["N"], L=net["L"], mode=net["mode"], seed=net["seed"],
                         epochs=int(h.epoch), train_error=h.train_error,
                         test_error=h.test_error))
    errors = pd.DataFrame(rows)
    crossover = dio.read_tsv(snakemake.input.crossover)
    fit = dio.read_tsv(snakemake.input.fit).iloc[0].to_dict()
    n_real = int(crossover.groupby(["N", "L"]).size().min())
    n_seeds_a = int(errors.groupby(["N", "mode"]).size().min())
    redrawn = int((crossover["draw"] > 0).sum()) if "draw" in crossover else 0
    note = (f"(a): {n_seeds_a} seed(s) per N; (b): {n_real} realisations per (N, L), "
            f"{p.epochs_b} epochs of {'cosine-decayed ' if p.schedule == 'cosine' else ''}SGD"
            + (" (paper: 200)" if p.epochs_b < 200 else "")
            + (f", {redrawn} redrawn below {p.min_accuracy:.0%} on their training data"
               if redrawn else "")
            + f"; $C_c = {fit['C_c']:.2f}$, $C_d = {fit['C_d']:.2f}$")
    summ_a, summ_b = plot_fig3(errors, crossover, fit, snakemake.output.pdf,
                               snakemake.output.png, min_accuracy=p.min_accuracy, note=note)
    prov = dio.provenance(dict(nets_a=p.nets_a, min_accuracy=p.min_accuracy))
    dio.save_tsv(snakemake.output.tsv_a, errors, prov)
    dio.save_tsv(snakemake.output.tsv_b, summ_b, prov)
