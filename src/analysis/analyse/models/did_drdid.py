"""The two-period panel DiD estimators R ``did`` calls for each ATT(g, t) cell (Sant'Anna &
Zhao 2020, R package ``DRDID``): outcome regression (``reg_did_panel``), standardised inverse
probability weighting (``std_ipw_did_panel``) and the locally efficient doubly robust estimator
(``drdid_panel``), each with its influence function. Unit weights are all one (as
``att_gt`` without ``weightsname``)."""

from __future__ import annotations

from typing import Literal

import numpy as np

EstMethod = Literal["dr", "reg", "ipw"]
EST_METHODS: tuple[str, ...] = ("dr", "reg", "ipw")

_EPS = np.finfo(float).eps
OVERLAP_LIMIT: float = 0.999
"""R did refuses a cell for ``dr``/``ipw`` when a fitted propensity score reaches 0.999."""
TRIM_LEVEL: float = 0.995
"""DRDID's ``trim.level``: comparison units with a propensity score at or above it get no
weight."""


class CellNotEstimable(ValueError):
    """A 2x2 comparison that R did would also refuse (its ATT(g, t) is reported missing)."""


def logit_fit(x: np.ndarray, d: np.ndarray, *, max_iter: int = 100) -> np.ndarray:
    """Maximum-likelihood logit of ``d`` on ``x`` (which holds the intercept), by Newton's
    method; returns the fitted probabilities. Raises :class:`CellNotEstimable` when the
    fit does not converge to finite coefficients (e.g. perfect separation)."""
    beta = np.zeros(x.shape[1])
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        hess = x.T @ (x * (p * (1.0 - p))[:, None])
        try:
            step = np.linalg.solve(hess, x.T @ (d - p))
        except np.linalg.LinAlgError as exc:
            raise CellNotEstimable("the propensity score model is singular") from exc
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) < 1e-10 * (1.0 + np.max(np.abs(beta))):
            return 1.0 / (1.0 + np.exp(-(x @ beta)))
    raise CellNotEstimable("the propensity score model did not converge")


def _ols_parts(x: np.ndarray, dy: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Comparison-group regression of dy on x: fitted values for everyone and the
    asymptotically linear representation of the coefficients (n x k)."""
    n = len(d)
    control = d == 0
    xc = x[control]
    if 1.0 / np.linalg.cond(xc.T @ xc, 1) < _EPS:
        raise CellNotEstimable("the comparison units' covariate matrix is singular")
    beta, *_ = np.linalg.lstsq(xc, dy[control], rcond=None)
    fitted = x @ beta
    weights_ols = 1.0 - d
    xpx = (x * weights_ols[:, None]).T @ x / n
    alr = (weights_ols * (dy - fitted))[:, None] * x @ np.linalg.inv(xpx)
    return fitted, alr


def _ps_parts(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Propensity score (capped below one as DRDID does) and the asymptotically linear
    representation of the logit coefficients (n x k)."""
    n = len(d)
    ps = logit_fit(x, d)
    if ps.max() >= OVERLAP_LIMIT:
        raise CellNotEstimable(
            f"overlap fails: a propensity score reaches {OVERLAP_LIMIT} (R did's limit)"
        )
    ps = np.minimum(ps, 1.0 - 1e-6)
    w = ps * (1.0 - ps)
    hessian = np.linalg.inv(x.T @ (x * w[:, None])) * n
    alr = ((d - ps)[:, None] * x) @ hessian
    return ps, alr


def two_by_two(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, method: EstMethod
) -> tuple[float, np.ndarray]:
    """ATT and influence function (length n, scaled as DRDID's ``att.inf.func``) of one
    two-period comparison: ``dy`` the change in outcome, ``d`` 1 for the treated cohort and
    0 for the comparison units, ``x`` the covariates with an intercept column first."""
    if method == "reg":
        return _reg(dy, d, x)
    if method == "ipw":
        return _ipw(dy, d, x)
    return _dr(dy, d, x)


def _reg(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """DRDID ``reg_did_panel``."""
    out_delta, alr_ols = _ols_parts(x, dy, d)
    eta_treat = np.mean(d * dy) / np.mean(d)
    eta_cont = np.mean(d * out_delta) / np.mean(d)
    inf_treat = (d * dy - d * eta_treat) / np.mean(d)
    inf_cont_1 = d * out_delta - d * eta_cont
    inf_cont_2 = alr_ols @ np.mean(d[:, None] * x, axis=0)
    inf_control = (inf_cont_1 + inf_cont_2) / np.mean(d)
    return float(eta_treat - eta_cont), inf_treat - inf_control


def _ipw(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """DRDID ``std_ipw_did_panel`` (normalised weights)."""
    ps, alr_ps = _ps_parts(x, d)
    trim = np.where(d == 0, ps < TRIM_LEVEL, True)
    w_treat = trim * d
    w_cont = trim * ps * (1.0 - d) / (1.0 - ps)
    eta_treat = np.mean(w_treat * dy) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * dy) / np.mean(w_cont)
    inf_treat = (w_treat * dy - w_treat * eta_treat) / np.mean(w_treat)
    inf_cont_1 = w_cont * dy - w_cont * eta_cont
    m2 = np.mean((w_cont * (dy - eta_cont))[:, None] * x, axis=0)
    inf_control = (inf_cont_1 + alr_ps @ m2) / np.mean(w_cont)
    return float(eta_treat - eta_cont), inf_treat - inf_control


def _dr(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """DRDID ``drdid_panel`` (locally efficient doubly robust)."""
    ps, alr_ps = _ps_parts(x, d)
    out_delta, alr_ols = _ols_parts(x, dy, d)
    trim = np.where(d == 0, ps < TRIM_LEVEL, True)
    w_treat = trim * d
    w_cont = trim * ps * (1.0 - d) / (1.0 - ps)
    resid = dy - out_delta
    eta_treat = np.mean(w_treat * resid) / np.mean(w_treat)
    eta_cont = np.mean(w_cont * resid) / np.mean(w_cont)
    inf_treat_1 = w_treat * resid - w_treat * eta_treat
    inf_treat_2 = alr_ols @ np.mean(w_treat[:, None] * x, axis=0)
    inf_treat = (inf_treat_1 - inf_treat_2) / np.mean(w_treat)
    inf_cont_1 = w_cont * resid - w_cont * eta_cont
    inf_cont_2 = alr_ps @ np.mean((w_cont * (resid - eta_cont))[:, None] * x, axis=0)
    inf_cont_3 = alr_ols @ np.mean(w_cont[:, None] * x, axis=0)
    inf_control = (inf_cont_1 + inf_cont_2 - inf_cont_3) / np.mean(w_cont)
    return float(eta_treat - eta_cont), inf_treat - inf_control


def difference_in_means(dy: np.ndarray, d: np.ndarray) -> tuple[float, np.ndarray]:
    """The unconditional 2x2 DiD (no covariates), where all three estimators coincide:
    difference of the mean changes and its influence function."""
    treated = d == 1
    p = float(np.mean(treated))
    m1 = float(dy[treated].mean())
    m0 = float(dy[~treated].mean())
    psi = np.where(treated, (dy - m1) / p, -(dy - m0) / (1.0 - p))
    return m1 - m0, psi
