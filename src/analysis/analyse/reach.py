"""Reach per spoke as its posts mature (outcome 4): the spoke-month table the reach model
fits, and individual and group reach by spoke and year of operation.

Pure functions of the processed tables (``posts``, ``young_people``, ``group_sessions``) as
a year's report may see them (:mod:`analysis.analyse.vintage`).

* A spoke *starts operating* in the month its first post is filled (``posts.start_month``);
  its *year of operation* ``k`` covers months ``12(k-1)`` to ``12k - 1`` after that month.
* A post is *filled* in a month from its ``start_month`` to its ``end_month`` (an end month
  after the year is not yet known to that year: the post counts as filled to the year's end).
* *Post-months*: the spoke's filled posts summed over months (the model's exposure).
* *New young people*: young people whose ``referral_month`` falls in the month and whose
  record names one of the spoke's posts. Young people whose record names no post, and those
  referred in a month when none of their spoke's posts was filled, cannot be placed: they
  are counted (:func:`unplaced`), never guessed.
* *Group reach*: group sessions run by a spoke's posts (``session_month``) and their
  attendances (a young person at two sessions counts twice).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.core import calendar

MONTHS_PER_YEAR = 12


def _month_index(values: pd.Series) -> pd.Series:
    """Months since January 2000 (missing stays missing)."""
    when = pd.to_datetime(values)
    return (when.dt.year - 2000) * 12 + when.dt.month - 1


def _year_last_month(year: str) -> int:
    end = pd.Timestamp(calendar.year_end(year))
    return int((end.year - 2000) * 12 + end.month - 1)


def spoke_starts(posts: pd.DataFrame) -> pd.DataFrame:
    """Each spoke's service and first month of operation (its first post's start month),
    as ``service_id``, ``spoke_id``, ``start_index`` (months since January 2000)."""
    p = posts.loc[posts["start_month"].notna()]
    frame = p.assign(start_index=_month_index(p["start_month"]).astype("int64"))
    out = frame.groupby(["service_id", "spoke_id"], as_index=False)["start_index"].min()
    return out.sort_values(["service_id", "spoke_id"], ignore_index=True)


def filled_post_months(posts: pd.DataFrame, year: str) -> pd.DataFrame:
    """Filled posts per spoke and month up to the end of ``year``: ``spoke_id``,
    ``month_index``, ``post_months`` (months with no post filled are absent)."""
    last = _year_last_month(year)
    p = posts.loc[posts["start_month"].notna()]
    start = _month_index(p["start_month"]).astype("int64").to_numpy()
    end = _month_index(p["end_month"]).fillna(last).clip(upper=last).astype("int64").to_numpy()
    lengths = np.clip(end - start + 1, 0, None)
    spoke = np.repeat(p["spoke_id"].astype("str").to_numpy(), lengths)
    month = np.concatenate(
        [np.arange(s, s + n) for s, n in zip(start, lengths, strict=True)] or [np.zeros(0)]
    ).astype("int64")
    frame = pd.DataFrame({"spoke_id": spoke, "month_index": month})
    out = frame.groupby(["spoke_id", "month_index"], as_index=False).size()
    return out.rename(columns={"size": "post_months"}).astype({"post_months": "int64"})


def _placed(events: pd.DataFrame, month_col: str, posts: pd.DataFrame, year: str) -> pd.DataFrame:
    """Rows naming a known post, in a month up to the year's end, with ``spoke_id`` and
    ``month_index``."""
    last = _year_last_month(year)
    spokes = posts[["post_id", "spoke_id"]].drop_duplicates("post_id")
    e = events.loc[events["post_id"].notna() & events[month_col].notna()]
    e = e.merge(spokes, on="post_id", how="inner")
    e = e.assign(month_index=_month_index(e[month_col]).astype("int64"))
    return e.loc[e["month_index"] <= last]


def spoke_month_table(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """One row per spoke-month with at least one post filled, from the spoke's first month
    to the end of ``year``: ``service_id``, ``spoke_id``, ``month_index``,
    ``months_since_start``, ``year_of_operation`` (1, 2, ...), ``years_since_start`` (at
    the middle of the month), ``post_months``, ``new_young_people``, ``group_sessions`` and
    ``group_attendances``."""
    posts = tables["posts"]
    filled = filled_post_months(posts, year)
    starts = spoke_starts(posts)
    frame = filled.merge(starts, on="spoke_id", how="inner")
    people = _placed(tables["young_people"], "referral_month", posts, year)
    new = people.groupby(["spoke_id", "month_index"]).size().rename("new_young_people")
    sessions = _placed(tables["group_sessions"], "session_month", posts, year)
    group = sessions.groupby(["spoke_id", "month_index"]).agg(
        group_sessions=("post_id", "size"), group_attendances=("attendees", "sum")
    )
    frame = frame.merge(new.reset_index(), on=["spoke_id", "month_index"], how="left")
    frame = frame.merge(group.reset_index(), on=["spoke_id", "month_index"], how="left")
    since = frame["month_index"] - frame["start_index"]
    frame = frame.assign(
        months_since_start=since.astype("int64"),
        year_of_operation=(since // MONTHS_PER_YEAR + 1).astype("int64"),
        years_since_start=((since + 0.5) / MONTHS_PER_YEAR).round(6),
    )
    counts = ["new_young_people", "group_sessions", "group_attendances"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    cols = ["service_id", "spoke_id", "month_index", "months_since_start", "year_of_operation",
            "years_since_start", "post_months", *counts]  # fmt: skip
    frame = frame.loc[frame["months_since_start"] >= 0, cols]
    return frame.astype({"service_id": "str", "spoke_id": "str"}).sort_values(
        ["service_id", "spoke_id", "month_index"], ignore_index=True
    )


def unplaced(
    tables: Mapping[str, pd.DataFrame], year: str, table: pd.DataFrame | None = None
) -> dict[str, int]:
    """What the spoke-month table cannot hold, up to the end of ``year``: young people
    whose record names no post (``young_people_no_post``), young people referred in a month
    when their spoke had no post filled (``young_people_no_filled_post``), and the same two
    for group sessions. ``table``: the year's :func:`spoke_month_table`, when already made."""
    last = _year_last_month(year)
    posts = tables["posts"]
    table = spoke_month_table(tables, year) if table is None else table
    out: dict[str, int] = {}
    for kind, frame, month_col in (
        ("young_people", tables["young_people"], "referral_month"),
        ("group_sessions", tables["group_sessions"], "session_month"),
    ):
        seen = frame.loc[frame[month_col].notna()]
        seen = seen.loc[_month_index(seen[month_col]) <= last]
        placed = _placed(frame, month_col, posts, year)
        out[f"{kind}_no_post"] = int(len(seen) - len(placed))
        hit = placed.merge(table[["spoke_id", "month_index"]], on=["spoke_id", "month_index"])
        out[f"{kind}_no_filled_post"] = int(len(placed) - len(hit))
    return out


