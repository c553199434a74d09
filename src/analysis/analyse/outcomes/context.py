"""What each service's indicators are computed from: the tables checked and limited to current returns, the years a service was active, the returns expected of it, and one service-year's slices of every table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.analyse.outcomes.definitions import R_NO_RETURN, REQUIRED_COLUMNS, r_not_reported
from analysis.core import calendar
from analysis.core.calendar import parse_year, year_label, year_of
from analysis.core.rules import current_rows, expected_periods

# --------------------------------------------------------------------------- preparation


def prepare_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Check the tables the indicators need and drop superseded rows.

    Raises ``ValueError`` naming the table and column when one is missing: an absent table
    must be passed as an empty frame with its columns, never silently skipped.
    """
    out: dict[str, pd.DataFrame] = {}
    for name, columns in REQUIRED_COLUMNS.items():
        if name not in tables:
            raise ValueError(
                f"outcome indicators need the processed table '{name}', which is missing "
                "(pass an empty table with its columns if nothing was received)"
            )
        df = tables[name]
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"processed table '{name}' lacks column(s) {', '.join(missing)} "
                "needed by the outcome indicators (see docs/data-contract.md)"
            )
        df = current_rows(df)
        if "evaluation_year" in df.columns:
            df = df.assign(evaluation_year=df["evaluation_year"].astype("str"))
        for col in ("service_id", "period"):
            if col in df.columns:
                df = df.assign(**{col: df[col].astype("str")})
        out[name] = df.reset_index(drop=True)
    services = out["services"]
    if services["service_id"].duplicated().any():
        dup = sorted(services.loc[services["service_id"].duplicated(), "service_id"].unique())
        raise ValueError(f"processed table 'services' lists service(s) twice: {', '.join(dup)}")
    bad = services.loc[services["start_month"].isna(), "service_id"].tolist()
    if bad:
        raise ValueError(
            f"processed table 'services' has no start_month for {', '.join(map(str, bad))}: "
            "cannot tell which evaluation years the service was active in"
        )
    return out


# --------------------------------------------------------------------------- calendar


def _year_start(year: str) -> pd.Timestamp:
    return pd.Timestamp(calendar.year_start(year))


def _year_end(year: str) -> pd.Timestamp:
    return pd.Timestamp(calendar.year_end(year))


def _is_active(start: pd.Timestamp, funded_until: Any, year: str) -> bool:
    """True when a service started by the end of ``year`` and was still funded at its start."""
    if pd.Timestamp(start) > _year_end(year):
        return False
    return bool(pd.isna(funded_until) or pd.Timestamp(funded_until) >= _year_start(year))


