"""Summarise the Snakemake ``benchmark:`` files of a pipeline run (the whole pipeline).

Reads ``results/benchmarks/<rule>/<wildcards>.tsv`` (Snakemake's columns ``s``, ``max_rss``,
``cpu_time``, ...), writes ``results/bench/pipeline.tsv`` with columns rule, wildcards, seconds,
max_rss_mb, cpu_seconds (slowest first), and prints the slowest stages, per-rule totals and the
summed stage time (the pipeline's wall time is at most this; less when jobs ran in parallel).

    python bench/pipeline.py [--benchmarks results/benchmarks] [--out results/bench/pipeline.tsv]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["rule", "wildcards", "seconds", "max_rss_mb", "cpu_seconds"]


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def collect(bench_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(bench_dir.rglob("*.tsv")):
        rel = path.relative_to(bench_dir)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        wildcards = str(rel.with_suffix(""))[len(rule) + 1 :] if len(rel.parts) > 1 else ""
        with open(path, newline="") as f:
            records = list(csv.DictReader(f, delimiter="\t"))
        if not records or "s" not in records[0]:
            continue
        last = records[-1]  # repeated benchmarks append rows; the last is the latest run
        rows.append(
            dict(
                rule=rule,
                wildcards=wildcards,
                seconds=_float(last.get("s")),
                max_rss_mb=_float(last.get("max_rss")),
                cpu_seconds=_float(last.get("cpu_time")),
            )
        )
    rows.sort(key=lambda r: -r["seconds"] if r["seconds"] == r["seconds"] else 0)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--benchmarks", default=str(ROOT / "results" / "benchmarks"))
    ap.add_argument("--out", default=str(ROOT / "results" / "bench" / "pipeline.tsv"))
    ap.add_argument("--top", type=int, default=5, help="slowest stages to print")
    args = ap.parse_args(argv)
    rows = collect(Path(args.benchmarks))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS, delimiter="\t")
        w.writeheader()
        w.writerows(rows)
    total = sum(r["seconds"] for r in rows if r["seconds"] == r["seconds"])
    print(f"{len(rows)} benchmark files under {args.benchmarks}")
    print(f"\nslowest {args.top} stages:")
    print(f"{'rule':20s} {'wildcards':40s} {'seconds':>9s} {'max RSS MB':>11s}")
    for r in rows[: args.top]:
        print(
            f"{r['rule']:20s} {r['wildcards'][:40]:40s} {r['seconds']:9.1f} {r['max_rss_mb']:11.1f}"
        )
    per_rule: dict[str, list] = {}
    for r in rows:
        per_rule.setdefault(r["rule"], []).append(r)
    print(f"\n{'rule':20s} {'jobs':>5s} {'seconds':>9s} {'max RSS MB':>11s}")
    for rule, rs in sorted(per_rule.items(), key=lambda kv: -sum(r["seconds"] for r in kv[1])):
        print(
            f"{rule:20s} {len(rs):5d} {sum(r['seconds'] for r in rs):9.1f} "
            f"{max(r['max_rss_mb'] for r in rs):11.1f}"
        )
    print(f"\ntotal (sum of stage times): {total:.1f} s = {total / 60:.1f} min")
    print(f"wrote {out}")
    return rows, total


if __name__ == "__main__":
    main()
