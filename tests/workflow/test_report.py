"""`snakemake --report` on the tiny test pipeline holds every figure with its caption."""

import re
import zipfile

import pytest
from helpers.pipelines import run_snakemake

FIGURES = ("fig1.png", "fig2.png", "fig3.png", "fig4.png")
TARGETS = ("fig1", "fig2", "fig3", "fig4")


def _snakemake(workdir, config, *args):
    proc = run_snakemake(workdir, config, *args, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_report_holds_every_figure(full_pipeline_run):
    tmp_path, config = full_pipeline_run  # the session's tiny Figures 1-4 run (conftest.py)

    _snakemake(tmp_path, config, "--report", "report.zip", *TARGETS)
    with zipfile.ZipFile(tmp_path / "report.zip") as z:
        names = z.namelist()
        for fig in FIGURES:
            hits = [n for n in names if n.endswith("/" + fig)]
            assert hits, f"{fig} not in the report: {names}"
            assert len(z.read(hits[0])) > 10_000, fig
        html = "".join(
            z.read(n).decode(errors="replace")
            for n in names
            if n.endswith((".html", ".js", ".json"))
        )
    for number in (1, 2, 3, 4):  # captions from workflow/report/fig*.rst
        assert re.search(rf"Figure\W*{number}", html), f"caption of Figure {number} missing"
    assert "deepftle" in html  # workflow/report/workflow.rst

    _snakemake(tmp_path, config, "--report", "report.html", *TARGETS)
    html = (tmp_path / "report.html").read_text(errors="replace")
    for fig in FIGURES:
        assert fig in html, f"{fig} not in report.html"
