"""What every model returns: result objects with tidy 95% estimates, the one rounding rule (:data:`SIGNIFICANT_DIGITS`) and the error for a model that cannot be fitted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

Z95: float = float(stats.norm.ppf(0.975))
"""Two-sided 95% normal critical value (1.959964...)."""

ESTIMATE_COLUMNS: tuple[str, ...] = ("term", "estimate", "std_error", "ci_lower", "ci_upper")

SIGNIFICANT_DIGITS: int | None = 7
"""Precision of every number a model result carries: estimates, standard errors,
intervals, rate ratios, p-values, variance components and dispersions are rounded to this
many significant digits inside the result objects, and everything derived from them
(intervals, rate ratios, p-values; downstream predictions, figures, fallback decisions) is
computed from the rounded values. Seven is R's default print precision, so results still
compare with published R output digit for digit. Different BLAS kernels (OpenBLAS Haswell,
SkylakeX...) and thread counts move the optimisers' results by about 1e-12 relative (the
optimisers run to tight tolerances); seven significant digits are far below any published
precision (reports show at most four) and far above that noise, so the same inputs give
byte-identical outputs on any machine (tests/test_determinism.py).
``None`` switches rounding off (only to show that the cross-kernel test catches the
difference)."""


# --------------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------------


class ModelNotFitted(ValueError):
    """No valid fit exists: every candidate fit had non-finite estimates or standard errors,
    or the data cannot identify the model. ``reason`` is a plain-English sentence for the
    report ("The model could not be fitted: ...")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def round_significant(values: Any, digits: int | None = None) -> Any:
    """Round a number or array to ``digits`` significant digits (default
    :data:`SIGNIFICANT_DIGITS`); NaN and infinities pass through, zero stays zero.

    Deterministic: the decimal place is taken from the value's order of magnitude, so two
    values that agree to well within the precision round to the same float.
    """
    digits = SIGNIFICANT_DIGITS if digits is None else digits
    if digits is None:
        return values
    scalar = np.ndim(values) == 0
    x = np.asarray(values, dtype=float)
    out = np.array(x, dtype=float, copy=True).reshape(-1)
    for i, v in enumerate(out):
        if math.isfinite(v) and v != 0.0:
            out[i] = round(float(v), digits - 1 - math.floor(math.log10(abs(v))))
    out = out.reshape(x.shape)
    return float(out) if scalar else out


def all_finite(*arrays: Any) -> bool:
    """True when every number in every argument (scalars or arrays) is finite."""
    return all(bool(np.all(np.isfinite(np.asarray(a, dtype=float)))) for a in arrays)


@dataclass
class ModelResult:
    """Common fields of every model result.

    ``estimates`` always has the columns ``term, estimate, std_error, ci_lower, ci_upper``
    (95% Wald intervals); count models add ``rate_ratio, rr_ci_lower, rr_ci_upper``.
    """

    model: str
    estimates: pd.DataFrame
    n_units_used: int
    n_units_eligible: int
    n_obs_used: int
    n_obs_eligible: int
    warnings: list[str] = field(default_factory=list)
    results: Any = None

    def term(self, name: str) -> pd.Series:
        """The row of ``estimates`` for one term (KeyError naming the known terms if absent)."""
        hit = self.estimates[self.estimates["term"] == name]
        if hit.empty:
            known = ", ".join(map(str, self.estimates["term"]))
            raise KeyError(f"{self.model}: no term {name!r}; terms are: {known}")
        return hit.iloc[0]


@dataclass
class TrajectoryResult(ModelResult):
    """Result of :func:`trajectory_model`; ``random_effects`` holds the variance components.

    ``estimates`` and ``random_effects`` are on the original time scale. ``results`` is the
    statsmodels fit with time divided by ``time_scale`` (its standard deviation), so its
    time coefficients are ``time_scale`` times those in ``estimates``.
    """

    outcome: str = ""
    time: str = ""
    random_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    converged: bool = True
    optimizer: str = ""
    time_scale: float = 1.0


