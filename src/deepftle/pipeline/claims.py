"""Claims tables: every claim of the paper that a figure shows, computed as a number with its
uncertainty, and decided against a margin fixed before the run.

A claim is one row ``figure, claim, kind, n, estimate, ci_low, ci_high, p_value, null,
baseline, margin, status, holds``:

- ``kind``: ``direction`` (a sign: "falls with N"), ``magnitude`` (our value against the
  published one, within a tolerance set from its reading error), ``equivalence`` ("slope 1",
  "independent of N": the estimate inside a fixed band), or ``bookkeeping`` (accuracy floors,
  what an attack reaches by construction: reported, never counted as agreement);
- ``n``: the units behind the estimate (nets, widths or inputs; the text says which);
- ``ci_low, ci_high``: a 95 % interval from resampling those units
  (:mod:`deepftle.pipeline.resampling`); NaN where nothing can be resampled;
- ``p_value`` against the stated ``null`` where one applies; ``baseline``: the value the
  estimate would take without the claimed effect, where the claim is measured against one;
- ``margin``: the acceptance region (``> 0``, ``in [0.75, 1.25]``), from the config's
  ``claims`` section or the published table, never from the data;
- ``status``: ``holds`` (the whole interval inside the region), ``point only`` (the
  estimate inside, the interval not), ``fails``, or ``bookkeeping``; ``holds`` is
  ``status == "holds"`` (for bookkeeping rows: whether its condition is met).

``status`` is decided here from the numbers, never typed in by hand. Each figure stage writes
``results/claims/<figure>.tsv``; the ``claims`` rule gathers them into ``results/claims.tsv``
and :func:`claim_counts` gives the three counts a summary states.

>>> c = direction("fig2", "contrast falls with N", -1.2, (-1.9, -0.4), sign="<", n=36)
>>> c.status, c.holds
('holds', True)
>>> direction("fig2", "contrast falls with N", -1.2, (-1.9, 0.3), sign="<", n=36).status
'point only'
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .files import read_tsv, save_tsv

__all__ = [
    "Claim",
    "ClaimSettings",
    "direction",
    "equivalence",
    "magnitude",
    "bookkeeping",
    "claims_table",
    "write_claims",
    "gather_claims",
    "claim_counts",
    "summary_line",
    "COLUMNS",
    "KINDS",
    "STATUSES",
    "spearman",
    "below_floor",
    "floor_claim",
    "floor_note",
]

COLUMNS = [
    "figure",
    "claim",
    "kind",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "null",
    "baseline",
    "margin",
    "status",
    "holds",
]
KINDS = ("direction", "magnitude", "equivalence", "bookkeeping")
STATUSES = ("holds", "point only", "fails", "bookkeeping")

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


@dataclass(frozen=True)
class ClaimSettings:
    """How claims are decided, from the config's ``claims`` section (fixed before a run).

    ``level``: the interval's coverage; ``n_boot`` resamples per interval; ``n_perm``
    permutations per p-value (exact enumeration when there are fewer arrangements); ``seed``:
    the base of every claim's generator; ``equivalence``: the half-width of each named
    equivalence band; ``magnitude_read_factor`` and ``magnitude_relative``: a magnitude claim
    holds within ``max(read_factor * read_error, relative * |published|)`` of the published
    value."""

    level: float = 0.95
    n_boot: int = 2000
    n_perm: int = 10000
    seed: int = 0
    equivalence: dict = field(
        default_factory=lambda: {"log_N_slope": 0.25, "independent_of_N": 0.25}
    )
    magnitude_read_factor: float = 2.0
    magnitude_relative: float = 0.2

    @classmethod
    def from_config(cls, cfg: dict) -> ClaimSettings:
        """The settings of the config's ``claims`` section (every key required; an unknown
        or missing key is an error naming it)."""
        names = {f for f in cls.__dataclass_fields__}
        if not isinstance(cfg, dict):
            raise ValueError(f"config key claims must be a mapping, got {type(cfg).__name__}")
        unknown, missing = sorted(set(cfg) - names), sorted(names - set(cfg))
        if unknown or missing:
            raise ValueError(
                f"config section claims: unknown keys {unknown}, missing keys {missing}"
            )
        out = cls(
            level=float(cfg["level"]),
            n_boot=int(cfg["n_boot"]),
            n_perm=int(cfg["n_perm"]),
            seed=int(cfg["seed"]),
            equivalence={str(k): float(v) for k, v in cfg["equivalence"].items()},
            magnitude_read_factor=float(cfg["magnitude_read_factor"]),
            magnitude_relative=float(cfg["magnitude_relative"]),
        )
        if not 0 < out.level < 1:
            raise ValueError(f"config key claims.level must be in (0, 1), got {out.level}")
        if out.n_boot < 1 or out.n_perm < 1:
            raise ValueError("config keys claims.n_boot and claims.n_perm must be >= 1")
        return out

    def band(self, name: str) -> float:
        """The half-width of the equivalence band ``name`` (an error naming the key when the
        config has none)."""
        if name not in self.equivalence:
            raise ValueError(
                f"config key claims.equivalence.{name} is missing (bands: "
                f"{sorted(self.equivalence)})"
            )
        return self.equivalence[name]

    def interval(self, key: str, statistic, n_rows: int, strata=None) -> tuple[float, float]:
        """The ``level`` interval of ``statistic`` (of an index array) over ``n_boot``
        resamples of ``n_rows`` rows (within ``strata``), drawn from the stream of ``key``
        (:func:`deepftle.pipeline.resampling.bootstrap_ci`)."""
        from .resampling import bootstrap_ci, claim_rng

        return bootstrap_ci(
            statistic,
            n_rows,
            strata=strata,
            n_boot=self.n_boot,
            level=self.level,
            rng=claim_rng(self.seed, key),
        )

    def tolerance(self, published: float, read_error: float) -> float:
        """A magnitude claim's tolerance around ``published``."""
        return max(
            self.magnitude_read_factor * float(read_error),
            self.magnitude_relative * abs(float(published)),
        )


