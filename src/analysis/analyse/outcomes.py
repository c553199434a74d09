"""The six key outcome measures: operational indicators per service and evaluation year.

The evaluation's year-two report framed its work around six key outcome measures
(``docs/outcomes.md`` defines each indicator: definition, source tables, numerator,
denominator and caveats):

1. services secure sustainable funding for the continuation of spoke services;
2. spokes become embedded into existing services / the local CSE service landscape;
3. spoke workers retain a distinctive identity and role focussed on CSE;
4. the reach of specialist CSE services is extended;
5. skill levels in partner agencies in identifying and responding to CSE improve;
6. outcomes improve for young people supported by spoke services.

:func:`outcome_indicators` computes, for every service and evaluation year a report may
see, each indicator's value — or, where the data cannot support it, the reason why.
:func:`programme_indicators` aggregates them to the programme, and
:func:`headline_figures` gives the year's key figures as a flat JSON-serialisable dict
(DVC metrics and the report summary).

Input is the dict of processed tables (``docs/data-contract.md``), already restricted to
what one year's report may see (``analysis.vintage``). Rows marked ``superseded`` are
ignored here too, defensively. All functions are pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.analyse.vintage import current_rows
from analysis.core.calendar import parse_year, year_label, year_of

# --------------------------------------------------------------------------- definitions

OPEN_MEASURE_MEANS: str = "any_time"
"""What the returns' ``open`` measure counts: the caseload open at the *end* of the period
(``"end_of_period"``) or every young person open at *any time* in the period
(``"any_time"``). It decides how young people supported in a year is built from the returns
(see :func:`_supported_from_returns` and ``docs/outcomes.md``)."""

HOST_TO_REFERRAL_SOURCE: dict[str, str | None] = {
    "police": "police",
    "childrens_social_care": "childrens_social_care",
    "health": "health",
    "multi_agency": "childrens_social_care",
}
"""The referral source that counts as "from the host agency" for each host agency type.
The data contract says a spoke hosted by a multi-agency team (a MASH) records referrals
from its host as children's social care, so ``multi_agency`` maps there (and the share
then counts every children's social care referral: a note says it overstates). A host
mapped to ``None`` matches no referral source: it adds nothing to the numerator (noted),
and when every spoke's host is so mapped the indicator gives a reason instead."""

RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
"""Common risk bands, from safest to most at risk."""

NO_MEASURE_INSTRUMENTS: frozenset[str] = frozenset({"none"})
"""Instrument codes meaning the service records no repeated outcome measure."""

SHARE = "share"
COUNT = "count"
MEAN_CHANGE = "mean change"
CHANGE = "change in count"
RATIO_UNITS: frozenset[str] = frozenset({SHARE, MEAN_CHANGE})
"""Units whose value is ``numerator / denominator`` (aggregated as a ratio of sums)."""

# Reasons (value missing). Kept as constants so tests and reports can refer to them.
R_NO_RETURN = "no return received for this year"
R_NO_RETURN_OR_EXTRACT = "no return or case-level extract received for this year"
R_NO_RETURN_OR_TRAINING = "no return or training feedback received for this year"
R_NO_EXTRACT = "no case-level extract received for this year"
R_NO_REASON_RECORDED = "referral reason not recorded for any young person in this year's extracts"
R_NO_MEASURE = "service records no repeated outcome measure"
R_NO_ASSESSMENTS = "no outcome assessments received for this year"
R_FEWER_THAN_TWO = "fewer than 2 assessments for any young person"
R_NO_BANDS = "fewer than 2 risk bands recorded for any young person"
R_FIRST_YEAR = "first year: no previous year to compare"
R_NO_PREVIOUS = "no figure for the previous year"
R_NO_FUNDING = "no funding record for this year"
R_NO_SPOKE_AREAS = "no spoke area registered for this service"
R_NO_HOST_SOURCE = "no spoke's host agency type matches a single referral source"
R_NO_REFERRALS = "no referrals recorded in this year's returns"
R_NO_TRAINING = "no training feedback received for this year"
R_NO_CONFIDENCE_PAIRS = "no professional trained has both pre- and post-training confidence"


