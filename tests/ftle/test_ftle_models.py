"""The engine on the building blocks of third-party models, against float64 explicit Jacobians.

Hand-built patterns of torchvision-style networks (torchvision cannot be installed here): a
ResNet BasicBlock (``ReLU(inplace=True)``, ``out += identity``), a MobileNetV3 inverted
residual (``Hardswish(inplace=True)`` whose output feeds squeeze-excitation), a stochastic
depth branch (functional, no ``nn.Dropout`` module), an in-place ``ELU`` MLP, plus the generic
path's CNN / residual / LayerNorm / BatchNorm / transformer / softmax models. Each is checked
with ``method="auto"`` and with the Lanczos and exact methods: |Delta lambda| <= 1e-4 for
float32 copies and <= 1e-10 in float64, v_1 up to sign where sigma_1 / sigma_2 > 1.01;
``layers=`` on a module whose output the model later modifies in place gives the exponents of
that module's output. One slow case: a BasicBlock network at 3 x 224 x 224 against a
matrix-free float64 reference (``scipy.sparse.linalg.eigsh`` on J J^T).
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from helpers.models import ARCHS, reference
from torch import nn

import deepftle


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock: conv-bn-relu_-conv-bn, out += identity, relu_."""

    def __init__(self, c, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.down = (
            None
            if stride == 1
            else nn.Sequential(nn.Conv2d(c, c, 1, stride, bias=False), nn.BatchNorm2d(c))
        )

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


def resnet_like(c=4, classes=None):
    layers = [
        nn.Conv2d(3, c, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(inplace=True),
        BasicBlock(c),
        BasicBlock(c, stride=2),
    ]
    if classes is not None:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    else:
        layers.append(nn.Flatten())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.relu, self.scale = nn.ReLU(inplace=True), nn.Hardsigmoid(inplace=True)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.scale(self.fc2(self.relu(self.fc1(s))))


class InvertedResidual(nn.Module):
    """MobileNetV3's block: expand, Hardswish_, depthwise, Hardswish_, SE, project, + x."""

    def __init__(self, c, expand):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(c, expand, 1, bias=False),
            nn.BatchNorm2d(expand),
            nn.Hardswish(inplace=True),
            nn.Conv2d(expand, expand, 3, 1, 1, groups=expand, bias=False),
            nn.BatchNorm2d(expand),
            nn.Hardswish(inplace=True),
            SqueezeExcitation(expand, 4),
            nn.Conv2d(expand, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, x):
        return x + self.block(x)


def mobilenet_like(c=4):
    return nn.Sequential(
        nn.Conv2d(3, c, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.Hardswish(inplace=True),
        InvertedResidual(c, 12),
        InvertedResidual(c, 8),
        nn.Flatten(),
    )


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth ("row" mode) as a module with its own forward."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.empty(
            x.shape[0], *[1] * (x.dim() - 1), dtype=x.dtype, device=x.device
        ).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class DropPathResidual(nn.Module):
    """x + drop(tanh(W x)), with functional dropout on a hidden layer as well."""

    def __init__(self, width):
        super().__init__()
        self.lin, self.out = nn.Linear(width, width), nn.Linear(width, width)
        self.drop = StochasticDepth(0.2)

    def forward(self, x):
        h = F.dropout(torch.tanh(self.lin(x)), 0.3, self.training)
        return x + self.drop(self.out(h))


class ELUNet(nn.Module):
    """elu_ whose output feeds the next layer (wrong after the first call under linearize)."""

    def __init__(self, d=40):
        super().__init__()
        self.a, self.b, self.g = nn.Linear(d, d), nn.Linear(d, d), nn.ELU(inplace=True)

    def forward(self, x):
        return self.b(self.g(self.a(x)))


def _randomise_norms(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model


# name -> (factory, input shape, depth or None (counted), methods)
MODELS = {
    "basicblock_features": (lambda: resnet_like(), (3, 6, 6), None, ("auto", "reverse")),
    "basicblock_classifier": (
        lambda: resnet_like(classes=10),
        (3, 8, 8),
        None,
        ("auto", "lanczos"),
    ),
    "inverted_residual_se": (mobilenet_like, (3, 5, 5), None, ("auto", "reverse")),
    "drop_path_residual_eval": (
        lambda: nn.Sequential(nn.Linear(6, 24), DropPathResidual(24), nn.Linear(24, 20)),
        (6,),
        None,
        ("auto", "reverse"),
    ),
    "elu_inplace_mlp": (ELUNet, (40,), 2, ("auto", "lanczos")),
    **{
        f"generic_{name}": spec
        for name, spec in ARCHS.items()
        if name
        in (
            "cnn_1x28x28",
            "residual_mlp",
            "layernorm_mlp",
            "batchnorm_eval",
            "transformer_2_layers",
            "mlp_softmax_output",
        )
    },
}


def _depth(model, depth):
    """L: the weight layers (each called once per forward pass in these models)."""
    if depth is not None:
        return depth
    return sum(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules())


def _check(lam, v, lam_ref, v_ref, L, tol, cos_tol, label):
    k = lam.shape[1]
    err = (lam.double() - lam_ref[:, :k]).abs().max().item()
    assert err <= tol, (label, err)
    if v is not None:
        P = lam.shape[0]
        gap = lam_ref[:, 0] - lam_ref[:, 1] > math.log(1.01) / L
        cos = (v[..., 0].reshape(P, -1).double() * v_ref[:, :, 0]).sum(1).abs()
        assert (cos[gap] >= 1 - cos_tol).all(), (label, cos)


@pytest.mark.parametrize("name", list(MODELS))
def test_third_party_patterns_match_float64_jacobian(name):
    factory, shape, depth, methods = MODELS[name]
    torch.manual_seed(0)
    model64 = _randomise_norms(factory()).double().eval()
    L = _depth(model64, depth)
    x64 = torch.randn(3, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    lam_ref, v_ref = reference(copy.deepcopy(model64), x64, L)
    model32 = copy.deepcopy(model64).float()
    k = 2
    for method in methods:
        lam, v = deepftle.ftle(
            model64, x64, k=k, return_directions=True, depth=depth, method=method
        )
        _check(lam, v, lam_ref, v_ref, L, 1e-10, 1e-8, (name, method, "float64"))
        lam32, v32 = deepftle.ftle(
            model32, x64.float(), k=k, return_directions=True, depth=depth, method=method
        )
        assert lam32.dtype == torch.float32
        _check(lam32, v32, lam_ref, v_ref, L, 1e-4, 1e-3, (name, method, "float32"))


def test_elu_inplace_reproducer_lanczos_products():
    """The 100-wide in-place ELU MLP (Lanczos on both sides): the reference value, float32."""
    torch.manual_seed(0)
    m = ELUNet(100).eval()
    x = torch.randn(2, 100)
    lam_ref, _ = reference(copy.deepcopy(m).double(), x.double(), 2)
    lam = deepftle.ftle(m, x)
    assert (lam[:, 0].double() - lam_ref[:, 0]).abs().max() <= 1e-4


def test_layers_capture_outputs_later_modified_in_place():
    """bn1 (then relu_) and bn2 (then += identity, relu_) of a BasicBlock: the exponents of
    their own outputs, not of what the model later wrote into those tensors."""
    torch.manual_seed(0)
    model = _randomise_norms(resnet_like()).double().eval()
    x = torch.randn(3, 3, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    block = model[3]
    upto_bn1 = lambda z: block.bn1(block.conv1(model[2](model[1](model[0](z)))))  # noqa: E731

    def upto_bn2(z):
        h = model[2](model[1](model[0](z)))
        return block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(h)))))

    for name, fn, L in (("3.bn1", upto_bn1, 2), ("3.bn2", upto_bn2, 3)):
        lam_ref, v_ref = reference(fn, x, L)
        lam, v = deepftle.ftle(model, x, k=2, layers=[name], return_directions=True)
        _check(lam[0], v[0], lam_ref, v_ref, L, 1e-10, 1e-8, name)


def test_layers_reproducer_is_the_weight():
    """Linear -> ReLU(inplace) -> Linear, layers='lin': J = W at every point."""

    class M(nn.Module):
        def __init__(s):
            super().__init__()
            s.lin, s.act, s.out = nn.Linear(5, 5), nn.ReLU(inplace=True), nn.Linear(5, 2)

        def forward(s, x):
            return s.out(s.act(s.lin(x)))

    torch.manual_seed(0)
    m = M().eval()
    lam = deepftle.ftle(m, torch.randn(4, 5), layers="lin")
    expected = torch.linalg.svdvals(m.lin.weight.detach().double())[0].log()
    assert (lam[0, :, 0].double() - expected).abs().max() <= 1e-6


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Sequential(nn.Linear(6, 24), DropPathResidual(24), nn.Linear(24, 20)),
        lambda: nn.Sequential(nn.Linear(6, 8), StochasticDepth(0.01), nn.Linear(8, 3)),
    ],
)
def test_hidden_randomness_in_training_mode_is_a_value_error(make):
    model = make().train()  # no nn.Dropout / BatchNorm module to flag
    for method in ("auto", "reverse", "lanczos"):
        with pytest.raises(ValueError, match="random.*training mode"):
            deepftle.ftle(model, torch.randn(5, 6), method=method)


