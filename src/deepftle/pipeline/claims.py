"""Claims tables: every claim of the paper that a figure shows, computed as a number.

A claim is one row ``figure, claim, value, threshold, holds``. ``holds`` is decided here from
``value``, ``threshold`` and a comparison, never typed in by hand, so a claim that fails is
written as failing. Each figure stage writes ``results/claims/<figure>.tsv``; the ``claims``
rule gathers them into ``results/claims.tsv``.

>>> c = claim("fig2", "contrast falls with N (Spearman rho, L = 8)", -1.0, "<", 0.0)
>>> c.holds
True
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

from .files import read_tsv, save_tsv

__all__ = ["Claim", "claim", "claims_table", "write_claims", "gather_claims", "COLUMNS"]

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