def r_not_reported(what: str) -> str:
    """Reason for a return that arrived but does not report ``what``."""
    return f"this year's returns do not report {what}"


@dataclass(frozen=True)
class Indicator:
    """One operational indicator of a key outcome measure."""

    outcome: int
    indicator: str
    label: str
    unit: str
    change_of: str | None = None  # for year-on-year changes: the indicator compared


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        1,
        "funded_beyond_programme_share",
        "Share of spoke posts with funding secured beyond the programme grant",
        SHARE,
    ),
    Indicator(
        2,
        "host_agency_referral_share",
        "Share of referrals that came from the spokes' host agency type",
        SHARE,
    ),
    Indicator(2, "multi_agency_meetings", "Multi-agency meetings attended", COUNT),
    Indicator(
        3,
        "cse_referral_share",
        "Share of young people on the caseload referred for CSE rather than other needs",
        SHARE,
    ),
    Indicator(4, "referrals", "Referrals received", COUNT),
    Indicator(
        4, "young_people_supported", "Young people supported (open at any time in the year)", COUNT
    ),
    Indicator(
        4,
        "young_people_supported_change",
        "Change in young people supported against the year before",
        CHANGE,
        change_of="young_people_supported",
    ),
    Indicator(
        4, "spoke_areas_reached", "Spoke areas with a spoke in post by the end of the year", COUNT
    ),
    Indicator(
        4,
        "spoke_areas_reached_change",
        "Change in spoke areas reached against the year before",
        CHANGE,
        change_of="spoke_areas_reached",
    ),
    Indicator(5, "training_sessions", "Training sessions delivered to professionals", COUNT),
    Indicator(5, "professionals_trained", "Professionals trained", COUNT),
    Indicator(
        5,
        "confidence_change_mean",
        "Mean change in professionals' confidence from before to after training",
        MEAN_CHANGE,
    ),
    Indicator(
        6,
        "assessed_young_people",
        "Young people with an outcome assessment in the year (eligible)",
        COUNT,
    ),
    Indicator(
        6,
        "two_plus_assessments",
        "Eligible young people with two or more assessments (used)",
        COUNT,
    ),
    Indicator(
        6,
        "outcome_score_change_mean",
        "Mean change in the harmonised outcome score (0-1), first to latest assessment",
        MEAN_CHANGE,
    ),
    Indicator(
        6,
        "risk_band_improved_share",
        "Share of young people whose risk band improved, first to latest assessment",
        SHARE,
    ),
    Indicator(
        6,
        "risk_band_unchanged_share",
        "Share of young people whose risk band was unchanged, first to latest assessment",
        SHARE,
    ),
    Indicator(
        6,
        "risk_band_worsened_share",
        "Share of young people whose risk band worsened, first to latest assessment",
        SHARE,
    ),
)
"""Every indicator, in report order."""

INDICATOR_BY_ID: dict[str, Indicator] = {i.indicator: i for i in INDICATORS}

COLUMNS: tuple[str, ...] = (
    "service_id",
    "evaluation_year",
    "outcome",
    "indicator",
    "label",
    "value",
    "numerator",
    "denominator",
    "unit",
    "reason",
    "source",
    "note",
)
"""Columns of :func:`outcome_indicators`' table. ``source`` names the table(s) the value
came from; ``note`` carries caveats on a value that is present (e.g. missing quarters)."""

PROGRAMME_COLUMNS: tuple[str, ...] = (
    "evaluation_year",
    "outcome",
    "indicator",
    "label",
    "unit",
    "value",
    "numerator",
    "denominator",
    "services_with_value",
    "services_with_reason",
)

