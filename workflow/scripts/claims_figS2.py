"""claims_figS2: the claims of Fig. 4(b) for the Fig. S2 architecture, and its summary table."""

from deepftle.mnist import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    summary, claims = stages.claims_figS2(
        load_npz(sm.input.ftle)[0],
        min_accuracy=sm.params.min_accuracy,
        settings=ClaimSettings.from_config(sm.params.claims),
    )
    prov = provenance(dict(sm.params))
    save_tsv(sm.output.summary, summary, prov)
    write_claims(sm.output.claims, claims, prov)