@dataclass
class RateResult(ModelResult):
    """Result of :func:`rate_model`; ``dispersion`` is Pearson chi2/df or the NB2 alpha."""

    family: str = "poisson"
    dispersion: float = float("nan")
    dispersion_label: str = ""


@dataclass
class ITSResult(RateResult):
    """Result of :func:`interrupted_time_series`; ``intervention_term`` names the level change."""

    intervention_term: str = "intervention"
    outcome: str = ""


@dataclass
class StaggeredATTResult(ModelResult):
    """Group-time average treatment effects ATT(g, t) from :func:`staggered_att`.

    ``table`` has one row per (cohort, time) with columns ``cohort, time, event_time, att, se,
    ci_lower, ci_upper, post, n_treated, n_control``. ``influence`` is the n_units x n_cells
    matrix of influence functions (column j belongs to ``table`` row j, row i to
    ``unit_ids[i]``), scaled as in R ``did`` so that ``se = sqrt(sum(IF**2)) / n``.
    ``small_cohorts`` maps each cohort with fewer units than the minimum
    (:data:`~analysis.analyse.models.did_cohorts.MIN_COHORT_UNITS`) to its number of units.
    """

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    influence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    unit_ids: np.ndarray = field(default_factory=lambda: np.zeros(0))
    unit_cohorts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    control: str = "never_treated"
    outcome: str = ""
    est_method: str = "dr"
    covariates: tuple[str, ...] = ()
    anticipation: int = 0
    small_cohorts: dict[float, int] = field(default_factory=dict)
    periods: np.ndarray = field(default_factory=lambda: np.zeros(0))
    base_period: str = "varying"


@dataclass
class AggregateATTResult(ModelResult):
    """An aggregation of ATT(g, t) from :func:`aggregate_att`.

    ``overall_att``/``overall_se`` summarise; ``table`` holds the per-event-time, per-cohort or
    per-calendar-time effects (column ``egt`` plus ``att, se, ci_lower, ci_upper``; absent for
    ``how="simple"``); ``influence`` is the overall influence function (length n_units) and
    ``influence_egt`` the n_units x len(table) matrix.
    """

    how: str = "simple"
    overall_att: float = float("nan")
    overall_se: float = float("nan")
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    influence: np.ndarray = field(default_factory=lambda: np.zeros(0))
    influence_egt: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    outcome: str = ""
    unit_ids: np.ndarray = field(default_factory=lambda: np.zeros(0))
    balance_e: int | None = None


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _require_columns(data: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming every missing column."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what}: data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(
            f"{what}: column(s) {missing} not found; available columns: {list(data.columns)}"
        )


def _tidy(
    terms: Sequence[str], est: np.ndarray, se: np.ndarray, *, rate_ratio: bool = False
) -> pd.DataFrame:
    """Tidy estimates table with 95% Wald intervals (and rate ratios when asked).

    Estimates and standard errors are first rounded to :data:`SIGNIFICANT_DIGITS`; the
    intervals, p-values and rate ratios are computed from the rounded values and rounded
    in turn, so every column is the same on every machine.
    """
    r = round_significant
    est = r(np.asarray(est, dtype=float))
    se = r(np.asarray(se, dtype=float))
    out = pd.DataFrame(
        {
            "term": pd.Series(list(terms), dtype="str"),
            "estimate": est,
            "std_error": se,
            "ci_lower": r(est - Z95 * se),
            "ci_upper": r(est + Z95 * se),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_value"] = r(2.0 * stats.norm.sf(np.abs(est / se)))
    if rate_ratio:
        out["rate_ratio"] = r(np.exp(est))
        out["rr_ci_lower"] = r(np.exp(out["ci_lower"].to_numpy()))
        out["rr_ci_upper"] = r(np.exp(out["ci_upper"].to_numpy()))
    return out


def _is_categorical(series: pd.Series) -> bool:
    """True for columns that should enter a formula as factors."""
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))
