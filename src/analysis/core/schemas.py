"""Pandera schemas for every processed table (one per table), used when the cleaner writes.

:data:`SCHEMAS` maps a table name (``returns``, ``case_periods`` ...) to its
``DataFrameSchema``. The column order in each schema is the column order on disk.
:func:`conform` puts a frame into that order and those dtypes, sorts it by the table's
key and validates it, so every table is written the same way every time.

Dtypes: text columns are pandas' ``str``; counts are nullable ``Int64``; months and dates
are ``datetime64[ns]`` (months at the first of the month); flags are ``bool`` (never
missing) or nullable ``boolean``; scores and shares ``float64``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

from analysis.core.labels import (
    BANDS,
    CLOSURE_REASONS,
    CO_FUNDERS,
    FIELDWORK_SOURCE_TYPES,
    GROUP_SETTINGS,
    INSTRUMENTS,
    POST_FUNDING,
    QUALIFICATIONS,
    ROLE_GROUPS,
)

REFERRAL_SOURCES = (
    "childrens_social_care",
    "police",
    "education",
    "health",
    "voluntary_youth",
    "self_family",
    "other",
)
HOST_AGENCIES = ("police", "childrens_social_care", "health", "multi_agency")
GENDERS = ("female", "male", "other")
ETHNICITIES = ("white_british", "white_other", "mixed", "asian", "black", "other")
SEXUALITIES = ("heterosexual", "gay_lesbian", "bisexual", "other")
DISABILITY = ("yes", "no")
REFERRAL_REASONS = ("cse", "going_missing", "criminal_exploitation", "other")
ATTENDEE_AGENCIES = ("police", "childrens_social_care", "education", "health", "voluntary_youth",
                     "other")  # fmt: skip
MEASURES = ("new", "open", "closed")
ACTIVITIES = ("direct_work", "group_work", "consultations")
OUTPUTS = (
    "training_sessions",
    "professionals_trained",
    "awareness_events",
    "multi_agency_meetings",
)
FREQUENCIES = ("annual", "quarterly")
RECONCILIATION_MEASURES = ("referrals", "new", "open", "closed")

DATE = "datetime64[ns]"
STR = pd.StringDtype(na_value=float("nan"))
"""pandas 3's default ``str`` dtype (missing = NaN), spelled out so pandera checks it fast."""
_PERIOD_RE = r"^\d{4}-\d{2}( Q[1-4])?$"
_YEAR_RE = r"^\d{4}-\d{2}$"


def _s(nullable: bool = False, *checks: pa.Check) -> pa.Column:
    return pa.Column(STR, nullable=nullable, checks=list(checks))


def _cat(values: tuple[str, ...], nullable: bool = True) -> pa.Column:
    return pa.Column(STR, nullable=nullable, checks=[pa.Check.isin(list(values))])


def _int(nullable: bool = True, ge: int | None = 0, le: int | None = None) -> pa.Column:
    checks = []
    if ge is not None:
        checks.append(pa.Check.ge(ge))
    if le is not None:
        checks.append(pa.Check.le(le))
    return pa.Column("Int64", nullable=nullable, checks=checks)


def _float(nullable: bool = True, ge: float | None = None, le: float | None = None) -> pa.Column:
    checks = []
    if ge is not None:
        checks.append(pa.Check.ge(ge))
    if le is not None:
        checks.append(pa.Check.le(le))
    return pa.Column("float64", nullable=nullable, checks=checks)


def _date(nullable: bool = True) -> pa.Column:
    return pa.Column(DATE, nullable=nullable)


def _month(nullable: bool = True) -> pa.Column:
    return pa.Column(
        DATE,
        nullable=nullable,
        checks=[pa.Check(lambda s: (s.dropna().dt.day == 1).all(), error="not first of month")],
    )


def _period() -> pa.Column:
    return _s(False, pa.Check.str_matches(_PERIOD_RE))


def _year() -> pa.Column:
    return _s(False, pa.Check.str_matches(_YEAR_RE))


