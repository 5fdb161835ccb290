"""Claims tables: every claim of the paper that a figure shows, computed as a number.

A claim is one row ``figure, claim, value, threshold, holds``. ``holds`` is decided here from
``value``, ``threshold`` and a comparison, never typed in by hand, so a claim that fails is
written as failing. Each figure stage writes ``results/claims/<figure>.tsv``; the ``claims``
rule gathers them into ``results/claims.tsv``.

The conventions every figure's claims share live here too: a trend is a Spearman rank
correlation (:func:`spearman`), and a net below its figure's accuracy floor
(:func:`below_floor`) is counted in a claim of its own (:func:`floor_claim`) and named in the
text of every other claim of the figure (:func:`floor_note`), never left out silently.

>>> c = claim("fig2", "contrast falls with N (Spearman rho, L = 8)", -1.0, "<", 0.0)
>>> c.holds
True
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .files import read_tsv, save_tsv

__all__ = ["Claim", "claim", "claims_table", "write_claims", "gather_claims", "COLUMNS",
           "spearman", "below_floor", "floor_claim", "floor_note"]

COLUMNS = ["figure", "claim", "value", "threshold", "holds"]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq}


@dataclass(frozen=True)
class Claim:
    """One row of a claims table; ``threshold`` reads e.g. ``"> 0"`` or ``">= 0.99"``."""

    figure: str
    claim: str
    value: float
    threshold: str
    holds: bool


def claim(figure: str, text: str, value, op: str, threshold) -> Claim:
    """The claim ``value op threshold`` (op one of ``< <= > >= ==``).

    ``value`` may be a bool (threshold then ``True``) or a number. A NaN value never holds
    (it is written as ``nan``, so a missing number is visible, not hidden).
    """
    if op not in _OPS:
        raise ValueError(f"claim {text!r}: unknown comparison {op!r}; use one of {sorted(_OPS)}")
    if isinstance(value, bool) or isinstance(threshold, bool):
        val = float(bool(value))
        thr = float(bool(threshold))
    else:
        val, thr = float(value), float(threshold)
    holds = (not math.isnan(val)) and bool(_OPS[op](val, thr))
    shown = str(threshold) if not isinstance(threshold, float) else f"{threshold:.6g}"
    return Claim(figure, text, val, f"{op} {shown}", holds)


def claims_table(claims):
    """A pandas DataFrame with the columns ``COLUMNS`` (one row per claim)."""
    import pandas as pd

    rows = [asdict(c) for c in claims]
    for row in rows:
        if set(row) != set(COLUMNS):
            raise ValueError(f"claim row has keys {sorted(row)}, expected {COLUMNS}")
    return pd.DataFrame(rows, columns=COLUMNS)


def write_claims(path: str | Path, claims, provenance: dict | None = None) -> None:
    """Atomically write ``claims`` (an iterable of :class:`Claim`) as a TSV."""
    claims = list(claims)
    if not claims:
        raise ValueError(f"{path}: no claims to write")
    save_tsv(path, claims_table(claims), provenance)


def gather_claims(paths):
    """Concatenate per-figure claims tables (read with :func:`deepftle.pipeline.files.read_tsv`)."""
    import pandas as pd

    tables = []
    for path in paths:
        table = read_tsv(path)
        if list(table.columns) != COLUMNS:
            raise ValueError(f"{path}: columns {list(table.columns)}, expected {COLUMNS}")
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def spearman(x, y, *, min_pairs: int = 2) -> float:
    """Spearman rank correlation ρ of ``x`` and ``y``: −1 for a strictly falling sequence, +1
    for a strictly rising one.

    The one NaN rule: only the pairs where both values are finite count (a pair with a NaN or
    an infinity is left out, e.g. λ₁ = -inf where the Jacobian lost rank); ρ is NaN when fewer
    than ``min_pairs`` (at least 2) pairs remain, or when ``x`` or ``y`` is constant over them.
    Ties share the mean of their ranks. ρ is the Pearson correlation of the ranks computed as
    :func:`scipy.stats.spearmanr` computes it (``np.corrcoef`` of the ranks), so on the same
    pairs the two agree bitwise.
    """
    from scipy.stats import rankdata

    if int(min_pairs) < 2:
        raise ValueError(f"min_pairs must be >= 2, got {min_pairs!r}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"spearman needs two 1-D sequences of one length, got shapes {x.shape} "
                         f"and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < int(min_pairs):
        return math.nan
    x, y = x[ok], y[ok]
    if x.min() == x.max() or y.min() == y.max():
        return math.nan
    return float(np.corrcoef(rankdata(x), rankdata(y))[1, 0])


def below_floor(accuracy, min_accuracy: float) -> np.ndarray:
    """Per net: whether its ``accuracy`` is below the floor ``min_accuracy`` (in [0, 1]; 0 marks
    no net); a NaN accuracy counts as below (a net that cannot show its accuracy does not reach
    the floor)."""
    if not 0 <= min_accuracy <= 1:
        raise ValueError(f"min_accuracy must be in [0, 1], got {min_accuracy!r}")
    return ~(np.asarray(accuracy, dtype=float) >= float(min_accuracy))


def floor_claim(figure: str, below, subject: str) -> Claim:
    """The claim that no net of ``figure`` is below its floor: ``subject`` (what reaches which
    accuracy) followed by ``(nets below the floor, of <number of nets>)``; its value is the
    number of nets below (``below``: :func:`below_floor` of every net), and it holds at 0."""
    below = np.asarray(below, dtype=bool)
    return claim(figure, f"{subject} (nets below the floor, of {below.size})", int(below.sum()),
                 "==", 0)


def floor_note(below) -> str:
    """What every other claim of a figure appends when nets are below the floor (``below``:
    :func:`below_floor` of every net): ``" [n of m nets below the accuracy floor]"``, or
    nothing when none is."""
    below = np.asarray(below, dtype=bool)
    n_bad = int(below.sum())
    return f" [{n_bad} of {below.size} nets below the accuracy floor]" if n_bad else ""
