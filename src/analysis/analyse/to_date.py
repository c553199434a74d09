"""Programme-to-date indicators: what the programme had done by a date, counted as the
published evaluation counted it (``docs/outcomes.md``).

Each indicator counts events up to and including a date (the end of an evaluation year, or
31 December 2016, the date the published figures run to) in the tables a year's report may
see (:func:`analysis.analyse.vintage.tables_as_of`): young people by referral date,
professionals and children at sessions by session date, spoke posts and areas by the date
a worker was first in post. Dates are months in the processed tables, so "by 31 December
2016" means "in December 2016 or before".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from analysis.analyse.adjust import ADJUSTED, adjusted_totals
from analysis.core import calendar
from analysis.core.published_figures import published_reference_date


@dataclass(frozen=True)
class ToDateIndicator:
    """One programme-to-date indicator and how it is counted."""

    key: str
    label: str
    definition: str
    people: bool
    """True when it counts people (young people, professionals): published rounded."""


TO_DATE: tuple[ToDateIndicator, ...] = (
    ToDateIndicator(
        "individual_support",
        "Young people given individual support",
        "distinct young people (per service) in the case extracts with a referral date on or "
        "before the date",
        True,
    ),
    ToDateIndicator(
        "group_reach",
        "Children and young people at group work, talks and sessions",
        "attendance of the group sessions with children and young people held on or before "
        "the date (a child at two sessions counts twice, as in the published figure)",
        True,
    ),
    ToDateIndicator(
        "professionals_reached",
        "Professionals trained or at awareness-raising sessions",
        "rows of the training feedback files (one per professional at a session) for "
        "sessions held on or before the date",
        True,
    ),
    ToDateIndicator(
        "spoke_posts_filled",
        "Spoke workers in post at some time",
        "spoke posts in the workforce roster first filled on or before the date (without a "
        "roster: the spoke workers of the spoke areas started by then)",
        False,
    ),
    ToDateIndicator(
        "spoke_areas",
        "Local authority areas with a spoke",
        "spoke areas whose first spoke worker was in post on or before the date",
        False,
    ),
    ToDateIndicator(
        "services",
        "Services funded",
        "services whose programme grant started on or before the date",
        False,
    ),
    ToDateIndicator(
        "interviews",
        "Evaluation interviews",
        "interviews in the fieldwork log in evaluation years up to the one holding the date",
        False,
    ),
)
"""The programme-to-date indicators, in the order reports show them."""

TO_DATE_BY_KEY: dict[str, ToDateIndicator] = {i.key: i for i in TO_DATE}

COLUMNS: tuple[str, ...] = ("indicator", "label", "as_of", "value", "definition")


def _month(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of.year, as_of.month, 1)


def _by_month(frame: pd.DataFrame, column: str, as_of: date) -> pd.Series:
    months = pd.to_datetime(frame[column])
    return months.notna() & (months <= _month(as_of))


def _spoke_areas(tables: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    areas = tables["areas"]
    spokes = areas.loc[areas["is_spoke"].astype("boolean").fillna(False).astype(bool)]
    return spokes.loc[_by_month(spokes, "spoke_start_month", as_of)]


def _individual_support(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    people = tables["young_people"]
    seen = people.loc[_by_month(people, "referral_month", as_of)]
    return float(len(seen.drop_duplicates(["service_id", "person_key"])))


def _group_reach(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    groups = tables.get("group_sessions")
    if groups is None or groups.empty:
        return 0.0
    upto = _by_month(groups, "session_month", as_of)
    return float(pd.to_numeric(groups.loc[upto, "attendees"]).sum())


def _professionals(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    training = tables["training"]
    return float(_by_month(training, "session_month", as_of).sum())


def _posts(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    posts = tables.get("posts")
    if posts is not None and len(posts):
        return float(_by_month(posts, "start_month", as_of).sum())
    spokes = _spoke_areas(tables, as_of)
    return float(pd.to_numeric(spokes["spoke_workers"]).fillna(0).sum())


def _areas(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    return float(_spoke_areas(tables, as_of)["area_code"].nunique())


def _services(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    services = tables["services"]
    return float(_by_month(services, "start_month", as_of).sum())


def _interviews(tables: Mapping[str, pd.DataFrame], as_of: date) -> float:
    fieldwork = tables["fieldwork"]
    upto = fieldwork["evaluation_year"].astype("str") <= calendar.year_of(as_of)
    return float(pd.to_numeric(fieldwork.loc[upto, "interviews"]).sum())


_COUNTERS: dict[str, Callable[[Mapping[str, pd.DataFrame], date], float]] = {
    "individual_support": _individual_support,
    "group_reach": _group_reach,
    "professionals_reached": _professionals,
    "spoke_posts_filled": _posts,
    "spoke_areas": _areas,
    "services": _services,
    "interviews": _interviews,
}


def programme_to_date(tables: Mapping[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Every programme-to-date indicator counted up to ``as_of`` in ``tables``.

    One row per indicator of :data:`TO_DATE` with the columns of :data:`COLUMNS`
    (``value`` a float count). ``tables`` are the processed tables a report may see.
    """
    rows = [
        {
            "indicator": spec.key,
            "label": spec.label,
            "as_of": pd.Timestamp(as_of),
            "value": _COUNTERS[spec.key](tables, as_of),
            "definition": spec.definition,
        }
        for spec in TO_DATE
    ]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype(
        {"indicator": "str", "label": "str", "value": "float64", "definition": "str"}
    )


TABLE_COLUMNS: tuple[str, ...] = (
    "indicator",
    "label",
    "as_of",
    "value",
    "adjusted",
    "adjusted_low",
    "adjusted_high",
    "returns_expected",
    "returns_missing",
    "definition",
)
"""Columns of :func:`to_date_table` (``programme_to_date.parquet``)."""


def as_of_dates(year: str) -> list[date]:
    """The dates a year's programme-to-date indicators are counted to: the year's last day,
    and before it the date the published figures run to when it falls in the year."""
    dates = [calendar.year_end(year)]
    ref = published_reference_date()
    if calendar.year_start(year) <= ref < calendar.year_end(year):
        dates.insert(0, ref)
    return dates


def to_date_table(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """The programme-to-date indicators a year's report shows, for each of
    :func:`as_of_dates`, with the totals that missing returns undercount adjusted for them
    (:func:`analysis.analyse.adjust.adjusted_totals`; missing for the other indicators).
    ``tables`` are what the year's report may see."""
    frames = []
    for as_of in as_of_dates(year):
        counts = programme_to_date(tables, as_of)
        reported = counts.set_index("indicator")["value"]
        adj = adjusted_totals(tables, as_of, {k: float(reported[k]) for k in ADJUSTED})
        frames.append(
            counts.merge(adj.drop(columns=["as_of", "reported"]), on="indicator", how="left")
        )
    out = pd.concat(frames, ignore_index=True).reindex(columns=list(TABLE_COLUMNS))
    return out.astype(
        {
            "value": "float64",
            "adjusted": "float64",
            "adjusted_low": "float64",
            "adjusted_high": "float64",
            "returns_expected": "Int64",
            "returns_missing": "Int64",
        }
    )
