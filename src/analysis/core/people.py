"""Who a young person is across a service's extracts, and the tables derived from the
per-extract rows (completeness, extract totals, reconciliation with the returns).

The cleaner applies these rules to everything received; the year's vintage
(:mod:`analysis.analyse.vintage`) applies the same rules to what a year's report could
see by its cut-off. Defined once here so the two stages cannot drift.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.calendar import parse_period

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
    "post_id",
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
