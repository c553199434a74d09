"""Outcome 4 of the final year's report (issue 24): individual and group reach per spoke by
year of operation, the reach model worded by what it shows and cannot, and no trace of the
old "per year since the service started" model."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis import report
from analysis.analyse import year as evaluation
from analysis.core.settings import load_settings
from analysis.report.sections.change import EVIDENCE_PHRASE

YEAR = "2016-17"


@pytest.fixture(scope="module")
def rendered(default_processed, tmp_path_factory):
    work = tmp_path_factory.mktemp("reach-report")
    evaluation.evaluate_year(
        default_processed,
        YEAR,
        out_dir=work / "analysis",
        **evaluation.year_arguments(load_settings()),
    )
    rep = report.YearReport.build(
        report.ReportSettings.from_settings(YEAR, load_settings()),
        processed_dir=default_processed,
        analysis_dir=work / "analysis",
        out_dir=work / "out",
    )
    items = rep.outcome_measures() + rep.change_over_time()
    text = "\n".join(str(getattr(i, "data", "")) for i in items)
    return work, text


def test_outcome4_shows_individual_and_group_reach_per_spoke_by_year(rendered):
    work, _ = rendered
    titles = [t["title"] for t in json.loads((work / "out" / "tables" / "index.json").read_text())]
    for what in ("New young people", "Group sessions", "Attendances at group sessions"):
        assert f"{what} by spoke and year of operation, to the end of {YEAR}" in titles
    by_spoke = pd.read_parquet(work / "analysis" / "model_reach_by_spoke_year.parquet")
    assert by_spoke["year_of_operation"].min() == 1 and by_spoke["spoke_id"].nunique() > 1


def test_the_model_is_worded_by_what_it_shows_and_cannot(rendered):
    work, text = rendered
    assert "since the service started" not in text
    assert "first year of operation" in text
    assert "would otherwise have gone without specialist support" in text
    record = json.loads((work / "analysis" / "models.json").read_text())["reach"]
    assert record["fitted"] and f"This is {EVIDENCE_PHRASE[record['evidence']]}" in text
    assert record["checks"]["services"] >= evaluation.MIN_REACH_SERVICES
