"""plot_fig2: L*lambda_1 fields for widths x depths (glue; logic in deepftle.plots.fig2)."""
import deepftle.pipeline.files as dio
from deepftle.plots.fig2 import plot_fig2

with dio.log_to(snakemake.log[0]):
    p = dict(snakemake.params.plot)
    nets = snakemake.params.nets
    first_seed = min(n["seed"] for n in nets)
    fields = []
    for net, path in zip(nets, snakemake.input.fields):
        if net["seed"] != first_seed:
            continue  # one panel per (N, L): the first seed
        f, _ = dio.load_npz(path)
        fields.append(dict(N=int(net["N"]), L=int(net["L"]), **f))
    ridges = dio.read_tsv(snakemake.input.ridges)
    bad = ridges[(ridges.seed == first_seed) & ridges.below_floor]
    table = plot_fig2(fields, snakemake.output.pdf, snakemake.output.png, vmax=p["vmax"],
                      stride=p["stride"], boundary=p["boundary"], segment=p["segment"],
                      below_floor={(int(r.N), int(r.L)): float(r.accuracy)
                                   for r in bad.itertuples()},
                      min_accuracy=snakemake.params.min_accuracy)
    dio.save_tsv(snakemake.output.tsv, table, dio.provenance(dict(p, nets=nets)))
