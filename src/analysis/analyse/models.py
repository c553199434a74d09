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

Method notes and validation evidence are in ``docs/models.md``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.mixed_linear_model import MixedLM

__all__ = [
    "ModelResult",
    "TrajectoryResult",
    "RateResult",
    "ITSResult",
    "StaggeredATTResult",
    "AggregateATTResult",
    "trajectory_model",
    "rate_model",
    "interrupted_time_series",
    "staggered_att",
    "aggregate_att",
    "MIXEDLM_OPTIMIZERS",
    "SIGNIFICANT_DIGITS",
    "ModelNotFitted",
    "round_significant",
    "all_finite",
]

Z95: float = float(stats.norm.ppf(0.975))
"""Two-sided 95% normal critical value (1.959964...)."""

MIXEDLM_OPTIMIZERS: tuple[str, ...] = ("lbfgs", "bfgs", "cg", "powell", "nm")
"""Optimizers tried in turn for the mixed model; lbfgs first (fast and reliable here)."""

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

MIN_NB_ALPHA: float = 1e-4
"""An NB2 dispersion alpha below this sits at the boundary of its parameter space (the data
show no extra-Poisson variation the likelihood can separate from zero): the model falls back
to quasi-Poisson, whose Pearson scale handles any remaining over-dispersion."""

CountFamily = Literal["poisson", "negative_binomial", "quasipoisson"]


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

    def summary_sentence(self) -> str:
        """A plain-English sentence stating the main finding."""
        return f"{self.model}: {len(self.estimates)} estimates from {self.n_obs_used} observations."


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

    def summary_sentence(self) -> str:
        row = self.term(self.time)
        left_out = self.n_units_eligible - self.n_units_used
        direction = "rose" if row["estimate"] > 0 else "fell"
        sentence = (
            f"Across {self.n_units_used} young people ({self.n_obs_used} assessments), "
            f"{self.outcome} {direction} on average by {abs(row['estimate']):.2f} per unit of "
            f"{self.time} (95% CI {row['ci_lower']:.2f} to {row['ci_upper']:.2f})"
        )
        if left_out:
            sentence += (
                f"; {left_out} of {self.n_units_eligible} were left out for having fewer "
                "than two usable assessments"
            )
        if not self.converged:
            sentence += "; the model did not converge, so treat these figures with caution"
        return sentence + "."


@dataclass
class RateResult(ModelResult):
    """Result of :func:`rate_model`; ``dispersion`` is Pearson chi2/df or the NB2 alpha."""

    family: str = "poisson"
    dispersion: float = float("nan")
    dispersion_label: str = ""

    def summary_sentence(self) -> str:
        """Sentence on the first non-intercept term, preferring a numeric one (a trend or
        exposure of interest) over factor levels such as service dummies."""
        rows = self.estimates[self.estimates["term"] != "Intercept"]
        numeric = rows[~rows["term"].str.contains("[T.", regex=False)]
        rows = numeric if not numeric.empty else rows
        if rows.empty:
            return (
                f"The {self.family} rate model used {self.n_obs_used} observations; "
                "it has no terms besides the intercept."
            )
        row = rows.iloc[0]
        return (
            f"In a {self.family.replace('_', ' ')} model of {self.n_obs_used} observations, "
            f"the rate ratio for {row['term']} was {row['rate_ratio']:.2f} "
            f"(95% CI {row['rr_ci_lower']:.2f} to {row['rr_ci_upper']:.2f}); "
            f"{self.dispersion_label} {self.dispersion:.2f}."
        )


@dataclass
class ITSResult(RateResult):
    """Result of :func:`interrupted_time_series`; ``intervention_term`` names the level change."""

    intervention_term: str = "intervention"
    outcome: str = ""

    def summary_sentence(self) -> str:
        row = self.term(self.intervention_term)
        change = (row["rate_ratio"] - 1.0) * 100.0
        direction = "higher" if change > 0 else "lower"
        return (
            f"After the intervention, {self.outcome} was {abs(change):.0f}% {direction} than "
            f"the pre-intervention trend predicts (rate ratio {row['rate_ratio']:.2f}, 95% CI "
            f"{row['rr_ci_lower']:.2f} to {row['rr_ci_upper']:.2f}; "
            f"{self.n_obs_used} time points)."
        )


