"""Harmonisation: periods, outcome-instrument mapping, and the young-person dedupe rule.

Outcome instruments map to a common score (0–1, higher = safer and better) and a common
three-band risk level (``low``/``medium``/``high``). The mapping is versioned
(:data:`MAPPING_VERSION`); every assessment row records the version that scored it. The
table in ``docs/data-contract.md`` ("Outcome mapping") mirrors :data:`MAPPING_TABLE`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from analysis.core import calendar
from analysis.core.calendar import year_end
from analysis.core.calendar import year_of as evaluation_year_of
from analysis.core.labels import BANDS, INSTRUMENTS

MAPPING_VERSION = "1.0"
"""Version of the instrument mapping; bump it whenever a formula or band cut-off changes."""

RISK3_SCORES: dict[str, float] = {"low": 5 / 6, "medium": 1 / 2, "high": 1 / 6}
RISK3_RAW: dict[str, int] = {"low": 1, "medium": 2, "high": 3}
SERAF_CAP = 30

MAPPING_TABLE: tuple[tuple[str, str, str, str], ...] = (
    (
        "seraf",
        "SERAF total s (0 or more)",
        "1 − min(s, 30) / 30",
        "category 1–2 (s ≤ 10) low; category 3 (11–15) medium; category 4 (16+) high",
    ),
    (
        "star5 / star10",
        "mean m of the life-area scores (1–N, N = 5 or 10)",
        "(m − 1) / (N − 1)",
        "score < 1/3 high; < 2/3 medium; otherwise low",
    ),
    ("risk3", "rating low / medium / high", "5/6, 1/2, 1/6", "the rating itself"),
    ("bespoke", "score v (0–100)", "v / 100", "as Star: < 1/3 high; < 2/3 medium; else low"),
)
"""(instrument, raw score, common score, risk band) — documented in the data contract."""


# --------------------------------------------------------------------------- instruments


def seraf_category(total: float) -> int:
    """SERAF category 1–4 from a total score (0–5, 6–10, 11–15, 16+)."""
    if total < 0:
        raise ValueError("SERAF total cannot be negative")
    if total <= 5:
        return 1
    if total <= 10:
        return 2
    if total <= 15:
        return 3
    return 4


def band_from_score(score: float) -> str:
    """Three-band risk from a common score: below 1/3 high, below 2/3 medium, else low."""
    if score < 1 / 3:
        return "high"
    if score < 2 / 3:
        return "medium"
    return "low"


def score_range(instrument: str) -> tuple[float, float]:
    """The valid raw-score range of an instrument (inclusive)."""
    return {
        "seraf": (0.0, float("inf")),
        "star5": (1.0, 5.0),
        "star10": (1.0, 10.0),
        "risk3": (1.0, 3.0),
        "bespoke": (0.0, 100.0),
    }[instrument]


def map_score(instrument: str, raw: float) -> tuple[float, str]:
    """``(score, risk_band)`` for one raw score of an instrument (see :data:`MAPPING_TABLE`).

    For ``risk3`` the raw score is 1 = low, 2 = medium, 3 = high. Raises ``ValueError`` for
    an unknown instrument or a raw score outside the instrument's range.
    """
    if instrument not in INSTRUMENTS or instrument == "none":
        raise ValueError(f"unknown outcome instrument {instrument!r}")
    lo, hi = score_range(instrument)
    if not (lo <= raw <= hi):
        raise ValueError(f"{instrument} score {raw:g} outside {lo:g}–{hi:g}")
    if instrument == "seraf":
        score = 1 - min(raw, SERAF_CAP) / SERAF_CAP
        cat = seraf_category(raw)
        band = "low" if cat <= 2 else ("medium" if cat == 3 else "high")
        return score, band
    if instrument in ("star5", "star10"):
        n = 5 if instrument == "star5" else 10
        score = (raw - 1) / (n - 1)
        return score, band_from_score(score)
    if instrument == "risk3":
        if raw not in (1, 2, 3):
            raise ValueError("risk3 rating must be low, medium or high")
        band = BANDS[int(raw) - 1]
        return RISK3_SCORES[band], band
    score = raw / 100
    return score, band_from_score(score)


def map_scores(instrument: pd.Series, raw: pd.Series) -> pd.DataFrame:
    """Vectorised :func:`map_score`: a frame with ``score`` and ``risk_band`` (same index)."""
    pairs = [map_score(i, float(r)) for i, r in zip(instrument, raw, strict=True)]
    return pd.DataFrame(
        {
            "score": pd.Series([p[0] for p in pairs], index=raw.index, dtype="float64"),
            "risk_band": pd.Series([p[1] for p in pairs], index=raw.index, dtype="str"),
        }
    )


# --------------------------------------------------------------------------- periods

_RE_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:\s*Q([1-4]))?$")


@dataclass(frozen=True)
class Period:
    """One reporting period: an evaluation year (``2014-15``) or a quarter (``2014-15 Q1``)."""

    period: str
    evaluation_year: str
    frequency: str
    start: date
    end: date


def parse_period(text: str) -> Period:
    """Read ``2014-15``, ``2014-15 Q2`` or the file-name form ``2014-15Q2``.

    Raises ``ValueError`` for anything else (including ``2014-16``).
    """
    if type(text) is str:  # periods repeat on every row: parse each distinct label once
        return _parse_period_cached(text)
    return _parse_period(text)


def _parse_period(text: str) -> Period:
    """:func:`parse_period` without the cache."""
    m = _RE_PERIOD.match(str(text).strip())
    if not m:
        raise ValueError(f"not a period like 2014-15 or 2014-15 Q2: {text!r}")
    y1, y2 = int(m[1]), int(m[2])
    if (y1 + 1) % 100 != y2:
        raise ValueError(f"not an evaluation year (Sep–Aug): {text!r}")
    year = f"{y1}-{y2:02d}"
    if m[3] is None:
        return Period(year, year, "annual", *calendar.year_bounds(year))
    q = int(m[3])
    start_month = 9 + 3 * (q - 1)
    sy = y1 + (start_month - 1) // 12
    sm = (start_month - 1) % 12 + 1
    end_first = pd.Timestamp(sy, sm, 1) + pd.DateOffset(months=3) - pd.Timedelta(days=1)
    return Period(f"{year} Q{q}", year, "quarterly", date(sy, sm, 1), end_first.date())


_parse_period_cached = functools.lru_cache(maxsize=4096)(_parse_period)


def quarter_of(d: date) -> str:
    """The evaluation quarter (``2014-15 Q2``) a date falls in."""
    q = ((d.month - 9) % 12) // 3 + 1
    return f"{evaluation_year_of(d)} Q{q}"


def quarter_index(quarter: str) -> int:
    """1 for ``2012-13 Q1`` (Sep–Nov 2012), counting up one per quarter."""
    p = parse_period(quarter)
    if p.frequency != "quarterly":
        raise ValueError(f"not a quarter: {quarter!r}")
    return (int(p.evaluation_year[:4]) - 2012) * 4 + int(p.period[-1])


# --------------------------------------------------------------------------- people

CHANGING_ATTRIBUTES: tuple[str, ...] = (
    "gender",
    "ethnicity",
    "sexuality",
    "disability",
    "going_missing",
    "looked_after",
    "substance_misuse",
)
"""Attributes a service may record later or correct: the latest recorded value wins."""

REFERRAL_ATTRIBUTES: tuple[str, ...] = (
    "age_at_referral",
    "referral_month",
    "referral_source",
    "referral_reason",
    "risk_at_referral",
)
"""Facts fixed at referral: the earliest recorded value wins."""

CLOSURE_ATTRIBUTES: tuple[str, ...] = ("closure_month", "closure_reason")
"""Taken together from the latest extract (a case closed earlier and reopened is open)."""

CONFLICT_ATTRIBUTES: tuple[str, ...] = ("age_at_referral", "referral_month")
"""Facts that must agree between extracts: disagreement means two different people (or a
keying error) and the person's rows are quarantined, never resolved by guessing."""


