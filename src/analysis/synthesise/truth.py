"""What the published figures would have been on the synthetic programme: the true totals up
to the date the published counts run to (31 December 2016), and what the services' files
delivered by the final report's cut-off hold (``_truth/truth.json``, ``reporting``).

The true totals are larger where returns go missing, as the evaluators warned of their 783
young people; the cleaned data (what the reports count) may be smaller still by the rows the
cleaner quarantines. ``tests/pipeline/test_calibration.py`` compares the three.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from analysis.core import calendar
from analysis.synthesise.world import World, to_days


def reporting_truth(
    world: World, deliveries: list[Any], *, as_of: date, final_year: str, cutoff_days: int
) -> dict[str, Any]:
    """True and delivered totals to ``as_of``, and the returns expected and missing.

    A return counts as received when its first version arrived by the cut-off of
    ``final_year``'s report; the files of a period arrive with it. ``expected`` are the
    periods of every service that start on or before ``as_of``.
    """
    cutoff = to_days(calendar.cutoff_date(final_year, cutoff_days))
    day = to_days(as_of)
    expected = [d for d in deliveries if to_days(d.period.start) <= day]
    arrived = {
        (d.service_id, d.period.label)
        for d in expected
        if d.status != "missing" and d.received <= cutoff
    }
    # each service's delivered periods as sorted, non-overlapping day intervals
    spans: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for d in deliveries:
        if d.status == "missing" or d.received > cutoff:
            continue
        spans.setdefault(d.service_id, ([], []))
        spans[d.service_id][0].append(to_days(d.period.start))
        spans[d.service_id][1].append(to_days(d.period.end))
    spans = {k: (np.asarray(s), np.asarray(e)) for k, (s, e) in spans.items()}

    def covered(services: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Rows whose day range [first, last] meets a delivered period of their service."""
        ok = np.zeros(len(services), dtype=bool)
        for sid in np.unique(services):
            if sid not in spans:
                continue
            starts, ends = spans[sid]
            order = np.argsort(starts)
            starts, ends = starts[order], ends[order]
            rows = np.nonzero(services == sid)[0]
            # the last delivered period starting on or before a row's last day
            k = np.searchsorted(starts, last[rows], side="right") - 1
            hit = k >= 0
            # periods do not overlap, so a range meets one iff it meets that one or a later
            # one starting by its last day: the last such period ends on or after its first
            ok[rows[hit]] = ends[k[hit]] >= first[rows][hit]
        return ok

    people = world.people
    referred = people.loc[people["referral_day"] <= day]
    close = referred["closure_day"].fillna(10**9).to_numpy(dtype="int64")
    seen = covered(referred["service_id"].to_numpy(), referred["referral_day"].to_numpy(), close)

    def in_delivered(frame: Any, when: str) -> Any:
        days = frame[when].to_numpy()
        return covered(frame["service_id"].to_numpy(), days, days)

    training = world.training.loc[world.training["session_day"] <= day]
    groups = world.groups.loc[world.groups["session_day"] <= day]
    n_missing = len(expected) - len(arrived)
    return {
        "as_of": as_of.isoformat(),
        "final_report": final_year,
        "cutoff": calendar.cutoff_date(final_year, cutoff_days).isoformat(),
        "true": {
            "individual_support": int(len(referred)),
            "group_reach": int(groups["attendees"].sum()),
            "professionals_reached": int(len(training)),
            "spoke_posts_filled": int((world.posts["start_date"] <= as_of).sum()),
        },
        "delivered": {
            "individual_support": int(seen.sum()),
            "group_reach": int(groups.loc[in_delivered(groups, "session_day"), "attendees"].sum()),
            "professionals_reached": int(in_delivered(training, "session_day").sum()),
        },
        "returns": {
            "expected": len(expected),
            "not_received_by_cutoff": n_missing,
            "share_not_received": n_missing / len(expected) if expected else 0.0,
        },
        "definition": (
            "'true': young people referred, professionals at training and awareness sessions "
            "and attendances at group sessions on or before as_of, in the simulated programme; "
            "'delivered': those in the files of returns whose first version arrived by the "
            "final report's cut-off (before cleaning: the cleaned data also lose the rows the "
            "cleaner quarantines); 'returns': the service periods starting on or before as_of "
            "and how many had no return by the cut-off."
        ),
    }


def expected_spoke_months(
    posts: pd.DataFrame, services: pd.DataFrame, cal: dict[str, Any], last_month: date
) -> pd.DataFrame:
    """The generator's expected new young people per spoke and month, to ``last_month``.

    Each filled post-month brings ``size_mult`` x
    :func:`~analysis.synthesise.design.referral_rate` of the post's own months in post (the
    ramp is the post's, not the spoke's); a spoke's months run from its first post's start,
    as the analysis counts them (:mod:`analysis.analyse.reach`). Columns: ``service_id``,
    ``spoke_id``, ``month_index`` (months since January 2000), ``months_since_start``,
    ``year_of_operation``, ``years_since_start``, ``post_months``, ``expected``.
    """
    from analysis.synthesise.design import referral_rate
    from analysis.synthesise.workforce import in_post_months

    size = services.set_index("service_id")["size_mult"]
    limit = (last_month.year - 2000) * 12 + last_month.month - 1
    parts = []
    for post in posts.itertuples():
        months = in_post_months(post)
        index = np.asarray([(d.year - 2000) * 12 + d.month - 1 for d in months], dtype="int64")
        rate = size[post.service_id] * referral_rate(
            np.arange(len(months)),
            cal["referrals_per_worker_year"],
            cal["referral_growth_per_month"],
        )
        keep = index <= limit
        parts.append(
            pd.DataFrame(
                {
                    "service_id": post.service_id,
                    "spoke_id": post.spoke_id,
                    "month_index": index[keep],
                    "expected": rate[keep],
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    out = frame.groupby(["service_id", "spoke_id", "month_index"], as_index=False).agg(
        post_months=("expected", "size"), expected=("expected", "sum")
    )
    start = out.groupby("spoke_id")["month_index"].transform("min")
    since = out["month_index"] - start
    return out.assign(
        months_since_start=since.astype("int64"),
        year_of_operation=(since // 12 + 1).astype("int64"),
        years_since_start=((since + 0.5) / 12).round(6),
    ).sort_values(["service_id", "spoke_id", "month_index"], ignore_index=True)


def reach_truth(world: World, final_year: str) -> dict[str, Any]:
    """True reach by year of operation to the end of ``final_year``: expected new young
    people per filled post-year (12 post-months) in each year of a spoke's operation."""
    months = expected_spoke_months(
        world.posts, world.services, world.cal, calendar.year_end(final_year)
    )
    by = months.groupby("year_of_operation")[["post_months", "expected"]].sum()
    return {
        "per_post_year_by_year_of_operation": {
            str(int(k)): round(float(12 * r.expected / r.post_months), 6) for k, r in by.iterrows()
        },
        "definition": (
            "Expected new young people per 12 filled post-months in each year of a spoke's "
            "operation (from its first post's start), summing the generator's per-post ramp "
            "(referral_rate of the post's own months in post, times the service's size) over "
            "the spoke's filled posts, to the end of the final year. The reach model's "
            "first-year and later slopes are judged against the same spline fitted to these "
            "expected counts (analysis.analyse.validation_reach)."
        ),
    }
