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
PUBLISHED = {
    "fig2": "published-fig2.png",
    "fig3": "published-fig3.png",
    "fig4": "published-fig4.png",
}
FIGURES = [
    "fig1",
    "fig2",
    "fig3",
    "fig4",
    "fig4_adversarial",
    "fig4_tsne",
    "figS1",
    "figS2",
    "figS3",
]


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


def _num(text: str) -> str:
    try:
        v = float(text)
    except ValueError:
        return text
    return "" if v != v else f"{v:.4g}"


def claims_section(results: Path) -> list[str]:
    rows, prov = read_tsv(results / "claims.tsv")
    count = {
        s: sum(r["status"] == s for r in rows)
        for s in ("holds", "point only", "fails", "bookkeeping")
    }
    n = count["holds"] + count["point only"] + count["fails"]
    out = [
        f"## Claims: of {n}, {count['holds']} hold with their 95 % interval, "
        f"{count['point only']} at the point estimate only, {count['fails']} fail",
        "",
        f"{count['bookkeeping']} bookkeeping rows (accuracy floors, what an attack reaches by "
        "construction) are listed but not counted. A claim holds when its whole interval lies "
        "in its margin; margins come from the config's `claims` section and "
        "`config/published.tsv`, fixed before the run.",
        "",
        "| figure | kind | claim | n | estimate [95 % interval] | margin | p | baseline | status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        claim = r["claim"].replace("|", "\\|")
        ci = f" [{_num(r['ci_low'])}, {_num(r['ci_high'])}]" if _num(r["ci_low"]) else ""
        status = r["status"] if r["status"] in ("holds", "bookkeeping") else f"**{r['status']}**"
        out.append(
            f"| {r['figure']} | {r['kind']} | {claim} | {r['n']} | "
            f"{_num(r['estimate'])}{ci} | {r['margin']} | {_num(r['p_value'])} | "
            f"{_num(r['baseline'])} | {status} |"
        )
    return out + [""], prov


def forest_section(results: Path, name: str) -> list[str]:
    folder = ROOT / "docs" / name
    out = [
        "## Claims as forest plots",
        "",
        "Each claim on its own scale: shaded its margin, the bar its 95 % interval, the dot its "
        "estimate (green holds, orange point only, red fails), the diamond the published "
        "value or the baseline.",
        "",
    ]
    for png in sorted((results / "figures").glob("claims_*.png")):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, folder / png.name)
        out += [
            f"### {png.stem.removeprefix('claims_')}",
            "",
            f"![{png.stem}]({name}/{png.name})",
            "",
        ]
    return out


def _accuracy_row(label: str, accuracy: list[float], below: int | None = None) -> str:
    if not accuracy:
        return ""
    floor = "" if below is None else f"; {below} below the floor"
    return (
        f"- {label}: {len(accuracy)} net(s), test accuracy "
        f"{100 * min(accuracy):.2f}-{100 * max(accuracy):.2f} %{floor}"
    )


def accuracy_section(results: Path) -> list[str]:
    """The test accuracy of every net of the run, by figure."""
    out = ["## Test accuracy of every net", ""]
    fig3a = results / "figures" / "fig3a.tsv"
    if fig3a.exists():
        rows, _ = read_tsv(fig3a)
        for mode, label in (
            ("readout", "Fig. 3(a), random features"),
            ("full", "Fig. 3(a), fully trained"),
        ):
            out.append(
                _accuracy_row(
                    label, [1 - float(r["test_error"]) for r in rows if r["mode"] == mode]
                )
            )
    history = results / "mnist" / "history.tsv"
    if history.exists():
        rows, _ = read_tsv(history)
        last = rows[-1]
        out.append(
            f"- Fig. 4 main net (N = 20, L = 16): test accuracy "
            f"{100 * (1 - float(last['test_error'])):.2f} %, train accuracy "
            f"{100 * (1 - float(last['train_error'])):.2f} % (the paper states 98.88 %, "
            "read here as train accuracy)"
        )
    summary = results / "mnist" / "summary.tsv"
    if summary.exists():
        rows, _ = read_tsv(summary)
        out.append(
            _accuracy_row(
                "Fig. 4 main-net realisations (the per-input claims)",
                [
                    float(r["value"])
                    for r in rows
                    if r["quantity"].startswith("main_net")
                    and r["quantity"].endswith("_test_accuracy")
                ],
            )
        )
    members = sorted((results / "mnist" / "ensemble").glob("member*.history.tsv"))
    out.append(
        _accuracy_row(
            "Fig. 4 ensemble members (for H)",
            [1 - float(read_tsv(m)[0][-1]["test_error"]) for m in members],
        )
    )
    sweep = results / "mnist" / "width_sweep.tsv"
    if sweep.exists():
        rows, _ = read_tsv(sweep)
        below = (
            sum(r.get("below_floor") == "True" for r in rows)
            if rows and "below_floor" in rows[0]
            else None
        )
        out.append(
            _accuracy_row(
                "Fig. 4(c, d) width sweep", [float(r["test_accuracy"]) for r in rows], below
            )
        )
    for summary, label in (
        (results / "figures" / "figS2_summary.tsv", "Fig. S2"),
        (results / "figures" / "figS3_summary.tsv", "Fig. S3"),
    ):
        if summary.exists():
            rows, _ = read_tsv(summary)
            for key in sorted({(r["data_set"], r["arch"]) for r in rows}):
                acc = [
                    float(r["value"])
                    for r in rows
                    if (r["data_set"], r["arch"]) == key
                    and r["quantity"].startswith("test_accuracy_net")
                ]
                out.append(_accuracy_row(f"{label} {key[0]} {key[1]}", acc))
    return [ln for ln in out if ln != ""] + [""]


