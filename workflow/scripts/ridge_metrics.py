"""ridge_metrics: contrast, alignment and orthogonality of the ridges of every Fig. 2 net, and
the claims of Fig. 2."""

from deepftle.circle import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, read_tsv, save_tsv
from deepftle.pipeline.job import job
from deepftle.pipeline.published import read_published

sm = snakemake  # noqa: F821
with job(sm):
    p = sm.params
    table, claims = stages.ridge_metrics(
        p.nets,
        [load_npz(f)[0] for f in sm.input.fields],
        [read_tsv(h) for h in sm.input.histories],
        delta=p.delta,
        top=p.top,
        min_accuracy=p.min_accuracy,
        settings=ClaimSettings.from_config(p.claims),
        published=read_published(sm.input.published),
    )
    prov = provenance(
        dict(delta=p.delta, top=p.top, min_accuracy=p.min_accuracy, nets=p.nets, claims=p.claims)
    )
    save_tsv(sm.output.ridges, table, prov)
    write_claims(sm.output.claims, claims, prov)
