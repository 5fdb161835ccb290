"""plot_fig1: the network layout and the circle data."""

from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig1 import plot_fig1

sm = snakemake  # noqa: F821
with job(sm):
    p = dict(sm.params.plot)
    d, _ = load_npz(sm.input.data)
    table = plot_fig1(
        d["x_train"],
        d["t_train"],
        float(d["r0"]),
        sm.output.pdf,
        sm.output.png,
        n_points=p["n_points"],
        width=p["width"],
        layers_drawn=p["layers_drawn"],
    )
    save_tsv(sm.output.tsv, table, provenance(p))