def _period_order(period: pd.Series) -> pd.Series:
    """Sortable key of a period: start date, annual before its quarters' later starts."""
    starts = {p: parse_period(p).start for p in period.dropna().unique()}
    return period.map(starts)


def resolve_people(case_periods: pd.DataFrame) -> pd.DataFrame:
    """One row per young person × service from the per-extract rows (the dedupe rule).

    The rule, applied per ``person_key`` + ``service_id`` with extracts ordered by period
    (then received date):

    * ``first_period`` / ``last_period``: the first and last extract the person is in;
    * referral facts (:data:`REFERRAL_ATTRIBUTES`): the earliest non-missing value;
    * attributes that may be recorded later or corrected (:data:`CHANGING_ATTRIBUTES`):
      the latest non-missing value;
    * closure (:data:`CLOSURE_ATTRIBUTES`): both from the latest extract, so a person
      closed in one extract and open in a later one counts as open.

    Conflicting referral facts (:func:`person_conflicts`) are removed by the cleaner before
    this runs; if any remain, the earliest value is still used. Pure: the input is not
    changed; output rows are sorted by ``service_id`` and ``person_key``.
    """
    cols = ["person_key", "service_id", "first_period", "last_period"]
    cols += [c for c in REFERRAL_ATTRIBUTES + CHANGING_ATTRIBUTES + CLOSURE_ATTRIBUTES]
    if case_periods.empty:
        out = pd.DataFrame({c: case_periods.get(c, pd.Series(dtype="object")) for c in cols})
        return out.iloc[0:0].reset_index(drop=True)
    cp = case_periods.assign(_order=_period_order(case_periods["period"]))
    sort_cols = ["service_id", "person_key", "_order"]
    if "received_date" in cp.columns:
        sort_cols.append("received_date")
    cp = cp.sort_values(sort_cols, kind="mergesort")
    g = cp.groupby(["service_id", "person_key"], sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "first_period": g["period"].first(),
            "last_period": g["period"].last(),
        }
    )
    for c in REFERRAL_ATTRIBUTES:
        if c in cp.columns:
            out[c] = g[c].first()  # first non-missing
    for c in CHANGING_ATTRIBUTES:
        if c in cp.columns:
            out[c] = g[c].last()  # last non-missing
    last_rows = g.tail(1).set_index(["service_id", "person_key"])
    for c in CLOSURE_ATTRIBUTES:
        if c in cp.columns:
            out[c] = last_rows[c]
    out = out.reset_index()
    keep = [c for c in cols if c in out.columns]
    out = out[keep].sort_values(["service_id", "person_key"], kind="mergesort")
    for c in keep:
        if c in case_periods.columns:
            out[c] = out[c].astype(case_periods[c].dtype)
    return out.reset_index(drop=True)


