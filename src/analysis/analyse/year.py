"""One evaluation year's analysis: the six outcome measures and the models of change.

``evaluate_year`` is what the pipeline's ``analyse`` stage runs (through
``notebooks/03_analyse.ipynb``) once per evaluation year. It restricts the cleaned tables to
what that year's report may see (``analysis.vintage``), computes the outcome indicators
(``analysis.outcomes``), fits the models (``analysis.models``) and writes small tidy tables
plus a metrics file. A model that cannot be fitted yet (too few young people with repeat
assessments, no spoke area with a post-arrival quarter...) is recorded as such with the
reason, never as an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse import fieldwork, models, outcomes, reach, to_date, vintage
from analysis.analyse.outcome_evidence import RESCALE, fit_all_people, outcome_evidence
from analysis.analyse.outcome_instruments import instruments_with_follow_up, rounded_frame
from analysis.analyse.rollout import rollout_evidence
from analysis.analyse.verdicts import outcome_verdicts, verdicts_record, with_fieldwork
from analysis.core import calendar as periods
from analysis.core.catalog import (
    HEADLINE,
    INDICATORS,
    MODELS,
    PROGRAMME_INDICATORS,
    PROGRAMME_TO_DATE,
    REVISIONS,
    VERDICTS,
    model_file,
)
from analysis.core.framework import Framework, load_framework
from analysis.core.io import ANALYSED_DATA_FILE, load_tables, write_json, write_parquet
from analysis.core.labels import count_word
from analysis.core.settings import Settings, load_settings

MIN_TREATED_AREAS = 5
"""Fewest spoke areas (and comparison areas) before the rollout effect is estimated: with
fewer, the analytic standard errors of the group-time effects are unreliable."""

MIN_REACH_SPOKE_MONTHS = 24
"""Fewest spoke-months with a post filled before the reach model is fitted."""

MIN_REACH_SERVICES = 5
"""Fewest services before the reach model is fitted: its intervals are clustered by
service, with ``services - 1`` degrees of freedom."""


@dataclass
class ModelOutcome:
    """What one model produced for one year: estimates or the reason there are none."""

    name: str
    fitted: bool
    estimates: pd.DataFrame
    n_units_used: int = 0
    n_units_eligible: int = 0
    n_obs_used: int = 0
    n_obs_eligible: int = 0
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    family: str = ""
    reason: str = ""
    """Why the model could not be fitted (a plain sentence); empty when it was. The words
    describing a fitted model belong to the report (``report/sections/change.py``), not
    to the analysis."""
    reason_values: dict[str, int] = field(default_factory=dict)
    """The rule parameters ``reason`` states, by name: ``reason`` is a template
    (``"fewer than {min_people} young people"``) filled with them, so the report can
    publish each as a registered number rather than find it in the words."""
    pretest: dict[str, Any] | None = None
    checks: dict[str, Any] = field(default_factory=dict)
    """Further numbers about a fitted model's assumptions (the rollout's: pooling, the
    pre-arrival trend test, the band, the bounds, the relative effect and the MDE); only
    finite numbers are kept in the record."""

    def record(self) -> dict[str, Any]:
        """JSON-ready summary (no row-level data).

        The one definition of "not fitted": ``fitted: false`` with a plain ``reason``, and no
        estimates anywhere (empty estimate table, no estimate keys in the metrics), never
        NaN. A fitted model's record carries numbers only.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "fitted": self.fitted,
            "n_units_used": int(self.n_units_used),
            "n_units_eligible": int(self.n_units_eligible),
            "n_obs_used": int(self.n_obs_used),
            "n_obs_eligible": int(self.n_obs_eligible),
            "warnings": list(self.warnings),
        }
        if self.family:
            out["family"] = self.family
        if self.pretest is not None:
            # statistic and p_value only when computable (never NaN); the note says why not
            test = {"df": int(self.pretest["df"]), "note": str(self.pretest["note"])}
            for key in ("statistic", "p_value"):
                if (value := _finite(self.pretest[key])) is not None:
                    test[key] = value
            out["pretest"] = test
        if self.checks:
            out["checks"] = _finite_tree(self.checks)
        if not self.fitted:
            out["reason"] = self.reason.format(**self.reason_values)
            if self.reason_values:
                out["reason_template"] = self.reason
                out["reason_values"] = {k: int(v) for k, v in self.reason_values.items()}
        return out


