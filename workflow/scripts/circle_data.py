"""circle_data: the training and test sets of the circle problem."""

from deepftle.circle import stages
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm):
    p = dict(sm.params.data)
    save_npz(sm.output[0], provenance(p, "cpu"), **stages.circle_data(p))
