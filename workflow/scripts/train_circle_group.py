"""train_circle_group_<figure>: the nets of one (N, L) of a figure as one population job."""

from deepftle.circle import stages
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    data, _ = load_npz(sm.input.data)
    nets = stages.train_circle(
        sm.params.settings,
        sm.params.members,
        data,
        device,
        N=int(sm.wildcards.N),
        L=int(sm.wildcards.L),
    )
    for net, net_path, history_path in zip(nets, sm.output.nets, sm.output.histories, strict=True):
        prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
        save_tsv(history_path, net["history"], prov)
        save_model(net_path, net["model"], prov, sigma_w=net["sigma_w"], snapshots=net["snapshots"])
