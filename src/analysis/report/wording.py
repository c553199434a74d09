"""How the report words and labels things: display names and labels, section titles, notes, number formats and the sentence describing disclosure control."""

from __future__ import annotations

import re

from IPython.display import HTML as _HTML

from analysis.core.framework import load_framework
from analysis.core.labels import LABELS as LABELS  # re-exported: the report's labels
from analysis.core.labels import NOT_RECORDED as NOT_RECORDED
from analysis.core.labels import label as label
from analysis.core.published import check_text


def HTML(text: str) -> _HTML:  # noqa: N802 (IPython's name)
    """Report prose as IPython HTML, refused if a non-finite number is written in it."""
    return _HTML(check_text(text, "report text"))


FAMILY_NAMES: dict[str, str] = {
    "negative_binomial": "negative binomial",
    "quasipoisson": "quasi-Poisson (Poisson with its variance scaled to the data)",
    "poisson": "Poisson",
}
"""How the report names each count model family (the reach model falls back from the
negative binomial to quasi-Poisson when the former cannot be fitted)."""

SECTIONS: tuple[str, ...] = (
    "Summary",
    "Programme status",
    "Referrals and pathways",
    "Who was supported",
    "Activities and outputs",
    "The six outcome measures",
    "Change over time",
    "Fieldwork",
    "Data quality appendix",
    "Methods, assumptions and caveats",
)
"""The report's sections, in order (the browser test checks each is present)."""

REGISTERED_SECTIONS: tuple[str, ...] = (
    "1. Summary",
    "2. Programme status",
    "3. Referrals and pathways",
    "4. Who was supported",
    "5. Activities and outputs",
    "6. The six outcome measures",
    "7. Change over time",
    "8. Fieldwork",
    "9. Data quality appendix",
    "10. Methods, assumptions and caveats",
)
"""Sections whose prose states every number through the registry of published statistics
(``ctx.stats``): the consistency test fails on any untagged number in them
(:func:`analysis.publish.registry.check_page`). Every section's tables are registered."""


DISPLAY_NAMES: dict[str, str] = {
    "estimate": "Estimate",
    "ci_lower": "Lower 95% limit",
    "ci_upper": "Upper 95% limit",
    "rate_ratio": "Rate ratio",
    "rr_ci_lower": "Lower 95% limit",
    "rr_ci_upper": "Upper 95% limit",
    "n": "N",
    "term": "Term",
    "months_since_referral": "Months since referral",
    "event_time": "Quarters since the spoke arrived",
    "group": "Group",
    "service_id": "Service",
    "reason": "Reason",
    "value": "Value",
}
"""Column headings shown to readers for the tables' internal column names."""


def slug(text: str) -> str:
    """A file-name-safe identifier for a table or figure title."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


PERSON_FREE_INDICATORS: frozenset[str] = frozenset(
    {
        "funded_beyond_programme_share",
        "posts_sustained_share",
        "cse_focused_posts_share",
        "spoke_posts_filled",
        "group_sessions",
        "multi_agency_meetings",
        "spoke_areas_reached",
        "spoke_areas_reached_change",
        "training_sessions",
        "professionals_trained",
        "confidence_change_mean",
        "training_feedback_response_share",
    }
)
"""Indicators that count posts, meetings, sessions or professionals, not young people:
shown exactly, without suppression or rounding."""

UNIT_NOTES: dict[str, str] = {
    "confidence_change_mean": "Descriptive self-report: professionals rate their own "
    "confidence on a 1-5 scale before and after a session, on the same day; it does not "
    "measure skill or later practice, and only those who returned feedback are counted "
    "(the response rate is shown with outcome 5). N is the number of professionals with "
    "both ratings.",
    "outcome_score_change_mean": "Change on the common 0-1 score (higher is safer and "
    "better); N is the number of young people with two or more assessments.",
}

EXACT_FIGURES: tuple[str, ...] = (
    "Services active",
    "Spoke areas reached",
    "Spoke posts filled",
    "Returns received",
    "Professionals trained",
    "Training sessions",
)
"""Key figures that are not about young people: shown exactly, never suppressed or rounded,
the same everywhere they appear (the key figures, outcome 5, the index's trend)."""


def outcome_titles() -> dict[int, str]:
    """The six outcome measures' titles, as the evaluation framework words them."""
    return {n: c.title for n, c in load_framework().outcomes.items()}


# ------------------------------------------------------------------------- pure helpers
def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _plural(n: int, one: str, many: str) -> str:
    """``"1 service"`` / ``"3 services"``."""
    return f"{n:,} {one if n == 1 else many}"


def disclosure_sentence(threshold: int, total_rounding: int) -> str:
    """What the report's disclosure control did, for the methods section."""
    if threshold > 0:
        counts = (
            f"counts from 1 to {threshold} in service-level tables\nare shown as [c], with "
            "secondary suppression so that they cannot be worked out from\ntotals"
        )
    else:
        counts = "no counts are suppressed (suppression threshold 0)"
    if total_rounding > 1:
        totals = f"programme totals are rounded to the nearest {total_rounding}"
    else:
        totals = "programme totals are exact"
    shares = (
        "; a\npercentage whose numerator or denominator is suppressed is suppressed."
        if threshold > 0
        else "."
    )
    return f"{counts}; {totals}{shares}"


def term_label(term: str) -> str:
    names = {
        "Intercept": "Intercept",
        "months_since_referral": "Change per month since referral",
        "first_year": "Rate ratio per year, in a spoke's first year of operation",
        "later_years": "Rate ratio per year, after a spoke's first year of operation",
    }
    return names.get(term, term)