def _return_cols() -> dict[str, pa.Column]:
    return {
        "return_id": _s(),
        "service_id": _s(),
        "period": _period(),
        "evaluation_year": _year(),
        "received_date": _date(False),
        "superseded": pa.Column("bool"),
    }


def _person_attributes() -> dict[str, pa.Column]:
    return {
        "gender": _cat(GENDERS),
        "ethnicity": _cat(ETHNICITIES),
        "sexuality": _cat(SEXUALITIES),
        "disability": _cat(DISABILITY),
        "post_id": _s(True),
        "age_at_referral": _int(True, 8, 25),
        "referral_month": _month(False),
        "referral_source": _cat(REFERRAL_SOURCES),
        "referral_reason": _cat(REFERRAL_REASONS),
        "risk_at_referral": _cat(BANDS),
        "going_missing": pa.Column("boolean", nullable=True),
        "looked_after": pa.Column("boolean", nullable=True),
        "substance_misuse": pa.Column("boolean", nullable=True),
        "closure_month": _month(),
        "closure_reason": _cat(CLOSURE_REASONS),
    }


def _schema(name: str, columns: dict[str, pa.Column], key: list[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        columns,
        name=name,
        strict=True,
        ordered=True,
        unique=key or None,
        metadata={"key": key},
    )


_share = {"ge": 0.0, "le": 1.0}


def _fieldwork_source() -> dict[str, pa.Column]:
    """The columns a fieldwork source and each of its quotes share."""
    return {
        "source_ref": _s(),
        "evaluation_year": _year(),
        "phase": _int(False, 1, 3),
        "site_key": _s(False, pa.Check.str_matches(r"^S\d{2,}$")),
        "role_group": _cat(tuple(sorted(set(ROLE_GROUPS.values()))), nullable=False),
        "source_type": _cat(FIELDWORK_SOURCE_TYPES, nullable=False),
        "visit": _int(True, 1, 2),
    }


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "services": _schema(
        "services",
        {
            "service_id": _s(False, pa.Check.str_matches(r"^S\d{2,}$")),
            "hub_organisation": _s(),
            "phase": _int(False, 1, 3),
            "start_month": _month(False),
            "funded_until_month": _month(),
            "reporting": _cat(FREQUENCIES, False),
            "instrument": _cat(INSTRUMENTS, False),
        },
        ["service_id"],
    ),
    "areas": _schema(
        "areas",
        {
            "area_code": _s(),
            "area_name": _s(),
            "is_spoke": pa.Column("bool"),
            "service_id": _s(True),
            "spoke_id": _s(True),
            "host_agency": _cat(HOST_AGENCIES),
            "spoke_workers": _int(True, 0),
            "spoke_start_month": _month(),
            "cohort_quarter": _int(False, 0),
        },
        ["area_code"],
    ),
    "funding": _schema(
        "funding",
        {
            "service_id": _s(),
            "spoke_id": _s(),
            "evaluation_year": _year(),
            "funding_source": _s(),
            "funded_until_month": _month(),
            "beyond_programme": pa.Column("bool"),
        },
        ["spoke_id", "evaluation_year", "funding_source"],
    ),
    "posts": _schema(
        "posts",
        {
            "post_id": _s(False, pa.Check.str_matches(r"^S\d{2,}-\d+-P\d+$")),
            "service_id": _s(),
            "spoke_id": _s(),
            "area_code": _s(),
            "host_agency": _cat(HOST_AGENCIES, False),
            "qualification": _cat(QUALIFICATIONS, False),
            "funding": _cat(POST_FUNDING, False),
            "co_funder": _cat(CO_FUNDERS),
            "recruitment_rounds": _int(False, 1),
            "advertised_month": _month(False),
            "start_month": _month(),
            "end_month": _month(),
            "vacancy_months": _int(True, 0),
            "cse_time_share": _float(False, **_share),
        },
        ["post_id"],
    ),
    "grants": _schema(
        "grants",
        {
            "grant_holder": _s(),
            "evaluation_year": _year(),
            "amount_gbp": _int(False, 0),
        },
        ["grant_holder", "evaluation_year"],
    ),
    "area_panel": _schema(
        "area_panel",
        {
            "area_code": _s(),
            "quarter": _s(False, pa.Check.str_matches(r"^\d{4}-\d{2} Q[1-4]$")),
            "quarter_index": _int(False, 1),
            "evaluation_year": _year(),
            "quarter_start": _date(False),
            "cse_concerns": _int(),
            "child_population": _int(),
        },
        ["area_code", "quarter"],
    ),
    "periods": _schema(
        "periods",
        {
            "period": _period(),
            "evaluation_year": _year(),
            "frequency": _cat(FREQUENCIES, False),
            "period_start": _date(False),
            "period_end": _date(False),
        },
        ["period"],
    ),
    "returns": _schema(
        "returns",
        {
            "return_id": _s(),
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "frequency": _cat(FREQUENCIES, False),
            "template_version": _s(),
            "received_date": _date(False),
            "version": _int(False, 1),
            "superseded": pa.Column("bool"),
            "source_file": _s(),
        },
        ["return_id"],
    ),
    "referrals": _schema(
        "referrals",
        {**_return_cols(), "referral_source": _cat(REFERRAL_SOURCES, False), "referrals": _int()},
        ["return_id", "referral_source"],
    ),
    "young_people_counts": _schema(
        "young_people_counts",
        {**_return_cols(), "measure": _cat(MEASURES, False), "young_people": _int()},
        ["return_id", "measure"],
    ),
    "activities": _schema(
        "activities",
        {**_return_cols(), "activity": _cat(ACTIVITIES, False), "sessions": _int()},
        ["return_id", "activity"],
    ),
    "outputs": _schema(
        "outputs",
        {**_return_cols(), "output": _cat(OUTPUTS, False), "count": _int()},
        ["return_id", "output"],
    ),
    "case_periods": _schema(
        "case_periods",
        {
            "person_key": _s(),
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "received_date": _date(False),
            **_person_attributes(),
        },
        ["service_id", "person_key", "period"],
    ),
    "young_people": _schema(
        "young_people",
        {
            "person_key": _s(),
            "service_id": _s(),
            "first_period": _period(),
            "last_period": _period(),
            **_person_attributes(),
        },
        ["service_id", "person_key"],
    ),
    "assessments": _schema(
        "assessments",
        {
            "person_key": _s(),
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "received_date": _date(False),
            "assessment_month": _month(False),
            "months_since_referral": _int(True, 0),
            "instrument": _cat(INSTRUMENTS, False),
            "raw_score": _float(False, 0.0),
            "score": _float(False, **_share),
            "risk_band": _cat(BANDS, False),
            "mapping_version": _s(),
        },
        [],
    ),
    "training": _schema(
        "training",
        {
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "received_date": _date(False),
            "session_month": _month(True),
            "attendee_agency": _cat(ATTENDEE_AGENCIES),
            "confidence_pre": _float(True, 0.0),
            "confidence_post": _float(True, 0.0),
        },
        [],
    ),
    "group_sessions": _schema(
        "group_sessions",
        {
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "received_date": _date(False),
            "session_id": _s(),
            "session_month": _month(False),
            "post_id": _s(True),
            "setting": _cat(GROUP_SETTINGS),
            "attendees": _int(False, 1),
        },
        ["service_id", "period", "session_id"],
    ),
    "fieldwork": _schema(
        "fieldwork",
        {
            "evaluation_year": _year(),
            "phase": _int(False, 1, 3),
            "participant_role": _s(),
            "interviews": _int(False, 0),
        },
        ["evaluation_year", "phase", "participant_role"],
    ),
    "fieldwork_sources": _schema(
        "fieldwork_sources",
        {**_fieldwork_source(), "host_type": _s(True)},
        ["source_ref"],
    ),
    "fieldwork_quotes": _schema(
        "fieldwork_quotes",
        {
            **_fieldwork_source(),
            "code_group": _s(),
            "code": _s(),
            "text": _s(),
        },
        [],
    ),
    "deliveries": _schema(
        "deliveries",
        {
            "file": _s(),
            "kind": _s(),
            "service_id": _s(True),
            "period": _s(True),
            "evaluation_year": _s(True),
            "version": _int(True, 1),
            "received_date": _date(True),
        },
        ["file"],
    ),
    "completeness": _schema(
        "completeness",
        {
            "service_id": _s(),
            "period": _period(),
            "evaluation_year": _year(),
            "young_people": _int(False, 0),
            "gender_recorded": _float(True, **_share),
            "ethnicity_recorded": _float(True, **_share),
            "sexuality_recorded": _float(True, **_share),
            "disability_recorded": _float(True, **_share),
            "two_plus_assessments": _float(True, **_share),
        },
        ["service_id", "period"],
    ),
    "reconciliation": _schema(
        "reconciliation",
        {
            "return_id": _s(),
            "service_id": _s(),
            "period": _period(),
            "measure": _cat(RECONCILIATION_MEASURES, False),
            "return_total": _int(),
            "extract_total": _int(),
            "difference": _int(True, None),
        },
        ["return_id", "measure"],
    ),
}
"""One schema per processed table (name without ``.parquet``)."""

