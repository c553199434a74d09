"""Group work, talks and sessions with children and young people in a year's report
(section 5, Activities): sessions by setting and by service, with their attendance.

Sessions are not about individuals and are shown exactly; attendances count children and
young people, so they pass the disclosure rule for counts of people (suppression of small
counts, rounded totals)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.publish import disclosure
from analysis.report.context import YearContext
from analysis.report.sections.common import service_breakdown_allowed
from analysis.report.wording import HTML, label
from analysis.report.writer import table_item

ATTENDANCE_NOTE = (
    "Attendances: a child or young person at two sessions counts twice, as in the "
    "programme's published figures."
)


def _table(ctx: YearContext, frame: pd.DataFrame, index: str, title: str) -> list[Any]:
    sessions = disclosure.disclose_table(
        frame[[index, "Sessions"]],
        index=index,
        count_columns=["Sessions"],
        threshold=0,
        total_rounding=1,
        title=f"{title}: sessions",
        notes=("Counts of sessions are not about individuals and are not suppressed.",),
    )
    people = disclosure.disclose_table(
        frame[[index, "Attendances"]],
        index=index,
        count_columns=["Attendances"],
        threshold=ctx.settings.threshold,
        total_rounding=ctx.settings.total_rounding,
        title=f"{title}: children and young people attending",
        notes=(ATTENDANCE_NOTE,),
    )
    return [*table_item(sessions), *table_item(people)]


def group_sessions(ctx: YearContext) -> list[Any]:
    """Group sessions with children and young people in the year, by setting and service."""
    groups = ctx.seen.get("group_sessions")
    if groups is None:
        return []
    groups = groups.loc[groups["evaluation_year"].astype("str") == ctx.year]
    if groups.empty:
        return [
            HTML(
                f"<p>No records of group sessions with children and young people were "
                f"received for {ctx.year}.</p>"
            )
        ]
    out: list[Any] = [
        HTML(
            "<p>Spoke workers also ran group work, talks and awareness sessions with children "
            "and young people in schools, youth groups and elsewhere. Each session is "
            "recorded with its date, the spoke post that ran it, the setting and the number "
            "attending.</p>"
        )
    ]

    def summarise(by: str, name: str) -> pd.DataFrame:
        data = groups.assign(**{name: groups[by].map(label) if by == "setting" else groups[by]})
        return (
            data.groupby(name, as_index=False)
            .agg(Sessions=("session_id", "size"), Attendances=("attendees", "sum"))
            .astype({"Sessions": "int64", "Attendances": "int64"})
        )

    out += _table(
        ctx,
        summarise("setting", "Setting"),
        "Setting",
        f"Group sessions with children and young people by setting, {ctx.year}",
    )
    if service_breakdown_allowed(ctx):
        out += _table(
            ctx,
            summarise("service_id", "Service"),
            "Service",
            f"Group sessions with children and young people by service, {ctx.year}",
        )
    return out
