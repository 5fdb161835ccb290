"""mnist_summary: the summary table (accuracies, correlations, boxes) and the claims of Fig. 4."""

from deepftle.images import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job
from deepftle.pipeline.published import read_published

sm = snakemake  # noqa: F821
with job(sm):
    table, claims = stages.mnist_summary(
        read_tsv(sm.input.history),
        load_npz(sm.input.ftle)[0],
        load_npz(sm.input.coords)[0],
        load_npz(sm.input.path)[0],
        read_tsv(sm.input.widths),
        read_tsv(sm.input.paths),
        load_npz(sm.input.mains)[0],
        box_fraction=sm.params.box_fraction,
        paper_accuracy=sm.params.paper_accuracy,
        settings=ClaimSettings.from_config(sm.params.claims),
        published=read_published(sm.input.published),
    )
    prov = provenance(dict(sm.params))
    save_tsv(sm.output.summary, table, prov)
    write_claims(sm.output.claims, claims, prov)
