"""Section 5, Activities: training, multi-agency work and the other outputs services return."""

from __future__ import annotations

from typing import Any

from analysis.core import rules
from analysis.publish import disclosure, figures
from analysis.report.context import YearContext
from analysis.report.sections import groupwork
from analysis.report.wording import label
from analysis.report.writer import figure_item, table_item


def _total(values: Any) -> float:
    """A sum that stays missing ([x], not collected) when no return reported the item:
    never a 0 the services did not send."""
    return values.sum(min_count=1)


def activities(ctx: YearContext) -> list[Any]:
    """Section 5: direct work, training delivered, professionals trained, awareness events.

    Sessions, events, meetings and professionals trained are not counts of young people:
    they are shown exactly (no suppression or rounding), as the notes say.
    """
    note = (
        "Sessions, events, meetings and professionals trained are not counts of young "
        "people and are shown exactly.",
    )
    outs = rules.current_rows(ctx.seen["outputs"])
    wide = (
        outs.assign(output=outs["output"].map(label))
        .pivot_table(
            index="evaluation_year", columns="output", values="count", aggfunc=_total, dropna=False
        )
        .reset_index()
        .rename(columns={"evaluation_year": "Evaluation year"})
    )
    cols = [c for c in wide.columns if c != "Evaluation year"]
    trend = disclosure.disclose_table(
        wide,
        index="Evaluation year",
        count_columns=cols,
        threshold=0,
        total_rounding=1,
        total_row=False,
        title="Outputs by evaluation year (programme)",
        notes=note,
    )
    out: list[Any] = [*table_item(trend)]
    # one bar is not a chart: the table says it
    if "Professionals trained" in trend.table.columns and len(trend.without_totals().table) > 1:
        out += figure_item(
            figures.bar_chart(
                trend,
                columns=["Professionals trained"],
                horizontal=False,
                title="Professionals trained by evaluation year",
                value_label="Professionals trained",
                category_label="Evaluation year",
            ),
            "professionals-trained-by-year",
        )
    for source, column, value, title in (
        ("activities", "activity", "sessions", "Activities"),
        ("outputs", "output", "count", "Outputs"),
    ):
        frame = rules.current_rows(ctx.seen[source])
        frame = frame.loc[frame["evaluation_year"] == ctx.year]
        wide = (
            frame.assign(**{column: frame[column].map(label)})
            .pivot_table(
                index="service_id", columns=column, values=value, aggfunc=_total, dropna=False
            )
            .reset_index()
            .rename(columns={"service_id": "Service"})
        )
        cols = [c for c in wide.columns if c != "Service"]
        out += table_item(
            disclosure.disclose_table(
                wide,
                index="Service",
                count_columns=cols,
                threshold=0,
                total_rounding=1,
                title=f"{title} by service, {ctx.year}",
                notes=note,
            )
        )
    return out + groupwork.group_sessions(ctx)
