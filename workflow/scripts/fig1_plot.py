"""plot_fig1: network layout and circle data (glue; logic in deepftle.plots.fig1)."""
import deepftle.pipeline.files as dio
from deepftle.plots.fig1 import plot_fig1

with dio.log_to(snakemake.log[0]):
    p = dict(snakemake.params.plot)
    d, _ = dio.load_npz(snakemake.input.data)
    table = plot_fig1(d["x_train"], d["t_train"], float(d["r0"]), snakemake.output.pdf,
                      snakemake.output.png, n_points=p["n_points"], width=p["width"],
                      layers_drawn=p["layers_drawn"])
    dio.save_tsv(snakemake.output.tsv, table, dio.provenance(p))
