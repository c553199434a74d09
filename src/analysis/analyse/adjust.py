"""Totals adjusted for missing returns: beside each reported programme-to-date total, an
estimate of the true total with a range (``docs/outcomes.md``, "Totals adjusted for missing
returns").

A return that never arrived (by the report's cut-off) takes its period's files with it: the
young people referred and closed within it, the professionals at its training sessions, the
children at its group sessions. For every such service period up to the date, the events it
would have held are imputed from the same service's neighbouring periods that did arrive
(the nearest before and the nearest after), as a rate per month a spoke post was filled
(from the roster; per calendar month for a service the roster does not list), times the
post-months filled in the missing period up to the date. Young people referred in the missing period who are still open later
appear in a later extract and are already counted: they are subtracted from the imputation.

The range treats the neighbours' events ``E`` over ``M`` post-months as Poisson counts with
an unknown rate (a gamma–Poisson predictive for ``m`` missing post-months: mean
``(E + 0.5)·m/M``, variance ``mean·(1 + m/M)``), inflated for events that come in clusters (people at one session: by
``D = Σn²/Σn`` over the sessions, or for training, whose records carry no session, over the
service-months of sessions), summed over the missing periods with a normal approximation
(a 95% range, floored at the reported total). A service with no period received at all is imputed
at the programme's rate per post-month. Quarantined rows are not imputed: the adjustment
is for returns that did not arrive, not for rows set aside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from analysis.core import calendar
from analysis.core.rules import current_rows, expected_periods

ADJUSTED: tuple[str, ...] = ("individual_support", "group_reach", "professionals_reached")
"""The programme-to-date totals that missing returns undercount (the others come from the
registers and the fieldwork log, which every report sees whole)."""

COLUMNS: tuple[str, ...] = (
    "indicator",
    "as_of",
    "reported",
    "adjusted",
    "adjusted_low",
    "adjusted_high",
    "returns_expected",
    "returns_missing",
    "imputed_periods",
)
Z95 = 1.959964


@dataclass(frozen=True)
class _Period:
    service_id: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    months: float
    """Months of the period from the service's start up to the date."""