def person_conflicts(
    frame: pd.DataFrame, facts: tuple[str, ...] = CONFLICT_ATTRIBUTES
) -> pd.DataFrame:
    """Persons whose fixed facts disagree between extracts.

    Returns one row per person × fact in conflict: ``service_id``, ``person_key``,
    ``column`` and ``values`` (the distinct recorded values, sorted, as text). Missing
    values never conflict.
    """
    rows = []
    present = [f for f in facts if f in frame.columns]
    for (sid, pk), grp in frame.groupby(["service_id", "person_key"], sort=True):
        for f in present:
            vals = sorted({str(v) for v in grp[f].dropna().unique()})
            if len(vals) > 1:
                rows.append({"service_id": sid, "person_key": pk, "column": f, "values": vals})
    return pd.DataFrame(rows, columns=["service_id", "person_key", "column", "values"])


def months_since(start: pd.Series, end: pd.Series) -> pd.Series:
    """Whole months between two month columns (``datetime64``), as ``Int64``."""
    s = pd.to_datetime(start)
    e = pd.to_datetime(end)
    out = (e.dt.year - s.dt.year) * 12 + (e.dt.month - s.dt.month)
    return out.astype("Int64")


# --------------------------------------------------------------------------- derived tables


def _period_bounds(periods: pd.Series) -> pd.DataFrame:
    uniq = sorted(set(periods.dropna()))
    bounds = {p: parse_period(p) for p in uniq}
    return pd.DataFrame(
        {
            "period": uniq,
            "_start": [pd.Timestamp(bounds[p].start) for p in uniq],
            "_end": [pd.Timestamp(bounds[p].end) for p in uniq],
        },
        columns=["period", "_start", "_end"],
    )


