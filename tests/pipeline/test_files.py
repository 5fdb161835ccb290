"""Atomic writes and provenance (deepftle.pipeline.files)."""

import numpy as np
import pandas as pd
import pytest

from deepftle.pipeline import files


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.npz"
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash while writing")
    assert not target.exists()
    assert list((tmp_path / "sub").iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with files.atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible until the body finished
    assert target.read_text() == "new"


def test_npz_round_trip_with_provenance(tmp_path):
    prov = files.provenance({"N": 5, "L": 8}, device="cpu")
    assert set(prov) >= {"config_hash", "deepftle", "torch", "git_commit", "device"}
    a = np.array([1.0, -np.inf, 2.0])
    files.save_npz(tmp_path / "x.npz", provenance=prov, lam1=a)
    arrays, back = files.load_npz(tmp_path / "x.npz")
    assert np.array_equal(arrays["lam1"], a)
    assert back == prov


def test_tsv_round_trip_keeps_inf_and_provenance(tmp_path):
    df = pd.DataFrame({"N": [5, 20], "lam1": [0.25, -np.inf]})
    files.save_tsv(tmp_path / "t.tsv", df, provenance={"config_hash": "abc"})
    text = (tmp_path / "t.tsv").read_text()
    assert text.startswith("# config_hash: abc\n")
    back = files.read_tsv(tmp_path / "t.tsv")
    assert back["lam1"].iloc[1] == -np.inf and back["N"].tolist() == [5, 20]


def test_config_hash_is_order_independent():
    assert files.config_hash({"a": 1, "b": [1, 2]}) == files.config_hash({"b": [1, 2], "a": 1})
    assert files.config_hash({"a": 1}) != files.config_hash({"a": 2})


def test_identical_writes_are_bitwise_identical(tmp_path):
    prov = files.provenance({"seed": 1})
    for name in ("a.npz", "b.npz"):
        files.save_npz(tmp_path / name, provenance=prov, x=np.arange(5.0))
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_an_exact_tsv_gives_back_every_float64_bit(tmp_path):
    import pandas as pd

    from deepftle.pipeline.files import read_tsv, save_tsv

    v = np.random.default_rng(0).normal(size=200) * 10.0 ** np.arange(-100, 100)
    save_tsv(tmp_path / "a.tsv", pd.DataFrame(dict(v=v)), exact=True)
    assert np.array_equal(read_tsv(tmp_path / "a.tsv")["v"].to_numpy(), v)
    save_tsv(tmp_path / "b.tsv", pd.DataFrame(dict(v=v)))
    assert not np.array_equal(read_tsv(tmp_path / "b.tsv")["v"].to_numpy(), v)
