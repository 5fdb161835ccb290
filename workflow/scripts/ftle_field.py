"""ftle_field: lambda_1, lambda_2, v_1 and the output of one net on a grid."""

from deepftle.circle import stages
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    p = dict(grid=sm.params.grid, lim=sm.params.lim, net=str(sm.input.net))
    field = stages.ftle_field(
        sm.input.net,
        device,
        N=int(sm.wildcards.N),
        L=int(sm.wildcards.L),
        grid=p["grid"],
        lim=p["lim"],
    )
    save_npz(sm.output[0], provenance(p, device), **field)
