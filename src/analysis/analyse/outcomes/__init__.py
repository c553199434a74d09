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
ignored here too, defensively. All functions are pure and deterministic."""

from __future__ import annotations

from analysis.analyse.outcomes.context import (
    expected_periods,
    prepare_tables,
    service_years,
)
from analysis.analyse.outcomes.definitions import (
    CHANGE,
    COLUMNS,
    COUNT,
    HOST_TO_REFERRAL_SOURCE,
    INDICATOR_BY_ID,
    INDICATORS,
    MEAN_CHANGE,
    NO_MEASURE_INSTRUMENTS,
    OPEN_MEASURE_MEANS,
    PROGRAMME_COLUMNS,
    R_FEWER_THAN_TWO,
    R_FIRST_YEAR,
    R_GRANT_NOT_ENDED,
    R_NO_ASSESSMENTS,
    R_NO_BANDS,
    R_NO_CONFIDENCE_PAIRS,
    R_NO_EXTRACT,
    R_NO_FUNDING,
    R_NO_GROUP_RECORDS,
    R_NO_HOST_SOURCE,
    R_NO_MEASURE,
    R_NO_POSTS,
    R_NO_PREVIOUS,
    R_NO_REASON_RECORDED,
    R_NO_REFERRALS,
    R_NO_RETURN,
    R_NO_RETURN_OR_EXTRACT,
    R_NO_RETURN_OR_TRAINING,
    R_NO_RISK_RECORDED,
    R_NO_SPOKE_AREAS,
    R_NO_TRAINED_COUNT,
    R_NO_TRAINING,
    RATIO_UNITS,
    REQUIRED_COLUMNS,
    RISK_ORDER,
    SHARE,
    Indicator,
    r_not_reported,
)
from analysis.analyse.outcomes.indicators import (
    HEADLINE_INDICATORS,
    figures_as_known,
    headline_figures,
    outcome_indicators,
    programme_indicators,
)

__all__ = [
    "CHANGE",
    "COLUMNS",
    "COUNT",
    "HEADLINE_INDICATORS",
    "HOST_TO_REFERRAL_SOURCE",
    "INDICATORS",
    "INDICATOR_BY_ID",
    "Indicator",
    "MEAN_CHANGE",
    "NO_MEASURE_INSTRUMENTS",
    "OPEN_MEASURE_MEANS",
    "PROGRAMME_COLUMNS",
    "RATIO_UNITS",
    "REQUIRED_COLUMNS",
    "RISK_ORDER",
    "R_FEWER_THAN_TWO",
    "R_FIRST_YEAR",
    "R_NO_ASSESSMENTS",
    "R_NO_BANDS",
    "R_GRANT_NOT_ENDED",
    "R_NO_CONFIDENCE_PAIRS",
    "R_NO_GROUP_RECORDS",
    "R_NO_POSTS",
    "R_NO_RISK_RECORDED",
    "R_NO_EXTRACT",
    "R_NO_FUNDING",
    "R_NO_HOST_SOURCE",
    "R_NO_MEASURE",
    "R_NO_PREVIOUS",
    "R_NO_REASON_RECORDED",
    "R_NO_REFERRALS",
    "R_NO_RETURN",
    "R_NO_RETURN_OR_EXTRACT",
    "R_NO_RETURN_OR_TRAINING",
    "R_NO_SPOKE_AREAS",
    "R_NO_TRAINED_COUNT",
    "R_NO_TRAINING",
    "SHARE",
    "expected_periods",
    "figures_as_known",
    "headline_figures",
    "outcome_indicators",
    "prepare_tables",
    "programme_indicators",
    "r_not_reported",
    "service_years",
]
