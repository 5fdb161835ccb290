"""claims_analysis: the claims of Fig. 4(b) for one analysis (claims.tsv) and its summary."""

from deepftle.images.analysis import AnalysisSpec, analysis_claims, analysis_summary
from deepftle.pipeline.claims import ClaimSettings, write_claims
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    spec = AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    arrays, _ = load_npz(sm.input.arrays)
    claims = analysis_claims(
        arrays,
        spec.min_accuracy,
        settings=ClaimSettings.from_config(sm.params.claims),
        figure=f"analysis:{spec.name}",
    )
    prov = provenance(dict(sm.params))
    write_claims(sm.output.claims, claims, prov)
    save_tsv(sm.output.summary, analysis_summary(arrays), prov)
