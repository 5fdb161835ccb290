"""ftle_analysis: lambda_1 of net 0 at every analysed test input, the predictions, H of the
ensemble and every net's accuracies (ftle.npz), and the per-input table lambda.tsv."""

from deepftle.images import analysis
from deepftle.pipeline.files import provenance, read_tsv, save_npz, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    spec = analysis.AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    histories = [read_tsv(h) for h in sm.input.histories] if spec.trains else None
    arrays = analysis.ftle_analysis(
        spec,
        analysis.load_data(spec, sm.input.data),
        list(sm.input.nets),
        histories,
        device=device,
        batch_size=sm.params.ftle.get("batch_size"),
    )
    prov = provenance(dict(sm.params.entry, ftle=dict(sm.params.ftle)), device)
    save_npz(sm.output.arrays, prov, **arrays)
    save_tsv(sm.output.table, analysis.lambda_table(arrays), prov, exact=True)
