"""A protocol section (``mnist.train``: an MLP's layout and seed beside its optimiser settings
and epochs) split, once, into the plain net spec that
:meth:`deepftle.images.nets.NetSpec.from_config` reads. Imports nothing (the workflow loads it by
path at parse time, without torch)."""

from __future__ import annotations

__all__ = ["PROTOCOL_LAYOUT", "mlp_architecture", "protocol_net"]

#: the keys of a protocol section that are not optimiser settings
PROTOCOL_LAYOUT = ("width", "depth", "activation", "seed", "epochs")


def mlp_architecture(protocol: dict, width: int | None = None) -> dict:
    """The MLP of ``protocol`` (784 pixels -> ``width`` or the protocol's width, ``depth``
    layers, softmax over ten classes): a :func:`deepftle.nets.archs.build_net` dict."""
    return dict(
        d_in=784,
        width=int(width or protocol["width"]),
        depth=int(protocol["depth"]),
        d_out=10,
        activation=protocol["activation"],
        output="softmax",
    )


def protocol_net(
    protocol: dict, *, seed: int, epochs: int, width: int | None = None, arch: dict | None = None
) -> dict:
    """``{arch, train, seed}`` of a net of ``protocol``: its MLP (:func:`mlp_architecture`)
    unless ``arch`` is given, the protocol's optimiser settings with ``epochs``, and ``seed``."""
    if arch is None:
        arch = mlp_architecture(protocol, width)
    train = {k: v for k, v in protocol.items() if k not in PROTOCOL_LAYOUT}
    return dict(arch=dict(arch), train=dict(train, epochs=int(epochs)), seed=int(seed))