def floors_section(results: Path) -> list[str]:
    out = ["## Accuracy floors", ""]
    for name, path in (
        ("Fig. 2", results / "circle" / "ridges.tsv"),
        ("Fig. 3(b)", results / "circle" / "crossover.tsv"),
    ):
        if not path.exists():
            continue
        rows, _ = read_tsv(path)
        below = [r for r in rows if r.get("below_floor") == "True"]
        accuracy = [float(r["accuracy"]) for r in rows]
        redrawn = sum(int(r.get("draw") or 0) > 0 for r in rows)
        out.append(
            f"- {name}: {len(below)} of {len(rows)} nets below the floor; test accuracy "
            f"{100 * min(accuracy):.2f}-{100 * max(accuracy):.2f} %; {redrawn} "
            f"realisation(s) redrawn after missing the floor on their training data."
        )
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


def stages_section(
    results: Path, wall: list | None, load: str | None, note: str | None = None
) -> list[str]:
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
        parts = (
            f" ({' + '.join(f'{w:.0f}' for w in wall)} s: the run was stopped and resumed"
            " with --rerun-incomplete)"
            if len(wall) > 1
            else ""
        )
        out += [
            f"Whole run: {sum(wall) / 60:.1f} min on 2 cores{parts}"
            + (f"; load average {load}" if load else "")
            + ".",
            "",
        ]
    if note:
        out += [note, ""]
    out += [
        "| rule | jobs | seconds (sum) | slowest job (s) | CPU seconds |",
        "|---|---|---|---|---|",
    ]
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
            out += [
                "| this run | published (PRL 132, 057301) |",
                "|---|---|",
                f"| ![{fig}]({name}/{png.name}) | ![published](published/{PUBLISHED[fig]}) |",
            ]
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
    ap.add_argument(
        "--wall-seconds",
        type=float,
        nargs="+",
        default=None,
        help="the run's measured wall time (e.g. from /usr/bin/time); one value per "
        "segment of a run that was stopped and resumed",
    )
    ap.add_argument("--load", default=None, help="load average before and after the run")
    ap.add_argument(
        "--note",
        default=None,
        help="a sentence under the run's time: what was rerun after it, and why",
    )
    args = ap.parse_args(argv)
    results = Path(args.results)
    config = merged_config(args.configfile)
    claims, prov = claims_section(results)
    overlays = " ".join(["config.yaml"] + [str(Path(f)) for f in args.configfile])
    lines = [
        f"# {args.title or args.name}",
        "",
        "Generated by `docs/results_page.py` from the run's `results/` folder; do not edit.",
        "",
        f"- configuration: `{overlays}` (merged config hash `{config_hash(config)}`)",
        f"- commit: `{prov.get('git_commit', 'unknown')}`; torch {prov.get('torch', '?')}, "
        f"device {prov.get('device', '?')}",
    ]
    seen = commits(results)
    if len(seen) > 1:
        lines.append(
            "- result tables by commit: "
            + ", ".join(f"`{c[:10]}` {n}" for c, n in sorted(seen.items(), key=lambda kv: -kv[1]))
        )
    lines.append("")
    lines += claims + forest_section(results, args.name) + floors_section(results)
    lines += accuracy_section(results)
    lines += stages_section(results, args.wall_seconds, args.load, args.note)
    lines += figures_section(results, args.name)
    page = ROOT / "docs" / f"{args.name}.md"
    page.write_text("\n".join(lines) + "\n")
    print(f"written {page}")


if __name__ == "__main__":
    main()
