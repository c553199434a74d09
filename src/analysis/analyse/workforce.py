"""The spoke workforce in a year: posts filled, vacancies and recruitment rounds, and the
young people each kind of post worked with (``docs/outcomes.md``).

Pure functions of the processed tables (``posts``, ``case_periods``, ``young_people``) as a
year's report may see them. A post is *filled in a year* when its worker was in post in at
least one month of it (start on or before the year's last month, and no end month or one
on or after its first month); an end month after the year is not yet known to that year.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.core import calendar
from analysis.core.labels import CO_FUNDER_SOURCE, HOST_CO_FUNDER

CSE_FOCUSED_SHARE = 0.75
"""A post spends "most of its time on CSE work" from this share of its time upwards."""


def _months(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(frame[column])


def posts_in_year(posts: pd.DataFrame, year: str) -> pd.DataFrame:
    """Posts filled at some time in ``year``, with ``months_in_post`` (months of the year
    filled) and ``left_in_year`` (the worker's last month fell in the year)."""
    first = pd.Timestamp(calendar.year_start(year))
    last = pd.Timestamp(calendar.year_end(year)).replace(day=1)
    start, end = _months(posts, "start_month"), _months(posts, "end_month")
    known_end = end.where(end <= last)
    filled = start.notna() & (start <= last) & (known_end.isna() | (known_end >= first))
    sel = posts.loc[filled].copy()
    s = start[filled].where(start[filled] > first, first)
    e = known_end[filled].fillna(last)
    months = (e.dt.year - s.dt.year) * 12 + (e.dt.month - s.dt.month) + 1
    return sel.assign(
        months_in_post=months.astype("int64"),
        left_in_year=known_end[filled].notna().to_numpy(),
    ).reset_index(drop=True)


def caseload(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Young people on a spoke's caseload in ``year`` (open at any time in it), one row per
    young person and service, with their post's host agency type and funding.

    Columns: ``service_id``, ``person_key``, ``post_id``, ``referral_month``,
    ``referral_source``, ``risk_at_referral``, ``referred_in_year`` and the post's
    ``host_agency``, ``funding``, ``co_funder`` (missing when the record names no post).
    """
    cp = tables["case_periods"]
    keys = cp.loc[cp["evaluation_year"].astype("str") == year, ["service_id", "person_key"]]
    people = tables["young_people"].merge(keys.drop_duplicates(), on=["service_id", "person_key"])
    cols = ["service_id", "person_key", "post_id", "referral_month", "referral_source",
            "risk_at_referral"]  # fmt: skip
    people = people[cols]
    posts = tables["posts"][["post_id", "host_agency", "funding", "co_funder"]]
    out = people.merge(posts, on="post_id", how="left")
    ref = _months(out, "referral_month")
    return out.assign(
        referred_in_year=(ref >= pd.Timestamp(calendar.year_start(year)))
        & (ref <= pd.Timestamp(calendar.year_end(year)))
    ).sort_values(["service_id", "person_key"], ignore_index=True)


def workforce_by(tables: Mapping[str, pd.DataFrame], year: str, by: str) -> pd.DataFrame:
    """Posts and the young people they worked with in ``year``, by ``by`` (``host_agency``
    or ``funding``).

    One row per group: ``posts`` filled in the year, ``post_months`` in post,
    ``more_than_one_round`` (posts that took more than one recruitment round),
    ``cse_focused`` (posts spending at least :data:`CSE_FOCUSED_SHARE` of their time on CSE
    work), ``young_people`` referred in the year to a post of the group, ``high_risk`` (of
    them, high risk at referral), ``risk_recorded`` (risk recorded) and ``co_funder_kind``
    (referred by the agency that part-funds, or would part-fund, the post). Young people
    whose record names no post are left out (counted by :func:`unlinked_young_people`).
    """
    filled = posts_in_year(tables["posts"], year)
    load = caseload(tables, year)
    new = load.loc[load["referred_in_year"] & load["post_id"].notna()]
    funder = new["co_funder"].where(
        new["co_funder"].notna(), new["host_agency"].map(HOST_CO_FUNDER)
    )
    co_kind = new["referral_source"].astype("str") == funder.map(CO_FUNDER_SOURCE)
    people = (
        new.assign(
            high=(new["risk_at_referral"].astype("str") == "high").astype("int64"),
            recorded=new["risk_at_referral"].notna().astype("int64"),
            co_kind=co_kind.astype("int64"),
            one=1,
        )
        .groupby(by)[["one", "high", "recorded", "co_kind"]]
        .sum()
        .rename(
            columns={
                "one": "young_people",
                "high": "high_risk",
                "recorded": "risk_recorded",
                "co_kind": "co_funder_kind",
            }
        )  # fmt: skip
    )
    posts = (
        filled.assign(
            one=1,
            rounds=(filled["recruitment_rounds"] > 1).astype("int64"),
            focused=(filled["cse_time_share"] >= CSE_FOCUSED_SHARE).astype("int64"),
        )
        .groupby(by)[["one", "months_in_post", "rounds", "focused"]]
        .sum()
        .rename(
            columns={
                "one": "posts",
                "months_in_post": "post_months",
                "rounds": "more_than_one_round",
                "focused": "cse_focused",
            }
        )  # fmt: skip
    )
    out = posts.join(people, how="outer").fillna(0).astype("int64")
    return out.reset_index().rename(columns={by: "group"}).sort_values("group", ignore_index=True)


def unlinked_young_people(tables: Mapping[str, pd.DataFrame], year: str) -> int:
    """Young people referred in ``year`` whose record names no spoke post."""
    load = caseload(tables, year)
    return int((load["referred_in_year"] & load["post_id"].isna()).sum())
