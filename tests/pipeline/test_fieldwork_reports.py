"""The fieldwork in the pipeline's own reports (issue 26): the verdict table links to a
joint display for each outcome, each joint display shows both kinds of evidence, and no
quote comes from a young person, a case study or a site with a single spoke worker."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from conftest import PipelineRun

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]

YEARS = ["2013-14", "2014-15", "2015-16", "2016-17"]
QUOTE = re.compile(r"\u201c(.+?)\u201d \((programme staff|partner agencies), phase ([123])\)")


def _page(run: PipelineRun, year: str) -> str:
    return html.unescape((run.reports / year / "report.html").read_text("utf-8"))


@pytest.mark.parametrize("year", YEARS[1:])
def test_the_verdict_table_links_to_a_joint_display_with_both_sides(
    pipeline_run: PipelineRun, year: str
) -> None:
    page = _page(pipeline_run, year)
    for n in range(1, 7):
        assert f'href="#joint-display-{n}"' in page, n
        start = page.index(f'id="joint-display-{n}"')
        end = page.find('id="joint-display-', start + 1)
        block = page[start : end if end > 0 else start + 20000]
        assert "Numbers: primary indicator" in block and "Numbers: rating" in block, n
        assert "Fieldwork: interviews and case studies raising it" in block, n
        assert "Agree or diverge" in block, n


def _single_worker_sites(posts: pd.DataFrame, year: str) -> set[str]:
    start_year = int(year[:4])
    first, last = pd.Timestamp(start_year, 9, 1), pd.Timestamp(start_year + 1, 8, 1)
    start = pd.to_datetime(posts["start_month"])
    end = pd.to_datetime(posts["end_month"])
    filled = posts.loc[start.notna() & (start <= last) & (end.isna() | (end >= first))]
    n = filled.groupby("service_id")["post_id"].nunique()
    return {s for s in posts["service_id"].unique() if n.get(s, 0) <= 1}


@pytest.mark.parametrize("year", YEARS)
def test_no_quote_from_a_young_person_a_case_study_or_a_single_worker_site(
    pipeline_run: PipelineRun, year: str
) -> None:
    processed = pipeline_run.root / "data" / "processed"
    quotes = pd.read_parquet(processed / "fieldwork_quotes.parquet")
    quotes = quotes.loc[quotes["evaluation_year"] == year]
    single = _single_worker_sites(pd.read_parquet(processed / "posts.parquet"), year)
    barred = quotes["role_group"].isin(["young_person", "case_study"]) | quotes["site_key"].isin(
        single
    )
    only_barred = set(quotes.loc[barred, "text"]) - set(quotes.loc[~barred, "text"])
    page = _page(pipeline_run, year)
    shown = QUOTE.findall(page)
    assert shown or quotes.empty
    for text, who, phase in shown:
        assert text not in only_barred, (text, who, phase)
        allowed = quotes.loc[~barred & (quotes["text"] == text) & (quotes["phase"] == int(phase))]
        groups = {"programme staff": "programme_staff", "partner agencies": "partner_agency"}
        assert (allowed["role_group"] == groups[who]).any(), (text, who, phase)
    # no other attribution of fieldwork words anywhere on the page
    assert "(young people, phase" not in page and "(case studies, phase" not in page
