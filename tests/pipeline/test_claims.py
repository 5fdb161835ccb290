"""Claims tables: holds is computed from value and threshold, NaN never holds, round trip."""
import math

import pytest

from deepftle.pipeline.claims import COLUMNS, claim, gather_claims, write_claims
from deepftle.pipeline.files import read_tsv


@pytest.mark.parametrize("value,op,thr,holds", [
    (0.5, ">", 0.0, True), (-0.5, ">", 0.0, False), (0.99, ">=", 0.99, True),
    (3.0, "<", 2.0, False), (True, "==", True, True), (False, "==", True, False),
])
def test_holds_follows_value_and_threshold(value, op, thr, holds):
    c = claim("figX", "a claim", value, op, thr)
    assert c.holds is holds
    assert c.threshold.startswith(op)


def test_nan_never_holds():
    assert claim("figX", "missing", float("nan"), "<", 1.0).holds is False
    assert claim("figX", "missing", float("nan"), ">=", -math.inf).holds is False


def test_unknown_comparison_names_it():
    with pytest.raises(ValueError, match="unknown comparison '=>'"):
        claim("figX", "bad", 1.0, "=>", 0.0)


def test_round_trip_and_gather(tmp_path):
    a = [claim("fig2", "c1", 1.0, ">", 0.0), claim("fig2", "c2", -1.0, ">", 0.0)]
    b = [claim("fig4", "c3", 0.995, ">=", 0.99)]
    write_claims(tmp_path / "fig2.tsv", a, {"who": "test"})
    write_claims(tmp_path / "fig4.tsv", b)
    t = read_tsv(tmp_path / "fig2.tsv")
    assert list(t.columns) == COLUMNS
    assert t["holds"].tolist() == [True, False]
    both = gather_claims([tmp_path / "fig2.tsv", tmp_path / "fig4.tsv"])
    assert both["figure"].tolist() == ["fig2", "fig2", "fig4"]
    assert both["value"].tolist() == [1.0, -1.0, 0.995]


def test_empty_claims_refused(tmp_path):
    with pytest.raises(ValueError, match="no claims"):
        write_claims(tmp_path / "x.tsv", [])
    assert not (tmp_path / "x.tsv").exists()
