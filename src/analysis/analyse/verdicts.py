"""Verdicts on the six outcome measures, by the rules of the evaluation framework.

Each outcome is rated on its primary indicator (``evaluation-framework.yaml``):

* **too early to tell** before the framework's first rated year, or when the data cannot
  support a rating: fewer services with a figure than ``min_services``, a smaller share
  of the services owing one than ``min_completeness``, or a share or mean over fewer than
  ``min_denominator`` people, posts or professionals (the reason says which);
* otherwise **met** at or above the criterion's ``met`` threshold, **partly met** at or
  above ``partly``, and **not met** below it.

The verdict records numbers, the rule's inputs and the evidence label; the report words
them (:mod:`analysis.report.sections.summary`). Pure functions of the programme indicator
table, deterministic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd

from analysis.core.calendar import parse_year, previous_year
from analysis.core.framework import Criterion, Framework


@dataclass(frozen=True)
class Verdict:
    """The rating of one outcome measure for one year, with what it rests on."""

    outcome: int
    title: str
    rating: str
    primary: str
    value: float | None
    numerator: float | None
    denominator: float | None
    previous_value: float | None
    services_with_value: int
    services_owing: int
    completeness: float | None
    evidence: str
    reason: str
    met: float
    partly: float
    unit: str
    fieldwork: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        """JSON-ready: a number that does not exist is left out, never NaN or null."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def rate(value: float, criterion: Criterion) -> str:
    """``met``, ``partly met`` or ``not met`` for a value on the criterion's scale."""
    if value >= criterion.met:
        return "met"
    if value >= criterion.partly:
        return "partly met"
    return "not met"


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    number = float(value)
    return round(number, 6) if math.isfinite(number) else None


def rate_outcome(
    criterion: Criterion,
    framework: Framework,
    year: str,
    row: pd.Series | None,
    previous: pd.Series | None = None,
) -> Verdict:
    """The verdict on one outcome for ``year`` from its primary indicator's programme row
    (``row``; ``previous`` is the same indicator's row for the year before, used by
    criteria on relative change). Missing rows rate "too early to tell"."""
    with_value = int(row["services_with_value"]) if row is not None else 0
    owing = with_value + (int(row["services_with_reason"]) if row is not None else 0)
    completeness = with_value / owing if owing else None
    value = _number(row["value"]) if row is not None else None
    numerator = _number(row["numerator"]) if row is not None else None
    denominator = _number(row["denominator"]) if row is not None else None
    before = _number(previous["value"]) if previous is not None else None
    scored = value
    if criterion.unit == "relative change":
        scored = (value - before) / before if value is not None and before else None
    reason = ""
    if parse_year(year) < parse_year(framework.first_rated_year):
        reason = (
            f"the framework rates outcomes from {framework.first_rated_year}; services had "
            "run for under a year"
        )
    elif row is None or value is None:
        reason = "no service has a figure for the primary indicator"
    elif with_value < framework.min_services:
        reason = f"fewer than {framework.min_services} services have a figure"
    elif completeness is not None and completeness < framework.min_completeness:
        reason = f"fewer than {framework.min_completeness:.0%} of services have a figure"
    elif criterion.unit in ("share", "mean change") and (
        denominator is None or denominator < framework.min_denominator
    ):
        reason = f"the figure rests on fewer than {framework.min_denominator} cases"
    elif scored is None:
        reason = f"no figure for {previous_year(year)} to compare with"
    rating = "too early to tell" if reason else rate(scored, criterion)  # type: ignore[arg-type]
    return Verdict(
        outcome=criterion.outcome,
        title=criterion.title,
        rating=rating,
        primary=criterion.primary,
        value=_number(scored) if criterion.unit == "relative change" else value,
        numerator=numerator if criterion.unit != "relative change" else value,
        denominator=denominator if criterion.unit != "relative change" else before,
        previous_value=before,
        services_with_value=with_value,
        services_owing=owing,
        completeness=_number(completeness),
        evidence=criterion.evidence,
        reason=reason,
        met=criterion.met,
        partly=criterion.partly,
        unit=criterion.unit,
    )


def outcome_verdicts(programme: pd.DataFrame, year: str, framework: Framework) -> list[Verdict]:
    """The six verdicts for ``year`` from the programme indicator table (every year up to
    ``year``, as :func:`analysis.analyse.outcomes.programme_indicators` gives it)."""
    rows = programme.set_index(["evaluation_year", "indicator"])
    out = []
    for criterion in framework.outcomes.values():
        key, before = (year, criterion.primary), (previous_year(year), criterion.primary)
        row = rows.loc[key] if key in rows.index else None
        prev = rows.loc[before] if before in rows.index else None
        out.append(rate_outcome(criterion, framework, year, row, prev))
    return out


def with_fieldwork(verdicts: list[Verdict], displays: list[Any]) -> list[Verdict]:
    """The verdicts with their qualitative evidence beside the rating: from each outcome's
    joint display (:class:`analysis.analyse.fieldwork.JointDisplay`), the sources and sites
    that raised the outcome's theme, whether it agrees with the rating, and the evidence
    label ``qualitative``. The rating itself stays the framework's criterion's."""
    by_outcome = {d.outcome: d for d in displays}
    out = []
    for v in verdicts:
        d = by_outcome.get(v.outcome)
        if d is None or d.sources == 0:
            out.append(v)
            continue
        out.append(replace(v, fieldwork={
            "evidence": d.evidence, "sources": d.sources, "raised": d.raised,
            "sites": d.sites, "sites_raised": d.sites_raised, "qualitative": d.qualitative,
            "agreement": d.agreement,
        }))  # fmt: skip
    return out


def verdicts_record(verdicts: list[Verdict], framework: Framework, year: str) -> dict[str, Any]:
    """What ``verdicts.json`` holds: the framework version used, and each verdict."""
    used = framework.version_for(year)
    before = framework.version_for(previous_year(year))
    return {
        "year": year,
        "framework_version": used.version,
        "first_rated_year": framework.first_rated_year,
        "criteria_changed_since_previous": used.version != before.version,
        "changes": used.changes if used.version != before.version else "",
        "verdicts": [v.record() for v in verdicts],
    }
