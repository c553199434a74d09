"""What the programme cost per young person supported, per professional reached, per child at
group sessions and per spoke post-year (``docs/outcomes.md``, "Programme cost").

The same grant paid for all of a service's work, so each "cost per" divides the whole of
the grants to services by one output: it is what that output would have cost had the grant
bought nothing else, an upper bound, never a unit cost to compare with another service's. The
evaluation's own grant is not part of it (it is shown beside it).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.analyse.to_date import programme_to_date
from analysis.analyse.workforce import posts_in_year
from analysis.core import calendar
from analysis.core.labels import EVALUATION_GRANT

MEASURES: tuple[tuple[str, str], ...] = (
    ("young_people", "Young people supported"),
    ("professionals", "Professionals trained or at awareness sessions"),
    ("group_attendances", "Attendances at group sessions with children and young people"),
    ("post_years", "Spoke post-years filled"),
)
"""The outputs a cost is given per, in report order (key, label)."""

COLUMNS: tuple[str, ...] = ("scope", "measure", "label", "count", "grants_gbp", "evaluation_gbp")


def _post_years(posts: pd.DataFrame, years: list[str]) -> float:
    return float(sum(posts_in_year(posts, y)["months_in_post"].sum() for y in years) / 12)


def programme_costs(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Grants and outputs for ``year`` (scope ``year``) and from the start of the programme
    to the end of ``year`` (scope ``to_date``), one row per scope and measure of
    :data:`MEASURES`.

    ``year``: young people on a caseload in the year (distinct, per service, in the year's
    extracts), professionals at the year's sessions, attendances at its group sessions,
    post-years filled in it. ``to_date``: the programme-to-date counts
    (:func:`analysis.analyse.to_date.programme_to_date`) to the year's end and the
    post-years filled in every year so far. ``grants_gbp``: grants to services for the
    year(s); ``evaluation_gbp``: the evaluation's grant for them.
    """
    grants = tables["grants"]
    upto = grants["evaluation_year"].astype("str") <= year
    this = grants["evaluation_year"].astype("str") == year
    is_eval = grants["grant_holder"].astype("str") == EVALUATION_GRANT
    amount = pd.to_numeric(grants["amount_gbp"]).astype("float64")
    money = {
        "year": (float(amount[this & ~is_eval].sum()), float(amount[this & is_eval].sum())),
        "to_date": (float(amount[upto & ~is_eval].sum()), float(amount[upto & is_eval].sum())),
    }
    cp = tables["case_periods"]
    in_year = cp["evaluation_year"].astype("str") == year
    training, groups = tables["training"], tables["group_sessions"]
    years_so_far = sorted(
        {str(y) for y in tables["periods"]["evaluation_year"].astype("str") if str(y) <= year}
    )
    to_date = programme_to_date(tables, calendar.year_end(year)).set_index("indicator")["value"]
    counts = {
        "year": {
            "young_people": float(
                len(cp.loc[in_year, ["service_id", "person_key"]].drop_duplicates())
            ),
            "professionals": float((training["evaluation_year"].astype("str") == year).sum()),
            "group_attendances": float(
                pd.to_numeric(
                    groups.loc[groups["evaluation_year"].astype("str") == year, "attendees"]
                ).sum()
            ),
            "post_years": _post_years(tables["posts"], [year]),
        },
        "to_date": {
            "young_people": float(to_date["individual_support"]),
            "professionals": float(to_date["professionals_reached"]),
            "group_attendances": float(to_date["group_reach"]),
            "post_years": _post_years(tables["posts"], years_so_far),
        },
    }
    rows = [
        {
            "scope": scope,
            "measure": key,
            "label": label,
            "count": counts[scope][key],
            "grants_gbp": money[scope][0],
            "evaluation_gbp": money[scope][1],
        }
        for scope in ("year", "to_date")
        for key, label in MEASURES
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))
