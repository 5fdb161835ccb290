"""bottleneck_mnist: a 2-neuron bottleneck before the softmax layer of the trained net, only it
and the output layer retrained; its local fields (b1, b2) are the map of Fig. 4(a)."""

from deepftle.images import stages
from deepftle.images.bottleneck import save_bottleneck
from deepftle.images.datasets import load_image_set
from deepftle.images.settings import BottleneckSettings
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    p = dict(sm.params.bottleneck)
    net, arrays = stages.bottleneck_mnist(
        load_image_set("mnist", sm.input.data),
        sm.input.net,
        dict(sm.params.arch),
        BottleneckSettings.from_config(p),
        device,
    )
    prov = provenance(p, device)
    save_bottleneck(sm.output.net, net, dict(sm.params.arch), prov)
    save_npz(sm.output.coords, prov, **arrays)
