"""plot_fig4: Figure 4 in the published layout, and the tables behind it."""

from deepftle.images.fig4 import fig4_tables
from deepftle.images.nets import NetSpec, describe_protocol
from deepftle.pipeline.files import load_npz, provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig4 import plot_fig4

sm = snakemake  # noqa: F821
with job(sm):
    p = dict(sm.params.fig)
    ftle, _ = load_npz(sm.input.ftle)
    coords, _ = load_npz(sm.input.coords)
    path, _ = load_npz(sm.input.path)
    t = fig4_tables(
        ftle,
        coords,
        path,
        read_tsv(sm.input.widths),
        box_class=p["box_class"],
        box_fraction=p["box_fraction"],
        n_bins=p["n_bins"],
    )
    prov = provenance(p)
    for key in ("box", "bins", "path", "width"):
        save_tsv(sm.output[key], t[key], prov)
    print(t["box"].to_string(index=False), flush=True)
    plot_fig4(
        t,
        sm.output.pdf,
        sm.output.png,
        blowup=p["blowup"],
        box_class=p["box_class"],
        sweep_protocol=describe_protocol(NetSpec.from_config(dict(sm.params.sweep))),
        main_protocol=describe_protocol(NetSpec.from_config(dict(sm.params.main))),
    )