_RETURN_COLUMNS = ("return_id", "service_id", "period", "evaluation_year", "received_date")

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "services": ("service_id", "start_month", "funded_until_month", "reporting", "instrument"),
    "areas": (
        "area_code",
        "is_spoke",
        "service_id",
        "spoke_id",
        "host_agency",
        "spoke_start_month",
    ),
    "funding": ("service_id", "spoke_id", "evaluation_year", "beyond_programme"),
    "returns": _RETURN_COLUMNS,
    "referrals": (*_RETURN_COLUMNS, "referral_source", "referrals"),
    "young_people_counts": (*_RETURN_COLUMNS, "measure", "young_people"),
    "outputs": (*_RETURN_COLUMNS, "output", "count"),
    "case_periods": ("person_key", "service_id", "period", "evaluation_year", "referral_reason"),
    "assessments": (
        "person_key",
        "service_id",
        "period",
        "evaluation_year",
        "assessment_month",
        "score",
        "risk_band",
    ),
    "training": ("service_id", "period", "evaluation_year", "confidence_pre", "confidence_post"),
}
"""The processed tables (and their columns) the indicators read."""

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
    return pd.Timestamp(parse_year(year), 9, 1)


def _year_end(year: str) -> pd.Timestamp:
    return pd.Timestamp(parse_year(year) + 1, 8, 31)


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


def expected_periods(
    reporting: str, start: pd.Timestamp, funded_until: Any, year: str
) -> list[str]:
    """Return periods a service is expected to send for ``year``.

    Annual services send one (``2014-15``); quarterly services one per quarter of the
    evaluation year that overlaps their funded months (``2014-15 Q2`` …).
    """
    if str(reporting) != "quarterly":
        return [year]
    base = _year_start(year)
    periods = []
    for q in range(1, 5):
        q_start = base + pd.DateOffset(months=3 * (q - 1))
        q_end = q_start + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        if q_end >= pd.Timestamp(start) and (
            pd.isna(funded_until) or q_start <= pd.Timestamp(funded_until)
        ):
            periods.append(f"{year} Q{q}")
    return periods


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    """Everything one service-year's indicators read, pre-filtered."""

    service_id: str
    year: str
    first_year: bool
    instrument: str
    reporting: str
    expected: list[str]
    received: list[str]
    referrals: pd.DataFrame
    counts: pd.DataFrame
    outputs: pd.DataFrame
    cases: pd.DataFrame
    training: pd.DataFrame
    funding: pd.DataFrame
    spokes: pd.DataFrame
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
        instrument=str(svc.instrument) if not pd.isna(svc.instrument) else "",
        reporting=str(svc.reporting),
        expected=expected,
        received=received,
        referrals=from_returns("referrals"),
        counts=from_returns("young_people_counts"),
        outputs=from_returns("outputs"),
        cases=this_year("case_periods"),
        training=this_year("training"),
        funding=this_year("funding"),
        spokes=spokes,
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


# --------------------------------------------------------------------------- outcome 1


def _outcome1(ctx: _Context) -> list[dict[str, Any]]:
    """Share of spoke posts with funding secured beyond the programme grant."""
    ind = "funded_beyond_programme_share"
    fund = ctx.funding
    in_post = _spokes_in_post(ctx)
    in_post_ids = set(in_post["spoke_id"].dropna().astype("str"))
    if fund.empty:
        return [_row(ind, reason=R_NO_FUNDING)]
    flag = fund["beyond_programme"].astype("boolean")
    known = fund.loc[flag.notna()]
    spokes_known = set(known["spoke_id"].dropna().astype("str"))
    secured = set(known.loc[flag[flag.notna()].astype(bool), "spoke_id"].dropna().astype("str"))
    notes = []
    unknown = set(fund["spoke_id"].dropna().astype("str")) - spokes_known
    if unknown:
        notes.append(f"{len(unknown)} spoke post(s) with funding source of unknown kind left out")
    no_record = in_post_ids - set(fund["spoke_id"].dropna().astype("str"))
    if no_record:
        notes.append(f"{len(no_record)} spoke post(s) in post have no funding record: left out")
    return [
        _ratio_row(
            ind,
            float(len(secured)),
            float(len(spokes_known)),
            reason_if_empty=R_NO_FUNDING,
            source="funding",
            note=notes,
        )
    ]


def _spokes_in_post(ctx: _Context) -> pd.DataFrame:
    """Spoke areas of the service whose spoke started by the end of the year."""
    start = pd.to_datetime(ctx.spokes["spoke_start_month"])
    return ctx.spokes.loc[start.notna() & (start <= _year_end(ctx.year))]


