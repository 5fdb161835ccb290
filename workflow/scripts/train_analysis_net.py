"""train_analysis_net: net `net` of an analysis trained by the project's loop; a project
architecture is written as a deepftle checkpoint, a user's model as its state_dict."""

import torch

from deepftle.images import analysis
from deepftle.images.datasets import SETS
from deepftle.nets.checkpoints import save_model
from deepftle.pipeline.files import atomic_path, provenance, save_tsv
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    spec = analysis.AnalysisSpec.from_config(sm.wildcards.analysis, dict(sm.params.entry))
    net = analysis.train_analysis_net(
        spec, analysis.load_data(spec, sm.input.data), int(sm.wildcards.net), device
    )
    prov = {k: str(v) for k, v in provenance(net["params"], device).items()}
    if spec.model.is_project:
        extra = {}
        if spec.data.set == "mnist":  # the pixel statistics the nets' inputs were standardised by
            extra = dict(pixel_mean=SETS["mnist"].mean[0], pixel_std=SETS["mnist"].std[0])
        save_model(sm.output.net, net["model"], prov, **extra)
    else:
        with atomic_path(sm.output.net) as tmp:
            torch.save({k: v.detach().cpu() for k, v in net["model"].state_dict().items()}, tmp)
    save_tsv(sm.output.history, net["history"], prov)
