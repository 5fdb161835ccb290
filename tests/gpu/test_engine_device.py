"""The engine on the test device against the float64 CPU reference.

The device is ``$DEEPFTLE_TEST_DEVICE`` (``tests/gpu/run.sh`` sets ``cuda``), else CUDA when
present, else the CPU: under ``make test`` on a machine without a GPU these run on the CPU, so
the checks themselves are exercised everywhere; ``make test-gpu`` runs them on CUDA.

Every case computes lambda (and directions where the spectral gap allows) in float32 on the
device and compares with the explicit float64 Jacobian + SVD on the CPU: |d lambda| <= 1e-4,
|cos(v_device, v_reference)| >= 1 - 1e-3. Outputs must live on the device of the model.
"""

from __future__ import annotations

import copy
import os

import pytest
import torch
from helpers.models import Residual, small_cnn
from test_ftle_generic import reference as float64_reference
from torch import nn

import deepftle
from deepftle.ftle import exact_float32
from deepftle.nets.init import init_mlp
from deepftle.nets.mlp import MLP
from deepftle.nets.population import train_population
from deepftle.nets.train import TrainConfig, class_error, cross_entropy_loss, train

DEVICE = torch.device(
    os.environ.get("DEEPFTLE_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
)
if DEVICE.type == "cuda" and not torch.cuda.is_available():
    pytest.skip("DEEPFTLE_TEST_DEVICE=cuda but torch sees no CUDA device", allow_module_level=True)

LAM_TOL = 1e-4


class Wrapped(nn.Module):
    """A module around a Sequential CNN: not a chain, so Lanczos takes torch.func's products."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, z):
        return self.inner(z)


# name -> (factory, point shape, depth, methods, k, check directions)
CASES = {
    "fused_mlp_k3": (
        lambda: nn.Sequential(
            nn.Linear(2, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh()
        ),
        (2,),
        3,
        ("fused",),
        2,
        True,
    ),
    "cnn_reverse": (lambda: small_cnn(32), (1, 28, 28), 3, ("reverse",), 1, False),
    "cnn_lanczos": (lambda: small_cnn(96), (1, 28, 28), 3, ("lanczos",), 1, False),
    "cnn_lanczos_torch_func": (
        lambda: Wrapped(small_cnn(96)),
        (1, 28, 28),
        3,
        ("lanczos",),
        1,
        False,
    ),
    "cnn_lanczos_strided_batchnorm": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2),
            nn.BatchNorm2d(4),
            nn.Tanh(),
            nn.Conv2d(4, 6, 3, padding=1),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(6 * 13 * 13, 80),
            nn.Tanh(),
        ),
        (1, 28, 28),
        3,
        ("lanczos",),
        2,
        True,
    ),
    "residual_forward": (
        lambda: nn.Sequential(nn.Linear(3, 16), Residual(16), Residual(16), nn.Linear(16, 5)),
        (3,),
        4,
        ("forward",),
        2,
        True,
    ),
    "layernorm_reverse": (
        lambda: nn.Sequential(nn.Linear(5, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 4)),
        (5,),
        2,
        ("reverse",),
        2,
        True,
    ),
    "transformer": (
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
            1,
            enable_nested_tensor=False,
        ),
        (4, 8),
        1,
        ("generic",),
        1,
        False,
    ),
}


def reference(model, x, depth):
    """lambda and right singular vectors from the explicit float64 Jacobian on the CPU."""
    model64 = copy.deepcopy(model).to("cpu", torch.float64).eval()
    return float64_reference(model64, x.to("cpu", torch.float64), depth)


@pytest.mark.parametrize("name", sorted(CASES))
def test_engine_on_device_matches_float64_cpu(name):
    factory, shape, depth, methods, k, check_dirs = CASES[name]
    torch.manual_seed(3)
    model = factory().eval()
    x = torch.rand(12, *shape) * 2 - 1
    lam_ref, v_ref = reference(model, x, depth)
    dev_model = model.to(DEVICE)
    for method in methods:
        lam, v = deepftle.ftle(
            dev_model, x.to(DEVICE), k=k, return_directions=True, depth=depth, method=method
        )
        assert lam.device.type == DEVICE.type and v.device.type == DEVICE.type
        err = (lam.cpu().double() - lam_ref[:, :k]).abs().max().item()
        assert err <= LAM_TOL, f"{name} {method}: max |d lambda| {err:.2e} on {DEVICE}"
        if check_dirs:
            gap = (lam_ref[:, :k] - lam_ref[:, 1 : k + 1]).min().item() * depth
            if gap > 0.05:
                cos = (v.cpu().double().reshape(len(x), -1, k) * v_ref[:, :, :k]).sum(1).abs()
                assert cos.min().item() >= 1 - 1e-3, f"{name} {method}: directions differ"


def test_host_input_is_moved_to_the_model_device():
    """x on the CPU with a model on the device (and vice versa for a plain function)."""
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8)).to(DEVICE)
    lam = deepftle.ftle(model, torch.rand(4, 3))
    assert lam.device.type == DEVICE.type
    lam_g = deepftle.ftle(lambda z: model(z), torch.rand(4, 3, device=DEVICE), depth=2)
    assert lam_g.device.type == DEVICE.type


def test_tf32_is_off_inside_the_engine_and_restored_after():
    seen = {}

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, z):
            seen["cudnn"] = torch.backends.cudnn.allow_tf32
            seen["matmul"] = torch.backends.cuda.matmul.allow_tf32
            return torch.tanh(self.lin(z))

    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        deepftle.ftle(Spy().to(DEVICE), torch.rand(4, 3), depth=1)
        assert seen == {"cudnn": False, "matmul": False}
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def test_population_training_on_device_matches_solo_training_on_cpu():
    """Two MNIST-shaped nets trained as one population on the device agree with each net
    trained alone on the CPU (float32 rounding apart), with CPU generators on both sides."""
    torch.manual_seed(0)
    x, y = torch.randn(256, 20), torch.randint(0, 10, (256,))
    cfg = TrainConfig(optimizer="adam", lr=1e-3, epochs=2, batch_size=32, schedule="constant")

    def net(seed):
        m = MLP(d_in=20, width=12, depth=4, d_out=10, output="softmax")
        init_mlp(m, torch.Generator().manual_seed(seed))
        return m

    solo = []
    for seed in (1, 2):
        m = net(seed)
        train(
            m,
            (x, y),
            (x, y),
            cfg,
            cross_entropy_loss,
            class_error,
            torch.Generator().manual_seed(seed),
            progress=False,
        )
        solo.append(m)
    pop = [net(seed).to(DEVICE) for seed in (1, 2)]
    with exact_float32():
        train_population(
            pop,
            (x.to(DEVICE), y.to(DEVICE)),
            (x.to(DEVICE), y.to(DEVICE)),
            cfg,
            cross_entropy_loss,
            class_error,
            [torch.Generator().manual_seed(s) for s in (1, 2)],
            progress=False,
        )
    for a, b in zip(solo, pop, strict=True):
        for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            diff = (pa - pb.cpu()).abs().max().item()
            assert diff < 1e-4, f"{name}: max |diff| {diff:.2e} between CPU solo and {DEVICE}"
