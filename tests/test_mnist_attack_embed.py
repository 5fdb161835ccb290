"""Adversarial path and 2-D maps on a tiny network."""

from __future__ import annotations

import pickle

import numpy as np
import torch

import deepftle
from deepftle.adversarial import attack_path, choose_start
from deepftle.embed import fit_bottleneck, fit_tsne
from deepftle.mnist import standardise


def _net(seed=0):
    torch.manual_seed(seed)
    net = deepftle.MLP(d_in=16, width=8, depth=3, d_out=10, output="softmax")
    deepftle.init_mlp(net, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        net.head.weight.mul_(20)  # confident outputs, so a target probability is reachable
    return net.eval()


def test_attack_reaches_target_and_keeps_pixels_valid():
    net = _net()
    x0 = torch.rand(16, generator=torch.Generator().manual_seed(1))
    path, reached = attack_path(net, x0, target=4, step=0.05, stop_prob=0.9, max_steps=300,
                                progress=False)
    assert reached
    assert torch.equal(path[0], x0)
    assert float(path.min()) >= 0 and float(path.max()) <= 1
    assert float(torch.softmax(net(path[-1:]).detach(), 1)[0, 4]) >= 0.9
    again, _ = attack_path(net, x0, target=4, step=0.05, stop_prob=0.9, max_steps=300,
                           progress=False)
    assert torch.equal(path, again)  # deterministic


def test_pgd_stays_in_ball_and_stops_at_max_steps():
    net = _net()
    x0 = torch.full((16,), 0.5)
    path, reached = attack_path(net, x0, target=3, step=0.05, stop_prob=0.999, max_steps=10,
                                method="pgd", eps=0.1, progress=False)
    assert not reached and len(path) == 11
    assert float((path - x0).abs().max()) <= 0.1 + 1e-6


def test_choose_start_first_confident_or_fallback():
    net = _net()
    x = torch.rand(50, 16, generator=torch.Generator().manual_seed(2))
    pred = torch.softmax(net(x), 1).argmax(1).numpy()
    labels = pred.copy()
    idx, why = choose_start(net, x, labels, source=int(pred[7]), min_prob=0.0)
    assert idx == int(np.flatnonzero(pred == pred[7])[0]) and "first" in why
    idx, why = choose_start(net, x, labels, source=int(pred[7]), min_prob=1.1)
    assert labels[idx] == pred[7] and "most confident" in why
    assert choose_start(net, x, labels, 9, index=3) == (3, "index from config")


def test_tsne_map_fit_transform_pickle(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (40, 5)), rng.normal(3, 0.1, (40, 5))])
    emb = fit_tsne(x, perplexity=10, n_jobs=1, seed=0, n_iter=100, early_exaggeration_iter=50,
                   verbose=False)
    assert emb.coords.shape == (80, 2)
    with open(tmp_path / "e.pkl", "wb") as fh:
        pickle.dump(emb, fh)
    with open(tmp_path / "e.pkl", "rb") as fh:
        emb2 = pickle.load(fh)
    new = emb2.transform(np.array([[3.0] * 5, [0.0] * 5]), n_iter=20)
    c = emb.coords
    # a new point lands next to its own cluster
    d_own = np.linalg.norm(new[0] - c[40:].mean(0))
    d_other = np.linalg.norm(new[0] - c[:40].mean(0))
    assert new.shape == (2, 2) and d_own < d_other


def test_bottleneck_map():
    net = deepftle.MLP(d_in=16, width=8, depth=2, d_out=10, output="softmax")
    x = np.random.default_rng(0).random((100, 16))
    y = np.arange(100) % 10
    emb = fit_bottleneck(net.trunk, x, y, width=8, epochs=2, preprocess=standardise,
                         progress=False)
    assert emb.coords.shape == (100, 2)
    np.testing.assert_allclose(emb.transform(x[:5]), emb.coords[:5], rtol=1e-5, atol=1e-6)
    pickle.loads(pickle.dumps(emb))