def service_years(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Service × evaluation year rows a ``year`` report covers.

    Services active in ``year`` (started by 31 August, funded on 1 September), each with
    every evaluation year from the one it started in up to ``year`` in which it was active.
    Columns: ``service_id``, ``evaluation_year``, ``first_year`` (bool).
    """
    parse_year(year)
    services = tables["services"].sort_values("service_id")
    rows: list[dict[str, Any]] = []
    for svc in services.itertuples(index=False):
        start = pd.Timestamp(svc.start_month)
        if not _is_active(start, svc.funded_until_month, year):
            continue
        first = year_of(start.date())
        for y in range(parse_year(first), parse_year(year) + 1):
            label = year_label(y)
            if _is_active(start, svc.funded_until_month, label):
                rows.append(
                    {
                        "service_id": str(svc.service_id),
                        "evaluation_year": label,
                        "first_year": label == first,
                    }
                )
    return pd.DataFrame(rows, columns=["service_id", "evaluation_year", "first_year"])


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    """Everything one service-year's indicators read, pre-filtered."""

    service_id: str
    year: str
    first_year: bool
    funded_until: Any
    instrument: str
    reporting: str
    expected: list[str]
    received: list[str]
    referrals: pd.DataFrame
    counts: pd.DataFrame
    outputs: pd.DataFrame
    cases: pd.DataFrame
    training: pd.DataFrame
    groups: pd.DataFrame
    funding: pd.DataFrame
    spokes: pd.DataFrame
    posts: pd.DataFrame
    assessments_to_date: pd.DataFrame
    return_notes: list[str] = field(default_factory=list)


class _Slices:
    """The prepared tables split once by service and evaluation year (fast look-ups)."""

    def __init__(self, prep: Mapping[str, pd.DataFrame]) -> None:
        self.prep = prep
        self._groups: dict[str, dict[Any, pd.DataFrame]] = {}

    def get(self, name: str, sid: str, year: str | None = None) -> pd.DataFrame:
        """Rows of table ``name`` for service ``sid`` (and evaluation ``year`` if given)."""
        key_cols = ["service_id"] if year is None else ["service_id", "evaluation_year"]
        cache_key = f"{name}|{len(key_cols)}"
        if cache_key not in self._groups:
            df = self.prep[name]
            self._groups[cache_key] = {
                (k if isinstance(k, tuple) else (k,)): g
                for k, g in df.groupby(key_cols, sort=False, dropna=False)
            }
        key = (sid,) if year is None else (sid, year)
        found = self._groups[cache_key].get(key)
        return found if found is not None else self.prep[name].iloc[0:0]


def _chosen_returns(
    prep: Mapping[str, pd.DataFrame] | _Slices, sid: str, year: str
) -> tuple[pd.DataFrame, list[str]]:
    """One return per period (the latest received) among the non-superseded rows.

    Normally the vintage step leaves exactly one; if two remain for a period the later one
    is used and a note says so (nothing is summed twice).
    """
    slices = prep if isinstance(prep, _Slices) else _Slices(prep)
    frames = []
    for name in ("returns", "referrals", "young_people_counts", "outputs"):
        sel = slices.get(name, sid, year)
        frames.append(sel[["return_id", "period", "received_date"]])
    allr = pd.concat(frames, ignore_index=True).drop_duplicates(["return_id", "period"])
    if allr.empty:
        return allr, []
    allr = allr.assign(
        _rid=allr["return_id"].astype("str"), _rd=pd.to_datetime(allr["received_date"])
    )
    allr = allr.sort_values(["period", "_rd", "_rid"], na_position="first")
    chosen = allr.drop_duplicates("period", keep="last")
    notes = []
    n_dup = len(allr.drop_duplicates(["period", "return_id"])) - len(chosen)
    if n_dup:
        notes.append(
            f"{n_dup} earlier return(s) for the same period not marked superseded: "
            "the latest received was used"
        )
    return chosen[["return_id", "period"]].reset_index(drop=True), notes


def _context(slices: _Slices, svc: Any, year: str, first_year: bool) -> _Context:
    sid = svc.service_id
    chosen, notes = _chosen_returns(slices, sid, year)
    ids = set(chosen["return_id"].tolist()) if not chosen.empty else set()

    def from_returns(name: str) -> pd.DataFrame:
        df = slices.get(name, sid, year)
        return df.loc[df["return_id"].isin(ids)]

    def this_year(name: str) -> pd.DataFrame:
        return slices.get(name, sid, year)

    received = sorted(chosen["period"].astype("str").tolist()) if not chosen.empty else []
    expected = expected_periods(svc.reporting, svc.start_month, svc.funded_until_month, year)
    if received and len(set(received) & set(expected)) < len(expected):
        missing = sorted(set(expected) - set(received))
        notes.append(
            f"{len(expected) - len(missing)} of {len(expected)} expected returns received "
            f"(missing: {', '.join(missing)}): counts cover the periods received only"
        )
    areas = slices.get("areas", sid)
    spokes = areas.loc[areas["is_spoke"].astype("boolean").fillna(False).astype(bool)]
    ass = slices.get("assessments", sid)
    ass = ass.loc[ass["evaluation_year"].map(_safe_year_start) <= parse_year(year)]
    return _Context(
        service_id=sid,
        year=year,
        first_year=first_year,
        funded_until=svc.funded_until_month,
        instrument=str(svc.instrument) if not pd.isna(svc.instrument) else "",
        reporting=str(svc.reporting),
        expected=expected,
        received=received,
        referrals=from_returns("referrals"),
        counts=from_returns("young_people_counts"),
        outputs=from_returns("outputs"),
        cases=this_year("case_periods"),
        training=this_year("training"),
        groups=this_year("group_sessions"),
        funding=this_year("funding"),
        spokes=spokes,
        posts=slices.get("posts", sid),
        assessments_to_date=ass,
        return_notes=notes,
    )


def _safe_year_start(label: Any) -> int:
    """Start year of an evaluation-year label; unreadable labels sort after everything."""
    try:
        return parse_year(str(label))
    except ValueError:
        return 10**6


# --------------------------------------------------------------------------- row helpers

_NA = pd.NA


def _row(
    indicator: str,
    *,
    value: Any = _NA,
    numerator: Any = _NA,
    denominator: Any = _NA,
    reason: str | None = None,
    source: str | None = None,
    note: str | list[str] | None = None,
) -> dict[str, Any]:
    """One indicator value (or its reason); the invariants are checked here."""
    if isinstance(note, list):
        note = "; ".join(n for n in note if n) or None
    has_value = not pd.isna(value)
    if has_value == (reason is not None):
        raise AssertionError(f"{indicator}: exactly one of value and reason must be given")
    return {
        "indicator": indicator,
        "value": float(value) if has_value else _NA,
        "numerator": _NA if pd.isna(numerator) else float(numerator),
        "denominator": _NA if pd.isna(denominator) else float(denominator),
        "reason": reason if reason is not None else _NA,
        "source": source if (source is not None and has_value) else _NA,
        "note": note if note else _NA,
    }


def _ratio_row(
    indicator: str,
    numerator: float,
    denominator: float,
    *,
    reason_if_empty: str,
    source: str,
    note: str | list[str] | None = None,
) -> dict[str, Any]:
    """A share or mean: ``numerator / denominator``, or the reason when the denominator is 0."""
    if denominator <= 0:
        return _row(indicator, reason=reason_if_empty, note=note)
    return _row(
        indicator,
        value=numerator / denominator,
        numerator=numerator,
        denominator=denominator,
        source=source,
        note=note,
    )


def _flow(
    ctx: _Context,
    rows: pd.DataFrame,
    value_col: str,
    what: str,
    key: tuple[str, str] | None = None,
) -> tuple[Any, str | None, list[str]]:
    """Sum a flow count over the year's returns: (value, reason, notes)."""
    if not ctx.received:
        return _NA, R_NO_RETURN, []
    if key is not None:
        rows = rows.loc[rows[key[0]] == key[1]]
    rows = rows.loc[rows[value_col].notna()]
    if rows.empty:
        return _NA, r_not_reported(what), list(ctx.return_notes)
    notes = list(ctx.return_notes)
    n_with = rows["period"].nunique()
    if n_with < len(ctx.received):
        notes.append(f"{what} reported in {n_with} of {len(ctx.received)} returns received")
    return float(pd.to_numeric(rows[value_col]).sum()), None, notes


def _stock_at(rows: pd.DataFrame, measure: str, which: str) -> tuple[Any, str | None]:
    """The ``measure`` count of the first or last period reporting it: (value, period)."""
    sel = rows.loc[(rows["measure"] == measure) & rows["young_people"].notna()]
    if sel.empty:
        return _NA, None
    sel = sel.sort_values("period")
    pick = sel.iloc[-1] if which == "last" else sel.iloc[0]
    period = pick["period"]
    return float(pd.to_numeric(sel.loc[sel["period"] == period, "young_people"]).sum()), period
