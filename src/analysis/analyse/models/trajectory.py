"""The trajectory model: a linear mixed model (REML) with a correlated random intercept and slope per person, for repeated outcome scores."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.mixed_linear_model import MixedLM

from analysis.analyse.models.mixed_reml import fit_reml
from analysis.analyse.models.results import (
    ModelNotFitted,
    TrajectoryResult,
    _is_categorical,
    _require_columns,
    _tidy,
    all_finite,
    round_significant,
)

MIXEDLM_OPTIMIZERS: tuple[str, ...] = ("lbfgs", "bfgs", "cg", "powell", "nm")
"""Optimizers tried in turn for the mixed model; lbfgs first (fast and reliable here)."""

ENGINES: tuple[str, ...] = ("statsmodels", "reml")
"""Fitters of :func:`trajectory_model`: statsmodels ``MixedLM`` (the reference) or the fast
exact REML fitter :func:`analysis.analyse.models.mixed_reml.fit_reml` (same estimates to
optimizer tolerance, about ten times faster)."""


# --------------------------------------------------------------------------------------------
# Trajectory model (linear mixed model)
# --------------------------------------------------------------------------------------------


def _safe_name(i: int) -> str:
    return f"zz{i}zz"


def _trajectory_frame(
    data: pd.DataFrame,
    outcome: str,
    time: str,
    person: str,
    service: str | None,
    covariate_columns: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Working frame with formula-safe column names and the map back to the original names."""
    columns = [outcome, time, person, *([service] if service else []), *covariate_columns]
    columns = list(dict.fromkeys(columns))
    names = {col: _safe_name(i) for i, col in enumerate(columns)}
    work = pd.DataFrame({names[c]: data[c].to_numpy() for c in columns}, index=data.index)
    return work, names


def _covariate_term(term: str, data: pd.DataFrame, names: dict[str, str]) -> str:
    """Formula text for one covariate entry (a column, or an interaction ``a:b``)."""
    parts = [p.strip() for p in term.split(":")]
    out = []
    for part in parts:
        safe = names[part]
        out.append(f"C({safe})" if _is_categorical(data[part]) else safe)
    return ":".join(out)


def _readable_term(term: str, back: dict[str, str]) -> str:
    """Map a patsy term on safe names back to the original column names."""

    def factor(match: re.Match[str]) -> str:
        return f"{back[match.group(1)]}[{match.group(2)}]"

    term = re.sub(r"C\((zz\d+zz)\)\[T\.([^\]]*)\]", factor, term)
    return re.sub(r"zz\d+zz", lambda m: back[m.group(0)], term)


POLISH_OPTIMIZER = "bfgs"
"""The optimizer that polishes every fit from its end point (see :func:`_fit_mixedlm`)."""


def _try_fit(model: MixedLM, name: str, start: Any = None) -> tuple[Any, str]:
    """One REML fit with optimizer ``name`` (from ``start`` if given): the fit (``None`` if
    it failed) and why it is not usable ("" when it converged with finite results)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = model.fit(reml=True, method=[name], start_params=start)
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
            return None, f"failed: {exc}"
    if not all_finite(fit.fe_params, fit.bse_fe, fit.cov_re, fit.scale, fit.llf):
        return None, "gave non-finite estimates or standard errors"
    if fit.converged:
        return fit, ""
    extra = {str(w.message) for w in caught if "converge" in str(w.message).lower()}
    return fit, "did not converge" + (f" ({'; '.join(sorted(extra))})" if extra else "")


def _fit_mixedlm(model: MixedLM, optimizers: Sequence[str]) -> tuple[Any, bool, str, list[str]]:
    """Fit by REML trying each optimizer until one converges; return the best fit.

    Every fit is polished: :data:`POLISH_OPTIMIZER` restarts from where the optimizer
    stopped, and the polished fit is kept when its restricted likelihood is at least as
    high. L-BFGS can stop short of the maximum (a line search that gives up), and whether
    it then reports convergence depends on the last bits of the BLAS kernel's arithmetic;
    the polish reaches the same maximum from the same point on every machine, so the
    published estimates do not depend on the CPU (tests/pipeline/test_determinism.py).
    """
    notes: list[str] = []
    best: Any = None
    best_name = ""
    for name in optimizers:
        fit, why = _try_fit(model, name)
        if fit is None:
            notes.append(f"optimizer {name} {why}")
            continue
        used = name
        polished, why_polish = _try_fit(model, POLISH_OPTIMIZER, start=fit.params_object)
        if polished is not None and not why_polish and polished.llf >= fit.llf:
            fit, why, used = polished, "", f"{name}, polished by {POLISH_OPTIMIZER}"
        if not why:
            return fit, True, used, notes
        notes.append(f"optimizer {name} {why}")
        # Only a fit with finite estimates and standard errors is ever kept.
        if best is None or fit.llf > best.llf:
            best, best_name = fit, used
    if best is None:
        raise ModelNotFitted(
            "The mixed model could not be fitted: no optimizer gave finite estimates and "
            "standard errors (" + "; ".join(notes) + ")."
        )
    return best, False, best_name, notes


def _fit_fast(model: MixedLM) -> tuple[Any, bool, str, list[str]]:
    """The fast exact REML fit of ``model``'s data (:func:`fit_reml`), or ``None`` (and why)
    when it fails or does not converge, so that statsmodels' optimizers take over."""
    try:
        fit = fit_reml(
            model.endog, model.exog, model.exog_re, model.groups,
            exog_names=model.exog_names, exog_re_names=model.data.exog_re_names,
        )  # fmt: skip
    except ModelNotFitted as exc:
        return None, False, "", [f"fast REML fitter failed: {exc.reason}"]
    if not fit.converged:
        return None, False, "", [f"fast REML fitter did not converge ({fit.message})"]
    fit.model = model
    return fit, True, "reml (L-BFGS-B, Newton polish)", list(fit.notes)


