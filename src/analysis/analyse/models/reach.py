"""The spoke-level reach model: new young people per spoke-month, with the months a spoke
post was filled as exposure, against time since the spoke started as a piecewise-linear
function of years of operation (a linear spline on the log scale), with intervals
clustered by service.

Model (Poisson quasi-likelihood, log link)::

    log E[new young people in spoke s, month m] = log(post-months filled)
        + a_s + b_1 * first_year(t) + b_2 * later_years(t)

with ``t`` the years since spoke ``s`` started (at the middle of the month), the basis
``first_year(t) = min(t, 1)`` and ``later_years(t) = max(t - 1, 0)`` (knot at the end of
the first year of operation; the two slopes are free), and a fixed level ``a_s`` per spoke
(each spoke compared with itself). ``exp(b_1)`` is the rate ratio per year during a spoke's
first year of operation, ``exp(b_2)`` per year after it: a ramp then a plateau shows as a
large first and a near-1 second.

Intervals: the cluster-robust (sandwich) covariance with one cluster per *service* (spokes
of a service share its hub, managers and referral pathways), with the CR1 small-sample
correction ``G/(G-1) * (N-1)/(N-K)`` and Student t quantiles with ``G - 1`` degrees of
freedom (``G`` services), as Stata's ``vce(cluster)`` does. The point estimates need only
the mean to be right (Poisson quasi-likelihood): over-dispersion and correlation within a
service are in the sandwich.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM

from analysis.analyse.models.results import (
    ModelNotFitted,
    ModelResult,
    _require_columns,
    all_finite,
    round_significant,
)

KNOT_YEARS: float = 1.0
"""The spline's knot: the end of a spoke's first year of operation."""

TERMS: tuple[str, ...] = ("first_year", "later_years")
"""The spline's two terms, in order: the slope (log rate per year) in the first year of
operation and after it."""

MIN_SEGMENT_MONTHS: int = 12
"""Fewest spoke-months after the knot (from two or more services) before the second slope
is estimated; with fewer, only the first-year slope is fitted."""


@dataclass
class ReachResult(ModelResult):
    """Result of :func:`spoke_reach_model`.

    ``estimates``: one row per spline term with ``term, estimate, std_error, ci_lower,
    ci_upper, p_value, rate_ratio, rr_ci_lower, rr_ci_upper`` (log rate ratios per year of
    operation; t intervals with ``df`` degrees of freedom). ``n_clusters``: services;
    ``n_units_used``: spokes; ``terms``: the spline terms fitted.
    """

    n_clusters: int = 0
    df: int = 0
    terms: tuple[str, ...] = ()
    pearson_dispersion: float = float("nan")


def spline_basis(years: pd.Series | np.ndarray, knot: float = KNOT_YEARS) -> pd.DataFrame:
    """The linear spline of years of operation: ``first_year = min(t, knot)`` and
    ``later_years = max(t - knot, 0)``."""
    t = np.asarray(years, dtype=float)
    return pd.DataFrame(
        {"first_year": np.minimum(t, knot), "later_years": np.maximum(t - knot, 0.0)}
    )


def _design(data: pd.DataFrame, terms: tuple[str, ...], unit: str) -> tuple[np.ndarray, list[str]]:
    """Spline columns then one indicator per unit (no intercept: the units' levels)."""
    basis = spline_basis(data["years_since_start"])
    units = sorted(data[unit].astype("str").unique())
    codes = pd.Categorical(data[unit].astype("str"), categories=units).codes
    dummies = np.zeros((len(data), len(units)))
    dummies[np.arange(len(data)), codes] = 1.0
    x = np.column_stack([basis[list(terms)].to_numpy(), dummies])
    return x, [*terms, *(f"level[{u}]" for u in units)]


def cluster_covariance(
    x: np.ndarray, y: np.ndarray, mu: np.ndarray, clusters: np.ndarray
) -> np.ndarray:
    """CR1 cluster-robust covariance of a Poisson (log link) fit: bread ``(X'WX)^-1``
    (``W = diag(mu)``), meat the outer products of the clusters' summed scores
    ``X'(y - mu)``, times ``G/(G-1) * (N-1)/(N-K)``."""
    n, k = x.shape
    bread = np.linalg.inv(x.T @ (x * mu[:, None]))
    scores = x * (y - mu)[:, None]
    labels, idx = np.unique(clusters, return_inverse=True)
    g = len(labels)
    summed = np.zeros((g, k))
    np.add.at(summed, idx, scores)
    meat = summed.T @ summed
    correction = g / (g - 1) * (n - 1) / (n - k)
    return correction * bread @ meat @ bread


def spoke_reach_model(
    data: pd.DataFrame,
    *,
    count: str = "new_young_people",
    exposure: str = "post_months",
    unit: str = "spoke_id",
    cluster: str = "service_id",
) -> ReachResult:
    """Rate ratios of new young people per filled post-month by year of operation (see the
    module's docstring for the model and its intervals).

    ``data``: one row per spoke-month with ``count``, ``exposure`` (> 0), ``unit``,
    ``cluster`` and ``years_since_start``. Rows with a missing value or no exposure are
    left out and counted in ``warnings``. The second slope is fitted only when at least
    :data:`MIN_SEGMENT_MONTHS` spoke-months from two or more services lie after the knot.

    Raises :class:`ModelNotFitted` (with a plain reason) when fewer than two services, a
    unit with no new young people in any month, or a fit whose estimates or standard errors
    are not finite leave nothing valid to report.
    """
    what = "spoke_reach_model"
    _require_columns(data, [count, exposure, unit, cluster, "years_since_start"], what)
    frame = data.reset_index(drop=True)
    expo = pd.to_numeric(frame[exposure], errors="coerce")
    keep = (
        frame[[count, unit, cluster, "years_since_start"]].notna().all(axis=1)
        & expo.notna()
        & (expo > 0)
    )
    notes: list[str] = []
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} of {len(frame)} spoke-months were left out for a missing "
            "value or no post filled"
        )
    frame = frame.loc[keep].reset_index(drop=True)
    y = frame[count].to_numpy(dtype=float)
    if np.any(y < 0) or np.any(np.abs(y - np.round(y)) > 1e-9):
        raise ValueError(f"{what}: {count!r} must hold non-negative counts")
    n_clusters = int(frame[cluster].nunique())
    if n_clusters < 2:
        raise ModelNotFitted(
            "The reach model could not be fitted: its intervals are clustered by service and "
            "need spoke-months from two or more services."
        )
    totals = frame.groupby(unit)[count].sum()
    if (totals == 0).any():
        empty = ", ".join(map(str, totals.index[totals == 0]))
        notes.append(
            f"spokes with no new young people in any month were left out (their level "
            f"cannot be estimated): {empty}"
        )
        frame = frame.loc[~frame[unit].isin(totals.index[totals == 0])].reset_index(drop=True)
        y = frame[count].to_numpy(dtype=float)
        n_clusters = int(frame[cluster].nunique())
        if n_clusters < 2:
            raise ModelNotFitted(
                "The reach model could not be fitted: fewer than two services have spokes "
                "with new young people."
            )
    after = frame.loc[frame["years_since_start"] > KNOT_YEARS]
    terms: tuple[str, ...] = TERMS
    if len(after) < MIN_SEGMENT_MONTHS or after[cluster].nunique() < 2:
        terms = TERMS[:1]
        notes.append(
            f"only the first-year slope was estimated: fewer than {MIN_SEGMENT_MONTHS} "
            "spoke-months from two or more services lie beyond a spoke's first year"
        )
    x, names = _design(frame, terms, unit)
    offset = np.log(frame[exposure].to_numpy(dtype=float))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fit = GLM(y, x, family=Poisson(), offset=offset).fit(tol=1e-12, maxiter=200)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelNotFitted(f"The reach model could not be fitted: {exc}.") from exc
    if not all_finite(fit.params):
        raise ModelNotFitted("The reach model could not be fitted: its estimates are not finite.")
    mu = np.asarray(fit.fittedvalues, dtype=float)
    try:
        cov = cluster_covariance(x, y, mu, frame[cluster].astype("str").to_numpy())
    except np.linalg.LinAlgError as exc:
        raise ModelNotFitted(
            f"The reach model's clustered standard errors could not be computed: {exc}."
        ) from exc
    k = len(terms)
    est = round_significant(np.asarray(fit.params[:k], dtype=float))
    se = round_significant(np.sqrt(np.diag(cov)[:k]))
    if not all_finite(est, se) or np.any(se <= 0):
        raise ModelNotFitted(
            "The reach model could not be fitted: its estimates or clustered standard errors "
            "are not finite."
        )
    if not fit.converged:
        notes.append("WARNING: the Poisson fit did not converge")
    df = n_clusters - 1
    crit = float(stats.t.ppf(0.975, df))
    r = round_significant
    lo, hi = r(est - crit * se), r(est + crit * se)
    table = pd.DataFrame(
        {
            "term": pd.Series(list(names[:k]), dtype="str"),
            "estimate": est,
            "std_error": se,
            "ci_lower": lo,
            "ci_upper": hi,
            "p_value": r(2.0 * stats.t.sf(np.abs(est / se), df)),
            "rate_ratio": r(np.exp(est)),
            "rr_ci_lower": r(np.exp(lo)),
            "rr_ci_upper": r(np.exp(hi)),
        }
    )
    pearson = float(np.sum((y - mu) ** 2 / mu) / max(len(y) - x.shape[1], 1))
    return ReachResult(
        model="spoke_reach_model",
        estimates=table,
        n_units_used=int(frame[unit].nunique()),
        n_units_eligible=int(data[unit].nunique()),
        n_obs_used=len(frame),
        n_obs_eligible=len(data),
        warnings=notes,
        results=fit,
        n_clusters=n_clusters,
        df=df,
        terms=terms,
        pearson_dispersion=float(r(pearson)),
    )


def reach_estimand(
    data: pd.DataFrame,
    expected: np.ndarray,
    terms: tuple[str, ...] = TERMS,
    *,
    exposure: str = "post_months",
    unit: str = "spoke_id",
) -> dict[str, float]:
    """The log rate ratios :func:`spoke_reach_model` targets when the data's expected
    counts are ``expected``: the same spline and spoke levels fitted to the expected
    counts (the model's best approximation of the truth; equal to the generator's slopes
    when the truth is itself such a spline)."""
    x, _ = _design(data.reset_index(drop=True), terms, unit)
    offset = np.log(data[exposure].to_numpy(dtype=float))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = GLM(np.asarray(expected, dtype=float), x, family=Poisson(), offset=offset).fit(
            tol=1e-12, maxiter=200
        )
    return {t: float(fit.params[i]) for i, t in enumerate(terms)}
