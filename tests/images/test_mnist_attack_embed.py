"""The attack (reaches its target on a small trained net, stop rule, loud failure naming every
start, device plumbing) and the openTSNE map."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
import torch

import deepftle
from deepftle.images import attack
from deepftle.images.attack import (
    AttackFailed,
    AttackSettings,
    attack_batch,
    attack_path,
    candidate_starts,
    first_successful_path,
    margin,
)
from deepftle.images.paths import crossing_peak, path_statistics, visited_classes
from deepftle.images.tsne import fit_tsne
from deepftle.nets.train import TrainConfig, class_error, cross_entropy_loss, train


@pytest.fixture(scope="module")
def trained():
    """A small net trained on 10 separable classes of 16-pixel images in [0, 1]."""
    g = torch.Generator().manual_seed(0)
    centres = torch.rand(10, 16, generator=g)
    y = torch.arange(600) % 10
    x = (centres[y] + 0.05 * torch.randn(600, 16, generator=g)).clamp(0, 1)
    torch.manual_seed(0)
    net = deepftle.MLP(d_in=16, width=12, depth=3, d_out=10, output="softmax")
    deepftle.init_mlp(net, torch.Generator().manual_seed(1))
    cfg = TrainConfig(optimizer="adam", lr=0.02, epochs=20, batch_size=64)
    train(
        net,
        (x, y),
        (x, y),
        cfg,
        cross_entropy_loss,
        class_error,
        torch.Generator().manual_seed(2),
        progress=False,
    )
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval(), x, y


@pytest.mark.parametrize("method", ["ce_l2", "margin_l2"])
def test_attack_reaches_target_on_a_trained_net(trained, method):
    net, x, y = trained
    x0 = x[y == 9][0]
    s = AttackSettings(target=4, method=method, step=0.02, stop_prob=0.99, max_steps=3000)
    path, reached, best, kicks = attack_path(net, x0, s, progress=False)
    p_end = float(torch.softmax(net(path[-1:]), 1)[0, 4])
    assert reached and p_end >= 0.99 and best == pytest.approx(p_end)
    assert torch.equal(path[0], x0) and float(path.min()) >= 0 and float(path.max()) <= 1
    # stop rule: every image before the last is below the stop probability
    p_before = torch.softmax(net(path[:-1]), 1)[:, 4]
    assert float(p_before.max()) < 0.99
    # steps of at most the step length (pulls out of local minima: KICK steps): a continuous path
    longest = 0.02 * (attack.KICK if kicks else 1)
    assert float(torch.linalg.vector_norm(path.diff(dim=0), dim=1).max()) <= longest + 1e-6
    again, _, _, _ = attack_path(net, x0, s, progress=False)
    assert torch.equal(path, again)  # deterministic


def test_batch_attack_agrees_with_single_paths(trained):
    net, x, y = trained
    starts = x[y == 9][:4]
    s = AttackSettings(target=4, step=0.02, stop_prob=0.9, max_steps=3000)
    end, reached, best, steps = attack_batch(net, starts, s, progress=False)
    assert bool(reached.all()) and (best >= 0.9).all()
    for i in range(len(starts)):
        path, _, _, _ = attack_path(net, starts[i], s, progress=False)
        assert len(path) - 1 == int(steps[i])
        torch.testing.assert_close(path[-1], end[i], rtol=0, atol=1e-5)


def test_a_stalled_attack_is_pulled_toward_its_guide(trained):
    net, x, y = trained
    x0, guide = x[y == 9][0], x[y == 4][0]
    # a step too short to get anywhere within the window: every WINDOW iterations a pull
    s = AttackSettings(target=4, step=1e-6, stop_prob=0.99, max_steps=3 * attack.WINDOW)
    path, reached, _, kicks = attack_path(net, x0, s, progress=False, guide=guide)
    assert kicks >= 2
    d0 = float(torch.linalg.vector_norm(guide - x0))
    assert float(torch.linalg.vector_norm(guide - path[-1])) < d0 - kicks * 1e-6 * 10
    guides = attack.nearest_guides(x[:3], x, (y == 4).numpy())
    assert all(int(y[int(torch.cdist(g[None], x).argmin())]) == 4 for g in guides)


def test_pgd_stays_in_its_ball_and_stops_at_max_steps(trained):
    net, x, y = trained
    x0 = x[y == 9][0]
    s = AttackSettings(target=4, method="pgd", step=0.01, eps=0.02, stop_prob=0.999, max_steps=10)
    path, reached, best, _ = attack_path(net, x0, s, progress=False)
    assert not reached and len(path) == 11 and best < 0.999
    assert float((path - x0).abs().max()) <= 0.02 + 1e-6


def test_failure_names_every_start_and_its_best_probability(trained):
    net, x, y = trained
    s = AttackSettings(target=4, method="pgd", step=0.001, eps=0.002, stop_prob=0.99, max_steps=5)
    order = candidate_starts(net, x, y.numpy(), source=9, min_prob=0.5)
    assert order == sorted(order) and all(int(y[i]) == 9 for i in order)
    with pytest.raises(AttackFailed) as err:
        first_successful_path(net, x, order, k=3, s=s, log=lambda m: None)
    msg = str(err.value)
    for i in order[:3]:
        assert f"{i} (best p = " in msg
    assert str(order[3]) + " (" not in msg and "nothing written" in msg


def test_candidates_filter_and_first_index(trained):
    net, x, y = trained
    in_cluster = np.zeros(len(x), dtype=bool)
    in_cluster[::2] = True
    order = candidate_starts(
        net, x, y.numpy(), source=9, min_prob=0.5, in_cluster=in_cluster, first=3
    )
    assert order[0] == 3 and all(i % 2 == 0 for i in order[1:])
    with pytest.raises(ValueError, match="start_index 999"):
        candidate_starts(net, x, y.numpy(), source=9, min_prob=0.5, first=999)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="method"):
        AttackSettings(target=4, method="fgsm")
    with pytest.raises(ValueError, match="eps"):
        AttackSettings(target=4, method="pgd")


def test_margin_and_device_plumbing():
    logits = torch.tensor([[1.0, 3.0, 2.0], [5.0, 0.0, 1.0]])
    assert margin(logits, 2).tolist() == [1.0, 4.0]
    # the attack builds no tensor on a fixed device: every new tensor follows its input
    src = inspect.getsource(attack)
    assert "torch.tensor(" not in src
    for call in ("torch.full(", "torch.zeros(", "torch.ones("):
        for line in [ln for ln in src.splitlines() if call in ln]:
            assert "device=" in line, line


def test_attack_runs_on_the_meta_device():
    net = deepftle.MLP(d_in=16, width=4, depth=2, d_out=10, output="softmax").to("meta")
    logits = net(torch.zeros(3, 16, device="meta"))
    s = AttackSettings(target=4, method="pgd", step=0.1, eps=0.1)
    loss, probs = attack._loss_and_probs(net, torch.zeros(3, 16, device="meta"), s, None)
    assert loss.device.type == "meta" and probs.device.type == "meta" and logits.shape == (3, 10)


def test_tsne_map_fit_transform_pickle(tmp_path):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (40, 5)), rng.normal(3, 0.1, (40, 5))])
    emb = fit_tsne(
        x, perplexity=10, n_jobs=1, seed=0, n_iter=100, early_exaggeration_iter=50, verbose=False
    )
    assert emb.coords.shape == (80, 2)
    with open(tmp_path / "e.pkl", "wb") as fh:
        pickle.dump(emb, fh)
    with open(tmp_path / "e.pkl", "rb") as fh:
        emb2 = pickle.load(fh)
    new = emb2.transform(np.array([[3.0] * 5, [0.0] * 5]), n_iter=20)
    c = emb.coords
    d_own = np.linalg.norm(new[0] - c[40:].mean(0))
    d_other = np.linalg.norm(new[0] - c[:40].mean(0))
    assert new.shape == (2, 2) and d_own < d_other


def test_visited_classes_and_crossing_peak():
    assert visited_classes([9, 9, 7, 7, 9, 4, 4]) == [9, 7, 9, 4]
    lam = np.array([0.0, 0.1, 0.5, 0.2, 0.1, 0.05])
    pred = np.array([9, 9, 9, 4, 4, 4])
    assert crossing_peak(lam, pred, 9, window=0.2) == pytest.approx(0.5 - 0.05)
    assert np.isnan(crossing_peak(lam, np.full(6, 9), 9))


def test_path_statistics_and_baselines(trained):
    """On a real attack path: the classes visited, the peak near the crossing, and the
    |cos| baselines (random directions in J's row space lie in the 12-dimensional space v1 can
    take, so their |cos| with a step exceeds that of directions in all 16 pixel dimensions)."""
    net, x, y = trained
    s = AttackSettings(target=4, step=0.02, stop_prob=0.9, max_steps=500)
    path, reached, _, _ = attack_path(net, x[y == 9][0], s, progress=False)
    assert reached
    st = path_statistics(net, path.numpy(), source=9, target=4, preprocess=lambda z: z, n_random=50)
    assert st["classes"].startswith("9") and st["classes"].endswith("4")
    assert len(set(st["classes"].split(">"))) == len(st["classes"].split(">"))
    assert st["class_changes"] >= len(st["classes"].split(">")) - 1
    assert 0 <= st["detour"] < 1 and st["steps"] == len(path) - 1
    assert len(st["lam1"]) == len(path) and np.isfinite(st["crossing_peak"])
    assert 0 < st["cos_rowspace"] < 1 and 0 < st["cos_other"] <= 1 and 0 < st["cos_v1"] <= 1


def test_drawn_path_prefers_one_without_a_detour(trained):
    """The first start whose path stays within the detour limit is taken; when none does,
    the least detouring path that reached the target."""
    net, x, y = trained
    s = AttackSettings(target=4, step=0.02, stop_prob=0.9, max_steps=500)
    order = candidate_starts(net, x, y.numpy(), source=9, min_prob=0.5)[:3]
    fake = {order[0]: 0.5, order[1]: 0.05, order[2]: 0.3}
    calls = []

    def detour(path):
        calls.append(1)
        start = int(torch.cdist(path[:1], x).argmin())
        return fake[start]

    index, _, _, tried = first_successful_path(
        net, x, order, k=3, s=s, log=lambda m: None, detour=detour, max_detour=0.1
    )
    assert index == order[1] and len(tried) == 2 and tried[0][2] == 0.5
    fake[order[1]] = 0.4
    index, _, _, tried = first_successful_path(
        net, x, order, k=3, s=s, log=lambda m: None, detour=detour, max_detour=0.1
    )
    assert index == order[2] and len(tried) == 3
