"""The default synthetic programme looks like the real one: each calibrated figure, counted
from the pipeline's outputs as the published evaluation counted it, is as close to the
published figure as ``src/analysis/core/published_figures.yaml`` allows.

Runs on the default data (``params.yaml`` seed and scale, synthesised and cleaned once per
session by the ``default_processed`` fixture) seen as the 2016-17 report sees it, up to the
date the published counts run to (31 December 2016).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import PipelineRun

from analysis.analyse import vintage
from analysis.analyse.adjust import ADJUSTED, adjusted_totals
from analysis.analyse.to_date import TO_DATE_BY_KEY, programme_to_date
from analysis.core import calendar
from analysis.core.io import load_tables
from analysis.core.published_figures import load_published_figures, published_reference_date
from analysis.core.settings import load_settings

FINAL_YEAR = "2016-17"


@pytest.fixture(scope="module")
def seen(default_processed: Path) -> dict[str, pd.DataFrame]:
    """The default data as the 2016-17 report sees them."""
    settings = load_settings()
    return vintage.tables_as_of(
        load_tables(default_processed),
        FINAL_YEAR,
        calendar.cutoff_date(FINAL_YEAR, settings.report.cutoff_days_after_year_end),
    )


@pytest.fixture(scope="module")
def to_date(seen: dict[str, pd.DataFrame]) -> pd.Series:
    """The programme-to-date indicators of the default data, as the 2016-17 report sees them."""
    return programme_to_date(seen, published_reference_date()).set_index("indicator")["value"]


@pytest.fixture(scope="module")
def truth(default_processed: Path) -> dict:
    """What the generator recorded: the true and delivered totals, the returns missing."""
    path = default_processed.parent / "raw" / "_truth" / "truth.json"
    return json.loads(path.read_text("utf-8"))["reporting"]


CALIBRATED = [key for key in load_published_figures() if key in TO_DATE_BY_KEY]


def test_every_figure_with_an_indicator_is_calibrated():
    assert {"individual_support", "professionals_reached", "spoke_posts_filled",
            "spoke_areas", "interviews", "services"} <= set(CALIBRATED)  # fmt: skip


@pytest.mark.parametrize("key", CALIBRATED)
def test_default_programme_matches_the_published_figure(to_date: pd.Series, key: str):
    figure = load_published_figures()[key]
    value = float(to_date[key])
    assert figure.within(value), (
        f"{figure.label}: the default synthetic programme has {value:,.0f} to "
        f"{published_reference_date():%d %B %Y}, the published figure is {figure.value:,.0f} "
        f"(must be {figure.tolerance_text}); recalibrate synthetic.calibration in params.yaml"
    )


def test_published_figures_cite_their_sources():
    for figure in load_published_figures().values():
        assert figure.source.citation and figure.label and figure.value > 0
    assert published_reference_date().isoformat() == "2016-12-31"


def test_the_truth_exceeds_what_is_reported_by_about_the_share_of_returns_missing(
    to_date: pd.Series, truth: dict
):
    """The evaluators warned their 783 was an underestimate because returns were missing: on
    the default data the true number of young people exceeds the reported one, and the
    shortfall is within 5 percentage points of the share of expected returns missing."""
    true, reported = truth["true"]["individual_support"], float(to_date["individual_support"])
    assert true > reported
    shortfall = (true - reported) / true
    missing = truth["returns"]["share_not_received"]
    assert missing > 0, "the default data should miss some returns"
    assert abs(shortfall - missing) <= 0.05, (shortfall, missing)
    # the cleaned data hold no more than the files delivered, which hold no more than truth
    for key in ADJUSTED:
        assert float(to_date[key]) <= truth["delivered"][key] <= truth["true"][key], key


def test_adjusted_totals_count_the_missing_returns_and_cover_the_truth(
    seen: dict[str, pd.DataFrame], to_date: pd.Series, truth: dict
):
    adj = adjusted_totals(
        seen, published_reference_date(), {k: float(to_date[k]) for k in ADJUSTED}
    ).set_index("indicator")
    # the analysis finds the same missing returns as the generator left out
    assert (adj["returns_expected"] == truth["returns"]["expected"]).all()
    assert (adj["returns_missing"] == truth["returns"]["not_received_by_cutoff"]).all()
    for key in ADJUSTED:
        row, true = adj.loc[key], truth["true"][key]
        assert row["adjusted_low"] <= row["adjusted"] <= row["adjusted_high"]
        assert row["reported"] <= row["adjusted"]
        # the adjustment moves towards the truth and never past it
        assert row["adjusted_low"] <= true, (key, true, row.to_dict())
        assert abs(true - row["adjusted"]) < abs(true - row["reported"]), (key, true)
    # for young people the range covers the truth, apart from the young people the cleaner
    # quarantined (received, so not imputed: the delivered files hold them, the cleaned
    # data do not)
    row, true = adj.loc["individual_support"], truth["true"]["individual_support"]
    quarantined = truth["delivered"]["individual_support"] - row["reported"]
    assert true <= row["adjusted_high"] + quarantined, (true, quarantined, row.to_dict())


DECEMBER_2016 = "programme-to-the-end-of-december-2016-"


@pytest.mark.pipeline
def test_reports_show_totals_to_date_and_the_published_figures(pipeline_run: PipelineRun):
    """Every report's data-quality appendix shows its totals adjusted for missing returns;
    the 2016-17 report's methods annex sets the programme to 31 December 2016 beside the
    published figures (as published), and no other year's report does."""
    figures = load_published_figures()
    for year in ("2013-14", "2014-15", "2015-16", "2016-17"):
        tables = pipeline_run.reports / year / "tables"
        slugs = {e["slug"]: e["file"] for e in json.loads((tables / "index.json").read_text())}
        assert [s for s in slugs if re.match(r"totals-to-the-end-of-august-.*-adjusted-", s)]
        beside = [tables / f for s, f in slugs.items() if s.startswith(DECEMBER_2016)]
        assert bool(beside) == (year == FINAL_YEAR), year
    table = pd.read_csv(beside[0], dtype="str", keep_default_na=False)
    table = table.loc[table.iloc[:, -3] == "Published"]
    published = dict(zip(table.iloc[:, 0], table["Value"], strict=True))
    for figure in figures.values():
        if figure.key in TO_DATE_BY_KEY:
            assert published[figure.label] == f"{figure.value:.0f}", figure.label
    html = "".join(  # the methods annex is on the annex page
        (pipeline_run.reports / FINAL_YEAR / page).read_text("utf-8")
        for page in ("report.html", "annex.html")
    )
    assert "beside the published figures" in html and "ISBN 9781911168447" in html
