"""Every service's and the programme's outcome indicators for a year, and the year's headline figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.analyse.outcomes.context import (
    _NA,
    _chosen_returns,
    _context,
    _row,
    _Slices,
    expected_periods,
    prepare_tables,
    service_years,
)
from analysis.analyse.outcomes.definitions import (
    COLUMNS,
    COUNT,
    INDICATOR_BY_ID,
    INDICATORS,
    PROGRAMME_COLUMNS,
    R_FIRST_YEAR,
    R_NO_PREVIOUS,
    RATIO_UNITS,
)
from analysis.analyse.outcomes.measures import (
    _outcome1,
    _outcome2,
    _outcome3,
    _outcome4,
    _outcome5,
    _outcome6,
)
from analysis.core.calendar import parse_year, year_label

# --------------------------------------------------------------------------- changes


def _add_changes(df: pd.DataFrame) -> pd.DataFrame:
    """Fill the year-on-year change indicators from the service's previous-year rows."""
    out = []
    values = df.set_index(["service_id", "evaluation_year", "indicator"])
    for spec in INDICATORS:
        if spec.change_of is None:
            continue
        base = df.loc[df["indicator"] == spec.change_of]
        for r in base.itertuples(index=False):
            if r.first_year:
                row = _row(spec.indicator, reason=R_FIRST_YEAR)
            else:
                prev_year = year_label(parse_year(r.evaluation_year) - 1)
                key = (r.service_id, prev_year, spec.change_of)
                prev = values.loc[key] if key in values.index else None
                if pd.isna(r.value):
                    row = _row(spec.indicator, reason=f"no figure for this year ({r.reason})")
                elif prev is None or pd.isna(prev["value"]):
                    why = f" ({prev['reason']})" if prev is not None else ""
                    row = _row(spec.indicator, reason=f"{R_NO_PREVIOUS}{why}")
                else:
                    notes = [n for n in (r.note, prev["note"]) if not pd.isna(n)]
                    row = _row(
                        spec.indicator,
                        value=float(r.value) - float(prev["value"]),
                        source=r.source,
                        note=notes or None,
                    )
            row.update(
                service_id=r.service_id, evaluation_year=r.evaluation_year, first_year=r.first_year
            )
            out.append(row)
    return pd.concat([df, pd.DataFrame(out)], ignore_index=True) if out else df


# --------------------------------------------------------------------------- public API


def _empty_indicators() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: [] for c in COLUMNS}))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of the indicator table."""
    df = df.reindex(columns=list(COLUMNS))
    out = df.assign(
        service_id=df["service_id"].astype("str"),
        evaluation_year=df["evaluation_year"].astype("str"),
        outcome=df["outcome"].astype("int64"),
        indicator=df["indicator"].astype("str"),
        label=df["label"].astype("str"),
        value=pd.array(df["value"].tolist(), dtype="Float64"),
        numerator=pd.array(df["numerator"].tolist(), dtype="Float64"),
        denominator=pd.array(df["denominator"].tolist(), dtype="Float64"),
        unit=df["unit"].astype("str"),
    )
    for col in ("reason", "source", "note"):
        out[col] = pd.array([None if pd.isna(v) else str(v) for v in df[col]], dtype="str")
    return out.reset_index(drop=True)


def outcome_indicators(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Every outcome indicator for every service-year a ``year`` report covers.

    One row per service × evaluation year (each year up to ``year`` for the services active
    in ``year``; a service not yet started is absent) × indicator, with the columns in
    :data:`COLUMNS`. Each row has a ``value`` or a ``reason``, never both and never neither.
    Shares and means carry ``numerator`` and ``denominator`` (``value`` = their ratio; for
    a mean the numerator is the sum of the changes); counts carry neither.
    """
    parse_year(year)
    prep = prepare_tables(tables)
    sy = service_years(prep, year)
    if sy.empty:
        return _empty_indicators()
    services = prep["services"].set_index("service_id", drop=False)
    rows: list[dict[str, Any]] = []
    slices = _Slices(prep)
    for sid, eyear, first in sy.itertuples(index=False):
        ctx = _context(slices, services.loc[sid], eyear, bool(first))
        for part in (_outcome1, _outcome2, _outcome3, _outcome4, _outcome5, _outcome6):
            for row in part(ctx):
                row.update(service_id=sid, evaluation_year=eyear, first_year=bool(first))
                rows.append(row)
    df = _add_changes(pd.DataFrame(rows))
    order = {spec.indicator: k for k, spec in enumerate(INDICATORS)}
    df = df.assign(
        outcome=df["indicator"].map(lambda i: INDICATOR_BY_ID[i].outcome),
        label=df["indicator"].map(lambda i: INDICATOR_BY_ID[i].label),
        unit=df["indicator"].map(lambda i: INDICATOR_BY_ID[i].unit),
        _order=df["indicator"].map(order),
    )
    df = df.sort_values(["service_id", "evaluation_year", "_order"], kind="stable")
    return _typed(df)


