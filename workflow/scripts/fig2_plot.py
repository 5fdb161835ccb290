"""plot_fig2: L*lambda_1 fields for widths x depths (glue; logic in deepftle.plots.fig2)."""
import deepftle.io as dio
from deepftle.plots.fig2 import plot_fig2

with dio.log_to(snakemake.log[0]):
    p = dict(snakemake.params.plot)
    fields = []
    for net, path in zip(snakemake.params.nets, snakemake.input.fields):
        f, _ = dio.load_npz(path)
        if net["seed"] != min(n["seed"] for n in snakemake.params.nets):
            continue  # one panel per (N, L): the first seed
        fields.append(dict(N=int(net["N"]), L=int(net["L"]), **f))
    ridges = dio.read_tsv(snakemake.input.ridges)
    table = plot_fig2(fields, snakemake.output.pdf, snakemake.output.png, stride=p["stride"],
                      boundary=p["boundary"], segment=p["segment"], ridges=ridges)
    dio.save_tsv(snakemake.output.tsv, table, dio.provenance(dict(p, nets=snakemake.params.nets)))