SORT_KEYS: dict[str, list[str]] = {
    "fieldwork_sources": ["source_ref"],
    "fieldwork_quotes": [
        "source_ref",
        "evaluation_year",
        "site_key",
        "role_group",
        "source_type",
        "visit",
        "code_group",
        "code",
        "text",
        "phase",
    ],
    "assessments": ["service_id", "person_key", "assessment_month", "period", "raw_score"],
    "training": [
        "service_id",
        "period",
        "session_month",
        "attendee_agency",
        "confidence_pre",
        "confidence_post",
    ],
}


def sort_key(name: str) -> list[str]:
    """The columns a table is sorted by on write (its key, or a fuller order when keyless)."""
    return SORT_KEYS.get(name) or list(SCHEMAS[name].metadata["key"])


def _pandas_dtype(col: pa.Column) -> str:
    """The pandas dtype a column is written with (pandera reports ``str`` as ``string``)."""
    dtype = str(col.dtype)
    return "str" if dtype in ("str", "string") or dtype.startswith("string") else dtype


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if str(series.dtype) == dtype:
        return series
    if dtype == DATE:
        return pd.to_datetime(series).astype(DATE)
    if dtype == "str":
        return series.astype("object").where(series.notna(), None).astype("str")
    if dtype == "bool":
        return series.astype("bool")
    return series.astype(dtype)


def empty_frame(name: str) -> pd.DataFrame:
    """A zero-row frame with the table's columns and dtypes."""
    schema = SCHEMAS[name]
    return pd.DataFrame(
        {c: pd.Series([], dtype=_pandas_dtype(col)) for c, col in schema.columns.items()}
    )


def conform(
    name: str, frame: pd.DataFrame, *, validate: bool = True, **validate_kwargs: Any
) -> pd.DataFrame:
    """``frame`` in the schema's column order and dtypes, sorted by key, validated.

    Raises ``pandera.errors.SchemaError`` when the data break the schema. ``validate=False``
    skips only the pandera check (tests that exercise other things use it for speed).
    """
    schema = SCHEMAS[name]
    cols = list(schema.columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise KeyError(f"{name}: missing column(s) {missing}")
    out = frame[cols].copy()
    for c, col in schema.columns.items():
        out[c] = _cast(out[c], _pandas_dtype(col))
    out = out.sort_values(sort_key(name), kind="mergesort", na_position="first")
    out = out.reset_index(drop=True)
    return schema.validate(out, **validate_kwargs) if validate else out
