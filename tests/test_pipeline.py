"""The whole pipeline, run once on a small synthetic configuration (see conftest)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from conftest import PipelineRun, pipeline_env  # noqa: F401

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

YEARS = ["2013-14", "2014-15", "2015-16", "2016-17"]


def test_repro_names_every_stage(pipeline_run: PipelineRun):
    for stage in ["synthesise", "clean", *(f"analyse@{y}" for y in YEARS), *(f"report@{y}" for y in YEARS), "index"]:
        assert f"'{stage}'" in pipeline_run.log, f"stage {stage} did not run"


@pytest.mark.parametrize("year", YEARS)
def test_each_year_has_a_substantial_self_contained_report(pipeline_run: PipelineRun, year: str):
    html_path = pipeline_run.reports / year / "report.html"
    html = html_path.read_text("utf-8")
    assert len(html) > 50_000, "report is suspiciously small"
    assert html.count("<table") >= 5
    assert html.count("<img") >= 3, "figures missing"
    assert re.search(r"""(src|href)=["']https?://""", html) is None, "report requests an outside host"
    assert "injected-parameters" not in html and "papermill" not in html.lower()
    csvs = list((pipeline_run.reports / year).rglob("*.csv"))
    assert len(csvs) >= 5, "tables are not downloadable as CSV"
    figures = list((pipeline_run.reports / year).rglob("*.svg"))
    assert figures and all(f.with_suffix(".png").exists() for f in figures)


def test_index_links_every_year(pipeline_run: PipelineRun):
    html = (pipeline_run.reports / "index.html").read_text("utf-8")
    for year in YEARS:
        assert f'href="{year}/report.html"' in html
    assert (pipeline_run.reports / "headline_trend.csv").exists()


def test_metrics_hold_the_main_estimates_per_year(pipeline_run: PipelineRun):
    for year in YEARS:
        metrics = json.loads((pipeline_run.root / "metrics" / f"{year}.json").read_text("utf-8"))
        assert metrics["year"] == year
        assert {"trajectory_fitted", "reach_fitted", "rollout_fitted"} <= metrics.keys()
    last = json.loads((pipeline_run.root / "metrics" / "2016-17.json").read_text("utf-8"))
    assert last["trajectory_fitted"] and last["rollout_fitted"]
    shown = pipeline_run.dvc("metrics", "show")
    assert shown.returncode == 0 and "trajectory_estimate" in shown.stdout


def test_second_repro_has_nothing_to_do(pipeline_run: PipelineRun):
    status = pipeline_run.dvc("status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout or "{}") == {}


def test_report_only_parameter_change_reruns_only_report_stages(pipeline_run: PipelineRun, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(pipeline_run.root, copy, symlinks=True)
    params = yaml.safe_load((copy / "params.yaml").read_text("utf-8"))
    params["report"]["suppression_threshold"] = 5
    (copy / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    status = PipelineRun(root=copy, log="").dvc("status", "--json")
    assert status.returncode == 0, status.stderr
    changed = set(json.loads(status.stdout))
    assert changed == {f"report@{y}" for y in YEARS}


def test_processed_tables_hold_no_identifying_columns(pipeline_run: PipelineRun):
    import pandas as pd

    forbidden = re.compile(r"name|postcode|dob|birth|note|case_id|client", re.I)
    for table in (pipeline_run.root / "data" / "processed").glob("*.parquet"):
        columns = pd.read_parquet(table).columns
        assert not [c for c in columns if forbidden.search(c) and c != "area_name"], table.name
