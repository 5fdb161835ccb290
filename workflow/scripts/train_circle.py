"""train_circle: one network on the circle data (its redraws included)."""

from deepftle.circle import stages
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import load_npz, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    wc = sm.wildcards
    data, _ = load_npz(sm.input.data)
    (net,) = stages.train_circle(
        sm.params.settings, [(wc.s, wc.seed)], data, device, N=int(wc.N), L=int(wc.L), mode=wc.mode
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    # the history first: the checkpoint is the rule's last output, written only on success
    save_tsv(sm.output.history, net["history"], prov)
    save_model(
        sm.output.net, net["model"], prov, sigma_w=net["sigma_w"], snapshots=net["snapshots"]
    )