@pytest.mark.slow
def test_basicblock_network_at_224_against_matrix_free_float64():
    """A ResNet stem + two BasicBlocks at 3 x 224 x 224, pooled to 8 x 4 x 4 and a 100-way
    linear head: lambda_1 of two images by the engine (float32, default method: Lanczos on
    J J^T) against eigsh on J J^T in float64 (products by torch.func's vjp / jvp of the
    float64 model)."""
    import numpy as np
    from scipy.sparse.linalg import LinearOperator, eigsh

    torch.manual_seed(0)
    c = 8
    model = _randomise_norms(
        nn.Sequential(
            nn.Conv2d(3, c, 7, 2, 3, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
            BasicBlock(c),
            BasicBlock(c),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(c * 16, 100),
        )
    ).eval()
    L = 6
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    lam = deepftle.ftle(model, x)
    model64 = copy.deepcopy(model).double()
    for p in range(2):
        x0 = x[p : p + 1].double()
        _, pull = torch.func.vjp(model64, x0)

        def jjt(u, pull=pull, x0=x0):
            u = torch.from_numpy(np.ascontiguousarray(u).reshape(1, -1))
            g = pull(u)[0]
            return torch.func.jvp(model64, (x0,), (g,))[1].detach().reshape(-1).numpy()

        op = LinearOperator((100, 100), matvec=jjt, dtype=np.float64)
        top = eigsh(op, k=1, which="LA", tol=1e-13, v0=np.ones(100))[0][0]
        ref = 0.5 * math.log(top) / L
        assert abs(lam[p, 0].item() - ref) <= 1e-4, (p, lam[p, 0].item(), ref)