# --------------------------------------------------------------------------- outcome 2


def _outcome2(ctx: _Context) -> list[dict[str, Any]]:
    """Referrals from the host agency type; multi-agency meetings attended."""
    rows = []
    ind = "host_agency_referral_share"
    spokes = _spokes_in_post(ctx)
    if spokes.empty:
        spokes = ctx.spokes  # no spoke in post yet: the agreed hosts stand in
    hosts = spokes.drop_duplicates("spoke_id")["host_agency"].astype("str").tolist()
    sources = {HOST_TO_REFERRAL_SOURCE.get(h) for h in hosts} - {None}
    unmatched = sum(HOST_TO_REFERRAL_SOURCE.get(h) is None for h in hosts)
    n_multi = sum(h == "multi_agency" for h in hosts)
    total, reason, notes = _flow(ctx, ctx.referrals, "referrals", "referrals")
    if reason is not None:
        rows.append(_row(ind, reason=reason))
    elif not hosts:
        rows.append(_row(ind, reason=R_NO_SPOKE_AREAS))
    elif not sources:
        rows.append(_row(ind, reason=R_NO_HOST_SOURCE))
    else:
        if unmatched:
            notes.append(
                f"{unmatched} of {len(hosts)} spoke(s) have a host matching no referral "
                "source: their host referrals cannot be identified, so the share understates"
            )
        if n_multi and HOST_TO_REFERRAL_SOURCE.get("multi_agency") is not None:
            notes.append(
                f"{n_multi} of {len(hosts)} spoke(s) hosted by a multi-agency team, whose "
                "referrals are recorded as children's social care: every children's social "
                "care referral is counted as from the host, so the share overstates"
            )
        ref = ctx.referrals.loc[ctx.referrals["referrals"].notna()]
        num = float(pd.to_numeric(ref.loc[ref["referral_source"].isin(sources), "referrals"]).sum())
        rows.append(
            _ratio_row(
                ind,
                num,
                float(total),
                reason_if_empty=R_NO_REFERRALS,
                source="referrals",
                note=notes,
            )
        )
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "multi-agency meetings", key=("output", "multi_agency_meetings")
    )
    rows.append(
        _row("multi_agency_meetings", value=value, reason=reason, source="outputs", note=notes)
    )
    return rows


# --------------------------------------------------------------------------- outcome 3


def _outcome3(ctx: _Context) -> list[dict[str, Any]]:
    """Share of the caseload referred for CSE rather than other needs."""
    ind = "cse_referral_share"
    cases = ctx.cases
    if cases.empty:
        return [_row(ind, reason=R_NO_EXTRACT)]
    # One reason per young person: the one in their latest extract of the year.
    latest = cases.sort_values(["person_key", "period"]).drop_duplicates("person_key", keep="last")
    known = latest.loc[latest["referral_reason"].notna()]
    notes = []
    if len(known) < len(latest):
        notes.append(f"referral reason not recorded for {len(latest) - len(known)} young people")
    num = float((known["referral_reason"].astype("str") == "cse").sum())
    return [
        _ratio_row(
            ind,
            num,
            float(len(known)),
            reason_if_empty=R_NO_REASON_RECORDED,
            source="case_periods",
            note=notes,
        )
    ]


# --------------------------------------------------------------------------- outcome 4


