"""One number per statistic, on the pipeline's own rendered pages: every number each year's
report, its CSVs and the index publish is a registered statistic (issue 16)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from conftest import PipelineRun

from analysis.core.catalog import INDEX_STATISTICS, STATISTICS
from analysis.publish.registry import Registry, check_csv, check_page
from analysis.report.wording import REGISTERED_SECTIONS

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

YEARS = ["2013-14", "2014-15", "2015-16", "2016-17"]


def _report(run: PipelineRun, year: str) -> tuple[str, Registry]:
    folder = run.reports / year
    return (folder / "report.html").read_text("utf-8"), Registry.read(folder / STATISTICS)


@pytest.mark.parametrize("year", YEARS)
def test_every_number_of_a_year_report_is_registered(pipeline_run: PipelineRun, year: str):
    page, registry = _report(pipeline_run, year)
    assert registry.vintage == year
    assert check_page(page, registry, strict_sections=REGISTERED_SECTIONS) == []
    # every table on the page is registered, cell by cell
    assert page.count("<table") == page.count("<table data-stats=")
    folder = pipeline_run.reports / year / "tables"
    index = json.loads((folder / "index.json").read_text("utf-8"))
    assert sorted(e["file"] for e in index) == sorted(p.name for p in folder.glob("*.csv"))
    for entry in index:
        assert check_csv(folder / entry["file"], registry, entry["slug"]) == [], entry["file"]
    # suppressed cells are present, with their symbol
    symbols = {s.status for s in registry.stats.values()}
    assert "[c]" in symbols or year == "2013-14"


def test_every_number_of_the_index_is_registered(pipeline_run: PipelineRun):
    page = (pipeline_run.reports / "index.html").read_text("utf-8")
    registry = Registry.read(pipeline_run.root / INDEX_STATISTICS)
    assert check_page(page, registry) == []  # every section of the index
    from analysis.report.index import TREND_FIGURES, TREND_YEAR

    trend = pd.read_csv(pipeline_run.reports / "headline_trend.csv", dtype={TREND_YEAR: str})
    assert list(trend.columns) == [TREND_YEAR, *TREND_FIGURES.values()]
    cells = {(s.column, s.row): s.value for s in registry.stats.values() if s.table}
    for _, row in trend.iterrows():
        for name in TREND_FIGURES.values():
            if (row[TREND_YEAR], name) in cells:
                value = row[name]
                registered = cells[(row[TREND_YEAR], name)]
                assert (pd.isna(value) and registered is None) or value == registered, (name, row)


def test_a_table_cell_changed_by_hand_fails(pipeline_run: PipelineRun):
    page, registry = _report(pipeline_run, "2016-17")
    cell = re.search(r'(<td class="num"[^>]*data-stat="[^"]+">)(\d+)(</td>)', page)
    assert cell is not None
    changed = page.replace(
        cell.group(0), f"{cell.group(1)}{int(cell.group(2)) + 1}{cell.group(3)}", 1
    )
    problems = check_page(changed, registry, strict_sections=REGISTERED_SECTIONS)
    assert len(problems) == 1 and "registered as" in problems[0]


def test_an_untagged_number_in_a_registered_section_fails(pipeline_run: PipelineRun):
    page, registry = _report(pipeline_run, "2016-17")
    start = page.index('<ul class="key-findings">')
    changed = page[:start] + "<p>About 1,234 young people.</p>" + page[start:]
    problems = check_page(changed, registry, strict_sections=REGISTERED_SECTIONS)
    assert problems == [
        f"{REGISTERED_SECTIONS[0]}: untagged number '1,234' in 'About 1,234 young people.'"
    ]
