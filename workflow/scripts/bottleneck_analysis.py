"""bottleneck_analysis: the bottleneck map of Fig. 4(a) fitted to net 0 of an analysis (an MLP
of the project's): the local fields of its test inputs (Fig. S3's maps)."""

from deepftle.images import analysis
from deepftle.images.settings import BottleneckSettings
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    spec = analysis.AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    b = dict(sm.params.bottleneck)
    arrays = analysis.bottleneck_analysis(
        spec,
        analysis.load_data(spec, sm.input.data),
        sm.input.net,
        BottleneckSettings.from_config(b),
        device,
    )
    save_npz(sm.output[0], provenance(b, device), **arrays)