def reach_by_spoke_year(table: pd.DataFrame) -> pd.DataFrame:
    """Individual and group reach by spoke and year of operation, summed from the
    spoke-month table: ``service_id``, ``spoke_id``, ``year_of_operation``, ``months``
    (spoke-months with a post filled), ``post_months``, ``new_young_people``,
    ``group_sessions``, ``group_attendances``."""
    keys = ["service_id", "spoke_id", "year_of_operation"]
    out = table.groupby(keys, as_index=False).agg(
        months=("month_index", "size"),
        post_months=("post_months", "sum"),
        new_young_people=("new_young_people", "sum"),
        group_sessions=("group_sessions", "sum"),
        group_attendances=("group_attendances", "sum"),
    )
    return out.sort_values(keys, ignore_index=True)


def reach_by_year_of_operation(by_spoke: pd.DataFrame) -> pd.DataFrame:
    """The programme's reach by year of operation: spokes, post-months, new young people,
    group sessions and attendances, and the rates per 12 post-months (a post-year)."""
    out = by_spoke.groupby("year_of_operation", as_index=False).agg(
        spokes=("spoke_id", "nunique"),
        post_months=("post_months", "sum"),
        new_young_people=("new_young_people", "sum"),
        group_sessions=("group_sessions", "sum"),
        group_attendances=("group_attendances", "sum"),
    )
    per = MONTHS_PER_YEAR / out["post_months"].where(out["post_months"] > 0)
    return out.assign(
        young_people_per_post_year=(out["new_young_people"] * per).round(6),
        attendances_per_post_year=(out["group_attendances"] * per).round(6),
    )
