"""Write a results page (``docs/<name>.md``) from a finished run's ``results/`` folder.

The page carries what a reader needs to hold the run against the paper, all read from files:
the run's commit and config hash, every claim (``results/claims.tsv``), the nets below an
accuracy floor, the time of every stage (Snakemake's ``benchmark:`` files, summed per rule),
and each figure beside the published one (PNGs copied to ``docs/<name>/``). Nothing on it is
typed by hand; rerun this script after a run to refresh it.

    python docs/results_page.py --name default-run
    python docs/results_page.py --name paper-protocol --configfile config/paper.yaml \\
        --wall-seconds 5123 --load "0.4 before, 0.6 after"
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from jobs import merged_config  # noqa: E402
from pipeline import collect  # noqa: E402

from deepftle.pipeline.files import config_hash  # noqa: E402

# our figure -> the published panel it is held against (docs/published/, CC BY 4.0)
PUBLISHED = {"fig2": "published-fig2.png", "fig3": "published-fig3.png",
             "fig4": "published-fig4.png"}
FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig4_adversarial", "fig4_tsne", "figS1", "figS2",
           "figS3"]


def read_tsv(path: Path) -> tuple[list[dict], dict]:
    """Rows and the ``# key: value`` provenance lines of a TSV written by
    deepftle.pipeline.files."""
    lines = path.read_text().splitlines()
    prov = {}
    for line in lines:
        if line.startswith("# ") and ": " in line:
            key, value = line[2:].split(": ", 1)
            prov[key] = value
    rows = list(csv.DictReader([ln for ln in lines if not ln.startswith("#")], delimiter="\t"))
    return rows, prov


def claims_section(results: Path) -> list[str]:
    rows, prov = read_tsv(results / "claims.tsv")
    held = sum(r["holds"] == "True" for r in rows)
    out = [f"## Claims: {held} of {len(rows)} hold", "",
           "| figure | claim | value | threshold | holds |", "|---|---|---|---|---|"]
    for r in rows:
        claim = r["claim"].replace("|", "\\|")
        out.append(f"| {r['figure']} | {claim} | {r['value']} | {r['threshold']} | "
                   f"{'yes' if r['holds'] == 'True' else '**no**'} |")
    return out + [""], prov


def floors_section(results: Path) -> list[str]:
    out = ["## Accuracy floors", ""]
    for name, path in (("Fig. 2", results / "toy" / "ridges.tsv"),
                       ("Fig. 3(b)", results / "toy" / "crossover.tsv")):
        if not path.exists():
            continue
        rows, _ = read_tsv(path)
        below = [r for r in rows if r.get("below_floor") == "True"]
        accuracy = [float(r["accuracy"]) for r in rows]
        redrawn = sum(int(r.get("draw") or 0) > 0 for r in rows)
        out.append(f"- {name}: {len(below)} of {len(rows)} nets below the floor; test accuracy "
                   f"{100 * min(accuracy):.2f}-{100 * max(accuracy):.2f} %; {redrawn} "
                   f"realisation(s) redrawn after missing the floor on their training data.")
    return out + [""]


def commits(results: Path) -> dict:
    """``{commit: number of result tables}`` over every provenance header under ``results``
    (a run resumed after a commit shows both)."""
    count: dict = defaultdict(int)
    for path in results.rglob("*.tsv"):
        with path.open() as fh:
            for line in fh:
                if not line.startswith("#"):
                    break
                if line.startswith("# git_commit: "):
                    count[line.split(": ", 1)[1].strip()] += 1
    return dict(count)


def stages_section(results: Path, wall: list | None, load: str | None,
                   note: str | None = None) -> list[str]:
    rows = collect(results / "benchmarks")
    per_rule = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for r in rows:
        agg = per_rule[r["rule"]]
        agg[0] += 1
        agg[1] += r["seconds"]
        agg[2] = max(agg[2], r["seconds"])
        agg[3] += r["cpu_seconds"] if r["cpu_seconds"] == r["cpu_seconds"] else 0.0
    total = sum(a[1] for a in per_rule.values())
    head = f"## Time per stage: {len(rows)} jobs, {total:.0f} s of job wall time summed"
    out = [head, ""]
    if wall:
        parts = (f" ({' + '.join(f'{w:.0f}' for w in wall)} s: the run was stopped and resumed"
                 " with --rerun-incomplete)" if len(wall) > 1 else "")
        out += [f"Whole run: {sum(wall) / 60:.1f} min on 2 cores{parts}"
                + (f"; load average {load}" if load else "") + ".", ""]
    if note:
        out += [note, ""]
    out += ["| rule | jobs | seconds (sum) | slowest job (s) | CPU seconds |",
            "|---|---|---|---|---|"]
    for rule, (n, sec, slowest, cpu) in sorted(per_rule.items(), key=lambda kv: -kv[1][1]):
        out.append(f"| `{rule}` | {n} | {sec:.0f} | {slowest:.0f} | {cpu:.0f} |")
    return out + [""]


def figures_section(results: Path, name: str) -> list[str]:
    folder = ROOT / "docs" / name
    folder.mkdir(parents=True, exist_ok=True)
    out = ["## Figures", ""]
    for fig in FIGURES:
        png = results / "figures" / f"{fig}.png"
        if not png.exists():
            continue
        shutil.copyfile(png, folder / png.name)
        out.append(f"### {fig}")
        out.append("")
        if fig in PUBLISHED:
            out += ["| this run | published (PRL 132, 057301) |", "|---|---|",
                    f"| ![{fig}]({name}/{png.name}) | ![published](published/"
                    f"{PUBLISHED[fig]}) |"]
        else:
            out.append(f"![{fig}]({name}/{png.name})")
        out.append("")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", required=True, help="page name: docs/<name>.md")
    ap.add_argument("--title", default=None)
    ap.add_argument("--results", default=str(ROOT / "results"))
    ap.add_argument("--configfile", nargs="*", default=[], help="the run's config overlays")
    ap.add_argument("--wall-seconds", type=float, nargs="+", default=None,
                    help="the run's measured wall time (e.g. from /usr/bin/time); one value per "
                         "segment of a run that was stopped and resumed")
    ap.add_argument("--load", default=None, help="load average before and after the run")
    ap.add_argument("--note", default=None,
                    help="a sentence under the run's time: what was rerun after it, and why")
    args = ap.parse_args(argv)
    results = Path(args.results)
    config = merged_config(args.configfile)
    claims, prov = claims_section(results)
    overlays = " ".join(["config.yaml"] + [str(Path(f)) for f in args.configfile])
    lines = [f"# {args.title or args.name}", "",
             "Generated by `docs/results_page.py` from the run's `results/` folder; do not edit.",
             "", f"- configuration: `{overlays}` (merged config hash `{config_hash(config)}`)",
             f"- commit: `{prov.get('git_commit', 'unknown')}`; torch {prov.get('torch', '?')}, "
             f"device {prov.get('device', '?')}"]
    seen = commits(results)
    if len(seen) > 1:
        lines.append("- result tables by commit: " + ", ".join(
            f"`{c[:10]}` {n}" for c, n in sorted(seen.items(), key=lambda kv: -kv[1])))
    lines.append("")
    lines += claims + floors_section(results)
    lines += stages_section(results, args.wall_seconds, args.load, args.note)
    lines += figures_section(results, args.name)
    page = ROOT / "docs" / f"{args.name}.md"
    page.write_text("\n".join(lines) + "\n")
    print(f"written {page}")


if __name__ == "__main__":
    main()