def _months(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Whole calendar months from ``start``'s month to ``end``'s month, inclusive."""
    if end < start:
        return 0.0
    return float((end.year - start.year) * 12 + end.month - start.month + 1)


def expected_to(tables: Mapping[str, pd.DataFrame], as_of: date) -> list[_Period]:
    """Every service period a return was expected for, covering months up to ``as_of``."""
    periods = tables["periods"].set_index("period")
    limit = pd.Timestamp(as_of)
    out = []
    for svc in tables["services"].itertuples():
        start = pd.Timestamp(svc.start_month)
        if pd.isna(start) or start > limit:
            continue
        first = calendar.parse_year(calendar.year_of(start.date()))
        last = calendar.parse_year(calendar.year_of(as_of))
        for y in range(first, last + 1):
            year = calendar.year_label(y)
            for p in expected_periods(svc.reporting, start, svc.funded_until_month, year):
                p_start = max(pd.Timestamp(periods.loc[p, "period_start"]), start)
                p_end = pd.Timestamp(periods.loc[p, "period_end"])
                if p_start > limit:
                    continue
                months = _months(p_start, min(p_end, limit))
                out.append(_Period(str(svc.service_id), p, p_start, p_end, months))
    return out


def _events(tables: Mapping[str, pd.DataFrame], indicator: str) -> pd.DataFrame:
    """Events with their service and month: (service_id, period, n, month) rows, one per
    young person (month of referral), professional or session (month held)."""
    if indicator == "individual_support":
        cp = tables["case_periods"]
        first = cp.sort_values("period").drop_duplicates(["service_id", "person_key"])
        return pd.DataFrame(
            {
                "service_id": first["service_id"].astype("str"),
                "period": first["period"].astype("str"),
                "n": 1.0,
                "month": pd.to_datetime(first["referral_month"]),
                "person_key": first["person_key"],
            }
        )
    if indicator == "professionals_reached":
        tr = tables["training"]
        return pd.DataFrame(
            {
                "service_id": tr["service_id"].astype("str"),
                "period": tr["period"].astype("str"),
                "n": 1.0,
                "month": pd.to_datetime(tr["session_month"]),
            }
        )
    groups = tables["group_sessions"]
    return pd.DataFrame(
        {
            "service_id": groups["service_id"].astype("str"),
            "period": groups["period"].astype("str"),
            "n": pd.to_numeric(groups["attendees"]).astype("float64"),
            "month": pd.to_datetime(groups["session_month"]),
        }
    )


def _dispersion(tables: Mapping[str, pd.DataFrame], indicator: str) -> float:
    """``Σn² / Σn`` over the clusters events come in (1 for young people, who come alone)."""
    if indicator == "individual_support":
        return 1.0
    if indicator == "group_reach":
        sizes = pd.to_numeric(tables["group_sessions"]["attendees"]).astype("float64")
    else:
        tr = tables["training"]
        sizes = tr.groupby(["service_id", "period", "session_month"]).size().astype("float64")
    total = float(sizes.sum())
    return float((sizes**2).sum() / total) if total > 0 else 1.0


def _month_index(values: pd.Series) -> np.ndarray:
    """Months as integers (year * 12 + month - 1), NaN where missing."""
    stamps = pd.to_datetime(values)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype="float64", na_value=np.nan)


class _Exposure:
    """Post-months filled per service between two months, from arrays built once (the
    months each post was filled, clipped to the two months, summed; no frame per call)."""

    def __init__(self, posts: pd.DataFrame) -> None:
        self.by_service: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if len(posts):
            start, end = _month_index(posts["start_month"]), _month_index(posts["end_month"])
            sid = posts["service_id"].astype("str").to_numpy()
            for service in np.unique(sid):
                mine = sid == service
                self.by_service[str(service)] = (start[mine], end[mine])

    def __call__(self, p: _Period, limit: pd.Timestamp | None = None) -> float:
        """What a period's events are in proportion to: the months its service's spoke
        posts were filled (calendar months when the roster lists no post for the service),
        up to ``limit`` when given."""
        end = p.end if limit is None else min(p.end, limit)
        arrays = self.by_service.get(p.service_id)
        if arrays is None:
            return _months(p.start, end)
        if end < p.start:
            return 0.0
        lo = p.start.year * 12 + p.start.month - 1
        hi = end.year * 12 + end.month - 1
        start, stop = arrays
        s = np.where(start > lo, start, lo)
        e = np.where(np.isnan(stop), hi, np.where(stop < hi, stop, hi))
        months = e - s + 1
        return float(months[~np.isnan(start) & (months > 0)].sum())


class _Events:
    """Events per service and month, summed once (the same sums as filtering the events
    frame for each period)."""

    def __init__(self, events: pd.DataFrame) -> None:
        month = _month_index(events["month"])
        keep = ~np.isnan(month)
        frame = pd.DataFrame(
            {
                "service_id": events["service_id"].astype("str").to_numpy()[keep],
                "month": month[keep],
                "n": events["n"].to_numpy(dtype="float64")[keep],
            }
        )
        summed = frame.groupby(["service_id", "month"], sort=True)["n"].sum()
        self.by_service = {
            str(k): (g.index.get_level_values("month").to_numpy(), g.to_numpy())
            for k, g in summed.groupby(level="service_id")
        }

    def __call__(self, p: _Period) -> float:
        """Events of ``p``'s service dated within period ``p`` (whichever file they came in)."""
        arrays = self.by_service.get(p.service_id)
        if arrays is None:
            return 0.0
        months, n = arrays
        lo = p.start.year * 12 + p.start.month - 1
        hi = p.end.year * 12 + p.end.month - 1
        return float(n[(months >= lo) & (months <= hi)].sum())


def adjusted_totals(
    tables: Mapping[str, pd.DataFrame], as_of: date, reported: Mapping[str, float]
) -> pd.DataFrame:
    """Reported programme-to-date totals and their adjustment for missing returns.

    ``tables`` are what a report may see; ``reported`` the programme-to-date values of
    :data:`ADJUSTED` (from :func:`analysis.analyse.to_date.programme_to_date`). One row per
    indicator with the columns of :data:`COLUMNS`.
    """
    expected = expected_to(tables, as_of)
    limit = pd.Timestamp(as_of)
    posts = tables["posts"] if "posts" in tables else pd.DataFrame()
    returns = current_rows(tables["returns"])
    received = set(zip(returns["service_id"].astype("str"), returns["period"].astype("str"),
                       strict=True))  # fmt: skip
    missing = [p for p in expected if (p.service_id, p.period) not in received]
    rows = []
    exposure_of = _Exposure(posts)
    got = [p for p in expected if (p.service_id, p.period) in received]
    exposure = {(q.service_id, q.period): exposure_of(q) for q in got}
    for indicator in ADJUSTED:
        in_period = _Events(_events(tables, indicator))
        dispersion = _dispersion(tables, indicator)
        mean = var = recovered = 0.0
        counts = {(q.service_id, q.period): in_period(q) for q in got}
        # the programme's rate per post-month, for a service with nothing received
        all_months = sum(exposure.values()) or 1.0
        all_events = float(sum(counts.values()))
        for p in missing:
            mine = sorted((q for q in got if q.service_id == p.service_id), key=lambda q: q.start)
            before = [q for q in mine if q.start < p.start][-1:]
            after = [q for q in mine if q.start > p.start][:1]
            near = before + after
            if near:
                e = float(sum(counts[(q.service_id, q.period)] for q in near))
                m = float(sum(exposure[(q.service_id, q.period)] for q in near))
            else:
                e, m = all_events, all_months
            gap = exposure_of(p, limit)
            if m <= 0 or gap <= 0:
                continue
            mu = (e + 0.5) * gap / m
            mean += mu
            var += mu * dispersion * (1 + gap / m)
            if indicator == "individual_support":
                # referred in the missing period but open later: already counted
                recovered += in_period(p)
        base = float(reported[indicator])
        sd = math.sqrt(var)
        rows.append(
            {
                "indicator": indicator,
                "as_of": pd.Timestamp(as_of),
                "reported": base,
                "adjusted": base + max(0.0, mean - recovered),
                "adjusted_low": base + max(0.0, mean - Z95 * sd - recovered),
                "adjusted_high": base + max(0.0, mean + Z95 * sd - recovered),
                "returns_expected": len(expected),
                "returns_missing": len(missing),
                "imputed_periods": len(missing),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