@dataclass
class StaggeredATTResult(ModelResult):
    """Group-time average treatment effects ATT(g, t) from :func:`staggered_att`.

    ``table`` has one row per (cohort, time) with columns ``cohort, time, event_time, att, se,
    ci_lower, ci_upper, post, n_treated, n_control``. ``influence`` is the n_units x n_cells
    matrix of influence functions (column j belongs to ``table`` row j, row i to
    ``unit_ids[i]``), scaled as in R ``did`` so that ``se = sqrt(sum(IF**2)) / n``.
    """

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    influence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    unit_ids: np.ndarray = field(default_factory=lambda: np.zeros(0))
    unit_cohorts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    control: str = "never_treated"
    outcome: str = ""

    def summary_sentence(self) -> str:
        post = self.table[self.table["post"]]
        return (
            f"Group-time effects on {self.outcome} were estimated for "
            f"{self.table['cohort'].nunique()} rollout cohorts and {len(post)} post-rollout "
            f"cohort-periods from {self.n_units_used} units, using "
            f"{self.control.replace('_', '-')} units as the comparison; see the aggregated "
            "effect for the headline figure."
        )


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

    def summary_sentence(self) -> str:
        lo = self.overall_att - Z95 * self.overall_se
        hi = self.overall_att + Z95 * self.overall_se
        what = {
            "simple": "averaged over all rolled-out cohorts and periods",
            "dynamic": "averaged over the periods since rollout",
            "group": "averaged over rollout cohorts",
            "calendar": "averaged over calendar periods since the first rollout",
        }[self.how]
        direction = "increased" if self.overall_att > 0 else "reduced"
        return (
            f"The rollout {direction} {self.outcome} by {abs(self.overall_att):.3g} "
            f"({what}; 95% CI {lo:.3g} to {hi:.3g}; {self.n_units_used} units)."
        )


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


def _fit_mixedlm(model: MixedLM, optimizers: Sequence[str]) -> tuple[Any, bool, str, list[str]]:
    """Fit by REML trying each optimizer until one converges; return the best fit."""
    notes: list[str] = []
    best: Any = None
    best_name = ""
    for name in optimizers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = model.fit(reml=True, method=[name])
            except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
                notes.append(f"optimizer {name} failed: {exc}")
                continue
        finite = all_finite(fit.fe_params, fit.bse_fe, fit.cov_re, fit.scale, fit.llf)
        if fit.converged and finite:
            return fit, True, name, notes
        why = "gave non-finite estimates or standard errors" if not finite else "did not converge"
        extra = {str(w.message) for w in caught if "converge" in str(w.message).lower()}
        notes.append(
            f"optimizer {name} {why}" + (f" ({'; '.join(sorted(extra))})" if extra else "")
        )
        # Only a fit with finite estimates and standard errors is ever kept.
        if finite and (best is None or fit.llf > best.llf):
            best, best_name = fit, name
    if best is None:
        raise ModelNotFitted(
            "The mixed model could not be fitted: no optimizer gave finite estimates and "
            "standard errors (" + "; ".join(notes) + ")."
        )
    return best, False, best_name, notes


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


