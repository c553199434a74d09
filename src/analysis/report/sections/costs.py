"""The programme's cost in a year's report (section 2, Programme status): grants to
services in the year and to date, and the cost per young person supported, per professional
reached, per attendance at group sessions and per spoke post-year."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse.costs import programme_costs
from analysis.core.published_figures import load_published_figures
from analysis.publish import disclosure
from analysis.publish.registry import RULES
from analysis.report.context import YearContext
from analysis.report.wording import HTML
from analysis.report.writer import table_item

PEOPLE = ("young_people", "professionals", "group_attendances")
"""Measures that count people: published rounded (and suppressed when small)."""


def _shown(ctx: YearContext, measure: str, count: float) -> tuple[str, float | None]:
    """A count as published, and the number the cost is divided by (``None``: no cost)."""
    if measure not in PEOPLE:
        return f"{count:,.1f}", (count if count > 0 else None)
    if disclosure.is_small(count, ctx.settings.threshold):
        return "[c]", None
    shown = disclosure.round_to_base(count, ctx.settings.total_rounding)
    return (f"{shown:,.0f}", shown) if shown > 0 else ("0", None)


COST_ROUNDING = 10
"""A grant per output is published to the nearest £10."""


def _money(value: float) -> str:
    return f"£{value:,.0f}"


def grant_per_output(
    ctx: YearContext, scope: str, costs: pd.DataFrame | None = None
) -> dict[str, tuple[str, str]]:
    """For ``scope`` (``"year"`` or ``"to_date"``): each measure's number as published and
    the grants to services divided by it (to the nearest £10; ``[x]`` without an output)."""
    ctx.stats.number(RULES["cost_rounding"], COST_ROUNDING, unit="GBP")  # a rule, stated
    if costs is None:
        costs = programme_costs(ctx.seen, ctx.year)
    rows = costs.loc[costs["scope"] == scope].set_index("measure")
    grants = float(rows["grants_gbp"].iloc[0])
    out: dict[str, tuple[str, str]] = {}
    for measure in rows.index:
        shown, divisor = _shown(ctx, measure, float(rows.loc[measure, "count"]))
        cost = grants / divisor if divisor else None
        out[str(measure)] = (
            shown,
            _money(disclosure.round_to_base(cost, COST_ROUNDING)) if cost is not None else "[x]",
        )
    return out


def programme_cost(ctx: YearContext) -> list[Any]:
    """Grants and the cost per output, for the year and for the programme to date."""
    if "grants" not in ctx.seen or ctx.seen["grants"].empty:
        return [HTML("<p>No record of the programme's grants was received.</p>")]
    costs = programme_costs(ctx.seen, ctx.year)
    year_rows = costs.loc[costs["scope"] == "year"].set_index("measure")
    date_rows = costs.loc[costs["scope"] == "to_date"].set_index("measure")
    grants_year = float(year_rows["grants_gbp"].iloc[0])
    grants_to_date = float(date_rows["grants_gbp"].iloc[0])
    evaluation = float(date_rows["evaluation_gbp"].iloc[0])
    per = {
        ctx.year: grant_per_output(ctx, "year", costs),
        "Programme to date": grant_per_output(ctx, "to_date", costs),
    }
    records = []
    for measure in year_rows.index:
        row = {"Output": str(year_rows.loc[measure, "label"])}
        for scope, values in per.items():
            row[f"{scope}: number"], row[f"{scope}: grant per output"] = values[str(measure)]
        records.append(row)
    frame = pd.DataFrame(records)
    text_columns = [c for c in frame.columns if c != "Output"]
    table = disclosure.disclose_table(
        frame,
        index="Output",
        count_columns=[],
        text_columns=text_columns,
        threshold=ctx.settings.threshold,
        total_row=False,
        total_rounding=ctx.settings.total_rounding,
        title=f"Grants to services per output, {ctx.year} and the programme to date",
        notes=(
            "Each figure divides the whole of the grants to services by one output: the "
            "same grant paid for casework, training and group work, so it is an upper bound "
            "on what that output cost, not a unit cost. The evaluation's grant is not "
            "included.",
            "Numbers of people are rounded like programme totals and the grant per output "
            f"is worked out from the rounded number (to the nearest £{COST_ROUNDING}); [x]: no "
            "output.",
        ),
    )

    def money(ident: str, value: float) -> str:
        return ctx.stats.number(f"costs/{ident}", value, unit="GBP", text=_money(value))

    text = (
        f"<p>The services' grants for {ctx.year} came to "
        f"{money(f'grants/{ctx.year}', grants_year)}, and to "
        f"{money(f'grants/to-{ctx.year}', grants_to_date)} from the programme's start to the "
        "end of the year; the evaluation's own grant to date was "
        f"{money(f'evaluation-grant/to-{ctx.year}', evaluation)}.</p>"
    )
    if ctx.settings.synthetic:
        published = load_published_figures()["programme_cost"]
        text += (
            f"<p>The real programme cost {money('published-programme-cost', published.value)} "
            "in all (published), which "
            "paid for the services' casework, training and group work and for the "
            "evaluation; the synthetic programme's grants are set to the same total at the "
            "default size.</p>"
        )
    return [HTML(text), *table_item(table)]