def _empty_estimates() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "term": pd.Series(dtype="str"),
            "estimate": pd.Series(dtype="float64"),
            "std_error": pd.Series(dtype="float64"),
            "ci_lower": pd.Series(dtype="float64"),
            "ci_upper": pd.Series(dtype="float64"),
        }
    )


def not_fitted(
    name: str, reason: str, *, values: Mapping[str, int] | None = None, **counts: int
) -> ModelOutcome:
    """A model that could not be fitted this year, with the plain-English reason.

    With ``values``, ``reason`` is a template naming the rule parameters it states
    (``"fewer than {min_people} young people"``); without, any braces in it are literal."""
    if values is None:
        reason = reason.replace("{", "{{").replace("}", "}}")
    return ModelOutcome(
        name=name,
        fitted=False,
        reason=reason,
        reason_values=dict(values or {}),
        estimates=_empty_estimates(),
        **counts,
    )


def _assessments(n: int, noun: str = "assessments") -> str:
    """``"two or more assessments"`` for ``n`` = 2."""
    return f"{count_word(n)} or more {noun}"


def trajectory_data(assessments: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Assessments ready for the trajectory model: harmonised score against months since
    referral, with the service's phase and instrument, and the score in the instrument's
    own units (``raw_score``) with its risk band on the instrument's own cut-offs."""
    cols = ["person_key", "service_id", "months_since_referral", "score", "instrument"]
    cols += [c for c in ("raw_score", "risk_band") if c in assessments]
    data = assessments.loc[
        assessments["score"].notna() & assessments["months_since_referral"].notna(), cols
    ]
    data = data.merge(services[["service_id", "phase"]], on="service_id", how="left")
    data = data.astype({"months_since_referral": "float64", "score": "float64"})
    if "raw_score" in data:
        data = data.astype({"raw_score": "float64"})
    return data.sort_values(["person_key", "months_since_referral"], ignore_index=True)


def fit_trajectory(
    data: pd.DataFrame,
    *,
    min_people: int,
    min_assessments: int,
    people: pd.DataFrame | None = None,
) -> ModelOutcome:
    """Average monthly change in the harmonised outcome score (mixed model) with everyone
    who has one or more assessments in the likelihood, fitted once ``min_people`` young
    people have ``min_assessments`` or more; with outcome 6's further evidence
    (:func:`analysis.analyse.outcome_evidence.outcome_evidence`: attrition, closure
    reasons, the tipping point, regression to the mean, own-unit changes and their
    meta-analysis) in ``extra`` and ``checks``. ``people``: the young people table (risk at
    referral, closure reason)."""
    counts = data.groupby("person_key").size() if len(data) else pd.Series(dtype="int64")
    eligible = int((counts >= min_assessments).sum())
    if eligible < min_people:
        return not_fitted(
            "trajectory",
            "Not enough data yet: fewer than {min_people} young people have "
            f"{_assessments(min_assessments, 'outcome assessments')}, too few to estimate "
            "change over time.",
            values={"min_people": min_people},
            n_units_used=0,
            n_units_eligible=int(counts.size),
        )
    data, left_out = instruments_with_follow_up(data, min_people=min_people)
    service = "service_id" if data["service_id"].nunique() > 1 else None
    try:
        result = fit_all_people(data, service=service, min_assessments=1)
    except models.ModelNotFitted as exc:
        return not_fitted("trajectory", exc.reason, n_units_eligible=int(counts.size))
    outcome = _from_result("trajectory", result)
    outcome.warnings += left_out
    tables, checks = outcome_evidence(data, people, result, min_people=min_people)
    outcome.estimates = _programme_slope_row(outcome.estimates, checks["slope"])
    # The common 0-1 score by instrument (a secondary view) follows from each instrument's
    # own-unit change: the rescale is a straight line, so no further fits are needed.
    outcome.extra = {"by_instrument": common_score_by_instrument(data, tables.get("own_units")),
                     **tables}  # fmt: skip
    # Derived from the fit's covariance outside the model result: rounded as the result's
    # own numbers are, so the outputs are byte-identical under any BLAS kernel.
    outcome.estimates = rounded_frame(outcome.estimates)
    outcome.extra = {key: rounded_frame(frame) for key, frame in outcome.extra.items()}
    outcome.checks = checks
    return outcome


def _programme_slope_row(estimates: pd.DataFrame, slope: Mapping[str, float]) -> pd.DataFrame:
    """The published estimates: ``months_since_referral`` is the programme's average
    monthly change (the instruments' slopes weighted by their young people) with its
    small-sample interval; each instrument's own slope is in the own-units table, so the
    interaction terms are not repeated here."""
    out = estimates.loc[~estimates["term"].str.contains(":instrument[", regex=False)].copy()
    row = out["term"] == "months_since_referral"
    for col in ("estimate", "std_error", "ci_lower", "ci_upper"):
        out.loc[row, col] = float(slope[col])
    return out.reset_index(drop=True)


def common_score_by_instrument(data: pd.DataFrame, own: pd.DataFrame | None) -> pd.DataFrame:
    """The common 0-1 score's monthly change by instrument, from each instrument's own-unit
    change (:func:`analysis.analyse.outcome_evidence.instrument_changes`) times the slope of
    its straight-line rescale (:data:`analysis.analyse.outcome_evidence.RESCALE`; SERAF's
    cap at 30 aside), with the mean common score at first assessment as ``intercept``.

    One row per instrument: ``group``, ``intercept``, ``estimate``, ``ci_lower``,
    ``ci_upper``, ``n_people``, ``n_assessments``, ``fitted`` and ``note``."""
    columns = ["group", "intercept", "estimate", "ci_lower", "ci_upper", "n_people",
               "n_assessments", "fitted", "note"]  # fmt: skip
    rows = []
    if own is not None:
        first = data.sort_values("months_since_referral").groupby("person_key").first()
        for row in own.itertuples():
            part = data.loc[data["instrument"] == row.instrument]
            factor = RESCALE.get(row.instrument, float("nan"))
            ends = sorted((row.ci_lower * factor, row.ci_upper * factor))
            rows.append(
                {
                    "group": row.instrument,
                    "intercept": float(
                        first.loc[first["instrument"] == row.instrument, "score"].mean()
                    ),
                    "estimate": row.estimate * factor,
                    "ci_lower": ends[0],
                    "ci_upper": ends[1],
                    "n_people": int(row.people),
                    "n_assessments": len(part),
                    "fitted": bool(row.fitted),
                    "note": str(row.note) if isinstance(row.note, str) else "",
                }
            )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(
        {
            "group": "str",
            "intercept": "float64",
            "estimate": "float64",
            "ci_lower": "float64",
            "ci_upper": "float64",
            "n_people": "int64",
            "n_assessments": "Int64",
            "fitted": "bool",
            "note": "str",
        }  # fmt: skip
    )


def reach_data(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """New young people, filled post-months and group work per spoke and month, from the
    spoke's first month of operation to the end of ``year``
    (:func:`analysis.analyse.reach.spoke_month_table`)."""
    return reach.spoke_month_table(tables, year)


def fit_reach(data: pd.DataFrame, *, unplaced: Mapping[str, int] | None = None) -> ModelOutcome:
    """How reach grows as a spoke's posts mature: rate ratios of new young people per
    filled post-month per year of operation, in the first year and after it (the spline
    of :func:`analysis.analyse.models.spoke_reach_model`), with intervals clustered by
    service.

    Besides the estimates: ``by_spoke_year`` (individual and group reach by spoke and year
    of operation), ``by_year`` (the programme's, by year of operation) and ``spoke_months``
    (the data with the fitted values, for the diagnostics). ``unplaced`` (from
    :func:`analysis.analyse.reach.unplaced`) goes into the record's checks.
    """
    n_services = int(data["service_id"].nunique()) if len(data) else 0
    n_spokes = int(data["spoke_id"].nunique()) if len(data) else 0
    by_spoke = reach.reach_by_spoke_year(data)
    extra = {"by_spoke_year": by_spoke, "by_year": reach.reach_by_year_of_operation(by_spoke)}
    checks: dict[str, Any] = {"unplaced": dict(unplaced or {})}
    if len(data) < MIN_REACH_SPOKE_MONTHS or n_services < MIN_REACH_SERVICES:
        outcome = not_fitted(
            "reach",
            "Not enough data yet: modelling how reach grows as spoke posts mature needs at "
            "least {min_spoke_months} spoke-months with a post filled, from "
            f"{count_word(MIN_REACH_SERVICES)} or more services (the intervals are clustered "
            "by service).",
            values={"min_spoke_months": MIN_REACH_SPOKE_MONTHS},
            n_units_eligible=n_spokes,
            n_obs_eligible=len(data),
        )
        outcome.extra, outcome.checks = extra, checks
        return outcome
    try:
        result = models.spoke_reach_model(data)
    except models.ModelNotFitted as exc:
        outcome = not_fitted(
            "reach", exc.reason, n_units_eligible=n_spokes, n_obs_eligible=len(data)
        )
        outcome.extra, outcome.checks = extra, checks
        return outcome
    outcome = _from_result("reach", result)
    outcome.family = "poisson_cluster_robust"
    fitted = np.asarray(result.results.fittedvalues, dtype=float)
    used = data.loc[data["post_months"] > 0]
    used = used.loc[used.groupby("spoke_id")["new_young_people"].transform("sum") > 0]
    extra["spoke_months"] = used.assign(fitted=np.round(fitted, 6)).reset_index(drop=True)
    outcome.extra = extra
    checks.update(
        services=int(result.n_clusters),
        df=int(result.df),
        pearson_dispersion=float(result.pearson_dispersion),
        knot_years=float(models.REACH_KNOT_YEARS),
    )
    outcome.checks = checks
    return outcome


def rollout_panel(area_panel: pd.DataFrame, areas: pd.DataFrame, year: str) -> pd.DataFrame:
    """Area × quarter panel up to the end of ``year`` with each area's cohort."""
    end = periods.year_bounds(year)[1]
    panel = area_panel.loc[pd.to_datetime(area_panel["quarter_start"]) <= pd.Timestamp(end)]
    panel = panel.merge(areas[["area_code", "cohort_quarter"]], on="area_code", how="left")
    last = int(panel["quarter_index"].max()) if len(panel) else 0
    # A cohort treated after the window is, within this window, never treated.
    cohort = panel["cohort_quarter"].fillna(0).astype("int64")
    panel = panel.assign(cohort_quarter=cohort.where(cohort <= last, 0))
    return panel.sort_values(["area_code", "quarter_index"], ignore_index=True)


def fit_rollout(panel: pd.DataFrame) -> ModelOutcome:
    """Effect of a spoke's arrival on CSE concerns identified (Callaway & Sant'Anna, small
    cohorts pooled within their phase), with the evidence around it
    (:func:`analysis.analyse.rollout.rollout_evidence`): R did's Wald pre-test
    (``pretest``: not computable, with the reason in its note, when the pre-treatment cells
    are collinear), the pre-arrival trend test, the simultaneous band, HonestDiD's
    relative-magnitudes bounds, the relative effect and the minimum detectable effect
    (``checks`` in the model's record), the event study (``att_dynamic``) and the
    sensitivity table (``sensitivity``)."""
    areas = panel.drop_duplicates("area_code")
    treated = int((areas["cohort_quarter"] > 0).sum())
    controls = int((areas["cohort_quarter"] == 0).sum())
    last = int(panel["quarter_index"].max()) if len(panel) else 0
    post = panel.loc[panel["cohort_quarter"] > 0]
    post_quarters = int((post["quarter_index"] >= post["cohort_quarter"]).sum())
    if treated < MIN_TREATED_AREAS or controls < MIN_TREATED_AREAS or post_quarters < 2 * treated:
        return not_fitted(
            "rollout",
            "Not enough data yet: the effect of spoke arrival needs at least "
            "{min_areas} spoke areas observed for two or more quarters after their "
            "spoke arrived, and as many areas without a spoke, by quarter {last_quarter} of "
            "the panel.",
            values={"min_areas": MIN_TREATED_AREAS, "last_quarter": last},
            n_units_eligible=int(len(areas)),
        )
    evidence = rollout_evidence(panel)
    simple = evidence.simple
    if not models.all_finite(simple.overall_att, simple.overall_se):
        return not_fitted(
            "rollout",
            "The rollout effect could not be estimated: its standard error is not finite "
            "(the comparison has no variation to measure uncertainty from).",
            n_units_eligible=int(len(areas)),
        )
    outcome = _from_result("rollout", simple)
    outcome.warnings = list(evidence.warnings)
    outcome.pretest = models.pretest_parallel_trends(evidence.att)
    outcome.checks = evidence.checks
    outcome.extra = {
        "att_gt": evidence.att.table.reset_index(drop=True),
        "att_dynamic": evidence.dynamic,
        "sensitivity": evidence.sensitivity,
    }
    return outcome


def _from_result(name: str, result: models.ModelResult) -> ModelOutcome:
    """A fitted model's estimates, counts and warnings for the year's outputs."""
    return ModelOutcome(
        name=name,
        fitted=True,
        estimates=result.estimates.reset_index(drop=True),
        n_units_used=int(result.n_units_used),
        n_units_eligible=int(result.n_units_eligible),
        n_obs_used=int(result.n_obs_used),
        n_obs_eligible=int(result.n_obs_eligible),
        warnings=list(result.warnings),
    )


def _finite_tree(value: Any) -> Any:
    """A JSON-ready copy of nested checks: floats rounded by :func:`_finite`, and keys whose
    number is not finite left out (the record never holds NaN)."""
    if isinstance(value, dict):
        out = {str(k): _finite_tree(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_finite_tree(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _finite(value)
    return value


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 6) if math.isfinite(number) else None


METRIC_FIGURES: tuple[str, ...] = (
    "young_people_supported",
    "group_attendees",
    "referrals",
    "professionals_trained",
    "training_sessions",
    "services_active",
    "spoke_areas_reached",
    "spoke_posts_filled",
)
"""The headline figures kept in ``metrics/<year>.json`` (the index's trend reads them).

The metrics file is what ``dvc metrics show``, ``dvc metrics diff`` and ``dvc exp show``
compare, one column per key, so it holds only these counts and the main estimates: every
other headline figure (shares, the number of services behind each figure...) is in the
year's ``headline.json`` and report."""


def model_metrics(fitted: dict[str, ModelOutcome]) -> dict[str, Any]:
    """The main estimates as a flat dict for ``dvc metrics show``.

    ``<model>_fitted`` is always there; estimate keys only for a fitted model and only
    for finite values (a model that was not fitted has no estimate keys, never NaN). The
    number of units each model used is in ``models.json``.
    """
    out: dict[str, Any] = {}
    picks = {"trajectory": "months_since_referral", "reach": "first_year", "rollout": None}
    for name, model in fitted.items():
        out[f"{name}_fitted"] = model.fitted
        if not model.fitted or model.estimates.empty:
            continue
        est = model.estimates
        term = picks.get(name)
        row = est.loc[est["term"] == term] if term and "term" in est else est.iloc[:1]
        if row.empty:
            row = est.iloc[:1]
        first = row.iloc[0]
        for col in ("estimate", "ci_lower", "ci_upper", "rate_ratio", "rr_ci_lower", "rr_ci_upper"):
            if col in first.index and _finite(first[col]) is not None:
                out[f"{name}_{col}"] = _finite(first[col])
    return out


def model_evidence(framework: Framework, name: str) -> dict[str, Any]:
    """A model's strength of evidence and its assumptions, from the framework."""
    entry = framework.models.get(name)
    if entry is None:
        return {"evidence": "descriptive", "assumptions": []}
    return {"evidence": entry.evidence, "assumptions": list(entry.assumptions)}


def year_arguments(settings: Settings) -> dict[str, int]:
    """The arguments :func:`evaluate_year` takes from the settings (``params.yaml``)."""
    return {
        "cutoff_days": settings.report.cutoff_days_after_year_end,
        "min_people": settings.model.min_people_for_trajectory,
        "min_assessments": settings.model.min_assessments_per_person,
    }


def evaluate_year(
    processed_dir: Path,
    year: str,
    *,
    out_dir: Path,
    cutoff_days: int,
    min_people: int,
    min_assessments: int,
    metrics_file: Path | None = None,
    framework: Framework | None = None,
) -> dict[str, Any]:
    """Run one evaluation year's outcome measures and models and write their tables.

    ``framework`` (default: ``evaluation-framework.yaml``) rates the six outcomes
    (``verdicts.json``) and labels each model with its strength of evidence and
    assumptions (``models.json``). Returns the metrics written (``METRIC_FIGURES`` and
    the main estimates).
    """
    framework = framework or load_framework()
    periods.parse_year(year)  # validates the label
    tables = load_tables(Path(processed_dir))
    seen = vintage.tables_as_of(tables, year, periods.cutoff_date(year, cutoff_days))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    indicators = outcomes.outcome_indicators(seen, year)
    programme = outcomes.programme_indicators(indicators)
    headline = outcomes.headline_figures(seen, year, indicators=indicators)
    write_parquet(indicators, out_dir / INDICATORS)
    write_parquet(programme, out_dir / PROGRAMME_INDICATORS)
    verdicts = outcome_verdicts(programme, year, framework)
    evidence = fieldwork.fieldwork_evidence(
        seen,
        year,
        programme,
        [v.record() for v in verdicts],
        fieldwork.indicators_of(framework),
        load_settings().fieldwork,
    )
    write_json(
        verdicts_record(with_fieldwork(verdicts, evidence["joint_displays"]), framework, year),
        out_dir / VERDICTS,
    )
    fieldwork.write_evidence(evidence, out_dir)
    write_parquet(to_date.to_date_table(seen, year), out_dir / PROGRAMME_TO_DATE)

    year_assessments = seen["assessments"]
    spoke_months = reach_data(seen, year)
    fitted = {
        "trajectory": fit_trajectory(
            trajectory_data(year_assessments, seen["services"]),
            min_people=min_people,
            min_assessments=min_assessments,
            people=seen.get("young_people"),
        ),
        "reach": fit_reach(spoke_months, unplaced=reach.unplaced(seen, year, spoke_months)),
        "rollout": fit_rollout(rollout_panel(seen["area_panel"], seen["areas"], year)),
    }
    for name, model in fitted.items():
        write_parquet(model.estimates, out_dir / model_file(name))
        for key, frame in model.extra.items():
            write_parquet(frame, out_dir / model_file(name, key))
    write_json(
        {name: {**m.record(), **model_evidence(framework, name)} for name, m in fitted.items()},
        out_dir / MODELS,
    )

    figures = {k: headline[k] for k in METRIC_FIGURES if k in headline}
    metrics = {"year": year, **figures, **model_metrics(fitted)}
    metrics = {
        k: (_finite(v) if isinstance(v, float | np.floating) else v) for k, v in metrics.items()
    }
    metrics = {k: v for k, v in metrics.items() if v is not None}
    write_json(headline, out_dir / HEADLINE)
    write_json(outcomes.figures_as_known(programme, year), out_dir / REVISIONS)
    # What these results were computed on: a report refuses an analysis of other data.
    write_json(
        {"year": year, "data_hash": vintage.vintage_hash(seen)}, out_dir / ANALYSED_DATA_FILE
    )
    if metrics_file is not None:
        write_json(metrics, Path(metrics_file))
    return metrics