@dataclass(frozen=True)
class Claim:
    """One row of a claims table (see the module's docstring for the columns)."""

    figure: str
    claim: str
    kind: str
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    null: str
    baseline: float
    margin: str
    status: str
    holds: bool


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _decide(estimate: float, ci, lower: float, upper: float) -> str:
    """holds / point only / fails for the open region (lower, upper)."""
    inside = lambda v: math.isfinite(v) and lower < v < upper
    if not inside(float(estimate)):
        return "fails"
    lo, hi = (float(ci[0]), float(ci[1])) if ci is not None else (math.nan, math.nan)
    return "holds" if inside(lo) and inside(hi) and lo <= hi else "point only"


def _row(
    figure,
    text,
    kind,
    n,
    estimate,
    ci,
    lower,
    upper,
    margin,
    *,
    p_value=math.nan,
    null="",
    baseline=math.nan,
) -> Claim:
    estimate = float(estimate)
    lo, hi = (float(ci[0]), float(ci[1])) if ci is not None else (math.nan, math.nan)
    status = _decide(estimate, (lo, hi), lower, upper)
    return Claim(
        figure,
        text,
        kind,
        int(n),
        estimate,
        lo,
        hi,
        float(p_value),
        str(null),
        float(baseline),
        margin,
        status,
        status == "holds",
    )


def direction(
    figure: str,
    text: str,
    estimate,
    ci,
    *,
    sign: str,
    n: int,
    against: float = 0.0,
    p_value: float = math.nan,
    null: str = "",
    baseline: float = math.nan,
) -> Claim:
    """A direction claim: ``estimate`` (with the interval ``ci``) above (``sign=">"``) or below
    (``"<"``) ``against``."""
    if sign not in (">", "<"):
        raise ValueError(f"claim {text!r}: sign must be '>' or '<', got {sign!r}")
    lower, upper = (against, math.inf) if sign == ">" else (-math.inf, against)
    return _row(
        figure,
        text,
        "direction",
        n,
        estimate,
        ci,
        lower,
        upper,
        f"{sign} {_fmt(against)}",
        p_value=p_value,
        null=null,
        baseline=baseline,
    )


def equivalence(
    figure: str,
    text: str,
    estimate,
    ci,
    *,
    target: float,
    band: float,
    n: int,
    p_value: float = math.nan,
    null: str = "",
) -> Claim:
    """An equivalence claim: ``estimate`` within ``band`` of ``target`` (two one-sided tests:
    the whole interval inside the band)."""
    if not band > 0:
        raise ValueError(f"claim {text!r}: the equivalence band must be > 0, got {band!r}")
    lower, upper = target - band, target + band
    return _row(
        figure,
        text,
        "equivalence",
        n,
        estimate,
        ci,
        lower,
        upper,
        f"in [{_fmt(lower)}, {_fmt(upper)}]",
        p_value=p_value,
        null=null,
    )


