"""The outcome indicators' definitions: the six outcome measures' indicators, their units, the columns of the indicator tables and the plain reasons a value is missing."""

from __future__ import annotations

from dataclasses import dataclass

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
R_FEEDBACK_ABOVE_TRAINED = (
    "more feedback forms with both ratings than professionals trained in the returns"
)
R_NO_TRAINED_COUNT = "the returns do not report professionals trained: no base for a response rate"
R_NO_CONFIDENCE_PAIRS = "no professional trained has both pre- and post-training confidence"
R_NO_GROUP_RECORDS = "no group-session records received for this year"
R_NO_POSTS = "no spoke post filled in this year in the workforce roster"
R_GRANT_NOT_ENDED = "the programme grant had not ended by the end of this year"
R_NO_RISK_RECORDED = "risk at referral not recorded for any young person on this year's caseload"


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
        1,
        "posts_sustained_share",
        "Share of spoke posts still filled after the programme grant ended",
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
    Indicator(
        3,
        "cse_focused_posts_share",
        "Share of spoke posts spending at least three quarters of their time on CSE work",
        SHARE,
    ),
    Indicator(
        3,
        "high_risk_caseload_share",
        "Share of young people on the caseload at high risk at referral (the rest is "
        "preventative and early work)",
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
    Indicator(4, "spoke_posts_filled", "Spoke posts filled at some time in the year", COUNT),
    Indicator(
        4, "group_sessions", "Group work sessions and talks with children and young people", COUNT
    ),
    Indicator(
        4,
        "group_attendees",
        "Children and young people at group work sessions and talks (attendances)",
        COUNT,
    ),
    Indicator(5, "training_sessions", "Training sessions delivered to professionals", COUNT),
    Indicator(5, "professionals_trained", "Professionals trained", COUNT),
    Indicator(
        5,
        "confidence_change_mean",
        "Mean change in professionals' confidence from before to after training "
        "(self-rated on the day, 1-5)",
        MEAN_CHANGE,
    ),
    Indicator(
        5,
        "training_feedback_response_share",
        "Share of professionals trained who returned feedback with both confidence ratings",
        SHARE,
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
    "posts": ("post_id", "service_id", "start_month", "end_month", "cse_time_share"),
    "returns": _RETURN_COLUMNS,
    "referrals": (*_RETURN_COLUMNS, "referral_source", "referrals"),
    "young_people_counts": (*_RETURN_COLUMNS, "measure", "young_people"),
    "outputs": (*_RETURN_COLUMNS, "output", "count"),
    "case_periods": (
        "person_key",
        "service_id",
        "period",
        "evaluation_year",
        "referral_reason",
        "risk_at_referral",
    ),
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
    "group_sessions": ("service_id", "period", "evaluation_year", "session_id", "attendees"),
}
"""The processed tables (and their columns) the indicators read."""