def _supported_from_returns(ctx: _Context) -> tuple[Any, list[str]]:
    """Young people supported in the year from the returns' new/open/closed counts.

    The data contract defines ``open`` as open at any time in the period (the rows of the
    period's case extract), so everyone supported in the year was open in the first
    period or referred in a later one: supported = open (first return) + new (later
    returns). Were ``open`` the caseload at the *end* of a period
    (``OPEN_MEASURE_MEANS = "end_of_period"``), everyone supported is still open at the
    year end or closed during it: supported = open (last return) + closed (all returns).
    Missing when ``open``, or the flow for every period that needs it, is not reported.
    """
    counts = ctx.counts
    notes = list(ctx.return_notes)
    end_of_period = OPEN_MEASURE_MEANS == "end_of_period"
    open_n, period = _stock_at(counts, "open", "last" if end_of_period else "first")
    if pd.isna(open_n):
        return _NA, notes
    measure = "closed" if end_of_period else "new"
    need = ctx.received if end_of_period else [p for p in ctx.received if p > period]
    flows = counts.loc[
        (counts["measure"] == measure)
        & counts["young_people"].notna()
        & counts["period"].isin(need)
    ]
    have = set(flows["period"])
    if need and not have:
        return _NA, notes
    if len(have) < len(need):
        notes.append(
            f"{measure} young people reported in {len(have)} of {len(need)} returns needed"
        )
    expected_at = ctx.received[-1] if end_of_period else ctx.received[0]
    if period != expected_at:
        notes.append(f"open young people taken from the {period} return")
    return open_n + float(pd.to_numeric(flows["young_people"]).sum()), notes


def _outcome4(ctx: _Context) -> list[dict[str, Any]]:
    """Referrals, young people supported and spoke areas reached (changes added later)."""
    rows = []
    value, reason, notes = _flow(ctx, ctx.referrals, "referrals", "referrals")
    rows.append(_row("referrals", value=value, reason=reason, source="referrals", note=notes))

    ind = "young_people_supported"
    value, notes = _supported_from_returns(ctx) if ctx.received else (_NA, [])
    if not pd.isna(value):
        rows.append(_row(ind, value=value, source="young_people_counts", note=notes))
    elif not ctx.cases.empty:
        note = "from the case-level extracts (distinct young people)"
        if ctx.received:
            note += ": the returns do not report open and closed young people"
        rows.append(
            _row(ind, value=ctx.cases["person_key"].nunique(), source="case_periods", note=note)
        )
    elif ctx.received:
        rows.append(_row(ind, reason=r_not_reported("open and closed young people")))
    else:
        rows.append(_row(ind, reason=R_NO_RETURN_OR_EXTRACT))

    ind = "spoke_areas_reached"
    if ctx.spokes.empty:
        rows.append(_row(ind, reason=R_NO_SPOKE_AREAS))
    else:
        n_unknown = int(ctx.spokes["spoke_start_month"].isna().sum())
        note = f"{n_unknown} spoke area(s) with no start month not counted" if n_unknown else None
        rows.append(
            _row(
                ind,
                value=_spokes_in_post(ctx)["area_code"].nunique(),
                source="areas",
                note=note,
            )
        )
    return rows


# --------------------------------------------------------------------------- outcome 5


def _outcome5(ctx: _Context) -> list[dict[str, Any]]:
    """Training sessions, professionals trained, mean pre/post confidence change."""
    rows = []
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "training sessions", key=("output", "training_sessions")
    )
    rows.append(_row("training_sessions", value=value, reason=reason, source="outputs", note=notes))

    ind = "professionals_trained"
    value, reason, notes = _flow(
        ctx, ctx.outputs, "count", "professionals trained", key=("output", "professionals_trained")
    )
    if reason is None:
        rows.append(_row(ind, value=value, source="outputs", note=notes))
    elif not ctx.training.empty:
        note = "counted from training feedback forms (one per professional)"
        if ctx.received:
            note += ": the returns do not report professionals trained"
        rows.append(_row(ind, value=len(ctx.training), source="training", note=note))
    else:
        rows.append(_row(ind, reason=R_NO_RETURN_OR_TRAINING if not ctx.received else reason))

    ind = "confidence_change_mean"
    tr = ctx.training
    if tr.empty:
        rows.append(_row(ind, reason=R_NO_TRAINING))
    else:
        pre = pd.to_numeric(tr["confidence_pre"], errors="coerce")
        post = pd.to_numeric(tr["confidence_post"], errors="coerce")
        both = pre.notna() & post.notna()
        note = (
            f"{int((~both).sum())} of {len(tr)} professionals lack a pre or post rating"
            if (~both).any()
            else None
        )
        change = (post[both] - pre[both]).astype(float)
        rows.append(
            _ratio_row(
                ind,
                float(change.sum()),
                float(both.sum()),
                reason_if_empty=R_NO_CONFIDENCE_PAIRS,
                source="training",
                note=note,
            )
        )
    return rows


