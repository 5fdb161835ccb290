"""ftle_snapshots: lambda_1 over the test inputs at every saved epoch of one net."""

from deepftle.circle import stages
from deepftle.pipeline.files import load_npz, provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    data, _ = load_npz(sm.input.data)
    arrays, params = stages.ftle_snapshots(
        sm.input.net, data["x_test"], device, N=int(sm.wildcards.N), L=int(sm.wildcards.L)
    )
    save_npz(sm.output[0], provenance(params, device), **arrays)
