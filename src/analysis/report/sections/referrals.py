"""Section 3, Referrals and pathways: referrals by service and source, and the trend."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse import vintage
from analysis.analyse.report_facts import _restrict, young_people_supported
from analysis.core import rules
from analysis.publish import disclosure, figures
from analysis.publish.disclosure import DisclosedTable
from analysis.publish.registry import Registry
from analysis.report.context import YearContext
from analysis.report.sections.common import counts_table, no_breakdown, service_breakdown_allowed
from analysis.report.sections.verdicts import headline_share
from analysis.report.wording import HTML, label, slug
from analysis.report.writer import figure_item, table_item


def referrals(ctx: YearContext) -> list[Any]:
    """Section 3: referrals by source over time and young people supported."""
    ref = rules.current_rows(ctx.seen["referrals"])
    by_year = ref.assign(source=ref["referral_source"].map(label))
    # Each cell is a programme total, rounded: a revised figure against the earlier
    # report's then gives no small count of late returns away (docs/disclosure.md).
    by_year = by_year.groupby(["evaluation_year", "source"], as_index=False, observed=True)[
        "referrals"
    ].sum()
    trend = disclosure.disclose_programme_totals(
        by_year,
        index="evaluation_year",
        columns="source",
        values="referrals",
        threshold=ctx.settings.threshold,
        total_rounding=ctx.settings.total_rounding,
        title="Referrals by source and evaluation year (programme)",
        notes=(
            "Earlier years are shown as known now; [r] marks a figure that differs from "
            "the earlier report.",
        ),
    )
    trend = _revise_trend(
        ctx, trend, "referrals", ["evaluation_year", "referral_source"], "referral_source"
    ).by_period("rows")
    out: list[Any] = [
        HTML(
            "<p>Where referrals came from, year by year, and how many young people each "
            "service took on, supported and closed in the year. The counts come from the "
            "services' monitoring returns.</p>"
        ),
        *table_item(trend),
    ]
    if len(trend.without_totals().table) > 1:  # one bar is not a chart: the table says it
        out += figure_item(
            figures.bar_chart(
                trend,
                stacked=True,
                horizontal=False,
                title="Referrals by source and evaluation year (programme)",
                value_label="Referrals",
                category_label="Evaluation year",
            ),
            "referrals-by-year",
        )
    if not service_breakdown_allowed(ctx):
        return out + no_breakdown(ctx, "Referrals and young people supported")
    this = ref.loc[ref["evaluation_year"] == ctx.year]
    this = this.assign(source=this["referral_source"].map(label))
    by_service = counts_table(
        ctx,
        this,
        index="service_id",
        columns="source",
        values="referrals",
        title=f"Referrals by service and source, {ctx.year}",
    )
    # the verdict's outcome 2 share is "out of" the year's referrals, this table's total
    # (its numerator sums each service's host-agency sources: no one cell)
    total = Registry.cell_id(by_service, slug(by_service.title), "Total", "Total")
    headline_share(ctx, 2, None, total, indicator="host_agency_referral_share")
    yp = young_people_supported(ctx.seen, ctx.year)
    wide = (
        yp.pivot_table(index="service_id", columns="measure", values="young_people", aggfunc="sum")
        .reindex(columns=["New", "Open", "Closed"])
        .reset_index()
        .rename(columns={"service_id": "Service"})
    )
    t_yp = disclosure.disclose_table(
        wide,
        index="Service",
        count_columns=["New", "Open", "Closed"],
        threshold=ctx.settings.threshold,
        total_rounding=ctx.settings.total_rounding,
        title=f"Young people new, open and closed by service, {ctx.year}",
        notes=(
            "From the monitoring returns. New and closed are summed over the year's "
            "returns; open counts the young people open at any time in the period of the "
            "latest return of the year. The columns overlap, so they are not added up.",
        ),
    )
    out += [*table_item(by_service), *table_item(t_yp)]
    return out


def _revise_trend(
    ctx: YearContext,
    table: DisclosedTable,
    value: str,
    keys: list[str],
    column_key: str,
    source: str = "referrals",
) -> DisclosedTable:
    """Mark with [r] the cells of an earlier year that differ from the earlier report."""
    if ctx.previous is None:
        return table
    prev = ctx.settings.previous_year
    earlier = rules.current_rows(ctx.previous[source])
    later = rules.current_rows(_restrict(ctx.seen, prev)[source])
    e = earlier.groupby(keys, as_index=False)[value].sum()
    lt = later.groupby(keys, as_index=False)[value].sum()
    rev = vintage.revised_cells(e, lt, keys, value)
    flags = pd.DataFrame(False, index=table.table.index, columns=table.table.columns)
    for _, row in rev.iterrows():
        col = label(row[column_key])
        if row["evaluation_year"] in flags.index and col in flags.columns:
            flags.loc[row["evaluation_year"], col] = True
    return disclosure.mark_revised(table, flags)