# --------------------------------------------------------------------------- outcome 6


def _ordered_assessments(ass: pd.DataFrame) -> pd.DataFrame:
    """Assessments in time order within person (month, then months since referral, period)."""
    keys = ["person_key", "assessment_month"]
    if "months_since_referral" in ass.columns:
        keys.append("months_since_referral")
    keys.append("period")
    return ass.sort_values(keys, kind="stable", na_position="last")


def _outcome6(ctx: _Context) -> list[dict[str, Any]]:
    """Change in harmonised score and risk band, first to latest assessment."""
    ids = (
        "assessed_young_people",
        "two_plus_assessments",
        "outcome_score_change_mean",
        "risk_band_improved_share",
        "risk_band_unchanged_share",
        "risk_band_worsened_share",
    )
    ass = ctx.assessments_to_date
    this_year = ass.loc[ass["evaluation_year"] == ctx.year]
    if this_year.empty:
        reason = R_NO_MEASURE if ctx.instrument in NO_MEASURE_INSTRUMENTS else R_NO_ASSESSMENTS
        return [_row(i, reason=reason) for i in ids]

    eligible = set(this_year["person_key"].dropna())
    ass = _ordered_assessments(ass.loc[ass["person_key"].isin(eligible)])
    note = "first assessment at the service (any year so far) to latest assessment this year"
    rows = [_row("assessed_young_people", value=len(eligible), source="assessments")]

    scored = ass.loc[ass["score"].notna()]
    n_scored = scored.groupby("person_key").size()
    used = scored.loc[scored["person_key"].isin(n_scored[n_scored >= 2].index)]
    rows.append(
        _row(
            "two_plus_assessments",
            value=float(used["person_key"].nunique()),
            source="assessments",
            note="two or more assessments with a harmonised score",
        )
    )
    grouped = used.groupby("person_key", sort=True)["score"]
    change = (grouped.last().astype(float) - grouped.first().astype(float)).sort_index()
    rows.append(
        _ratio_row(
            "outcome_score_change_mean",
            float(change.sum()),
            float(len(change)),
            reason_if_empty=R_FEWER_THAN_TWO,
            source="assessments",
            note=f"{len(change)} of {len(eligible)} eligible young people used; {note}",
        )
    )

    banded = ass.loc[ass["risk_band"].notna()]
    banded = banded.assign(
        _rank=pd.to_numeric(banded["risk_band"].astype("str").map(RISK_ORDER)).astype(float)
    )
    n_unknown = int(banded["_rank"].isna().sum())
    banded = banded.loc[banded["_rank"].notna()]
    n_banded = banded.groupby("person_key").size()
    banded = banded.loc[banded["person_key"].isin(n_banded[n_banded >= 2].index)]
    g = banded.groupby("person_key", sort=True)["_rank"]
    diff = (g.last() - g.first()).astype(float)
    n = float(len(diff))
    no_two = R_FEWER_THAN_TWO if len(change) == 0 else R_NO_BANDS
    band_note = [f"{len(diff)} of {len(eligible)} eligible young people used; {note}"]
    if n_unknown:
        band_note.append(f"{n_unknown} assessment(s) with an unknown risk band left out")
    for ind, num in (
        ("risk_band_improved_share", float((diff < 0).sum())),
        ("risk_band_unchanged_share", float((diff == 0).sum())),
        ("risk_band_worsened_share", float((diff > 0).sum())),
    ):
        rows.append(
            _ratio_row(
                ind, num, n, reason_if_empty=no_two, source="assessments", note=list(band_note)
            )
        )
    return rows


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
    "referrals": "referrals",
    "young_people_supported": "young_people_supported",
    "multi_agency_meetings": "multi_agency_meetings",
    "training_sessions": "training_sessions",
    "professionals_trained": "professionals_trained",
    "share_posts_funded_beyond_programme": "funded_beyond_programme_share",
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
