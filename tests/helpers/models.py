"""Models and references the engine tests share: small architectures of every kind the generic
path handles, and the float64 explicit-Jacobian reference (jacrev + SVD) they are checked
against."""

import torch
from torch import nn
from torch.func import jacrev, vmap
from torch.nn.attention import SDPBackend, sdpa_kernel

from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP


class Residual(nn.Module):
    """x + tanh(W x + b)."""

    def __init__(self, width):
        super().__init__()
        self.lin = nn.Linear(width, width)

    def forward(self, x):
        return x + torch.tanh(self.lin(x))


def small_cnn(features=32):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.Tanh(),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(576, features),
        nn.Tanh(),
    )


def batchnorm_net():
    net = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 8))
    with torch.no_grad():
        net[1].running_mean.normal_(0, 0.3)
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].weight.uniform_(0.5, 1.5)
    return net


def softmax_mlp():
    net = MLP(d_in=20, width=16, depth=3, d_out=10, output="softmax")
    init_mlp(net, torch.Generator().manual_seed(5), sigma_theta=0.3)
    return nn.Sequential(net, nn.Softmax(dim=1))


# name -> (model factory, input shape, depth L or None (counted), methods to check)
ARCHS = {
    "cnn_1x28x28": (small_cnn, (1, 28, 28), None, ("reverse", "lanczos")),
    "cnn_lanczos_96": (lambda: small_cnn(96), (1, 28, 28), None, ("auto",)),
    "residual_mlp": (
        lambda: nn.Sequential(nn.Linear(3, 16), Residual(16), Residual(16), nn.Linear(16, 5)),
        (3,),
        None,
        ("auto", "reverse"),
    ),
    "layernorm_mlp": (
        lambda: nn.Sequential(
            nn.Linear(5, 16),
            nn.LayerNorm(16),
            nn.Tanh(),
            nn.Linear(16, 16),
            nn.LayerNorm(16),
            nn.Tanh(),
        ),
        (5,),
        None,
        ("auto", "reverse"),
    ),
    "batchnorm_eval": (batchnorm_net, (5,), None, ("auto", "forward")),
    "transformer_2_layers": (
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
            2,
            enable_nested_tensor=False,
        ),
        (4, 8),
        2,
        ("auto", "reverse"),
    ),
    "mlp_softmax_output": (softmax_mlp, (20,), None, ("auto", "forward")),
}


def reference(model64, x64, depth):
    """log sigma / L and right singular vectors from the explicit float64 Jacobian."""

    def single(z):
        return model64(z[None]).reshape(-1)

    with sdpa_kernel(SDPBackend.MATH):
        J = vmap(jacrev(single))(x64).reshape(x64.shape[0], -1, x64[0].numel())
    _, s, vh = torch.linalg.svd(J, full_matrices=False)
    return torch.log(s) / depth, vh.transpose(1, 2)


def counted_depth(model):
    return sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules())
