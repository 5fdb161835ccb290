"""claims_figS3: the claims of Fig. 4(b) for every (data set, architecture) of Fig. S3, and its
summary table."""

from deepftle.mnist import stages
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    ftles = {
        tuple(pair): load_npz(f)[0] for pair, f in zip(sm.params.pairs, sm.input.ftles, strict=True)
    }
    summary, claims = stages.claims_figS3(
        ftles,
        min_accuracy=dict(sm.params.min_accuracy),
        settings=ClaimSettings.from_config(sm.params.claims),
    )
    prov = provenance(dict(sm.params))
    save_tsv(sm.output.summary, summary, prov)
    write_claims(sm.output.claims, claims, prov)
