"""The image analysis (Figs. S2, S3 and a user's own): decile means, the binned table, the
claims (floor marked, never tuned) and the figures, on synthetic arrays whose relations are
known; the typed spec of an analysis entry and its errors; a user's builder, checkpoints and
.npz end to end through the library."""

from __future__ import annotations

import numpy as np
import pytest

from deepftle.images.analysis import analysis_bins, analysis_claims, analysis_summary
from deepftle.images.statistics import MIN_PAIRS, decile_means
from deepftle.pipeline.claims import ClaimSettings, below_floor, spearman


def _ftle(n=2000, rises=True, acc=(0.985, 0.98, 0.975), seed=0):
    """Test-set arrays where the error probability and H rise with λ₁ (or fall)."""
    rng = np.random.default_rng(seed)
    lam = rng.normal(0.0, 0.1, n)
    lam[0] = -np.inf  # a singular Jacobian: kept as -inf, not binned, not counted
    s = 1 / (1 + np.exp(-(lam if rises else -lam) / 0.03))
    wrong = rng.random(n) < 0.3 * s
    H = s + 0.05 * rng.random(n)
    probs = np.full((n, 10), 0.02)
    probs[:, 0] = 0.82 - 0.5 * rng.random(n)
    return dict(
        lam1=lam,
        correct=~wrong,
        H=H,
        probs=probs,
        H_single=H * 0.9,
        ensemble_size=np.array(len(acc)),
        arch=np.array("tanh CNN: test"),
        kind=np.array("cnn"),
        depth=np.array(3),
        epochs=np.array(5),
        test_accuracy=np.array(acc),
        train_accuracy=np.array([a + 0.005 for a in acc]),
    )


def test_decile_means_and_spearman():
    lam = np.array([np.inf * -1, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    vals = np.arange(11.0)
    d = decile_means(lam, vals, 0.2)  # 10 finite values: 2 at each end
    assert d == dict(bottom=1.5, top=9.5, lam_bottom_max=1.0, lam_top_min=8.0)
    with pytest.raises(ValueError, match="no finite"):
        decile_means([-np.inf], [1.0])
    with pytest.raises(ValueError, match="decile"):
        decile_means(lam, vals, 0.7)
    assert spearman([1, 2, 3, np.nan], [2, 4, 9, 1], min_pairs=MIN_PAIRS) == 1.0
    assert np.isnan(spearman([1, 2], [1, 2], min_pairs=MIN_PAIRS))


SETTINGS = ClaimSettings(n_boot=200, n_perm=200)


def test_claims_hold_when_error_and_H_rise():
    claims = analysis_claims(_ftle(), 0.97, settings=SETTINGS, figure="figS2")
    assert [c.figure for c in claims] == ["figS2"] * 7
    assert [c.kind for c in claims[:2]] == ["bookkeeping"] * 2
    assert all(c.status == "holds" for c in claims[2:]), [
        (c.claim, c.estimate, c.ci_low) for c in claims
    ]
    assert claims[0].estimate == 0 and "of 3" in claims[0].claim
    assert "CNN (L = 3)" in claims[2].claim
    assert all(c.n == 1999 for c in claims[2:])  # the -inf input is left out of every claim
    assert not any("below" in c.claim for c in claims[2:])


def test_claims_fail_when_error_falls_with_lambda():
    claims = analysis_claims(_ftle(rises=False), 0.97, settings=SETTINGS, figure="figS2")
    assert all(c.status == "fails" for c in claims[2:])
    auroc = [c for c in claims if "AUROC" in c.claim][0]
    assert auroc.estimate < 0.5
    assert all(c.estimate < 0 for c in claims[2:] if "AUROC" not in c.claim)


def test_net_below_the_floor_is_counted_and_named():
    f = _ftle(acc=(0.99, 0.90, 0.95))
    assert below_floor(f["test_accuracy"], 0.97).tolist() == [False, True, True]
    claims = analysis_claims(f, 0.97, settings=SETTINGS, figure="figS2")
    assert claims[0].estimate == 2 and not claims[0].holds
    assert all("[2 of 3 nets below the accuracy floor]" in c.claim for c in claims[2:])


def test_tables_and_summary():
    f = _ftle()
    t = analysis_bins(f, n_bins=20)
    assert t["n_neg_inf"] == 1 and t["n_test"] == 2000 and t["depth"] == 3
    assert t["bins"]["n"].sum() <= 1999 and (t["bins"]["n"] >= 5).all()
    top, bottom = t["bins"].iloc[-3:], t["bins"].iloc[:3]
    assert top["H_mean"].mean() > bottom["H_mean"].mean()
    s = dict(analysis_summary(f).values)
    assert s["n_test"] == 2000 and s["error_top_decile"] > s["error_bottom_decile"]


@pytest.mark.parametrize("acc", [(0.99, 0.985), (0.99, 0.5)])
def test_figure_is_drawn_and_marks_the_floor(tmp_path, acc):
    import matplotlib.image as mpimg

    from deepftle.plots.figS2 import plot_figS2

    t = analysis_bins(_ftle(acc=acc), n_bins=30)
    plot_figS2(t, tmp_path / "s.pdf", tmp_path / "s.png", min_accuracy=0.97)
    img = mpimg.imread(tmp_path / "s.png")[..., :3]
    assert (tmp_path / "s.pdf").stat().st_size > 5000
    # tab:orange (1.0, 0.50, 0.05) appears only when a net is below the floor
    orange = (np.abs(img - np.array([1.0, 0.498, 0.055])).max(axis=-1) < 0.06).sum()
    assert (orange > 50) == (min(acc) < 0.97)


# ---- the analysis of a user's network and data set -------------------------------------------

import torch  # noqa: E402

import deepftle  # noqa: E402
from deepftle.images.analysis import (  # noqa: E402
    AnalysisSpec,
    check_checkpoints,
    complete_architecture,
    figure_claims,
    ftle_analysis,
    lambda_table,
    load_data,
    train_analysis_net,
)

BUILDER = """
import torch
from torch import nn


def make_net(width=8, classes=3):
    return nn.Sequential(nn.Flatten(), nn.Linear(12, width), nn.Tanh(), nn.Linear(width, classes))
"""


def _user_files(tmp_path, n_test=40, n_train=120):
    """A builder file outside the package and an .npz of 2 x 6 inputs, three classes."""
    (tmp_path / "nets.py").write_text(BUILDER)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_train + n_test, 2, 6)).astype(np.float32)
    y = (x[:, 0, :3].sum(1) > 0).astype(np.int64) + (x[:, 1, 0] > 1).astype(np.int64)
    np.savez(
        tmp_path / "mine.npz",
        x_train=x[:n_train],
        y_train=y[:n_train],
        x_test=x[n_train:],
        y_test=y[n_train:],
    )
    return tmp_path / "nets.py", tmp_path / "mine.npz"


