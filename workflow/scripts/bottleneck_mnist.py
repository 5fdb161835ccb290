"""bottleneck_mnist: a 2-neuron bottleneck before the softmax layer of the trained net, only it
and the output layer retrained; its local fields (b1, b2) are the map of Fig. 4(a)."""

from deepftle.mnist import stages
from deepftle.mnist.bottleneck import save_bottleneck
from deepftle.mnist.nets import load_tensors, net_architecture
from deepftle.pipeline.files import provenance, save_npz
from deepftle.pipeline.job import job

sm = snakemake  # noqa: F821
with job(sm, device=True) as device:
    p = dict(sm.params.bottleneck)
    net, arrays = stages.bottleneck_mnist(
        load_tensors(sm.input.data), sm.input.net, dict(sm.params.train), p, device
    )
    prov = provenance(p, device)
    save_bottleneck(sm.output.net, net, net_architecture(dict(sm.params.train)), prov)
    save_npz(sm.output.coords, prov, **arrays)