def programme_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    """Programme-level value of each indicator and evaluation year.

    Counts (and year-on-year changes) are summed over the services with a value; shares and
    means are the ratio of the summed numerators to the summed denominators (so a mean is
    weighted by the people it covers). ``services_with_value`` and ``services_with_reason``
    say how many services contributed and how many gave a reason instead. A year where no
    service has a value gets a missing value.
    """
    rows = []
    keys = ["evaluation_year", "outcome", "indicator", "label", "unit"]
    if indicators.empty:
        return pd.DataFrame({c: [] for c in PROGRAMME_COLUMNS}).astype(
            {
                "outcome": "int64",
                "services_with_value": "int64",
                "services_with_reason": "int64",
                "value": "Float64",
                "numerator": "Float64",
                "denominator": "Float64",
            }
        )
    for key, grp in indicators.groupby(keys, sort=True):
        ok = grp.loc[grp["value"].notna()]
        unit = key[4]
        num = den = _NA
        value: Any = _NA
        if not ok.empty:
            if unit in RATIO_UNITS:
                num = float(ok["numerator"].astype(float).sum())
                den = float(ok["denominator"].astype(float).sum())
                value = num / den if den > 0 else _NA
            else:
                value = float(ok["value"].astype(float).sum())
        rows.append(
            dict(
                zip(keys, key, strict=True),
                value=value,
                numerator=num,
                denominator=den,
                services_with_value=len(ok),
                services_with_reason=int(grp["reason"].notna().sum()),
            )
        )
    out = pd.DataFrame(rows)
    order = {spec.indicator: k for k, spec in enumerate(INDICATORS)}
    out = out.assign(_o=out["indicator"].map(order)).sort_values(["evaluation_year", "_o"])
    out = out.reindex(columns=list(PROGRAMME_COLUMNS)).reset_index(drop=True)
    return out.assign(
        value=pd.array(out["value"].tolist(), dtype="Float64"),
        numerator=pd.array(out["numerator"].tolist(), dtype="Float64"),
        denominator=pd.array(out["denominator"].tolist(), dtype="Float64"),
        outcome=out["outcome"].astype("int64"),
    )


HEADLINE_INDICATORS: dict[str, str] = {
    "spoke_areas_reached": "spoke_areas_reached",
    "spoke_posts_filled": "spoke_posts_filled",
    "referrals": "referrals",
    "young_people_supported": "young_people_supported",
    "group_sessions": "group_sessions",
    "group_attendees": "group_attendees",
    "multi_agency_meetings": "multi_agency_meetings",
    "training_sessions": "training_sessions",
    "professionals_trained": "professionals_trained",
    "share_posts_funded_beyond_programme": "funded_beyond_programme_share",
    "share_posts_sustained": "posts_sustained_share",
    "share_posts_cse_focused": "cse_focused_posts_share",
    "high_risk_caseload_share": "high_risk_caseload_share",
    "host_agency_referral_share": "host_agency_referral_share",
    "cse_referral_share": "cse_referral_share",
    "mean_confidence_change": "confidence_change_mean",
    "outcome_people_eligible": "assessed_young_people",
    "outcome_people_used": "two_plus_assessments",
    "mean_outcome_change": "outcome_score_change_mean",
    "risk_band_improved_share": "risk_band_improved_share",
    "risk_band_unchanged_share": "risk_band_unchanged_share",
    "risk_band_worsened_share": "risk_band_worsened_share",
}
"""Headline figure name → the programme indicator it reports."""


def _json_number(value: Any, unit: str) -> float | int:
    """Counts as ints, everything else rounded to 6 decimal places."""
    if unit == COUNT and float(value).is_integer():
        return int(value)
    return round(float(value), 6)


def headline_figures(
    tables: Mapping[str, pd.DataFrame], year: str, *, indicators: pd.DataFrame | None = None
) -> dict[str, float | int]:
    """The year's key programme figures as a flat, JSON-serialisable, deterministic dict.

    ``services_active``, ``returns_expected`` and ``returns_received`` (for the year), and
    the programme value of the indicators in :data:`HEADLINE_INDICATORS`, each with
    ``<name>_services`` (services contributing). A figure no service can support is left
    out (JSON has no missing number); its reasons are in :func:`outcome_indicators`.
    ``indicators``, when given, must be ``outcome_indicators(tables, year)`` (saves
    computing it twice).
    """
    prep = prepare_tables(tables)
    sy = service_years(prep, year)
    this = sy.loc[sy["evaluation_year"] == year]
    services = prep["services"].set_index("service_id", drop=False)
    slices = _Slices(prep)  # split the tables once, not once per service
    expected = received = 0
    for sid in this["service_id"]:
        svc = services.loc[sid]
        exp = expected_periods(svc.reporting, svc.start_month, svc.funded_until_month, year)
        chosen, _ = _chosen_returns(slices, sid, year)
        expected += len(exp)
        received += len(set(chosen["period"].astype("str")) & set(exp)) if len(chosen) else 0
    figures: dict[str, float | int] = {
        "services_active": len(this),
        "returns_expected": expected,
        "returns_received": received,
    }
    if indicators is None:
        indicators = outcome_indicators(tables, year)
    prog = programme_indicators(indicators)
    prog = prog.loc[prog["evaluation_year"] == year].set_index("indicator")
    for name, ind in HEADLINE_INDICATORS.items():
        if ind not in prog.index:
            continue
        row = prog.loc[ind]
        if pd.isna(row["value"]):
            continue
        figures[name] = _json_number(row["value"], row["unit"])
        figures[f"{name}_services"] = int(row["services_with_value"])
    return figures


def figures_as_known(programme: pd.DataFrame, year: str) -> dict[str, dict[str, float | int]]:
    """Each earlier year's headline indicator figures as known at ``year``'s cut-off (late
    and resubmitted returns included), from ``year``'s programme indicator table: what the
    index's trend shows, marking [r] where a figure differs from its first publication."""
    out: dict[str, dict[str, float | int]] = {}
    for earlier in sorted(set(programme["evaluation_year"].astype("str"))):
        if earlier >= year:
            continue
        rows = programme.loc[programme["evaluation_year"] == earlier].set_index("indicator")
        out[earlier] = {
            name: _json_number(rows.loc[ind, "value"], rows.loc[ind, "unit"])
            for name, ind in HEADLINE_INDICATORS.items()
            if ind in rows.index and not pd.isna(rows.loc[ind, "value"])
        }
    return out