def _entry(tmp_path, **extra):
    code, data = _user_files(tmp_path)
    return dict(
        data={"npz": str(data)},
        model={"builder": f"{code}:make_net", "kwargs": {"width": 8}},
        **extra,
    )


def _checkpoints(tmp_path, k):
    from deepftle.images.analysis import ModelSource, build_model

    paths = []
    for i in range(k):
        torch.manual_seed(i)
        model = build_model(ModelSource(builder=f"{tmp_path}/nets.py:make_net", kwargs={}))
        torch.save(model.state_dict(), tmp_path / f"n{i}.pt")
        paths.append(str(tmp_path / f"n{i}.pt"))
    return paths


def test_lambda_is_the_engines_of_the_first_checkpoint(tmp_path):
    entry = _entry(tmp_path)
    entry["checkpoints"] = _checkpoints(tmp_path, 2)
    spec = AnalysisSpec.from_config("mine", entry)
    assert spec.lambda_of == "model" and spec.n_nets == 2 and not spec.trains
    data = load_data(spec, entry["data"]["npz"])
    arrays = ftle_analysis(spec, data, entry["checkpoints"], device="cpu")
    model = check_checkpoints(spec, entry["checkpoints"][:1])[0]
    x = torch.as_tensor(np.load(entry["data"]["npz"])["x_test"])
    ref = deepftle.ftle(model, x)[:, 0].double().numpy()
    assert np.array_equal(arrays["lam1"], ref)
    table = lambda_table(arrays)
    assert list(table.columns) == ["index", "label", "prediction", "lambda_1", "H"]
    assert np.array_equal(table["lambda_1"].to_numpy(), ref)
    assert table["H"].between(0, np.log(3) + 1e-12).all()
    one = AnalysisSpec.from_config("one", dict(entry, checkpoints=entry["checkpoints"][:1]))
    single = ftle_analysis(one, data, one.checkpoints, device="cpu")
    assert "H" not in lambda_table(single).columns
    claims = analysis_claims(single, None, settings=SETTINGS, figure="analysis:one")
    assert [c.kind for c in claims] == ["direction", "direction", "direction"]
    assert not any("H" in c.claim for c in claims)