def completeness_table(case_periods: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """Recording completeness by service and period (one row per case extract).

    ``young_people`` is the number of young people in the extract; ``*_recorded`` the share
    of them with gender, ethnicity, sexuality or disability recorded; and
    ``two_plus_assessments`` the share with at least two outcome assessments at that
    service up to the end of the period (0 for services that record no outcome measure).
    """
    cols = [
        "service_id", "period", "evaluation_year", "young_people", "gender_recorded",
        "ethnicity_recorded", "sexuality_recorded", "disability_recorded",
        "two_plus_assessments",
    ]  # fmt: skip
    if case_periods.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    cp = case_periods.merge(_period_bounds(case_periods["period"]), on="period", how="left")
    if len(assessments):
        a = assessments[["service_id", "person_key", "assessment_month"]]
        pairs = cp[["service_id", "person_key", "period", "_end"]].merge(
            a, on=["service_id", "person_key"], how="inner"
        )
        pairs = pairs[pairs["assessment_month"] <= pairs["_end"]]
        n = pairs.groupby(["service_id", "person_key", "period"]).size().rename("_n")
        cp = cp.merge(n.reset_index(), on=["service_id", "person_key", "period"], how="left")
    else:
        cp = cp.assign(_n=0)
    cp = cp.assign(
        _two=cp["_n"].fillna(0).astype("int64") >= 2,
        **{f"_{c}": cp[c].notna() for c in ("gender", "ethnicity", "sexuality", "disability")},
    )
    g = cp.groupby(["service_id", "period"], sort=True)
    out = pd.DataFrame(
        {
            "evaluation_year": g["evaluation_year"].first(),
            "young_people": g["person_key"].nunique().astype("Int64"),
            "gender_recorded": g["_gender"].mean(),
            "ethnicity_recorded": g["_ethnicity"].mean(),
            "sexuality_recorded": g["_sexuality"].mean(),
            "disability_recorded": g["_disability"].mean(),
            "two_plus_assessments": g["_two"].mean(),
        }
    ).reset_index()
    return out[cols]


def extract_totals(case_periods: pd.DataFrame) -> pd.DataFrame:
    """What each case extract says about its own period: one row per service × period.

    ``referrals`` and ``new``: young people referred in the period; ``open``: young people
    in the extract (open at any time in the period); ``closed``: cases closed in the period.
    """
    cols = ["service_id", "period", "referrals", "new", "open", "closed"]
    if case_periods.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    cp = case_periods.merge(_period_bounds(case_periods["period"]), on="period", how="left")
    cp = cp.assign(
        _new=(cp["referral_month"] >= cp["_start"]) & (cp["referral_month"] <= cp["_end"]),
        _closed=((cp["closure_month"] >= cp["_start"]) & (cp["closure_month"] <= cp["_end"]))
        .fillna(False)
        .astype("bool"),
    )
    g = cp.groupby(["service_id", "period"], sort=True)
    out = pd.DataFrame(
        {
            "referrals": g["_new"].sum(),
            "new": g["_new"].sum(),
            "open": g["person_key"].nunique(),
            "closed": g["_closed"].sum(),
        }
    ).reset_index()
    return out[cols]


def reconciliation_table(
    returns: pd.DataFrame,
    referrals: pd.DataFrame,
    young_people_counts: pd.DataFrame,
    case_periods: pd.DataFrame,
    periods: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each return's totals against the case extract for the same service and period.

    One row per return × measure (``referrals``, ``new``, ``open``, ``closed``):
    ``return_total`` (the sum the return gives; missing if every cell was missing),
    ``extract_total`` (from :func:`extract_totals`; missing when there is no extract for
    that service and period) and ``difference`` = return − extract.
    """
    cols = ["return_id", "service_id", "period", "measure", "return_total", "extract_total",
            "difference"]  # fmt: skip
    if returns.empty:
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in cols})
    base = returns[["return_id", "service_id", "period"]]
    ref = referrals.groupby("return_id")["referrals"].sum(min_count=1).rename("referrals")
    yp = young_people_counts.pivot_table(
        index="return_id", columns="measure", values="young_people", aggfunc="sum"
    )
    parts = []
    ext = extract_totals(case_periods)
    for measure in ("referrals", "new", "open", "closed"):
        if measure == "referrals":
            tot = base["return_id"].map(ref)
        else:
            tot = base["return_id"].map(yp[measure]) if measure in yp.columns else pd.NA
        part = base.assign(measure=measure, return_total=tot)
        if len(ext):
            e = ext[["service_id", "period", measure]].rename(columns={measure: "extract_total"})
            part = part.merge(e, on=["service_id", "period"], how="left")
        else:
            part = part.assign(extract_total=pd.NA)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["return_total"] = out["return_total"].astype("Int64")
    out["extract_total"] = out["extract_total"].astype("Int64")
    out["difference"] = out["return_total"] - out["extract_total"]
    return out[cols]


__all__ = [
    "MAPPING_VERSION",
    "MAPPING_TABLE",
    "map_score",
    "map_scores",
    "seraf_category",
    "band_from_score",
    "parse_period",
    "Period",
    "resolve_people",
    "person_conflicts",
    "quarter_index",
    "quarter_of",
    "evaluation_year_of",
    "year_end",
]
