"""The ``report`` and ``index`` stages: each evaluation year's report and the index of reports."""

from analysis.analyse.report_facts import (  # the figures the report states (analyse/)
    age_band,
    key_figures,
    people_in_year,
    predicted_trajectory,
    returns_expected,
    young_people_supported,
)
from analysis.report.context import (
    ReportSettings,
    YearContext,
    build_context,
    check_analysis_matches,
    version_hashes,
)
from analysis.report.wording import (
    DISPLAY_NAMES,
    EXACT_FIGURES,
    FAMILY_NAMES,
    HTML,
    LABELS,
    NOT_RECORDED,
    PERSON_FREE_INDICATORS,
    SECTIONS,
    UNIT_NOTES,
    disclosure_sentence,
    label,
    outcome_titles,
    slug,
)
from analysis.report.writer import ReportWriter
from analysis.report.year import (
    YearReport,
    headline_snapshot,
    show,
)

__all__ = [
    "age_band",
    "key_figures",
    "people_in_year",
    "predicted_trajectory",
    "returns_expected",
    "young_people_supported",
    "YearContext",
    "build_context",
    "ReportWriter",
    "DISPLAY_NAMES",
    "EXACT_FIGURES",
    "FAMILY_NAMES",
    "HTML",
    "LABELS",
    "NOT_RECORDED",
    "outcome_titles",
    "PERSON_FREE_INDICATORS",
    "ReportSettings",
    "SECTIONS",
    "UNIT_NOTES",
    "YearReport",
    "check_analysis_matches",
    "disclosure_sentence",
    "headline_snapshot",
    "label",
    "show",
    "slug",
    "version_hashes",
]
