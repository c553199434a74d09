"""A year's report as a release: when it was published, when the next one is due, whom to
contact, the other years' reports and the index, and the release's one spreadsheet.

The dates are the evaluation calendar's (:mod:`analysis.core.calendar`): a report is
published :data:`PUBLISHED_DAYS_AFTER_CUTOFF` days after its year's data cut-off, and the
next update is the next year's report (none after the programme's last year).
"""

from __future__ import annotations

import datetime as dt
import html

from analysis.core import calendar as periods
from analysis.publish.spreadsheet import Release

CONTACT = "The Hub and Spoke evaluation team: hubandspoke.evaluation@example.org"
"""Whom readers contact about the release (the synthetic programme's evaluation team)."""

PUBLISHED_DAYS_AFTER_CUTOFF = 28
"""How long after a year's data cut-off its report is published (checking and clearance)."""

RELEASE_TITLE = "Hub and Spoke evaluation"


def report_years(first_year: str) -> list[str]:
    """The evaluation years with a report: ``first_year`` to the programme's last year."""
    last = periods.parse_year(periods.year_of(periods.LAST_DAY))
    return [periods.year_label(y) for y in range(periods.parse_year(first_year), last + 1)]


def published_on(year: str, cutoff_days: int) -> dt.date:
    """The date the ``year`` report is published."""
    return periods.cutoff_date(year, cutoff_days) + dt.timedelta(days=PUBLISHED_DAYS_AFTER_CUTOFF)


def release_for(year: str, *, first_year: str, cutoff_days: int) -> Release:
    """The ``year`` report's release details."""
    years = report_years(first_year)
    later = [y for y in years if y > year]
    next_update = (
        f"the report for {later[0]}, due {published_on(later[0], cutoff_days):%B %Y}"
        if later
        else "none: this is the evaluation's final report"
    )
    return Release(
        title=RELEASE_TITLE,
        period=year,
        published=published_on(year, cutoff_days),
        next_update=next_update,
        contact=CONTACT,
        about=(
            "Figures come from monitoring returns and case extracts sent by the services "
            "(synthetic data in this repository), with disclosure control applied.",
        ),
    )


def spreadsheet_file(year: str) -> str:
    """The name of the ``year`` release's spreadsheet."""
    return f"hub-and-spoke-{year}-tables.xlsx"


def release_html(release: Release, years: list[str]) -> str:
    """The release box shown under a report's title: publication date, next update,
    contact, the spreadsheet of all tables, the other years' reports and the index."""
    year = release.period
    others = " ".join(
        f'<li><a href="../{html.escape(y)}/report.html">Report for {html.escape(y)}</a></li>'
        for y in years
        if y != year
    )
    sheet = html.escape(spreadsheet_file(year))
    return (
        '<aside class="release" aria-label="About this release"><dl>'
        f"<dt>Published</dt><dd>{release.published:%B %Y}</dd>"
        f"<dt>Next update</dt><dd>{html.escape(release.next_update)}</dd>"
        f"<dt>Contact</dt><dd>{html.escape(release.contact)}</dd>"
        f'<dt>Data</dt><dd><a href="{sheet}" download>All tables of the {html.escape(year)} '
        "report (spreadsheet, XLSX)</a></dd>"
        f'<dt>Other years</dt><dd><ul class="inline">{others}'
        '<li><a href="../index.html">All reports (index)</a></li></ul></dd>'
        "</dl></aside>"
    )
