"""claims_fig3: the claims of Fig. 3 from the panel-(a) nets and the crossover table."""

from deepftle.circle import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import provenance, read_tsv
from deepftle.pipeline.job import job
from deepftle.pipeline.published import read_published

sm = snakemake  # noqa: F821
with job(sm):
    p = sm.params
    claims = stages.claims_fig3(
        p.nets_a,
        [read_tsv(h) for h in sm.input.histories],
        read_tsv(sm.input.crossover),
        min_accuracy=p.min_accuracy,
        settings=ClaimSettings.from_config(p.claims),
        published=read_published(sm.input.published),
    )
    write_claims(
        sm.output[0],
        claims,
        provenance(dict(min_accuracy=p.min_accuracy, nets_a=p.nets_a, claims=p.claims)),
    )
