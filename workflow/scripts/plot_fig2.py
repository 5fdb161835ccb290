"""plot_fig2: the L lambda_1 fields for widths x depths, nets below their floor marked."""

from deepftle.circle import stages
from deepftle.pipeline.files import load_npz, provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig2 import plot_fig2

sm = snakemake  # noqa: F821
with job(sm):
    p, nets = dict(sm.params.plot), sm.params.nets
    panels, below_floor = stages.fig2_panels(
        nets, [load_npz(f)[0] for f in sm.input.fields], read_tsv(sm.input.ridges)
    )
    table = plot_fig2(
        panels,
        sm.output.pdf,
        sm.output.png,
        vmax=p["vmax"],
        stride=p["stride"],
        boundary=p["boundary"],
        segment=p["segment"],
        below_floor=below_floor,
        min_accuracy=sm.params.min_accuracy,
    )
    save_tsv(sm.output.tsv, table, provenance(dict(p, nets=nets)))
