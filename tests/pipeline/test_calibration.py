"""The default synthetic programme looks like the real one: each calibrated figure, counted
from the pipeline's outputs as the published evaluation counted it, is as close to the
published figure as ``src/analysis/core/published_figures.yaml`` allows.

Runs on the default data (``params.yaml`` seed and scale, synthesised and cleaned once per
session by the ``default_processed`` fixture) seen as the 2016-17 report sees it, up to the
date the published counts run to (31 December 2016).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.analyse import vintage
from analysis.analyse.to_date import TO_DATE_BY_KEY, programme_to_date
from analysis.core import calendar
from analysis.core.io import load_tables
from analysis.core.published_figures import load_published_figures, published_reference_date
from analysis.core.settings import load_settings

FINAL_YEAR = "2016-17"


@pytest.fixture(scope="module")
def to_date(default_processed: Path) -> pd.Series:
    """The programme-to-date indicators of the default data, as the 2016-17 report sees them."""
    settings = load_settings()
    seen = vintage.tables_as_of(
        load_tables(default_processed),
        FINAL_YEAR,
        calendar.cutoff_date(FINAL_YEAR, settings.report.cutoff_days_after_year_end),
    )
    return programme_to_date(seen, published_reference_date()).set_index("indicator")["value"]


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
