"""Statistical models of change over time for the Hub and Spoke evaluation.

Four families of model, each returning a small result dataclass with the fitted statsmodels
results (where one exists), a tidy table of estimates with 95% intervals, the numbers of units
and observations used and eligible, and any warnings in plain English:

* :func:`trajectory_model` -- linear mixed model (REML) with a correlated random intercept and
  slope per person, for repeated outcome scores.
* :func:`rate_model` -- Poisson, quasi-Poisson or negative binomial (NB2) count GLM with an
  exposure offset, reporting rate ratios.
* :func:`spoke_reach_model` -- new young people per spoke-month with filled post-months as
  exposure, a linear spline in years of operation (knot at one year), fixed spoke levels and
  intervals clustered by service (CR1, t with services - 1 df).
* :func:`interrupted_time_series` -- segmented count regression with a level change (and
  optionally a slope change and Fourier seasonal terms) at an intervention.
* :func:`staggered_att` and :func:`aggregate_att` -- Callaway & Sant'Anna (2021) group-time
  average treatment effects for a staggered rollout (covariates with the doubly robust,
  regression or IPW estimators, anticipation, balanced event windows), with analytic
  influence-function standard errors, reproducing the R ``did`` package (``att_gt(...,
  bstrap=FALSE)`` and ``aggte``); :func:`pretest_parallel_trends` (did's Wald pre-test),
  :func:`simultaneous_band` (uniform bands by multiplier bootstrap) and
  :func:`pool_small_cohorts` (the small-cohort rule, :data:`MIN_COHORT_UNITS`).

Method notes and validation evidence are in ``docs/models.md``."""

from __future__ import annotations

from analysis.analyse.models.counts import (
    MIN_NB_ALPHA,
    CountFamily,
    interrupted_time_series,
    rate_model,
)
from analysis.analyse.models.did import staggered_att
from analysis.analyse.models.did_aggregate import aggregate_att
from analysis.analyse.models.did_cohorts import (
    MIN_COHORT_UNITS,
    PooledCohorts,
    pool_small_cohorts,
)
from analysis.analyse.models.did_drdid import EST_METHODS, EstMethod
from analysis.analyse.models.did_inference import (
    BAND_DRAWS,
    BAND_SEED,
    SimultaneousBand,
    pretest_parallel_trends,
    simultaneous_band,
)
from analysis.analyse.models.reach import KNOT_YEARS as REACH_KNOT_YEARS
from analysis.analyse.models.reach import ReachResult, spoke_reach_model
from analysis.analyse.models.results import (
    ESTIMATE_COLUMNS,
    SIGNIFICANT_DIGITS,
    Z95,
    AggregateATTResult,
    ITSResult,
    ModelNotFitted,
    ModelResult,
    RateResult,
    StaggeredATTResult,
    TrajectoryResult,
    all_finite,
    round_significant,
)
from analysis.analyse.models.trajectory import (
    MIXEDLM_OPTIMIZERS,
    trajectory_model,
)

__all__ = [
    "BAND_DRAWS",
    "BAND_SEED",
    "EST_METHODS",
    "MIN_COHORT_UNITS",
    "AggregateATTResult",
    "CountFamily",
    "EstMethod",
    "ESTIMATE_COLUMNS",
    "ITSResult",
    "MIN_NB_ALPHA",
    "MIXEDLM_OPTIMIZERS",
    "ModelNotFitted",
    "ModelResult",
    "PooledCohorts",
    "REACH_KNOT_YEARS",
    "RateResult",
    "ReachResult",
    "SimultaneousBand",
    "SIGNIFICANT_DIGITS",
    "StaggeredATTResult",
    "TrajectoryResult",
    "Z95",
    "aggregate_att",
    "all_finite",
    "interrupted_time_series",
    "pool_small_cohorts",
    "pretest_parallel_trends",
    "rate_model",
    "round_significant",
    "simultaneous_band",
    "spoke_reach_model",
    "staggered_att",
    "trajectory_model",
]
