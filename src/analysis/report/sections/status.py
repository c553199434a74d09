"""Section 2, Programme status: services, spoke areas and posts in the year."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse import outcomes
from analysis.core import calendar as periods
from analysis.publish import figures
from analysis.report.context import YearContext
from analysis.report.sections import costs, workforce
from analysis.report.sections.common import counts_table
from analysis.report.wording import HTML, label
from analysis.report.writer import figure_item, table_item


def programme_status(ctx: YearContext) -> list[Any]:
    """Section 2: services active by phase, spoke areas and host agency types."""
    services = outcomes.service_years(outcomes.prepare_tables(ctx.seen), ctx.year)
    services = services.loc[services["evaluation_year"] == ctx.year]
    svc = ctx.seen["services"].merge(services[["service_id"]], on="service_id")
    by_phase = svc.assign(n=1, phase=svc["phase"].map(lambda p: f"Phase {p}"))
    t1 = counts_table(
        ctx,
        by_phase,
        index="phase",
        columns=None,
        values="n",
        threshold=0,
        title=f"Services active in {ctx.year} by phase",
        notes=("Counts of services are not about individuals and are not suppressed.",),
    )
    areas = ctx.seen["areas"]
    spokes = areas.loc[areas["is_spoke"].astype(bool) & areas["service_id"].isin(svc["service_id"])]
    start = pd.to_datetime(spokes["spoke_start_month"])
    spokes = spokes.loc[start <= pd.Timestamp(periods.year_bounds(ctx.year)[1])]
    host = spokes.assign(n=1, host=spokes["host_agency"].map(label))
    t2 = counts_table(
        ctx,
        host,
        index="host",
        columns=None,
        values="n",
        threshold=0,
        title=f"Spoke areas in {ctx.year} by host agency type",
        notes=("Counts of spoke posts are not about individuals and are not suppressed.",),
    )
    n_areas = spokes["area_code"].nunique()
    stat = ctx.stats.number
    n_svc = stat(f"status/services-active/{ctx.year}", len(svc))
    n_spoke = stat(f"status/spoke-areas/{ctx.year}", n_areas)
    text = (
        f"<p>{n_svc} {'service was' if len(svc) == 1 else 'services were'} active in "
        f"{ctx.year}, with spoke workers in {n_spoke} local authority "
        f"area{'' if n_areas == 1 else 's'}.</p>"
    )
    out: list[Any] = [HTML(text), *table_item(t1), *table_item(t2)]
    if len(t2.without_totals().table) > 1:  # one bar is not a chart: the table says it
        out += figure_item(
            figures.bar_chart(
                t2, title="Spoke areas by host agency type", value_label="Spoke areas"
            ),
            "spoke-areas-by-host",
        )
    return out + workforce.workforce_status(ctx) + costs.programme_cost(ctx)