def test_points_and_standardisation(tmp_path):
    entry = _entry(tmp_path, points=10)
    entry["data"]["standardise"] = True
    entry["checkpoints"] = _checkpoints(tmp_path, 1)
    spec = AnalysisSpec.from_config("mine", entry)
    data = load_data(spec, entry["data"]["npz"])
    raw = np.load(entry["data"]["npz"])
    mean, std = raw["x_train"].astype(np.float64).mean(), raw["x_train"].astype(np.float64).std()
    x = torch.as_tensor(raw["x_test"])
    assert torch.allclose(data.inputs("test"), (x - mean) / std)
    arrays = ftle_analysis(spec, data, spec.checkpoints, device="cpu")
    assert len(arrays["lam1"]) == 10 and arrays["test_accuracy"].shape == (1,)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.pop("fc.weight", None) or s.pop("1.weight"), "missing key '1.weight'"),
        (lambda s: s.update(extra=torch.zeros(1)), "unexpected key 'extra'"),
        (lambda s: s.update({"3.bias": torch.zeros(4)}), "key '3.bias': shape (4,)"),
    ],
)
def test_a_checkpoint_that_does_not_fit_names_file_and_key(tmp_path, change, message):
    entry = _entry(tmp_path)
    path = _checkpoints(tmp_path, 1)[0]
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    spec = AnalysisSpec.from_config("mine", dict(entry, checkpoints=[path]))
    with pytest.raises(ValueError, match=f"checkpoint {path} does not fit") as err:
        check_checkpoints(spec, [path])
    assert message in str(err.value)
    with pytest.raises(FileNotFoundError, match="nope.pt: no such file"):
        check_checkpoints(spec, [str(tmp_path / "nope.pt")])


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda e: e.pop("model"), "analyses.mine: 'model' is missing"),
        (lambda e: e.update(colour=1), r"unknown key\(s\) \['colour'\]"),
        (lambda e: e.update(train={"epochs": 1}), "either 'checkpoints'"),
        (lambda e: e.update(data={"npz": "a", "set": "mnist"}), "one of 'set' or 'npz'"),
        (lambda e: e.update(data={"set": "svhn"}), "data.set 'svhn' is not one of"),
        (lambda e: e.update(model={"builder": "nets.make"}), "model.builder must read"),
        (lambda e: e.update(points=0), "points must be a positive integer"),
        (lambda e: e.update(min_accuracy=1.5), r"min_accuracy must lie in \[0, 1\]"),
        (lambda e: e.update(lambda_of="trunk"), "lambda_of: trunk needs a project"),
        (lambda e: e.update(tsne={"perplexty": 5}), r"tsne: unknown key\(s\) \['perplexty'\]"),
    ],
)
def test_a_bad_entry_is_an_error_naming_the_key(tmp_path, edit, message):
    entry = _entry(tmp_path)
    entry["checkpoints"] = ["a.pt"]
    edit(entry)
    with pytest.raises(ValueError, match=message):
        AnalysisSpec.from_config("mine", entry)


def test_a_bad_training_entry_and_builder_are_named(tmp_path):
    entry = _entry(tmp_path)
    bad = dict(
        entry,
        train=dict(
            nets=2, seed=0, epochs=1, optimizer="lbfgs", lr=0.1, batch_size=8, schedule="constant"
        ),
    )
    with pytest.raises(ValueError, match="analyses.mine: train: optimizer must be sgd or adam"):
        AnalysisSpec.from_config("mine", bad)
    with pytest.raises(ValueError, match=r"train: missing key\(s\) \['seed'\]"):
        AnalysisSpec.from_config("mine", dict(entry, train=dict(nets=2, epochs=1)))
    spec = AnalysisSpec.from_config(
        "mine", dict(entry, model={"builder": f"{tmp_path}/nets.py:nothing"}, checkpoints=["a"])
    )
    with pytest.raises(AttributeError, match="has no function 'nothing'"):
        check_checkpoints(spec, _checkpoints(tmp_path, 1))


def test_the_pipelines_trainer_trains_a_user_model_repeatably(tmp_path):
    entry = _entry(tmp_path)
    entry["train"] = dict(
        nets=2, seed=7, epochs=3, optimizer="adam", lr=0.01, batch_size=16, schedule="cosine"
    )
    spec = AnalysisSpec.from_config("mine", entry)
    assert [n.seed for n in spec.nets] == [7, 8] and spec.nets[0].epochs == 3
    data = load_data(spec, entry["data"]["npz"])
    a, b = (train_analysis_net(spec, data, 0, "cpu") for _ in range(2))
    for p, q in zip(a["model"].parameters(), b["model"].parameters(), strict=True):
        assert torch.equal(p, q)
    h = a["history"]
    assert h["test_error"].iloc[-1] < h["test_error"].iloc[0]
    other = train_analysis_net(spec, data, 1, "cpu")["model"]
    assert not torch.equal(next(other.parameters()), next(a["model"].parameters()))


def test_project_architectures_are_completed_for_their_data_set():
    mlp = dict(kind="mlp", width=20, depth=16, activation="tanh")
    assert complete_architecture(mlp, "cifar10") == dict(
        d_in=3072, width=20, depth=16, d_out=10, activation="tanh", output="softmax"
    )
    cnn = dict(kind="cnn", channels=[8, 16], kernel=5, stride=2, hidden=32, activation="tanh")
    assert complete_architecture(cnn, "mnist") == cnn
    assert complete_architecture(cnn, "cifar10") == dict(cnn, image=[3, 32, 32])
    with pytest.raises(ValueError, match="needs d_in"):
        complete_architecture(mlp, None)


def test_figure_claims_name_their_data_set_when_asked():
    inst = {("fashion_mnist", "mlp"): _ftle(), ("fashion_mnist", "cnn"): _ftle(seed=1)}
    floors = {k: 0.97 for k in inst}
    named = figure_claims(inst, floors, settings=SETTINGS, figure="figS3", name_sets=True)
    plain = figure_claims(inst, floors, settings=SETTINGS, figure="figS2", name_sets=False)
    assert all(c.claim.startswith("Fashion-MNIST: ") for c in named)
    assert [c.claim for c in named] == [f"Fashion-MNIST: {c.claim}" for c in plain]
    assert [c.estimate for c in named] == [c.estimate for c in plain]