def trajectory_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    person: str,
    service: str | None = None,
    covariates: Sequence[str] = (),
) -> TrajectoryResult:
    """Linear mixed model of an outcome over time with a random intercept and slope per person.

    ``outcome ~ time [+ C(service)] [+ covariates]`` fitted by REML (statsmodels ``MixedLM``)
    with a correlated random intercept and random slope on ``time`` for each ``person``
    (``re_formula="~time"``). ``service``, when given, enters as fixed effects. A covariate
    entry is a column name (non-numeric columns enter as factors) or an interaction ``"a:b"``
    of two columns (e.g. ``f"{time}:phase"`` asks whether change differs by phase).

    Rows missing the outcome, time, person, service or a covariate are left out and counted;
    then people with fewer than two remaining assessments are left out and counted (they carry
    no information on their own slope). Optimizers are tried in the order
    :data:`MIXEDLM_OPTIMIZERS` (lbfgs first) until one converges with finite standard errors;
    if none does, the best fit is returned with ``converged=False`` and a warning.

    On lme4's ``sleepstudy`` (``Reaction ~ Days + (Days|Subject)``) this reproduces the
    published REML estimates (see ``tests/test_models.py``).
    """
    what = "trajectory_model"
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
    used = complete[counts >= 2]
    n_short = int(complete.loc[counts < 2, person].nunique())
    n_no_rows = n_units_eligible - int(complete[person].nunique())
    if n_short or n_no_rows:
        notes.append(
            f"{n_short + n_no_rows} of {n_units_eligible} people were left out for having "
            "fewer than two usable assessments"
        )
    n_units = int(used[person].nunique())
    if n_units < 3:
        raise ValueError(
            f"{what}: only {n_units} people have two or more usable assessments; "
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


# --------------------------------------------------------------------------------------------
# Callaway & Sant'Anna (2021) staggered difference-in-differences
# --------------------------------------------------------------------------------------------

_SE_FLOOR: float = math.sqrt(np.finfo(float).eps) * 10.0
"""R did sets standard errors at or below sqrt(.Machine$double.eps)*10 to NA."""


def _balanced_panel(
    panel: pd.DataFrame, unit: str, time: str, cohort: str, outcome: str, what: str
) -> tuple[pd.DataFrame, list[str]]:
    """Validate the panel and return it balanced (units observed in every period)."""
    notes: list[str] = []
    _require_columns(panel, [unit, time, cohort, outcome], what)
    df = pd.DataFrame(
        {
            "unit": panel[unit].to_numpy(),
            "time": pd.to_numeric(panel[time], errors="coerce").to_numpy(),
            "cohort": pd.to_numeric(panel[cohort], errors="coerce").to_numpy(),
            "y": pd.to_numeric(panel[outcome], errors="coerce").to_numpy(),
        }
    )
    if df["unit"].isna().any() or df["time"].isna().any():
        rows = list(np.flatnonzero(df["unit"].isna() | df["time"].isna())[:5])
        raise ValueError(f"{what}: missing or non-numeric {unit!r}/{time!r} at rows {rows}")
    dup = df.duplicated(["unit", "time"])
    if dup.any():
        first = df.loc[dup, ["unit", "time"]].iloc[0].tolist()
        raise ValueError(f"{what}: {int(dup.sum())} duplicated ({unit}, {time}) rows, e.g. {first}")
    df["cohort"] = df["cohort"].fillna(0.0)
    varies = df.groupby("unit")["cohort"].nunique() > 1
    if varies.any():
        raise ValueError(
            f"{what}: {cohort!r} must be constant within a unit; it varies for "
            f"{int(varies.sum())} units, e.g. {varies[varies].index[0]!r}"
        )
    missing_y = df["y"].isna()
    if missing_y.any():
        notes.append(f"{int(missing_y.sum())} rows with a missing outcome were left out")
        df = df[~missing_y]
    n_periods = df["time"].nunique()
    per_unit = df.groupby("unit")["time"].transform("size")
    if (per_unit < n_periods).any():
        lost = df.loc[per_unit < n_periods, "unit"].nunique()
        notes.append(
            f"{lost} units not observed in all {n_periods} periods were left out "
            "(balanced panel, as R did)"
        )
        df = df[per_unit == n_periods]
    return df.sort_values(["unit", "time"]).reset_index(drop=True), notes


def staggered_att(
    panel: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    control: Literal["never_treated", "not_yet_treated"] = "never_treated",
) -> StaggeredATTResult:
    """Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g, t).

    Panel data, one row per unit and period; ``cohort`` is the first period a unit is treated
    (0 or missing: never treated). Unconditional parallel trends, no anticipation, varying
    base period (pre-treatment cells compare t with t-1; post-treatment cells compare t with
    g-1), comparison units either never treated or not yet treated by period t. Standard
    errors are analytic, from the influence functions. This reproduces R
    ``did::att_gt(..., xformla=~1, base_period="varying", bstrap=FALSE)`` including its
    preprocessing: unbalanced units are dropped; cohorts treated after the last period count
    as never treated; units treated in or before the first period are dropped; with
    ``not_yet_treated`` and no never-treated units, periods from the last cohort's start on
    are dropped and that cohort serves as the comparison.
    """
    what = "staggered_att"
    if control not in ("never_treated", "not_yet_treated"):
        raise ValueError(
            f"{what}: control must be 'never_treated' or 'not_yet_treated', got {control!r}"
        )
    n_units_eligible = int(panel[unit].nunique()) if unit in panel.columns else 0
    n_obs_eligible = len(panel)
    df, notes = _balanced_panel(panel, unit, time, cohort, outcome, what)
    tlist = np.sort(df["time"].unique())
    late = df["cohort"] > tlist.max()
    if late.any():
        notes.append(
            f"{df.loc[late, 'unit'].nunique()} units first treated after the last period "
            "were treated as never treated"
        )
        df.loc[late, "cohort"] = 0.0
    early = (df["cohort"] > 0) & (df["cohort"] <= tlist.min())
    if early.any():
        notes.append(
            f"{df.loc[early, 'unit'].nunique()} units already treated in the first period "
            "were left out"
        )
        df = df[~early]
    if not (df["cohort"] == 0).any():
        if control == "never_treated":
            raise ValueError(f"{what}: there are no never-treated units to compare with")
        last = df.loc[df["cohort"] > 0, "cohort"].max()
        notes.append(
            f"no never-treated units: periods from {last:g} on were dropped and cohort "
            f"{last:g} serves as the not-yet-treated comparison"
        )
        df = df[df["time"] < last].copy()
        df.loc[df["cohort"] == last, "cohort"] = 0.0
        tlist = np.sort(df["time"].unique())
    if len(tlist) < 2:
        raise ValueError(f"{what}: need at least two periods, got {len(tlist)}")

    wide = df.pivot(index="unit", columns="time", values="y").loc[:, tlist]
    units = wide.index.to_numpy()
    g_unit = df.groupby("unit")["cohort"].first().loc[units].to_numpy(dtype=float)
    y = wide.to_numpy(dtype=float)
    n = len(units)
    glist = np.sort(np.unique(g_unit[g_unit > 0]))
    if len(glist) == 0:
        raise ValueError(f"{what}: no treated cohorts in the data")

    rows: list[dict[str, Any]] = []
    columns: list[np.ndarray] = []
    for g in glist:
        treated = g_unit == g
        for ti in range(len(tlist) - 1):
            current = tlist[ti + 1]
            if g <= current:
                pre_idx = np.flatnonzero(tlist < g)
                if len(pre_idx) == 0:
                    notes.append(f"cohort {g:g} has no pre-treatment period and was dropped")
                    break
                base = int(pre_idx[-1])
            else:
                base = ti
            if control == "never_treated":
                comp = g_unit == 0
            else:
                comp = (g_unit == 0) | ((g_unit > current) & (g_unit != g))
            keep = treated | comp
            n1 = int(keep.sum())
            dy = y[:, ti + 1] - y[:, base]
            n_t, n_c = int(treated.sum()), int(comp.sum())
            infl = np.zeros(n)
            if n_t == 0 or n_c == 0:
                att = float("nan")
                notes.append(f"ATT({g:g},{current:g}) has no treated or no comparison units")
            else:
                p = n_t / n1
                m1 = dy[treated].mean()
                m0 = dy[comp].mean()
                att = float(m1 - m0)
                psi = np.where(treated, (dy - m1) / p, 0.0) - np.where(
                    comp, (dy - m0) / (1.0 - p), 0.0
                )
                infl = np.where(keep, psi * (n / n1), 0.0)
            columns.append(infl)
            rows.append(
                {
                    "cohort": g,
                    "time": current,
                    "event_time": current - g,
                    "att": att,
                    "post": bool(g <= current),
                    "n_treated": n_t,
                    "n_control": n_c,
                }
            )
    influence = np.column_stack(columns) if columns else np.zeros((n, 0))
    table = pd.DataFrame(rows)
    se = np.sqrt((influence**2).sum(axis=0)) / n
    se = np.where(se <= _SE_FLOOR, np.nan, se)
    table["att"] = round_significant(table["att"].to_numpy(dtype=float))
    table["se"] = round_significant(se)
    table["ci_lower"] = round_significant(table["att"] - Z95 * table["se"])
    table["ci_upper"] = round_significant(table["att"] + Z95 * table["se"])
    table = table[
        [
            "cohort",
            "time",
            "event_time",
            "att",
            "se",
            "ci_lower",
            "ci_upper",
            "post",
            "n_treated",
            "n_control",
        ]
    ]
    terms = [f"ATT({c:g},{t:g})" for c, t in zip(table["cohort"], table["time"], strict=True)]
    estimates = _tidy(terms, table["att"].to_numpy(), table["se"].to_numpy())
    return StaggeredATTResult(
        model="staggered_att",
        estimates=estimates,
        n_units_used=n,
        n_units_eligible=n_units_eligible,
        n_obs_used=n * len(tlist),
        n_obs_eligible=n_obs_eligible,
        warnings=notes,
        results=None,
        table=table,
        influence=influence,
        unit_ids=units,
        unit_cohorts=g_unit,
        control=control,
        outcome=outcome,
    )


def _weight_influence(
    keepers: np.ndarray, pg: np.ndarray, g_unit: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """R did ``wif``: influence of estimating the group-probability weights (n x k)."""
    indicators = np.column_stack([(g_unit == group[k]).astype(float) for k in keepers])
    pk = pg[keepers]
    s = pk.sum()
    if1 = (indicators - pk) / s
    if2 = (indicators - pk).sum(axis=1, keepdims=True) * (pk / s**2)[None, :]
    return if1 - if2


def _agg(
    att: np.ndarray,
    infl: np.ndarray,
    which: np.ndarray,
    weights: np.ndarray,
    wif: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    """Weighted aggregate of ATT cells and its influence function (R did get_agg_inf_func)."""
    est = float(np.sum(att[which] * weights))
    inf = infl[:, which] @ weights
    if wif is not None:
        inf = inf + wif @ att[which]
    return est, inf


def _se(inf: np.ndarray) -> float:
    """Standard error from an influence function (R did getSE without bootstrap)."""
    n = len(inf)
    se = math.sqrt(float(np.mean(inf**2)) / n) if n else float("nan")
    return float("nan") if se <= _SE_FLOOR else se


def aggregate_att(
    att: StaggeredATTResult,
    how: Literal["simple", "dynamic", "group", "calendar"] = "simple",
) -> AggregateATTResult:
    """Aggregate ATT(g, t) as R ``did::aggte(..., bstrap=FALSE)`` does.

    * ``simple``: post-treatment cells weighted by cohort size.
    * ``dynamic``: event-study effects by time since treatment e (all e, including
      pre-treatment placebo e<0), each a cohort-size-weighted mean; overall = mean over e>=0.
    * ``group``: per cohort, the mean of its post-treatment cells; overall = cohort-size
      weighted mean of those.
    * ``calendar``: per period from the first rollout on, cohort-size-weighted mean of the
      treated cells; overall = mean over those periods.

    Weights use the cohort shares pg = P(G = g) over all units; standard errors add the
    influence of estimating those weights (did's ``wif``), reproducing did's published
    analytic results on ``mpdta`` (see ``tests/test_models.py``). Cells with a missing ATT are dropped with a warning
    (did's ``na.rm=TRUE``).
    """
    what = "aggregate_att"
    if how not in ("simple", "dynamic", "group", "calendar"):
        raise ValueError(
            f"{what}: how must be 'simple', 'dynamic', 'group' or 'calendar', got {how!r}"
        )
    notes = list(att.warnings)
    table = att.table
    ok = table["att"].notna().to_numpy()
    if not ok.all():
        notes.append(f"{int((~ok).sum())} ATT(g,t) cells without an estimate were left out")
    tab = table[ok].reset_index(drop=True)
    infl = att.influence[:, ok]
    a = tab["att"].to_numpy(dtype=float)
    group = tab["cohort"].to_numpy(dtype=float)
    tt = tab["time"].to_numpy(dtype=float)
    g_unit = att.unit_cohorts
    glist = np.sort(np.unique(group))
    pgg = np.array([np.mean(g_unit == g) for g in glist])
    pg = pgg[np.searchsorted(glist, group)]
    keepers = np.flatnonzero(group <= tt)

    egt: np.ndarray
    egt_att: list[float] = []
    egt_inf: list[np.ndarray] = []
    if how == "simple":
        w = pg[keepers] / pg[keepers].sum()
        overall, inf = _agg(a, infl, keepers, w, _weight_influence(keepers, pg, g_unit, group))
        egt = np.zeros(0)
    elif how == "group":
        for g in glist:
            which = np.flatnonzero((group == g) & (g <= tt))
            est, inf_g = _agg(a, infl, which, pg[which] / pg[which].sum(), None)
            egt_att.append(est)
            egt_inf.append(inf_g)
        egt = glist
        att_g = np.array(egt_att)
        inf_mat = np.column_stack(egt_inf)
        wif = _weight_influence(np.arange(len(glist)), pgg, g_unit, glist)
        overall, inf = _agg(att_g, inf_mat, np.arange(len(glist)), pgg / pgg.sum(), wif)
    elif how == "dynamic":
        event = tt - group
        egt = np.sort(np.unique(event))
        for e in egt:
            which = np.flatnonzero(event == e)
            wif = _weight_influence(which, pg, g_unit, group)
            est, inf_e = _agg(a, infl, which, pg[which] / pg[which].sum(), wif)
            egt_att.append(est)
            egt_inf.append(inf_e)
        pos = np.flatnonzero(egt >= 0)
        inf_mat = np.column_stack(egt_inf)
        overall, inf = _agg(
            np.array(egt_att), inf_mat, pos, np.full(len(pos), 1.0 / len(pos)), None
        )
    else:  # calendar
        periods = np.sort(np.unique(tt))
        egt = periods[periods >= group.min()]
        for t1 in egt:
            which = np.flatnonzero((tt == t1) & (group <= tt))
            wif = _weight_influence(which, pg, g_unit, group)
            est, inf_t = _agg(a, infl, which, pg[which] / pg[which].sum(), wif)
            egt_att.append(est)
            egt_inf.append(inf_t)
        inf_mat = np.column_stack(egt_inf)
        k = len(egt)
        overall, inf = _agg(np.array(egt_att), inf_mat, np.arange(k), np.full(k, 1.0 / k), None)

    overall = float(round_significant(overall))
    overall_se = float(round_significant(_se(inf)))
    egt_att = [float(v) for v in round_significant(np.array(egt_att, dtype=float))]
    label = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}.get(how, "egt")
    if how == "simple":
        out_table = pd.DataFrame(columns=["egt", "att", "se", "ci_lower", "ci_upper"])
        inf_egt = np.zeros((len(inf), 0))
        terms = ["ATT"]
        est_vals, se_vals = [overall], [overall_se]
    else:
        inf_egt = np.column_stack(egt_inf)
        se_egt = round_significant(np.array([_se(inf_egt[:, j]) for j in range(inf_egt.shape[1])]))
        out_table = pd.DataFrame({"egt": egt, "att": egt_att, "se": se_egt})
        out_table["ci_lower"] = round_significant(out_table["att"] - Z95 * out_table["se"])
        out_table["ci_upper"] = round_significant(out_table["att"] + Z95 * out_table["se"])
        terms = ["ATT", *[f"{label}={v:g}" for v in egt]]
        est_vals = [overall, *egt_att]
        se_vals = [overall_se, *se_egt]
    estimates = _tidy(terms, np.array(est_vals), np.array(se_vals))
    return AggregateATTResult(
        model=f"aggregate_att[{how}]",
        estimates=estimates,
        n_units_used=att.n_units_used,
        n_units_eligible=att.n_units_eligible,
        n_obs_used=att.n_obs_used,
        n_obs_eligible=att.n_obs_eligible,
        warnings=notes,
        results=None,
        how=how,
        overall_att=overall,
        overall_se=overall_se,
        table=out_table,
        influence=inf,
        influence_egt=inf_egt,
        outcome=att.outcome,
    )
