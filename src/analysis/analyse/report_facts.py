"""Figures a year's report states that are computed from the cleaned tables: key figures, young people supported, ages, predicted trajectories and the returns expected of each service."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.analyse import outcomes
from analysis.core.labels import label
from analysis.core.rules import LATE_AFTER_DAYS, current_rows, expected_periods


def _restrict(tables: dict[str, pd.DataFrame], year: str) -> dict[str, pd.DataFrame]:
    """Tables limited to evaluation years up to ``year`` (same vintage)."""
    out = {}
    for name, frame in tables.items():
        if "evaluation_year" in frame.columns:
            out[name] = frame.loc[frame["evaluation_year"].astype("str") <= year]
        else:
            out[name] = frame
    return out


def key_figures(
    tables: dict[str, pd.DataFrame], year: str, *, headline: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The summary's key figures for ``year`` as a tidy table (figure, value).

    ``headline``, when given, must be ``outcomes.headline_figures(tables, year)`` as the
    analyse stage wrote it (``headline.json``): it saves computing the indicators again.
    """
    head = headline if headline is not None else outcomes.headline_figures(tables, year)
    wanted = {
        "Services active": "services_active",
        "Spoke areas reached": "spoke_areas_reached",
        "Spoke posts filled": "spoke_posts_filled",
        "Referrals": "referrals",
        "Young people supported": "young_people_supported",
        "Children and young people at group sessions": "group_attendees",
        "Training sessions": "training_sessions",
        "Professionals trained": "professionals_trained",
        "Returns received": "returns_received",
    }
    rows = [{"figure": k, "value": float(head[v])} for k, v in wanted.items() if v in head]
    return pd.DataFrame(rows, columns=["figure", "value"])


def young_people_supported(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Young people new, open and closed by service in ``year`` from the current returns.

    New and closed are summed over the year's returns; open is the latest return's figure.
    """
    yp = current_rows(tables["young_people_counts"])
    yp = yp.loc[yp["evaluation_year"] == year].sort_values(["service_id", "period"])
    flows = (
        yp.loc[yp["measure"].isin(["new", "closed"])]
        .groupby(["service_id", "measure"], as_index=False)["young_people"]
        .sum(min_count=1)
    )
    stock = yp.loc[yp["measure"] == "open"].groupby("service_id", as_index=False).tail(1)
    frame = pd.concat([flows, stock[["service_id", "measure", "young_people"]]], ignore_index=True)
    return frame.assign(measure=frame["measure"].map(label))


def people_in_year(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """One row per young person (per service) open at any time in ``year``."""
    cp = tables["case_periods"]
    keys = cp.loc[cp["evaluation_year"] == year, ["person_key", "service_id"]].drop_duplicates()
    people = tables["young_people"].merge(keys, on=["person_key", "service_id"], how="inner")
    return people.sort_values(["service_id", "person_key"], ignore_index=True)


def age_band(ages: pd.Series) -> pd.Series:
    """Age at referral in bands (10-12, 13-14, 15-16, 17 and over)."""
    bands = pd.cut(
        ages.astype("float64"),
        [0, 12, 14, 16, 99],
        labels=["12 and under", "13-14", "15-16", "17 and over"],
    )
    return bands.astype("str").where(ages.notna(), None)


def predicted_trajectory(
    estimates: pd.DataFrame, months: tuple[int, ...] = (0, 3, 6, 9, 12)
) -> pd.DataFrame | None:
    """Average predicted score at ``months`` from the fixed intercept and slope."""
    est = estimates.set_index("term")
    if "Intercept" not in est.index or "months_since_referral" not in est.index:
        return None
    a, b = est.loc["Intercept", "estimate"], est.loc["months_since_referral", "estimate"]
    lo, hi = est.loc["months_since_referral", ["ci_lower", "ci_upper"]]
    rows = [
        {
            "months_since_referral": m,
            "estimate": a + b * m,
            "ci_lower": a + lo * m,
            "ci_upper": a + hi * m,
        }
        for m in months
    ]
    return pd.DataFrame(rows)


def with_interval(frame: pd.DataFrame) -> pd.DataFrame:
    est = frame.rename(columns={"att": "estimate", "egt": "event_time"})
    est = est.assign(event_time=est["event_time"].astype("int64"))
    if "ci_lower" not in est:
        est = est.assign(
            ci_lower=est["estimate"] - 1.959964 * est["se"],
            ci_upper=est["estimate"] + 1.959964 * est["se"],
        )
    return est[["event_time", "estimate", "ci_lower", "ci_upper"]]


def returns_expected(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Returns expected, received (by the cut-off) and late, by service, for ``year``."""
    prep = outcomes.prepare_tables(tables)
    sy = outcomes.service_years(prep, year)
    sy = sy.loc[sy["evaluation_year"] == year]
    services = prep["services"].set_index("service_id", drop=False)
    returns = current_rows(tables["returns"])
    per = tables["periods"].set_index("period")
    rows = []
    for sid in sy["service_id"]:
        svc = services.loc[sid]
        expected = expected_periods(svc.reporting, svc.start_month, svc.funded_until_month, year)
        got = returns.loc[(returns["service_id"] == sid) & returns["period"].isin(expected)]
        late = 0
        for _, r in got.iterrows():
            end = (
                pd.Timestamp(per.loc[r["period"], "period_end"])
                if r["period"] in per.index
                else None
            )
            if end is not None and pd.Timestamp(r["received_date"]) > end + pd.Timedelta(
                days=LATE_AFTER_DAYS
            ):
                late += 1
        rows.append(
            {
                "service_id": sid,
                "expected": len(expected),
                "received": got["period"].nunique(),
                "late": late,
            }
        )
    return pd.DataFrame(rows, columns=["service_id", "expected", "received", "late"])


def revision_causes(
    seen: dict[str, pd.DataFrame], previous: dict[str, pd.DataFrame], year: str
) -> dict[str, int]:
    """Why ``year``'s figures as known now (``seen``) may differ from its own report
    (``previous``, the tables that report saw): returns for ``year`` that arrived after
    that report's cut-off, and returns resubmitted since (a later version replacing one
    that report used). Counts of returns, not of young people."""
    now = seen["returns"].loc[seen["returns"]["evaluation_year"] == year]
    then = previous["returns"].loc[previous["returns"]["evaluation_year"] == year]
    then_periods = set(zip(then["service_id"], then["period"], strict=True))
    then_ids = set(then.loc[~then["superseded"].astype(bool), "return_id"])
    current = now.loc[~now["superseded"].astype(bool)]
    late = resubmitted = 0
    for row in current.itertuples():
        if (row.service_id, row.period) not in then_periods:
            late += 1
        elif row.return_id not in then_ids:
            resubmitted += 1
    return {"late_returns": late, "resubmitted_returns": resubmitted}