def magnitude(
    figure: str, text: str, estimate, ci, *, published: float, tolerance: float, n: int
) -> Claim:
    """A magnitude claim: ``estimate`` within ``tolerance`` of the ``published`` value (the
    baseline column holds the published value)."""
    if not tolerance > 0:
        raise ValueError(f"claim {text!r}: the tolerance must be > 0, got {tolerance!r}")
    lower, upper = published - tolerance, published + tolerance
    return _row(
        figure,
        text,
        "magnitude",
        n,
        estimate,
        ci,
        lower,
        upper,
        f"in [{_fmt(lower)}, {_fmt(upper)}]",
        baseline=published,
    )


def bookkeeping(figure: str, text: str, value, op: str, threshold, *, n: int) -> Claim:
    """A bookkeeping row (an accuracy floor, what holds by construction): ``value op
    threshold``; reported, not counted among the claims. A NaN value never holds."""
    if op not in _OPS:
        raise ValueError(f"claim {text!r}: unknown comparison {op!r}; use one of {sorted(_OPS)}")
    val, thr = float(value), float(threshold)
    ok = (not math.isnan(val)) and bool(_OPS[op](val, thr))
    return Claim(
        figure,
        text,
        "bookkeeping",
        int(n),
        val,
        math.nan,
        math.nan,
        math.nan,
        "",
        math.nan,
        f"{op} {_fmt(thr)}",
        "bookkeeping",
        ok,
    )


def claims_table(claims):
    """A pandas DataFrame with the columns ``COLUMNS`` (one row per claim)."""
    import pandas as pd

    rows = []
    for c in claims:
        if not isinstance(c, Claim):
            raise ValueError(f"not a Claim: {c!r}")
        if c.kind not in KINDS or c.status not in STATUSES:
            raise ValueError(f"claim {c.claim!r}: kind {c.kind!r} / status {c.status!r} unknown")
        rows.append(asdict(c))
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


def claim_counts(table) -> dict:
    """``{holds, point only, fails, bookkeeping}``: the number of rows of each status (the
    first three are the claims; bookkeeping rows are not)."""
    status = list(table["status"])
    unknown = sorted(set(status) - set(STATUSES))
    if unknown:
        raise ValueError(f"claims table has unknown status values {unknown}")
    return {s: status.count(s) for s in STATUSES}


def summary_line(table) -> str:
    """One line: how many claims hold with their interval, at the point estimate only, fail."""
    c = claim_counts(table)
    n = c["holds"] + c["point only"] + c["fails"]
    return (
        f"{n} claims: {c['holds']} hold with their 95 % interval, {c['point only']} at the "
        f"point estimate only, {c['fails']} fail ({c['bookkeeping']} bookkeeping rows not "
        "counted)"
    )


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
        raise ValueError(
            f"spearman needs two 1-D sequences of one length, got shapes {x.shape} and {y.shape}"
        )
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
    """The bookkeeping row that no net of ``figure`` is below its floor: ``subject`` (what
    reaches which accuracy) followed by ``(nets below the floor, of <number of nets>)``; its
    value is the number of nets below (``below``: :func:`below_floor` of every net), and it
    holds at 0."""
    below = np.asarray(below, dtype=bool)
    return bookkeeping(
        figure,
        f"{subject} (nets below the floor, of {below.size})",
        int(below.sum()),
        "==",
        0,
        n=below.size,
    )


def floor_note(below) -> str:
    """What every other claim of a figure appends when nets are below the floor (``below``:
    :func:`below_floor` of every net): ``" [n of m nets below the accuracy floor]"``, or
    nothing when none is."""
    below = np.asarray(below, dtype=bool)
    n_bad = int(below.sum())
    return f" [{n_bad} of {below.size} nets below the accuracy floor]" if n_bad else ""


def _main(argv=None) -> None:
    """``python -m deepftle.pipeline.claims results/claims.tsv``: each claim on one line
    (status, estimate, interval, margin) and the three counts."""
    import argparse

    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("table")
    table = read_tsv(ap.parse_args(argv).table)
    for row in table.itertuples():
        print(
            f"{row.figure:6s} {row.status:11s} {row.estimate:10.4g} [{row.ci_low:.4g}, "
            f"{row.ci_high:.4g}] {row.margin:18s} {row.claim}"
        )
    print(summary_line(table))


if __name__ == "__main__":
    _main()
