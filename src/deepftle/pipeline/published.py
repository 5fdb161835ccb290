"""The published values our magnitude claims are held against (``config/published.tsv``).

The table was read off the published figures (``docs/experiments/digitise_published.py``; the
method and its reading errors in ``docs/published-values.md``) before any run used it. One row
per value: ``figure, panel, quantity, L, N, x, value, read_error, unit, method``; ``L``, ``N``
and ``x`` are empty where they do not apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Published", "read_published", "PUBLISHED_COLUMNS"]

PUBLISHED_COLUMNS = [
    "figure",
    "panel",
    "quantity",
    "L",
    "N",
    "x",
    "value",
    "read_error",
    "unit",
    "method",
]


@dataclass(frozen=True)
class Published:
    """The published table, looked up by figure, quantity and (optionally) L, N or x."""

    path: str
    rows: tuple

    def get(self, figure: str, quantity: str, *, L=None, N=None, x=None) -> tuple[float, float]:
        """``(value, read_error)`` of the one row that matches; an error naming the file and
        the key when none or several do."""
        want = dict(L=L, N=N, x=x)
        hits = [
            r
            for r in self.rows
            if r["figure"] == figure
            and r["quantity"] == quantity
            and all(_same(r[k], v) for k, v in want.items())
        ]
        key = f"{figure}/{quantity}" + "".join(
            f" {k}={v}" for k, v in want.items() if v is not None
        )
        if len(hits) != 1:
            raise ValueError(f"{self.path}: {len(hits)} rows for {key}, expected one")
        return hits[0]["value"], hits[0]["read_error"]

    def has(self, figure: str, quantity: str, **keys) -> bool:
        """Whether exactly one row matches (:meth:`get` would succeed)."""
        try:
            self.get(figure, quantity, **keys)
        except ValueError:
            return False
        return True


def _same(cell, want) -> bool:
    if want is None:
        return True
    return cell is not None and math.isclose(cell, float(want), rel_tol=1e-9, abs_tol=1e-12)


def _number(path, line_no, column, text, *, required):
    if text == "":
        if required:
            raise ValueError(f"{path}, line {line_no}: column {column} is empty")
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line_no}: column {column} is not a number: {text!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line_no}: column {column} is not finite: {text!r}")
    return value


def read_published(path: str | Path) -> Published:
    """Read and check the published table: the exact header, numbers where numbers belong,
    a positive reading error on every row."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the published values table is missing")
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    if not lines or lines[0].split("\t") != PUBLISHED_COLUMNS:
        raise ValueError(f"{path}: header must be {PUBLISHED_COLUMNS}")
    rows = []
    for line_no, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(PUBLISHED_COLUMNS):
            raise ValueError(
                f"{path}, line {line_no}: {len(cells)} columns, expected {len(PUBLISHED_COLUMNS)}"
            )
        row = dict(zip(PUBLISHED_COLUMNS, cells, strict=True))
        for column in ("L", "N", "x"):
            row[column] = _number(path, line_no, column, row[column], required=False)
        for column in ("value", "read_error"):
            row[column] = _number(path, line_no, column, row[column], required=True)
        if not row["read_error"] > 0:
            raise ValueError(f"{path}, line {line_no}: read_error must be > 0")
        rows.append(row)
    return Published(str(path), tuple(rows))
