"""Label → code tables and column-header variants of the raw inputs (docs/data-contract.md).

Keys are labels normalised by :func:`analysis.returns.normalise_label`; values are the
processed codes. Header variant tables map normalised headers to canonical column names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

INSTRUMENTS: tuple[str, ...] = ("seraf", "star5", "star10", "risk3", "bespoke", "none")
"""Outcome instruments services use (``none``: the service records no outcome measure)."""

BANDS: tuple[str, ...] = ("low", "medium", "high")
"""Risk bands, lowest first."""

RISK_BAND_WIDTH: float = 1 / 3
"""Each of the three common risk bands spans this much of the harmonised 0-1 score (the
cleaner's mapping cuts the score at 1/3 and 2/3)."""

COUNT_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip
"""English number words the data contract allows in count cells (zero to twenty): services
write them (the synthetic returns do) and the cleaner reads them."""


def count_word(n: int) -> str:
    """A count as prose writes it: ``"two"`` for 2 (zero to twenty), digits above."""
    return COUNT_WORDS[n] if 0 <= n < len(COUNT_WORDS) else str(n)


def _variants(table: dict[str, Iterable[str]]) -> dict[str, str]:
    """``{canonical: [variants]}`` → ``{variant: canonical}`` (canonical maps to itself)."""
    out: dict[str, str] = {}
    for canonical, variants in table.items():
        out[canonical] = canonical
        for v in variants:
            out[v] = canonical
    return out


REFERRAL_SOURCE = _variants(
    {
        "childrens_social_care": ["social_care", "csc"],
        "police": ["police_force"],
        "education": ["education_school", "school"],
        "health": ["nhs_health"],
        "voluntary_youth": ["other_voluntary_youth_service", "voluntary_sector", "youth_service"],
        "self_family": ["self_family_referral", "parent_carer"],
        "other": ["other_agency"],
    }
)
ATTENDEE_AGENCY = _variants(
    {
        "police": [],
        "childrens_social_care": ["social_care"],
        "education": ["school"],
        "health": [],
        "voluntary_youth": ["voluntary_sector"],
        "other": [],
    }
)
GENDER = _variants({"female": ["f"], "male": ["m"], "other": ["non_binary"]})
ETHNICITY = _variants(
    {
        "white_british": [],
        "white_other": [],
        "mixed": ["mixed_multiple_ethnic_groups"],
        "asian": ["asian_or_asian_british"],
        "black": ["black_or_black_british"],
        "other": ["any_other_ethnic_group"],
    }
)
SEXUALITY = _variants(
    {
        "heterosexual": ["straight"],
        "gay_lesbian": ["gay", "lesbian"],
        "bisexual": [],
        "other": [],
    }
)
YES_NO = _variants({"yes": ["y"], "no": ["n"]})
REFERRAL_REASON = _variants(
    {
        "cse": ["child_sexual_exploitation"],
        "going_missing": ["missing"],
        "criminal_exploitation": ["cce"],
        "other": [],
    }
)
RISK = _variants(
    {
        "low": ["category_1", "category_2"],
        "medium": ["category_3"],
        "high": ["category_4"],
    }
)
RISK3 = _variants({"low": [], "medium": [], "high": []})
SERAF_CATEGORY = {f"category_{i}": str(i) for i in range(1, 5)}
CLOSURE_REASON = _variants(
    {
        "planned_end": ["planned_ending", "outcomes_achieved"],
        "disengaged": [],
        "moved_away": ["moved_out_of_area"],
        "transferred": ["transferred_to_another_service"],
        "aged_out": ["turned_18"],
        "other": [],
    }
)
CLOSURE_REASONS: tuple[str, ...] = (
    "planned_end",
    "disengaged",
    "moved_away",
    "transferred",
    "aged_out",
    "other",
)

# ----------------------------------------------------------------- return workbook rows
COVER_FIELDS = _variants(
    {
        "service_id": [],
        "service_name": [],
        "period": [],
        "period_start": [],
        "period_end": [],
        "template_version": [],
        "date_received": [],
    }
)
COVER_REQUIRED = ("service_id", "period", "period_start", "period_end", "template_version",
                  "date_received")  # fmt: skip
MEASURE = _variants({"new": [], "open": [], "closed": []})
MEASURE_V1_HEADERS = {"new_referrals": "new", "total_open": "open", "cases_closed": "closed"}
ACTIVITY = _variants(
    {"direct_work": ["direct_work_sessions"], "group_work": ["group_work_sessions"],
     "consultations": []}
)  # fmt: skip
OUTPUT = _variants(
    {
        "training_sessions": ["training_sessions_delivered"],
        "professionals_trained": [],
        "awareness_events": [],
        "multi_agency_meetings": ["multi_agency_meetings_attended"],
    }
)
TEMPLATE_VERSIONS = ("v1", "v2")
RETURN_SHEETS = ("Cover", "Referrals", "Young people", "Activities", "Outputs")

# ----------------------------------------------------------------- CSV header variants
EXTRACT_COLUMNS = _variants(
    {
        "case_id": ["client_id", "client_ref", "record_number"],
        "post_id": ["spoke_post", "worker_post", "key_worker_post"],
        "date_of_birth": ["dob", "d_o_b"],
        "gender": ["sex"],
        "ethnicity": ["ethnic_origin", "ethnic_group"],
        "sexuality": ["sexual_orientation"],
        "disability": ["disabled"],
        "referral_date": ["date_referred", "date_of_referral"],
        "referral_source": ["source_of_referral", "referred_by"],
        "referral_reason": ["reason_for_referral", "primary_need"],
        "risk_at_referral": ["risk_level_at_referral", "initial_risk"],
        "going_missing": ["missing_episodes", "missing_from_home_care"],
        "looked_after": ["lac", "looked_after_child"],
        "substance_misuse": ["drugs_alcohol"],
        "closure_date": ["date_closed", "end_date"],
        "closure_reason": ["reason_for_closure", "end_reason"],
        "name": ["young_person_name", "full_name"],
        "postcode": ["post_code"],
        "notes": ["case_notes", "comments"],
    }
)
EXTRACT_REQUIRED = (
    "case_id", "date_of_birth", "gender", "ethnicity", "sexuality", "disability",
    "referral_date", "referral_source", "referral_reason", "risk_at_referral",
    "going_missing", "looked_after", "substance_misuse", "closure_date", "closure_reason",
)  # fmt: skip
EXTRACT_DROPPED = ("name", "postcode", "notes")
EXTRACT_OPTIONAL = ("post_id",)
"""Extract columns the contract describes but older extracts may lack (missing when absent)."""

ASSESSMENT_COLUMNS = _variants(
    {
        "case_id": ["client_id", "client_ref", "record_number"],
        "assessment_date": ["date_of_assessment", "date"],
        "instrument": ["tool"],
        "measure": ["item", "area"],
        "value": ["score", "result"],
    }
)
ASSESSMENT_REQUIRED = ("case_id", "assessment_date", "instrument", "measure", "value")
ASSESSMENT_MEASURES: dict[str, tuple[str, ...]] = {
    "seraf": ("total_score", "category"),
    "star5": ("safety", "relationships", "sexual_health", "emotional_wellbeing",
              "education_and_training"),
    "star10": ("safety", "relationships", "sexual_health", "emotional_health", "physical_health",
               "education_and_training", "drugs_and_alcohol"),
    "risk3": ("risk_level",),
    "bespoke": ("wellbeing_score",),
}  # fmt: skip

TRAINING_COLUMNS = _variants(
    {
        "session_id": ["session", "session_ref"],
        "session_date": ["date", "date_of_session"],
        "attendee_agency": ["agency", "organisation_type"],
        "confidence_pre": ["pre_training_confidence", "pre"],
        "confidence_post": ["post_training_confidence", "post"],
    }
)
TRAINING_REQUIRED = ("session_id", "session_date", "attendee_agency", "confidence_pre",
                     "confidence_post")  # fmt: skip

GROUP_COLUMNS = _variants(
    {
        "session_id": ["session_ref", "group_session"],
        "session_date": ["date", "date_of_session"],
        "post_id": ["spoke_post", "worker_post"],
        "setting": ["venue_type", "where_held"],
        "attendees": ["young_people_attending", "number_attending"],
    }
)
GROUP_SETTINGS: tuple[str, ...] = ("school", "youth_group", "other")
"""Where a group session with children and young people took place (codes)."""
GROUP_REQUIRED = ("session_id", "session_date", "post_id", "setting", "attendees")
GROUP_SETTING = _variants(
    {
        "school": ["school_or_college"],
        "youth_group": ["youth_club"],
        "other": ["community_venue"],
    }
)
"""Setting labels of the group-session files -> :data:`GROUP_SETTINGS` codes."""

MANIFEST_COLUMNS = ("file", "kind", "service_id", "period", "version", "received_date")
MANIFEST_KINDS = ("register", "return", "extract", "assessments", "training", "groupwork",
                  "area_panel", "fieldwork")  # fmt: skip
SERVICE_FILE_KINDS = ("return", "extract", "assessments", "training", "groupwork")
"""Manifest kinds of the files each service sends (they carry a received date)."""
SERVICES_COLUMNS = ("service_id", "hub_organisation", "phase", "start_date", "funded_until",
                    "reporting", "instrument")  # fmt: skip
SPOKES_COLUMNS = ("spoke_id", "service_id", "area_code", "area_name", "host_agency",
                  "spoke_workers", "start_date")  # fmt: skip
FUNDING_COLUMNS = ("service_id", "spoke_id", "evaluation_year", "funding_source", "funded_until")
FUNDING_SOURCES = ("programme", "local_authority", "police_crime_commissioner",
                   "health_commissioner", "charitable_trust", "other")  # fmt: skip
AREA_PANEL_COLUMNS = ("area_code", "area_name", "quarter", "cse_concerns", "child_population")
GRANTS_COLUMNS = ("grant_holder", "evaluation_year", "amount_gbp")
"""Columns of ``register/grants.csv``: the programme's grants by holder and year."""
EVALUATION_GRANT = "evaluation"
"""The grant holder code of the evaluation's own grant."""
GRANT_YEARS = ("2013-14", "2014-15", "2015-16", "2016-17", "2017-18", "2018-19")
"""Evaluation years a grant may fall in (phase 3 grants run to December 2018)."""
FIELDWORK_COLUMNS = ("evaluation_year", "phase", "participant_role", "interviews")
PARTICIPANT_ROLES = ("spoke_worker", "hub_manager", "host_agency", "partner_agency",
                     "young_person", "strategic_lead")  # fmt: skip
ROLE_GROUPS: dict[str, str] = {
    "spoke_worker": "programme_staff", "hub_manager": "programme_staff",
    "host_agency": "partner_agency", "partner_agency": "partner_agency",
    "strategic_lead": "partner_agency", "young_person": "young_person",
    "case_study": "case_study",
}  # fmt: skip
"""The role group a fieldwork quote is published under (finer roles would single people
out at a site): programme staff, partner agencies, young people, case studies."""
FIELDWORK_SOURCE_TYPES = ("interview", "case_study")
"""What a fieldwork source is: an interview transcript or a written practice case study."""
POSTS_COLUMNS = ("post_id", "service_id", "spoke_id", "area_code", "host_agency",
                 "qualification", "funding", "co_funder", "recruitment_rounds",
                 "advertised_date", "start_date", "end_date", "cse_time_share")  # fmt: skip
"""Columns of ``register/posts.csv``, the spoke workforce roster."""
QUALIFICATIONS = ("social_work", "youth_work", "health", "other")
POST_FUNDING = ("programme_only", "part_funded")
CO_FUNDERS = ("local_authority", "police_crime_commissioner", "health_commissioner")
"""Statutory bodies that part-fund a spoke post."""
HOST_CO_FUNDER: dict[str, str] = {
    "police": "police_crime_commissioner",
    "childrens_social_care": "local_authority",
    "health": "health_commissioner",
    "multi_agency": "local_authority",
}
"""The statutory body that part-funds (or would part-fund) a post, by its host agency type."""
CO_FUNDER_SOURCE: dict[str, str] = {
    "police_crime_commissioner": "police",
    "local_authority": "childrens_social_care",
    "health_commissioner": "health",
}
"""The referral source of the kind a co-funder asks a part-funded spoke post to take."""
HOST_AGENCY = _variants(
    {"police": [], "childrens_social_care": [], "health": [], "multi_agency": []}
)


# --------------------------------------------------------------------------- display

LABELS: dict[str, str] = {
    "childrens_social_care": "Children's social care",
    "police": "Police",
    "education": "Education",
    "health": "Health",
    "voluntary_youth": "Other voluntary / youth",
    "self_family": "Self / family",
    "other": "Other",
    "multi_agency": "Multi-agency team",
    "new": "New",
    "open": "Open",
    "closed": "Closed",
    "direct_work": "Direct work sessions",
    "group_work": "Group work sessions",
    "consultations": "Consultations",
    "training_sessions": "Training sessions",
    "professionals_trained": "Professionals trained",
    "awareness_events": "Awareness events",
    "multi_agency_meetings": "Multi-agency meetings",
    "female": "Female",
    "male": "Male",
    "white_british": "White British",
    "white_other": "White other",
    "mixed": "Mixed",
    "asian": "Asian",
    "black": "Black",
    "heterosexual": "Heterosexual",
    "gay_lesbian": "Gay / lesbian",
    "bisexual": "Bisexual",
    "yes": "Yes",
    "no": "No",
    "seraf": "SERAF",
    "star5": "Outcomes Star (1-5)",
    "star10": "Outcomes Star (1-10)",
    "risk3": "3-level risk rating",
    "bespoke": "Bespoke form",
    "none": "No repeated measure",
    "social_work": "Social work",
    "youth_work": "Youth work",
    "programme_only": "Programme only",
    "part_funded": "Part-funded by a statutory body",
    "local_authority": "Local authority",
    "police_crime_commissioner": "Police and crime commissioner",
    "health_commissioner": "Health commissioner",
    "school": "School",
    "youth_group": "Youth group",
}
NOT_RECORDED = "Not recorded"
"""How a missing code is shown to readers."""


def label(code: Any) -> str:
    """Plain-English label of a code (shown to readers; unknown codes are spelled out)."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return NOT_RECORDED
    return LABELS.get(str(code), str(code).replace("_", " ").capitalize())