def _random_effects_table(fit: Any, time_scale: float = 1.0) -> pd.DataFrame:
    """Variance components on the original time scale: variances, correlation, residual."""
    back = np.diag([1.0, 1.0 / time_scale])
    cov = back @ np.asarray(fit.cov_re, dtype=float) @ back
    var_i, var_s = cov[0, 0], cov[1, 1]
    denom = math.sqrt(var_i * var_s) if var_i > 0 and var_s > 0 else float("nan")
    corr = cov[0, 1] / denom if denom == denom and denom > 0 else float("nan")
    return pd.DataFrame(
        {
            "component": pd.Series(
                [
                    "intercept_variance",
                    "slope_variance",
                    "intercept_slope_correlation",
                    "residual_variance",
                ],
                dtype="str",
            ),
            "value": round_significant(np.array([var_i, var_s, corr, float(fit.scale)])),
        }
    )


def _count_text(n: int) -> str:
    return {1: "one", 2: "two"}.get(n, str(n))


def trajectory_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    person: str,
    service: str | None = None,
    covariates: Sequence[str] = (),
    min_assessments: int = 2,
    engine: str = "statsmodels",
) -> TrajectoryResult:
    """Linear mixed model of an outcome over time with a random intercept and slope per person.

    ``outcome ~ time [+ C(service)] [+ covariates]`` fitted by REML (statsmodels ``MixedLM``)
    with a correlated random intercept and random slope on ``time`` for each ``person``
    (``re_formula="~time"``). ``service``, when given, enters as fixed effects. A covariate
    entry is a column name (non-numeric columns enter as factors) or an interaction ``"a:b"``
    of two columns (e.g. ``f"{time}:phase"`` asks whether change differs by phase).

    Rows missing the outcome, time, person, service or a covariate are left out and counted;
    then people with fewer than ``min_assessments`` remaining assessments are left out and
    counted. With ``min_assessments=1`` everyone with an assessment is in the likelihood
    (their single score informs the intercepts and, through the intercept-slope
    correlation, the slope), which keeps the estimate valid when drop-out depends on what
    was observed (MAR); with 2 only people whose own slope is identified are used (valid
    only when drop-out is unrelated to the scores). At least 3 people with two or more
    assessments are needed either way. Optimizers are tried in the order
    :data:`MIXEDLM_OPTIMIZERS` (lbfgs first) until one converges with finite standard errors;
    if none does, the best fit is returned with ``converged=False`` and a warning.

    On lme4's ``sleepstudy`` (``Reaction ~ Days + (Days|Subject)``) this reproduces the
    published REML estimates (see ``tests/test_models.py``).

    ``engine`` (:data:`ENGINES`) chooses the fitter: ``"reml"`` is the fast exact REML
    fitter of :mod:`analysis.analyse.models.mixed_reml` (lme4's method; the fixed effects'
    covariance as statsmodels computes it), falling back to statsmodels when it does not
    converge; ``results`` is then its :class:`~analysis.analyse.models.mixed_reml.RemlFit`,
    which has the attributes of statsmodels' results that the analysis reads.
    """
    what = "trajectory_model"
    if engine not in ENGINES:
        raise ValueError(f"{what}: engine must be one of {ENGINES}, got {engine!r}")
    covariates = tuple(covariates)
    cov_columns = [p.strip() for term in covariates for p in term.split(":")]
    needed = [outcome, time, person, *([service] if service else []), *cov_columns]
    _require_columns(data, needed, what)
    if not pd.api.types.is_numeric_dtype(data[outcome]):
        raise ValueError(f"{what}: outcome column {outcome!r} must be numeric")
    if not pd.api.types.is_numeric_dtype(data[time]):
        raise ValueError(f"{what}: time column {time!r} must be numeric (e.g. months)")

    notes: list[str] = []
    n_obs_eligible = len(data)
    n_units_eligible = int(data[person].nunique(dropna=True))
    complete = data.dropna(subset=list(dict.fromkeys(needed)))
    if len(complete) < n_obs_eligible:
        notes.append(
            f"{n_obs_eligible - len(complete)} of {n_obs_eligible} rows were left out for "
            f"missing values in {sorted(set(needed))}"
        )
    counts = complete.groupby(person, sort=True)[outcome].transform("size")
    if min_assessments < 1:
        raise ValueError(f"{what}: min_assessments must be at least 1, got {min_assessments}")
    used = complete[counts >= min_assessments]
    n_short = int(complete.loc[counts < min_assessments, person].nunique())
    n_no_rows = n_units_eligible - int(complete[person].nunique())
    if n_short or n_no_rows:
        notes.append(
            f"{n_short + n_no_rows} of {n_units_eligible} people were left out for having "
            f"fewer than {_count_text(min_assessments)} usable assessments"
        )
    n_units = int(used[person].nunique())
    n_repeat = int((used.groupby(person).size() >= 2).sum())
    if n_repeat < 3:
        raise ValueError(
            f"{what}: only {n_repeat} people have two or more usable assessments; "
            "at least 3 are needed to fit random slopes"
        )

    work, names = _trajectory_frame(used, outcome, time, person, service, cov_columns)
    back = {v: k for k, v in names.items()}
    # Fit on time / SD(time): REML estimates are equivariant to this rescaling, and it puts
    # the intercept and slope variances on comparable scales, which the optimizers need
    # (unscaled months can leave lbfgs far from the optimum after its iteration limit).
    time_scale = float(work[names[time]].std())
    if not np.isfinite(time_scale) or time_scale <= 0:
        raise ValueError(f"{what}: {time!r} does not vary, so no slope can be estimated")
    work[names[time]] = work[names[time]] / time_scale
    rhs = [names[time]]
    if service:
        if used[service].nunique() > 1:
            rhs.append(f"C({names[service]})")
        else:
            notes.append(f"only one {service} in the data, so no service fixed effects")
    rhs += [_covariate_term(term, used, names) for term in covariates]
    formula = f"{names[outcome]} ~ " + " + ".join(rhs)
    model = MixedLM.from_formula(
        formula, data=work, groups=work[names[person]], re_formula=f"~{names[time]}"
    )
    fit = None
    if engine == "reml":
        fit, converged, optimizer, fit_notes = _fit_fast(model)
    if fit is None:
        fit, converged, optimizer, fit_notes = _fit_mixedlm(model, MIXEDLM_OPTIMIZERS)
    if not converged:
        notes.extend(fit_notes)
        notes.append(
            "WARNING: the mixed model did not converge with any optimizer "
            f"({', '.join(MIXEDLM_OPTIMIZERS)}); estimates are from {optimizer} and may be "
            "unreliable"
        )
    fe = fit.fe_params
    has_time = np.array([names[time] in re.split(r"[:()\[\]]", t) for t in fe.index])
    factor = np.where(has_time, 1.0 / time_scale, 1.0)
    terms = [_readable_term(t, back) for t in fe.index]
    estimates = _tidy(terms, fe.to_numpy() * factor, np.asarray(fit.bse_fe) * factor)
    return TrajectoryResult(
        model="trajectory_model",
        estimates=estimates,
        n_units_used=n_units,
        n_units_eligible=n_units_eligible,
        n_obs_used=len(used),
        n_obs_eligible=n_obs_eligible,
        warnings=notes,
        results=fit,
        outcome=outcome,
        time=time,
        random_effects=_random_effects_table(fit, time_scale),
        converged=converged,
        optimizer=optimizer,
        time_scale=time_scale,
    )
