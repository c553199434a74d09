"""Statistical models of change over time for the Hub and Spoke evaluation.

Four families of model, each returning a small result dataclass with the fitted statsmodels
results (where one exists), a tidy table of estimates with 95% intervals, the numbers of units
and observations used and eligible, and any warnings in plain English:

* :func:`trajectory_model` -- linear mixed model (REML) with a correlated random intercept and
  slope per person, for repeated outcome scores.
* :func:`rate_model` -- Poisson, quasi-Poisson or negative binomial (NB2) count GLM with an
  exposure offset, reporting rate ratios.
* :func:`interrupted_time_series` -- segmented count regression with a level change (and
  optionally a slope change and Fourier seasonal terms) at an intervention.
* :func:`staggered_att` and :func:`aggregate_att` -- Callaway & Sant'Anna (2021) group-time
  average treatment effects for a staggered rollout, with analytic influence-function standard
  errors, reproducing the R ``did`` package (``att_gt(..., bstrap=FALSE)`` and ``aggte``).

Method notes and validation evidence are in ``docs/models.md``."""

from __future__ import annotations

from analysis.analyse.models.counts import (
    MIN_NB_ALPHA,
    CountFamily,
    interrupted_time_series,
    rate_model,
)
from analysis.analyse.models.did import (
    aggregate_att,
    staggered_att,
)
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
    "AggregateATTResult",
    "CountFamily",
    "ESTIMATE_COLUMNS",
    "ITSResult",
    "MIN_NB_ALPHA",
    "MIXEDLM_OPTIMIZERS",
    "ModelNotFitted",
    "ModelResult",
    "RateResult",
    "SIGNIFICANT_DIGITS",
    "StaggeredATTResult",
    "TrajectoryResult",
    "Z95",
    "aggregate_att",
    "all_finite",
    "interrupted_time_series",
    "rate_model",
    "round_significant",
    "staggered_att",
    "trajectory_model",
]
