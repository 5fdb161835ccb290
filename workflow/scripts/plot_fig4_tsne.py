"""plot_fig4_tsne: the openTSNE map with the colouring and box of Fig. 4(a), and where openTSNE
`transform` places the attack path's images."""

from deepftle.images.fig4 import tsne_tables
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job
from deepftle.plots.fig4_tsne import plot_tsne

sm = snakemake  # noqa: F821
with job(sm):
    p = dict(sm.params.fig)
    ftle, _ = load_npz(sm.input.ftle)
    emb, _ = load_npz(sm.input.coords)
    path, _ = load_npz(sm.input.path)
    t = tsne_tables(ftle, emb, path, box_class=p["box_class"], box_fraction=p["box_fraction"])
    save_tsv(sm.output.box, t["box"], provenance(p))
    plot_tsne(t, sm.output.pdf, sm.output.png, blowup=p["blowup"], box_class=p["box_class"])
