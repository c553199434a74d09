"""One evaluation year's report, section by section.

``notebooks/04_report.ipynb`` builds a :class:`YearReport` and shows one section at a time.
Each section is a pure function of the year's context (:mod:`analysis.report.sections`)
returning text, disclosed tables and figures; :class:`analysis.report.writer.ReportWriter`
writes every table as CSV and every figure as PNG and SVG beside the report. Tables and
figures are made only from :class:`analysis.disclosure.DisclosedTable` objects, so every
number a reviewer sees has passed disclosure control.

What a year's report may see is decided by :func:`analysis.vintage.tables_as_of`: periods
up to 31 August of its year and returns received by its cut-off. The figures for the
previous year are recomputed from the previous report's own vintage; where this year's data
revise them, they are marked ``[r]``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analysis.analyse import vintage
from analysis.analyse.report_facts import (
    key_figures,
)
from analysis.core.io import (
    csv_text,
    load_tables,
)
from analysis.publish import disclosure
from analysis.publish.spreadsheet import Release, release_workbook
from analysis.report import release
from analysis.report.context import (
    ReportSettings,
    YearContext,
    build_context,
)
from analysis.report.sections import (
    activities,
    change,
    fieldwork,
    outcomes,
    quality,
    referrals,
    status,
    summary,
    who,
)
from analysis.report.wording import (
    EXACT_FIGURES,
    HTML,
    SECTIONS,
)
from analysis.report.writer import ReportWriter


class YearReport:
    """One year's report: its context, the pure sections and the writer that saves them.

    ``notebooks/04_report.ipynb`` builds one with :meth:`build` and shows each section with
    ``show(report.summary())``: each method computes its section from the context
    (:mod:`analysis.report.sections`) and passes it to the writer, which saves the tables
    and figures beside the report.
    """

    def __init__(self, context: YearContext, writer: ReportWriter) -> None:
        self.context = context
        self.writer = writer

    @classmethod
    def build(
        cls,
        settings: ReportSettings,
        *,
        processed_dir: Path,
        analysis_dir: Path,
        out_dir: Path,
        private_dir: Path | None = None,
    ) -> YearReport:
        """Load the tables the year's report may see and prepare its output folder
        (``private_dir``: where the audit's private list of small cells goes)."""
        context = build_context(settings, processed_dir=processed_dir, analysis_dir=analysis_dir)
        writer = ReportWriter(Path(out_dir), registry=context.stats, private_dir=private_dir)
        return cls(context, writer)

    @property
    def settings(self) -> ReportSettings:
        """The report's settings (threshold, rounding, cut-off ...)."""
        return self.context.settings

    @property
    def year(self) -> str:
        """The evaluation year the report is for."""
        return self.context.year

    def _section(self, section: Callable[[YearContext], list[Any]], title: str) -> list[Any]:
        """Compute a section and publish it; its tables are numbered after its place in
        :data:`~analysis.report.wording.SECTIONS` (``title``)."""
        self.writer.begin_section(SECTIONS.index(title) + 1)
        return self.writer.publish(section(self.context))

    @property
    def release(self) -> Release:
        """The release details: publication date, next update, contact."""
        return release.release_for(
            self.year,
            first_year=self.settings.first_year,
            cutoff_days=self.settings.cutoff_days,
        )

    def summary(self) -> list[Any]:
        """Section 1: the year's key figures and what changed since the previous year,
        then the release box (publication date, next update, contact, links to the
        spreadsheet, the other years and the index)."""
        years = release.report_years(self.settings.first_year)
        box = HTML(release.release_html(self.release, years))
        return [*self._section(summary.summary, "Summary"), box]

    def programme_status(self) -> list[Any]:
        """Section 2: services, spoke areas and posts."""
        return self._section(status.programme_status, "Programme status")

    def referrals(self) -> list[Any]:
        """Section 3: referrals by service and source, and the trend."""
        return self._section(referrals.referrals, "Referrals and pathways")

    def who(self) -> list[Any]:
        """Section 4: who was supported."""
        return self._section(who.who, "Who was supported")

    def activities(self) -> list[Any]:
        """Section 5: activities and outputs."""
        return self._section(activities.activities, "Activities and outputs")

    def outcome_measures(self) -> list[Any]:
        """Section 6: the six key outcome measures."""
        return self._section(outcomes.outcome_measures, "The six outcome measures")

    def change_over_time(self) -> list[Any]:
        """Section 7: the models of change over time."""
        return self._section(change.change_over_time, "Change over time")

    def fieldwork(self) -> list[Any]:
        """Section 8: fieldwork: who took part, the joint displays, themes, configurations
        and case studies."""
        return self._section(fieldwork.fieldwork, "Fieldwork")

    def data_quality(self) -> list[Any]:
        """Section 9: data quality."""
        return self._section(quality.data_quality, "Data quality appendix")

    def methods(self) -> list[Any]:
        """Section 10: methods, assumptions and versions."""
        return self._section(quality.methods, "Methods, assumptions and caveats")

    def downloads(self) -> list[Any]:
        """Write the release's spreadsheet (every table published so far: cover, contents,
        notes, one table per sheet) and return the link to it."""
        name = release.spreadsheet_file(self.year)
        release_workbook(self.writer.tables, self.writer.out_dir / name, self.release)
        return [
            HTML(
                f'<p class="download"><a href="{html.escape(name)}" download>All tables of '
                f"the {html.escape(self.year)} report in one spreadsheet (XLSX)</a></p>"
            )
        ]


def show(blocks: list[Any]) -> None:
    """Display a section's blocks in the notebook."""
    from IPython.display import display

    for block in blocks:
        display(block)


def headline_snapshot(
    processed_dir: Path, years: list[str], settings: ReportSettings
) -> dict[str, str]:
    """Each year's published key-figures table (CSV text, disclosure applied), as the year
    reports show it: the back-test against earlier publications compares these."""
    tables = load_tables(Path(processed_dir))
    out = {}
    for year in years:
        year_settings = ReportSettings(
            year,
            threshold=settings.threshold,
            total_rounding=settings.total_rounding,
            cutoff_days=settings.cutoff_days,
            min_assessments=settings.min_assessments,
        )
        seen = vintage.tables_as_of(tables, year, year_settings.cutoff)
        table = disclosure.disclose_programme_totals(
            key_figures(seen, year)
            .assign(evaluation_year=year)
            .rename(columns={"figure": "Figure"}),
            index="Figure",
            columns="evaluation_year",
            values="value",
            threshold=year_settings.threshold,
            total_rounding=year_settings.total_rounding,
            exact=EXACT_FIGURES,
            title=f"Key figures, {year}",
        )
        out[year] = csv_text(table.table)
    return out
