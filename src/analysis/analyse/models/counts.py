"""Count models: Poisson, quasi-Poisson or negative binomial (NB2) GLMs with an exposure offset and rate ratios, and the segmented (interrupted time series) regression built on them."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM

from analysis.analyse.models.results import (
    ITSResult,
    ModelNotFitted,
    RateResult,
    _require_columns,
    _tidy,
    all_finite,
    round_significant,
)

MIN_NB_ALPHA: float = 1e-4
"""An NB2 dispersion alpha below this sits at the boundary of its parameter space (the data
show no extra-Poisson variation the likelihood can separate from zero): the model falls back
to quasi-Poisson, whose Pearson scale handles any remaining over-dispersion."""

CountFamily = Literal["poisson", "negative_binomial", "quasipoisson"]


# --------------------------------------------------------------------------------------------
# Count models
# --------------------------------------------------------------------------------------------


def _count_design(
    data: pd.DataFrame, formula: str, exposure: str | None, what: str
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray | None, list[str]]:
    """Response, design matrix and exposure on the complete rows, with notes on dropped rows."""
    notes: list[str] = []
    if exposure is not None:
        _require_columns(data, [exposure], what)
    data = data.reset_index(drop=True)  # row labels below are positions, whatever the input
    try:
        y, x = patsy.dmatrices(formula, data, return_type="dataframe", NA_action="drop")
    except patsy.PatsyError as exc:
        raise ValueError(f"{what}: cannot build the model from formula {formula!r}: {exc}") from exc
    if y.shape[1] != 1:
        raise ValueError(f"{what}: formula {formula!r} must have a single count on the left")
    index = y.index
    expo: np.ndarray | None = None
    if exposure is not None:
        raw = pd.to_numeric(data.loc[index, exposure], errors="coerce")
        bad = raw.isna() | (raw <= 0)
        if bad.any():
            notes.append(
                f"{int(bad.sum())} rows were left out for missing or non-positive exposure "
                f"{exposure!r}"
            )
            index = index[~bad.to_numpy()]
            y, x, raw = y.loc[index], x.loc[index], raw.loc[index]
        expo = raw.to_numpy(dtype=float)
    dropped = len(data) - len(index)
    already = sum(int(n.split()[0]) for n in notes)
    if dropped - already > 0:
        notes.insert(0, f"{dropped - already} of {len(data)} rows were left out for missing values")
    counts = y.iloc[:, 0].to_numpy()
    if np.any(counts < 0) or np.any(np.abs(counts - np.round(counts)) > 1e-9):
        raise ValueError(f"{what}: the response in {formula!r} must be non-negative counts")
    if len(index) <= x.shape[1]:
        raise ValueError(
            f"{what}: {len(index)} usable rows are too few for {x.shape[1]} parameters"
        )
    return y, x, expo, notes


def _fit_count(
    y: pd.DataFrame, x: pd.DataFrame, expo: np.ndarray | None, family: str, what: str
) -> tuple[Any, pd.DataFrame, float, str, str, list[str]]:
    """Fit a Poisson / quasi-Poisson / NB2 model.

    Returns the statsmodels results, the tidy table, the dispersion and its label, the
    family actually used and notes. Only a fit with finite estimates and standard errors is
    kept: a negative binomial model whose likelihood fails or whose alpha sits at the
    boundary falls back to quasi-Poisson, with the reason in the notes; when nothing valid
    can be fitted, :class:`ModelNotFitted` says why.
    """
    if family not in ("poisson", "quasipoisson", "negative_binomial"):
        raise ValueError(
            f"{what}: family must be 'poisson', 'quasipoisson' or 'negative_binomial', "
            f"got {family!r}"
        )
    notes: list[str] = []
    if family == "negative_binomial":
        fit, why = _fit_negative_binomial(y, x, expo)
        if fit is not None:
            params, bse = fit.params.drop("alpha"), fit.bse.drop("alpha")
            dispersion = float(round_significant(float(fit.params["alpha"])))
            table = _tidy(list(params.index), params.to_numpy(), bse.to_numpy(), rate_ratio=True)
            return fit, table, dispersion, "NB2 dispersion alpha", "negative_binomial", notes
        notes.append(f"The negative binomial model was not used: {why}; quasi-Poisson used instead")
        family = "quasipoisson"
    offset = np.log(expo) if expo is not None else None
    glm = GLM(y, x, family=Poisson(), offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = glm.fit(scale="X2" if family == "quasipoisson" else 1.0)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelNotFitted(
                f"The {family.replace('_', '-')} model could not be fitted: {exc}."
            ) from exc
    if not all_finite(fit.params, fit.bse):
        raise ModelNotFitted(
            f"The {family.replace('_', '-')} model could not be fitted: its estimates or "
            "standard errors are not finite (a term may be perfectly predicted, e.g. a "
            "service with no new young people in any return)."
        )
    if not fit.converged:
        notes.append(f"WARNING: the {family} GLM did not converge")
    pearson = float(fit.pearson_chi2 / fit.df_resid) if fit.df_resid > 0 else float("nan")
    if family == "poisson" and pearson > 1.5:
        notes.append(
            f"Pearson dispersion is {pearson:.2f} (>1.5): the Poisson intervals are too "
            "narrow; consider family='quasipoisson' or 'negative_binomial'"
        )
    table = _tidy(
        list(fit.params.index), fit.params.to_numpy(), fit.bse.to_numpy(), rate_ratio=True
    )
    dispersion = float(round_significant(pearson))
    return fit, table, dispersion, "Pearson dispersion (chi-squared/df)", family, notes


def _fit_negative_binomial(
    y: pd.DataFrame, x: pd.DataFrame, expo: np.ndarray | None
) -> tuple[Any, str]:
    """The NB2 maximum-likelihood fit, or ``None`` and the reason no valid one exists.

    Optimizers are tried in turn (newton, bfgs, nm); a candidate is kept only when it
    converged and every parameter and standard error is finite. A valid fit whose alpha is
    below :data:`MIN_NB_ALPHA` sits at the boundary and is refused too (quasi-Poisson is the
    right model then).
    """
    model = NegativeBinomial(y, x, loglike_method="nb2", exposure=expo)
    problems: list[str] = []
    for method in ("newton", "bfgs", "nm"):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                # newton to a tight step tolerance, so BLAS kernels agree to ~1e-13.
                options = {"tol": 1e-12} if method == "newton" else {}
                cand = model.fit(method=method, maxiter=2000, disp=0, **options)
            except (np.linalg.LinAlgError, ValueError) as exc:
                problems.append(f"{method} failed ({exc})")
                continue
        if not all_finite(cand.params, cand.bse):
            problems.append(f"{method} gave non-finite estimates or standard errors")
            continue
        if not cand.mle_retvals.get("converged", False):
            # No failed optimiser's numbers in the note: they differ between BLAS kernels.
            at_zero = ", alpha heading to zero" if cand.params["alpha"] < MIN_NB_ALPHA else ""
            problems.append(f"{method} did not converge{at_zero}")
            continue
        alpha = float(cand.params["alpha"])
        if alpha < MIN_NB_ALPHA:
            return None, (
                f"its dispersion alpha (below {MIN_NB_ALPHA:g}) sits at the boundary of zero, "
                "so the likelihood cannot separate it from Poisson variation"
            )
        return cand, ""
    return None, "its likelihood could not be maximised (" + "; ".join(problems) + ")"


def rate_model(
    data: pd.DataFrame,
    *,
    formula: str,
    exposure: str | None = None,
    family: CountFamily = "poisson",
) -> RateResult:
    """Count GLM with rate ratios: Poisson, quasi-Poisson or negative binomial (NB2).

    ``formula`` is a full patsy formula (``"count ~ terms"``); ``exposure`` names a column of
    raw exposure (population, months open) that enters as ``log(exposure)`` offset, so the
    coefficients are log rate ratios. ``quasipoisson`` is the Poisson fit with the scale set
    to Pearson chi-squared / residual df; ``negative_binomial`` is NB2 (variance
    mu + alpha*mu^2) with alpha estimated by maximum likelihood (statsmodels
    ``NegativeBinomial``). Rows with missing values or non-positive exposure are left out and
    counted. Each row is one unit (e.g. a service-quarter).

    Only a fit whose estimates and standard errors are all finite is returned. A negative
    binomial model whose likelihood cannot be maximised, or whose alpha sits at the boundary
    (below :data:`MIN_NB_ALPHA`), falls back to quasi-Poisson with the reason in
    ``warnings`` (``family`` on the result says which model was used); when no valid fit
    exists, :class:`ModelNotFitted` is raised with a plain-English reason.
    """
    what = "rate_model"
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{what}: data must be a pandas DataFrame")
    y, x, expo, notes = _count_design(data, formula, exposure, what)
    fit, table, dispersion, label, family, fit_notes = _fit_count(y, x, expo, family, what)
    return RateResult(
        model="rate_model",
        estimates=table,
        n_units_used=len(y),
        n_units_eligible=len(data),
        n_obs_used=len(y),
        n_obs_eligible=len(data),
        warnings=notes + fit_notes,
        results=fit,
        family=family,
        dispersion=dispersion,
        dispersion_label=label,
    )


def _its_frame(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    intervention: str | float,
    exposure: str | None,
    harmonics: int,
    period: float,
    slope_change: bool,
) -> tuple[pd.DataFrame, list[str]]:
    """Design columns for a segmented regression: trend, level change, slope change, Fourier."""
    what = "interrupted_time_series"
    t = pd.to_numeric(data[time], errors="coerce")
    if isinstance(intervention, str):
        _require_columns(data, [intervention], what)
        post = pd.to_numeric(data[intervention].astype("float"), errors="coerce")
        if not post.dropna().isin([0.0, 1.0]).all():
            raise ValueError(f"{what}: intervention column {intervention!r} must be 0/1")
    else:
        post = (t >= float(intervention)).astype(float).where(t.notna())
    frame = pd.DataFrame(
        {"y": data[outcome].to_numpy(), "trend": t.to_numpy(), "intervention": post.to_numpy()},
        index=data.index,
    )
    terms = ["trend", "intervention"]
    if slope_change:
        start = t[post == 1].min()
        if not np.isfinite(start):
            raise ValueError(f"{what}: no time point is after the intervention")
        frame["slope_change"] = np.where(post == 1, t - start, 0.0)
        terms.append("slope_change")
    for k in range(1, int(harmonics) + 1):
        frame[f"sin{k}"] = np.sin(2.0 * np.pi * k * t / period)
        frame[f"cos{k}"] = np.cos(2.0 * np.pi * k * t / period)
        terms += [f"sin{k}", f"cos{k}"]
    if exposure is not None:
        frame["exposure"] = data[exposure].to_numpy()
    return frame, terms


def interrupted_time_series(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    intervention: str | float,
    exposure: str | None = None,
    family: CountFamily = "quasipoisson",
    harmonics: int = 0,
    period: float = 12,
    slope_change: bool = False,
) -> ITSResult:
    """Segmented (interrupted time series) count regression.

    ``log E[outcome] = b0 + b1*time + b2*intervention [+ b3*(time - t0)*intervention]
    [+ sum_k (s_k sin(2 pi k time/period) + c_k cos(2 pi k time/period))] [+ log(exposure)]``.
    ``intervention`` is either the name of a 0/1 column or the first time value of the
    intervention period (rows with ``time >= intervention`` are post). ``exp(b2)`` is the
    level change (rate ratio) reported as the headline; ``slope_change`` adds the change in
    trend from the first post-intervention time ``t0``; ``harmonics`` Fourier pairs model
    seasonality with the given ``period`` (12 for monthly data, 4 for quarterly).
    """
    what = "interrupted_time_series"
    _require_columns(data, [outcome, time], what)
    if harmonics < 0:
        raise ValueError(f"{what}: harmonics must be >= 0, got {harmonics}")
    if harmonics and period <= 0:
        raise ValueError(f"{what}: period must be positive, got {period}")
    if exposure is not None:
        _require_columns(data, [exposure], what)
    frame, terms = _its_frame(
        data, outcome, time, intervention, exposure, harmonics, period, slope_change
    )
    if frame["intervention"].nunique(dropna=True) < 2:
        raise ValueError(f"{what}: need time points both before and after the intervention")
    formula = "y ~ " + " + ".join(terms)
    y, x, expo, notes = _count_design(
        frame, formula, "exposure" if exposure is not None else None, what
    )
    fit, table, dispersion, label, family, fit_notes = _fit_count(y, x, expo, family, what)
    return ITSResult(
        model="interrupted_time_series",
        estimates=table,
        n_units_used=len(y),
        n_units_eligible=len(data),
        n_obs_used=len(y),
        n_obs_eligible=len(data),
        warnings=notes + fit_notes,
        results=fit,
        family=family,
        dispersion=dispersion,
        dispersion_label=label,
        intervention_term="intervention",
        outcome=outcome,
    )
