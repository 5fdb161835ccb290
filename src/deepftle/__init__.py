"""deepftle: finite-time Lyapunov exponents of deep neural networks.

>>> import torch, deepftle
>>> net = deepftle.MLP(d_in=2, width=50, depth=8)
>>> # (100, 2), lambda_1 >= lambda_2
>>> lam = deepftle.ftle(net.trunk, torch.rand(100, 2) * 2 - 1, k=2)
>>> cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Tanh(), torch.nn.Flatten())
>>> lam = deepftle.ftle(cnn.eval(), torch.rand(10, 1, 8, 8))   # any model: (10, 1), L = 1
"""

from ._version import __version__
from .ftle import ftle
from .nets.checkpoints import load_model, save_model
from .nets.init import init_mlp
from .nets.mlp import MLP

__all__ = ["ftle", "MLP", "init_mlp", "save_model", "load_model", "__version__"]
