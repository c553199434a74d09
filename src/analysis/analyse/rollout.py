"""The rollout's effect on CSE identification, with the evidence around it.

:func:`rollout_evidence` is what the analyse stage computes for the rollout model (through
``year.fit_rollout``), as numbers only (the words are the report's):

* **The estimand.** Cohorts of fewer than :data:`~analysis.analyse.models.MIN_COHORT_UNITS`
  areas are pooled into the first cohort of their programme phase
  (:func:`~analysis.analyse.models.pool_small_cohorts`): a pooled cohort's effect is an
  intention-to-treat effect dated from the phase's first arrival. The headline is the simple
  average effect over the post-arrival area-quarters (R ``did::aggte(type = "simple")``),
  with never-treated comparison areas.
* **The event study over the full window** on a universal base period (every quarter
  compared with the quarter before arrival, which is 0 by definition), with its
  simultaneous 95% band (multiplier bootstrap, sup-t).
* **Checks of the assumptions:** R did's Wald pre-test; a pre-specified test of the
  pre-arrival trend (:data:`PRE_TREND_QUARTERS` quarters before arrival, the slope with an
  intercept of the event study over those quarters and the reference, as an accumulated
  change); the relative-magnitudes bounds of Rambachan and Roth (HonestDiD, ``Mbar = 1``) for the headline.
* **Size:** the effect relative to the spoke areas' pre-arrival mean and the minimum
  detectable effect (80% power, 5% two-sided test).
* **The sensitivity table** (:data:`SENSITIVITY_ANALYSES`): not-yet-treated comparison,
  anticipation of one and two quarters, rates per 10,000 children, doubly robust with the
  (log) child population as covariate, cohorts as dated (no pooling), and the bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.analyse import models
from analysis.analyse.models.did_honest import (
    HONEST_MBAR,
    event_study_inputs,
    honest_event_study,
    simple_event_weights,
)
from analysis.analyse.models.results import Z95, round_significant
from analysis.core.calendar import PHASE_STARTS, quarter_index_of

PRE_TREND_QUARTERS: int = 8
"""Quarters before arrival over which the pre-arrival trend is tested and the bounds take
the worst pre-arrival violation (two years: the window the evaluation's own reports used)."""

MDE_POWER: float = 0.8
"""Power at which the minimum detectable effect is stated (two-sided 5% test)."""

RATE_PER: int = 10_000
"""Rates are CSE concerns per this many children (the DfE's convention)."""

SENSITIVITY_ANALYSES: tuple[str, ...] = (
    "main",
    "not_yet_treated",
    "anticipation_1",
    "anticipation_2",
    "rate_per_10k",
    "doubly_robust_covariates",
    "cohorts_as_dated",
    "relative_magnitudes",
)
"""The rows of the sensitivity table, in order (the report words each one)."""

_COLUMNS = dict(unit="area_code", time="quarter_index", cohort="cohort_quarter")


def phase_start_quarters() -> list[int]:
    """Panel quarter indices at which the programme's three phases began."""
    return [quarter_index_of(day) for day in PHASE_STARTS]


@dataclass
class RolloutEvidence:
    """Everything :func:`rollout_evidence` computes (numbers only)."""

    att: models.StaggeredATTResult
    simple: models.AggregateATTResult
    dynamic: pd.DataFrame
    sensitivity: pd.DataFrame
    checks: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def pooled_panel(panel: pd.DataFrame) -> models.PooledCohorts:
    """The panel with cohorts below the minimum pooled within their phase."""
    return models.pool_small_cohorts(
        panel, unit="area_code", cohort="cohort_quarter", phase_starts=phase_start_quarters()
    )


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return float(round_significant(number)) if math.isfinite(number) else None


def pre_trend_test(
    dynamic: models.AggregateATTResult, quarters: int = PRE_TREND_QUARTERS
) -> dict[str, Any]:
    """Pre-specified test of a trend before arrival: the least-squares slope, with an
    intercept, of the universal-base event study over the ``quarters`` quarters before the
    reference quarter and the reference itself (e = -1 - ``quarters`` .. -1; the reference
    is zero by definition), stated as the accumulated change over those quarters
    (``quarters * slope``: how much more spoke areas' identification rose than the
    comparison areas' in the run-up to arrival), with its influence-function standard
    error and a two-sided normal test.

    The intercept makes the slope the same whichever pre-arrival quarter is the reference:
    every universal-base coefficient shares the reference quarter's noise, and a line
    forced through the reference would carry that noise into the slope (about twice the
    variance over eight quarters). Uses the available pre-arrival quarters when fewer exist
    (``quarters_used``, the reference not counted); ``estimate`` is absent when fewer than
    two do."""
    egt = dynamic.table["egt"].to_numpy(dtype=float)
    att = dynamic.table["att"].to_numpy(dtype=float)
    use = (egt < -1) & (egt >= -1 - quarters) & np.isfinite(att)
    out: dict[str, Any] = {"quarters": int(quarters), "quarters_used": int(use.sum())}
    if use.sum() < 2:
        return out
    x = np.append(egt[use] + 1.0, 0.0)  # quarters from the reference, the reference last
    centred = x - x.mean()
    weights = (centred / float(centred @ centred))[:-1]  # the reference's value is 0
    span = float(use.sum())
    estimate = span * float(weights @ att[use])
    inf = dynamic.influence_egt[:, use] @ (span * weights)
    n = len(inf)
    se = math.sqrt(float(inf @ inf)) / n if n else float("nan")
    if not (math.isfinite(se) and se > 0):
        return out
    est = float(round_significant(estimate))
    se = float(round_significant(se))
    out.update(
        estimate=est,
        std_error=se,
        ci_lower=float(round_significant(est - Z95 * se)),
        ci_upper=float(round_significant(est + Z95 * se)),
        p_value=float(round_significant(2 * stats.norm.sf(abs(est / se)))),
    )
    return out


def _sensitivity_fits(panel: pd.DataFrame) -> dict[str, Callable[[], models.StaggeredATTResult]]:
    """One closure per re-estimation of the sensitivity table (pooled cohorts unless said)."""
    pooled = pooled_panel(panel).panel
    if "child_population" in pooled:
        population = pd.to_numeric(pooled["child_population"], errors="coerce").clip(lower=1)
        rate = pooled.assign(
            rate=pooled["cse_concerns"] / population * RATE_PER,
            log_child_population=np.log(population),
        )
    else:
        rate = None

    def att(data: pd.DataFrame | None, outcome: str = "cse_concerns", **kw: Any):
        def fit() -> models.StaggeredATTResult:
            if data is None:
                raise ValueError("the area panel has no child population")
            return models.staggered_att(data, outcome=outcome, **_COLUMNS, **kw)

        return fit

    return {
        "not_yet_treated": att(pooled, control="not_yet_treated"),
        "anticipation_1": att(pooled, anticipation=1),
        "anticipation_2": att(pooled, anticipation=2),
        "rate_per_10k": att(rate, outcome="rate"),
        "doubly_robust_covariates": att(
            rate, covariates=("log_child_population",), est_method="dr"
        ),
        "cohorts_as_dated": att(panel),
    }


def _row(analysis: str, result: models.AggregateATTResult | None, note: str = "") -> dict:
    if result is None or not models.all_finite(result.overall_att, result.overall_se):
        return {"analysis": analysis, "estimable": False, "note": note or "not estimable"}
    est, se = float(result.overall_att), float(result.overall_se)
    return {
        "analysis": analysis,
        "estimable": True,
        "estimate": est,
        "std_error": se,
        "ci_lower": float(round_significant(est - Z95 * se)),
        "ci_upper": float(round_significant(est + Z95 * se)),
        "n_areas": int(result.n_units_used),
        "note": note,
    }


def sensitivity_table(
    panel: pd.DataFrame, main: models.AggregateATTResult, bounds: dict[str, Any]
) -> pd.DataFrame:
    """The sensitivity table: one row per :data:`SENSITIVITY_ANALYSES` entry with
    ``estimate, std_error, ci_lower, ci_upper, id_lower, id_upper, n_areas, estimable``
    (a re-estimation that fails is kept as a row with ``estimable`` false and the reason
    in ``note``, never dropped)."""
    rows = [_row("main", main)]
    for name, fit in _sensitivity_fits(panel).items():
        try:
            rows.append(_row(name, models.aggregate_att(fit(), "simple")))
        except (ValueError, np.linalg.LinAlgError) as exc:
            rows.append(_row(name, None, str(exc)))
    if "lower" in bounds:
        rows.append(
            {
                "analysis": "relative_magnitudes",
                "estimable": True,
                "estimate": main.overall_att,
                "std_error": float("nan"),
                "ci_lower": bounds["lower"],
                "ci_upper": bounds["upper"],
                "id_lower": bounds["id_lower"],
                "id_upper": bounds["id_upper"],
                "n_areas": int(main.n_units_used),
                "note": "",
            }
        )
    else:
        rows.append(_row("relative_magnitudes", None, bounds.get("note", "not estimable")))
    frame = pd.DataFrame(rows)
    for col in ("estimate", "std_error", "ci_lower", "ci_upper", "id_lower", "id_upper"):
        if col not in frame:
            frame[col] = np.nan
    frame["n_areas"] = frame.get("n_areas", pd.Series(dtype="float64")).fillna(0)
    frame = frame.astype(
        {
            "analysis": "str",
            "estimable": "bool",
            "estimate": "float64",
            "std_error": "float64",
            "ci_lower": "float64",
            "ci_upper": "float64",
            "id_lower": "float64",
            "id_upper": "float64",
            "n_areas": "int64",
            "note": "str",
        }
    )
    cols = ["analysis", "estimable", "estimate", "std_error", "ci_lower", "ci_upper",
            "id_lower", "id_upper", "n_areas", "note"]  # fmt: skip
    return frame[cols].reset_index(drop=True)


def relative_magnitude_bounds(
    att: models.StaggeredATTResult, quarters: int = PRE_TREND_QUARTERS
) -> dict[str, Any]:
    """HonestDiD's relative-magnitudes bounds (``Mbar = 1``) for the simple effect, the
    worst pre-arrival violation taken over the ``quarters`` quarters before arrival."""
    try:
        window = models.aggregate_att(att, "dynamic", min_e=-1 - quarters)
        inputs = event_study_inputs(window)
        weights = simple_event_weights(att, inputs.event_times[inputs.num_pre :])
        bounds = honest_event_study(window, l_vec=weights, mbar=HONEST_MBAR)
    except ValueError as exc:
        return {"mbar": HONEST_MBAR, "note": str(exc)}
    return {
        "mbar": bounds.mbar,
        "pre_quarters": int(bounds.num_pre),
        "post_quarters": int(bounds.num_post),
        "lower": bounds.lower,
        "upper": bounds.upper,
        "id_lower": bounds.id_lower,
        "id_upper": bounds.id_upper,
        "max_pre_move": bounds.max_pre_move,
        "excludes_zero": bounds.excludes_zero,
        "notes": list(bounds.notes),
    }


def small_sample_factor(areas: np.ndarray | float) -> np.ndarray:
    """Few-clusters correction of a normal critical value: ``t(G - 1) / z`` at 95%, ``G``
    the spoke areas behind an estimate (Cameron and Miller 2015's t(G-1) rule for
    cluster-robust inference with few clusters). Undefined (NaN) below two areas."""
    g = np.asarray(areas, dtype=float)
    with np.errstate(invalid="ignore"):
        out = stats.t.ppf(0.975, g - 1) / Z95
    return np.where(g >= 2, out, np.nan)


def event_study_table(
    dynamic: models.AggregateATTResult, att: models.StaggeredATTResult
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The event study over the full window, with small-sample corrected intervals.

    Pointwise 95% intervals use ``t(G_e - 1)`` quantiles, ``G_e`` the spoke areas behind
    event time e (``areas``); the simultaneous band is the multiplier-bootstrap sup-t band
    with its critical value scaled by :func:`small_sample_factor` of the fewest areas
    behind any event time in it (event times behind fewer than
    :data:`~analysis.analyse.models.MIN_COHORT_UNITS` areas are left out of the band). Both
    are conservative by design: without the correction, on the programme's simulated
    worlds the band covered the whole path in 78% of seeds and the pointwise intervals of
    the latest event times (one phase's areas) 87-89%. The reference quarter (e = -1) is a
    row with ``reference`` true and no interval. Returns the table and the band's
    numbers (corrected and bootstrap critical values, fewest areas, draws)."""
    band = models.simultaneous_band(dynamic)
    tab = dynamic.table.reset_index(drop=True)
    cells = att.table
    areas = cells.loc[cells["att"].notna()].groupby("event_time")["n_treated"].sum()
    egt = tab["egt"].to_numpy(dtype=float)
    g = pd.Series(egt).map(areas).fillna(0).to_numpy(dtype=float)
    reference = (tab["se"].isna() & (tab["att"] == 0)).to_numpy()
    est = tab["att"].to_numpy(dtype=float)
    se = tab["se"].to_numpy(dtype=float)
    r = round_significant
    half = Z95 * small_sample_factor(g) * se
    in_band = (
        (~reference)
        & (g >= models.MIN_COHORT_UNITS)
        & np.isfinite(band.table["se"].to_numpy(dtype=float))
    )
    factor = float(small_sample_factor(g[in_band].min())) if in_band.any() else float("nan")
    critical = float(r(band.critical_value * factor)) if in_band.any() else float("nan")
    band_se = band.table["se"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "egt": tab["egt"].astype("int64"),
            "att": est,
            "se": se,
            "ci_lower": r(est - half),
            "ci_upper": r(est + half),
            "band_lower": np.where(in_band, r(est - critical * band_se), np.nan),
            "band_upper": np.where(in_band, r(est + critical * band_se), np.nan),
            "areas": g.astype("int64"),
            "reference": reference,
        }
    )
    info = {
        "critical_value": critical,
        "bootstrap_critical_value": float(band.critical_value),
        "fewest_areas": int(g[in_band].min()) if in_band.any() else 0,
        "draws": int(band.draws),
    }
    return out, info


PRE_TEST_ALPHA: float = 0.05
"""Level of the pre-arrival checks (the trend test; the band is a 95% band)."""


def assumption_flags(
    pre_trend: dict[str, Any], event_study: pd.DataFrame, bounds: dict[str, Any]
) -> dict[str, Any]:
    """The rule that turns the checks into flags (the report's wording and the validation
    both use it):

    * ``pre_trend``: the pre-arrival trend test rejects at :data:`PRE_TEST_ALPHA`;
    * ``band_before_arrival``: the simultaneous band excludes zero at some quarter before
      arrival (``band_quarters_outside`` lists them);
    * ``pre_test``: either of the two (parallel trends look violated before arrival);
    * ``bounds_include_zero``: the relative-magnitudes interval includes zero, so
      violations no larger than the worst pre-arrival one could explain the whole effect
      (absent when the bounds could not be computed).
    """
    trend = bool(pre_trend.get("p_value", 1.0) < PRE_TEST_ALPHA)
    before = event_study.loc[(event_study["egt"] < -1) & ~event_study["reference"]]
    outside = before.loc[(before["band_lower"] > 0) | (before["band_upper"] < 0), "egt"]
    flags: dict[str, Any] = {
        "pre_trend": trend,
        "band_before_arrival": bool(len(outside)),
        "band_quarters_outside": [int(e) for e in outside],
        "pre_test": trend or bool(len(outside)),
    }
    if "lower" in bounds:
        flags["bounds_include_zero"] = not bool(bounds["excludes_zero"])
    return flags


def pre_arrival_mean(panel: pd.DataFrame) -> float:
    """Mean CSE concerns per area and quarter in spoke areas before their (pooled) arrival."""
    spoke = panel.loc[(panel["cohort_quarter"] > 0)]
    before = spoke.loc[spoke["quarter_index"] < spoke["cohort_quarter"], "cse_concerns"]
    return float(before.mean()) if len(before) else float("nan")


def rollout_evidence(panel: pd.DataFrame) -> RolloutEvidence:
    """The rollout's headline effect and its evidence (see the module's docstring).

    ``panel``: area x quarter with ``area_code, quarter_index, cohort_quarter`` (0 = never
    treated in the window), ``cse_concerns`` and ``child_population``.
    """
    pooled = pooled_panel(panel)
    att = models.staggered_att(
        pooled.panel, outcome="cse_concerns", base_period="universal", **_COLUMNS
    )
    simple = models.aggregate_att(att, "simple")
    dynamic = models.aggregate_att(att, "dynamic")
    event_study, band = event_study_table(dynamic, att)
    bounds = relative_magnitude_bounds(att)
    mean_before = pre_arrival_mean(pooled.panel)
    est, se = float(simple.overall_att), float(simple.overall_se)
    mde = (Z95 + float(stats.norm.ppf(MDE_POWER))) * se
    sizes = panel.drop_duplicates("area_code")["cohort_quarter"].value_counts()
    checks: dict[str, Any] = {
        "estimand": "pooled" if pooled.moved else "as_dated",
        "pooled_cohorts": [
            {"cohort": int(c), "into": int(to), "areas": int(sizes[c])}
            for c, to in sorted(pooled.moved.items())
        ],
        "cohort_sizes": {
            str(int(g)): int(k)
            for g, k in pooled.panel.drop_duplicates("area_code")
            .loc[lambda d: d["cohort_quarter"] > 0, "cohort_quarter"]
            .value_counts()
            .sort_index()
            .items()
        },
        "pre_trend": (trend := pre_trend_test(dynamic)),
        "band": band,
        "bounds": bounds,
        "mde": {"value": _finite(mde), "power": MDE_POWER, "alpha": 0.05},
        "pre_arrival_mean": _finite(mean_before),
    }
    checks["flags"] = assumption_flags(trend, event_study, bounds)
    if mean_before and math.isfinite(mean_before) and mean_before > 0:
        checks["relative_effect"] = {
            "estimate": _finite(est / mean_before),
            "ci_lower": _finite((est - Z95 * se) / mean_before),
            "ci_upper": _finite((est + Z95 * se) / mean_before),
            "mde": _finite(mde / mean_before),
        }
    warnings = list(simple.warnings)
    warnings[:0] = [n for n in pooled.notes if n not in warnings]
    return RolloutEvidence(
        att=att,
        simple=simple,
        dynamic=event_study,
        sensitivity=sensitivity_table(panel, simple, bounds),
        checks=checks,
        warnings=warnings,
    )
