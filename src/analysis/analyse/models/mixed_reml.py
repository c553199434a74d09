"""A fast, exact REML fitter for linear mixed models with one grouping factor (lme4's method).

The model: ``y_i = X_i b + Z_i u_i + e_i`` for each group ``i`` (a young person), with
``u_i ~ N(0, sigma^2 L L')`` and ``e_i ~ N(0, sigma^2 I)``; ``L`` is the relative Cholesky
factor (lower triangular, its ``q(q+1)/2`` free entries are ``theta``), so the random-effects
covariance is ``sigma^2 L L'`` (unstructured). For the trajectory model ``Z_i`` is an
intercept and months, ``q = 2``, three parameters.

As lme4 (Bates et al. 2015, section 3), the residual variance and the fixed effects are
profiled out and the REML criterion is minimised over ``theta`` alone:

    d(theta) = log|M| + log|X'V^-1 X| + (n - p) (1 + log(2 pi r2 / (n - p)))

with ``V = I + Z L L' Z'`` (relative to sigma^2), ``M_i = I + L' Z_i'Z_i L`` (so
``log|V_i| = log|M_i|``) and ``r2`` the generalised residual sum of squares. By the Woodbury
identity everything is a sum over groups of ``q x q`` and ``q x p`` pieces computed once
from per-group sufficient statistics (``Z_i'Z_i``, ``Z_i'X_i``, ``Z_i'y_i`` and the sums
``X'X``, ``X'y``, ``y'y``), so one evaluation costs a few batched ``q x q`` solves whatever
the number of observations; no ``n x n`` matrix is formed.

``theta`` is optimised by bounded L-BFGS-B (diagonal entries of ``L`` at least 0, so
singular fits such as a zero slope variance are reached exactly), restarted from its end
point, then polished by Newton steps on the free parameters. The fixed effects'
covariance is reported two ways: ``cov_fe_conditional`` = ``sigma^2 (X'V^-1 X)^-1``
(lme4's ``vcov``) and, as :meth:`RemlFit.cov_params`, statsmodels ``MixedLM``'s: the
inverse of the observed information of the profiled (in sigma^2) restricted likelihood in
the fixed effects and the random-effects covariance jointly (its cross terms are zero on
balanced data such as lme4's sleepstudy and small otherwise). The second keeps the
analysis's numbers those of statsmodels, which stays the reference in the tests. A
singular fit (the random-effects covariance on the boundary, e.g. no slope variance:
:data:`SINGULAR_RATIO`) uses lme4's conditional covariance, the observed information being
no basis for it there, and says so in ``notes``. ``cov_fe_robust`` is the covariance
clustered by group (a sandwich with the model's weights).

Non-finite results are refused with :class:`~analysis.analyse.models.results.ModelNotFitted`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.analyse.models.results import ModelNotFitted, all_finite

LOG_2PI = math.log(2 * math.pi)

SINGULAR_RATIO = 1e-6
"""A fit is singular when the random-effects covariance's smallest eigenvalue is at most
this fraction of its largest (or a diagonal entry of ``L`` is on its bound): the observed
information is then not a valid basis for the fixed effects' covariance (the optimum is on
the boundary of the parameter space), and lme4's ``sigma^2 (X'V^-1 X)^-1`` is used."""


@dataclass(frozen=True)
class GroupStats:
    """Per-group sufficient statistics of a linear mixed model with one grouping factor."""

    ztz: np.ndarray  # (G, q, q)
    ztx: np.ndarray  # (G, q, p)
    zty: np.ndarray  # (G, q)
    xtx: np.ndarray  # (p, p)
    xty: np.ndarray  # (p,)
    yty: float
    n: int
    labels: list[Any]
    ztz_t: np.ndarray  # (q, q, G): ztz in the layout of the criterion's batched algebra
    zt_xy: np.ndarray  # (q, G, p + 1): [Z'X | Z'y] likewise


def _group_order(groups: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Rows sorted by group (groups in order of first appearance, as statsmodels lists
    them): the row order, where each group's rows start in it, and the group labels."""
    codes, labels = pd.factorize(pd.Series(groups), sort=False)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts, list(labels)


def group_stats(y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: Sequence[Any]) -> GroupStats:
    """The sufficient statistics: rows of each group summed (groups in order of first
    appearance, as statsmodels lists them)."""
    order, starts, labels = _group_order(groups)
    ys, xs, zs = y[order], x[order], z[order]
    ztz = np.add.reduceat(zs[:, :, None] * zs[:, None, :], starts, axis=0)
    ztx = np.add.reduceat(zs[:, :, None] * xs[:, None, :], starts, axis=0)
    zty = np.add.reduceat(zs * ys[:, None], starts, axis=0)
    return GroupStats(
        ztz=ztz, ztx=ztx, zty=zty, xtx=x.T @ x, xty=x.T @ y, yty=float(y @ y), n=len(y),
        labels=list(labels), ztz_t=np.ascontiguousarray(np.moveaxis(ztz, 0, 2)),
        zt_xy=np.ascontiguousarray(np.moveaxis(np.concatenate([ztx, zty[:, :, None]], axis=2), 0, 1)),
    )  # fmt: skip


def _lower(theta: np.ndarray, q: int) -> np.ndarray:
    lam = np.zeros((q, q))
    lam[np.tril_indices(q)] = theta
    return lam


@dataclass(frozen=True)
class _Profile:
    """Everything the REML criterion computes at one ``theta``."""

    deviance: float
    beta: np.ndarray
    a: np.ndarray  # X'V^-1 X (relative to sigma^2)
    r2: float
    m: np.ndarray  # (G, q, q)


def _profile(theta: np.ndarray, s: GroupStats) -> _Profile | None:
    """The profiled REML criterion at ``theta`` (``None`` where it is not defined)."""
    q, p = s.ztz.shape[1], s.xtx.shape[0]
    g = s.ztz.shape[0]
    lam = _lower(theta, q)
    # M_g = I + L' Z_g'Z_g L, stacked as (q, q, G)
    m = np.einsum("ji,jkg,kl->ilg", lam, s.ztz_t, lam) + np.eye(q)[:, :, None]
    # [L'Z'X | L'Z'y] as (q, G, p + 1): one small matrix product
    rhs = (lam.T @ s.zt_xy.reshape(q, -1)).reshape(q, g, p + 1)
    logdet_m, sol = _spd_solve(m, rhs)
    flat_rhs, flat_sol = rhs.reshape(q * g, p + 1), sol.reshape(q * g, p + 1)
    cross = flat_rhs.T @ flat_sol  # (p + 1, p + 1)
    a = s.xtx - cross[:p, :p]
    c = s.xty - cross[:p, p]
    yvy = s.yty - float(cross[p, p])
    try:
        ca = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return None
    beta = np.linalg.solve(a, c)
    r2 = yvy - float(c @ beta)
    dof = s.n - p
    if not (r2 > 0 and math.isfinite(r2)):
        return None
    logdet_a = 2.0 * float(np.log(np.diag(ca)).sum())
    dev = logdet_m + logdet_a + dof * (1.0 + LOG_2PI + math.log(r2 / dof))
    return _Profile(deviance=dev, beta=beta, a=a, r2=r2, m=np.moveaxis(m, 2, 0))


def _spd_solve(m: np.ndarray, rhs: np.ndarray) -> tuple[float, np.ndarray]:
    """``sum log|M_g|`` and ``M_g^-1 rhs_g`` for a stack of symmetric positive definite
    matrices ``m`` (q, q, G) and right-hand sides ``rhs`` (q, G, k): closed form for 2 x 2
    (the trajectory model's case), LAPACK otherwise."""
    if m.shape[0] == 2:
        a, b, d = m[0, 0], m[1, 0], m[1, 1]
        det = a * d - b * b
        if not np.all(det > 0):
            raise np.linalg.LinAlgError("not positive definite")
        inv = 1.0 / det
        r0, r1 = rhs[0], rhs[1]
        sol = np.stack([(d * inv)[:, None] * r0 - (b * inv)[:, None] * r1,
                        (a * inv)[:, None] * r1 - (b * inv)[:, None] * r0])  # fmt: skip
        return float(np.log(det).sum()), sol
    mg = np.moveaxis(m, 2, 0)
    chol = np.linalg.cholesky(mg)
    sol = np.linalg.solve(mg, np.moveaxis(rhs, 0, 1))
    return 2.0 * float(np.log(np.einsum("gii->gi", chol)).sum()), np.moveaxis(sol, 1, 0)


def _criterion(theta: np.ndarray, s: GroupStats) -> float:
    try:
        prof = _profile(theta, s)
    except np.linalg.LinAlgError:
        return math.inf
    return math.inf if prof is None else prof.deviance


def _newton_polish(theta: np.ndarray, s: GroupStats, lower: np.ndarray) -> np.ndarray:
    """Newton steps (central-difference derivatives) on the parameters off their bounds,
    each kept only when it lowers the criterion: the optimum to near machine precision."""
    best, f_best = theta.copy(), _criterion(theta, s)
    for _ in range(8):
        free = np.flatnonzero(~((lower == 0) & (best <= 1e-10)))
        if free.size == 0:
            break
        h = 1e-4 * np.maximum(np.abs(best[free]), 1e-2)
        k = free.size
        grad, hess = np.zeros(k), np.zeros((k, k))
        f0 = f_best
        for a in range(k):
            ea = np.zeros_like(best)
            ea[free[a]] = h[a]
            fp, fm = _criterion(best + ea, s), _criterion(best - ea, s)
            grad[a] = (fp - fm) / (2 * h[a])
            hess[a, a] = (fp - 2 * f0 + fm) / h[a] ** 2
            for b in range(a):
                eb = np.zeros_like(best)
                eb[free[b]] = h[b]
                fpp = _criterion(best + ea + eb, s)
                fpm = _criterion(best + ea - eb, s)
                fmp = _criterion(best - ea + eb, s)
                fmm = _criterion(best - ea - eb, s)
                hess[a, b] = hess[b, a] = (fpp - fpm - fmp + fmm) / (4 * h[a] * h[b])
        if not all_finite(grad, hess):
            break
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        cand = best.copy()
        cand[free] -= step
        cand = np.maximum(cand, lower)
        f_cand = _criterion(cand, s)
        if not f_cand < f_best:
            break
        improvement = f_best - f_cand
        best, f_best = cand, f_cand
        if improvement < 1e-12 * max(1.0, abs(f_best)):
            break
    return best


def _optimise(s: GroupStats, start: np.ndarray) -> tuple[np.ndarray, bool, str]:
    q = s.ztz.shape[1]
    diag = np.array([i == j for i in range(q) for j in range(i + 1)])
    lower = np.where(diag, 0.0, -np.inf)
    bounds = [(0.0, None) if d else (None, None) for d in diag]
    res = optimize.minimize(_criterion, start, args=(s,), method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": 1000})  # fmt: skip
    theta, fun, success, message = np.asarray(res.x, dtype=float), res.fun, res.success, res.message
    # A zero diagonal entry of L is always a stationary point (the criterion is even in
    # it), where L-BFGS-B can stop although the optimum is inside: step off the bound and
    # restart whenever that lowers the criterion; a truly singular fit stays on the bound.
    for _ in range(3):
        trial = _off_bound(theta, s, diag)
        if trial is None:
            break
        res = optimize.minimize(_criterion, trial, args=(s,), method="L-BFGS-B",
                                bounds=bounds, options={"maxiter": 1000})  # fmt: skip
        if not res.fun < fun:
            break
        theta, fun, success, message = (
            np.asarray(res.x, dtype=float),
            res.fun,
            res.success,
            res.message,
        )
    if np.any(theta[diag] <= 1e-8):
        # On the boundary: a zero diagonal leaves the entries below it a ridge of equal
        # covariances, where L-BFGS-B can settle in the wrong basin; restart from a few
        # correlations and keep the best.
        starts = [np.eye(q)[np.tril_indices(q)].astype(float)]
        if q == 2:
            # the ridge's radius, turned through the correlations, just off the bound
            r = max(float(np.hypot(theta[0], np.hypot(theta[1], theta[2]))), 1e-2)
            starts += [np.array([1.0, rho, math.sqrt(1 - rho**2)]) for rho in (0.7, -0.7)]
            starts += [r * np.array([0.05, math.cos(a), math.sin(a)])
                       for a in (0.1, -0.1, math.pi / 4, -math.pi / 4, math.pi - 0.1)]  # fmt: skip
        for start2 in starts:
            res = optimize.minimize(_criterion, start2, args=(s,), method="L-BFGS-B",
                                    bounds=bounds, options={"maxiter": 1000})  # fmt: skip
            trial = _off_bound(np.asarray(res.x, dtype=float), s, diag)
            if trial is not None:
                res = optimize.minimize(_criterion, trial, args=(s,), method="L-BFGS-B",
                                        bounds=bounds, options={"maxiter": 1000})  # fmt: skip
            if res.fun < fun - 1e-12:
                theta, fun, success, message = (np.asarray(res.x, dtype=float), res.fun,
                                                res.success, res.message)  # fmt: skip
    theta = _newton_polish(theta, s, lower)
    converged = bool(success) and math.isfinite(_criterion(theta, s))
    return theta, converged, str(message)


def _off_bound(theta: np.ndarray, s: GroupStats, diag: np.ndarray) -> np.ndarray | None:
    """The best point a step off the bound of a zero diagonal entry of ``theta`` reaches,
    if it is lower than ``theta``'s criterion (``None`` otherwise)."""
    at_bound = np.flatnonzero(diag & (theta <= 1e-8))
    if at_bound.size == 0:
        return None
    scale = max(float(np.max(np.abs(theta))), 1e-2)
    f0, best, f_best = _criterion(theta, s), None, math.inf
    for i in at_bound:
        for step in (1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0):
            cand = theta.copy()
            cand[i] = step * scale
            f = _criterion(cand, s)
            if f < f_best:
                best, f_best = cand, f
    return best if f_best < f0 else None


def _psi_grad(psi: np.ndarray, beta: np.ndarray, s: GroupStats) -> np.ndarray:
    """Gradient in ``psi`` (the relative random-effects covariance, packed lower triangle)
    of statsmodels' profiled restricted log-likelihood at fixed ``beta``, ``-(n - p)/2 log
    r'V^-1 r - 1/2 sum log|V_i| - 1/2 log|X'V^-1 X|`` (analytic): with ``E_j`` the symmetric
    basis matrix of ``psi``'s j-th entry, ``-(n - p)/2 d(r'V^-1 r)/(r'V^-1 r) - 1/2 sum
    tr(E_j Z'V^-1 Z) + 1/2 sum tr(E_j Z'V^-1 X A^-1 X'V^-1 Z)``, where ``d(r'V^-1 r) = -sum
    (Z'V^-1 r)' E_j (Z'V^-1 r)``."""
    q, p = s.ztz.shape[1], s.xtx.shape[0]
    cov = _lower(psi, q)
    cov = cov + np.tril(cov, -1).T
    k = np.eye(q) + np.einsum("ij,gjk->gik", cov, s.ztz)  # I + psi Z'Z
    kt = np.transpose(k, (0, 2, 1))  # I + Z'Z psi
    ztr = s.zty - np.einsum("gip,p->gi", s.ztx, beta)
    xvz = np.transpose(np.linalg.solve(kt, s.ztx), (0, 2, 1))  # X'V^-1 Z  (G, p, q)
    zvr = np.linalg.solve(kt, ztr[:, :, None])[:, :, 0]  # Z'V^-1 r  (G, q)
    zvz = np.linalg.solve(kt, s.ztz)  # Z'V^-1 Z  (G, q, q)
    a = s.xtx - np.einsum("gpi,giq->pq", xvz, np.einsum("ij,gjq->giq", cov, s.ztx))
    rtr = s.yty - 2 * float(beta @ s.xty) + float(beta @ s.xtx @ beta)
    rvr = rtr - float(np.einsum("gi,ij,gj->", ztr, cov, zvr))
    quad = np.einsum("gi,gj->ij", zvr, zvr)  # sum (Z'V^-1 r)(Z'V^-1 r)'
    tr_v = zvz.sum(axis=0)
    tr_a = np.einsum("gpi,pk,gkj->ij", xvz, np.linalg.inv(a), xvz)
    whole = (s.n - p) * quad / rvr - tr_v + tr_a  # d l / d psi_rc = 0.5 * whole[r,c] * (1 or 2)
    out = []
    for r, c in zip(*np.tril_indices(q), strict=True):
        out.append(0.5 * whole[r, c] if r == c else 0.5 * (whole[r, c] + whole[c, r]))
    return np.asarray(out)


def _hessian_fd(psi: np.ndarray, beta: np.ndarray, s: GroupStats, h: np.ndarray) -> np.ndarray:
    """Hessian in ``psi`` of the likelihood of :func:`_psi_grad`: central differences of
    its analytic gradient with steps ``h``."""
    m = len(psi)
    out = np.zeros((m, m))
    for i in range(m):
        e = np.zeros(m)
        e[i] = h[i]
        out[:, i] = (_psi_grad(psi + e, beta, s) - _psi_grad(psi - e, beta, s)) / (2 * h[i])
    return out


def _observed_cov(psi: np.ndarray, beta: np.ndarray, sigma2: float, s: GroupStats) -> np.ndarray:
    """statsmodels ``MixedLM``'s covariance of the fixed effects: the inverse of minus the
    Hessian of the profiled restricted likelihood in (fixed effects, psi), its fixed-effect
    block; the psi block by central differences, the cross block analytically."""
    q, p = s.ztz.shape[1], s.xtx.shape[0]
    cov = _lower(psi, q)
    cov = cov + np.tril(cov, -1).T
    k = np.eye(q) + np.einsum("ij,gjk->gik", cov, s.ztz)
    kt = np.transpose(k, (0, 2, 1))  # I + Z'Z psi
    ztr = s.zty - np.einsum("gip,p->gi", s.ztx, beta)
    # X'V^-1 Z = X'Z (I + psi Z'Z)^-1 ; Z'V^-1 r = (I + Z'Z psi)^-1 Z'r
    xvz = np.transpose(np.linalg.solve(kt, s.ztx), (0, 2, 1))  # (G, p, q)
    zvr = np.linalg.solve(kt, ztr[:, :, None])[:, :, 0]  # (G, q)
    psi_ztx = np.einsum("ij,gjp->gip", cov, s.ztx)
    psi_ztr = np.einsum("ij,gj->gi", cov, ztr)
    sol = np.linalg.solve(k, np.concatenate([psi_ztx, psi_ztr[:, :, None]], axis=2))
    a = s.xtx - np.einsum("gip,giq->pq", s.ztx, sol[:, :, :p])
    rtr = s.yty - 2 * float(beta @ s.xty) + float(beta @ s.xtx @ beta)
    rvr = rtr - float(np.einsum("gi,gi->", ztr, sol[:, :, p]))
    fac = s.n - p
    idx = list(zip(*np.tril_indices(q), strict=True))
    m = len(idx)
    cross = np.zeros((m, p))
    for j, (r, c) in enumerate(idx):
        e = np.zeros((q, q))
        e[r, c] = e[c, r] = 1.0
        cross[j] = -fac * np.einsum("gpi,ij,gj->p", xvz, e, zvr) / rvr
    # steps small beside psi's smallest eigenvalue (the distance to where V stops being a
    # covariance), so that the likelihood is smooth over them
    eig = np.linalg.eigvalsh(cov)
    h = np.full(m, 1e-3 * max(float(eig.min()), 1e-4 * float(eig.max()), 1e-12))
    # central differences at steps h and h / 2, Richardson-extrapolated (error O(h^4))
    hre = (4 * _hessian_fd(psi, beta, s, h / 2) - _hessian_fd(psi, beta, s, h)) / 3
    hre = (hre + hre.T) / 2
    hess = np.zeros((p + m, p + m))
    hess[:p, :p] = -a / sigma2
    hess[p:, :p] = cross
    hess[:p, p:] = cross.T
    hess[p:, p:] = hre
    return np.linalg.inv(-hess)[:p, :p]


def _cluster_robust(
    y: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    groups: Sequence[Any],
    beta: np.ndarray,
    theta: np.ndarray,
    a: np.ndarray,
) -> np.ndarray:
    """Cluster-robust (sandwich) covariance of the GLS fixed effects, clustered by group:
    ``A^-1 (sum_i s_i s_i') A^-1 x G / (G - 1)`` with ``s_i = X_i'V_i^-1 r_i`` (``V``
    relative to sigma^2, as ``A = X'V^-1 X``). Valid whatever the residuals' variance
    across groups (e.g. instruments that measure with different precision)."""  # fmt: skip
    q = z.shape[1]
    lam = _lower(theta, q)
    r = y - x @ beta
    order, starts, _ = _group_order(groups)
    xs, zs, rs = x[order], z[order], r[order]
    ztz = np.add.reduceat(zs[:, :, None] * zs[:, None, :], starts, axis=0)
    xtr = np.add.reduceat(xs * rs[:, None], starts, axis=0)  # (G, p)
    zt_xr = np.add.reduceat(zs[:, :, None] * np.concatenate([xs, rs[:, None]], axis=1)[:, None, :],
                            starts, axis=0)  # fmt: skip
    m = np.einsum("ji,gjk,kl->ilg", lam, ztz, lam) + np.eye(q)[:, :, None]
    rhs = np.einsum("ji,gjk->igk", lam, zt_xr)  # [L'Z'X | L'Z'r] (q, G, p + 1)
    _, sol = _spd_solve(m, rhs)
    p = x.shape[1]
    score = xtr - np.einsum("igp,ig->gp", rhs[:, :, :p], sol[:, :, p])
    g = score.shape[0]
    a_inv = np.linalg.inv(a)
    return a_inv @ (score.T @ score) @ a_inv * (g / max(g - 1, 1))


@dataclass
class RemlFit:
    """A REML fit, with the attributes of statsmodels' ``MixedLMResults`` that the analysis
    reads: ``fe_params``, ``bse_fe``, ``cov_params()``, ``cov_re``, ``scale``, ``llf``,
    ``random_effects`` (from ``blups``), ``converged``; and ``theta``, ``deviance`` (lme4's REML criterion,
    ``-2 llf``), ``cov_fe_conditional`` (lme4's ``vcov``), ``cov_fe_robust`` (clustered by
    group, :func:`_cluster_robust`) and ``singular`` (:data:`SINGULAR_RATIO`)."""

    fe_params: pd.Series
    cov_fe: pd.DataFrame
    cov_fe_conditional: pd.DataFrame
    cov_fe_robust: pd.DataFrame
    cov_re: pd.DataFrame
    scale: float
    llf: float
    theta: np.ndarray
    blups: pd.DataFrame  # one row per group (in order of first appearance)
    converged: bool
    singular: bool
    message: str = ""
    notes: list[str] = field(default_factory=list)
    model: Any = None  # the statsmodels model whose data were fitted, when given

    @property
    def bse_fe(self) -> pd.Series:
        """Standard errors of the fixed effects (from :meth:`cov_params`)."""
        return pd.Series(np.sqrt(np.diag(self.cov_fe.to_numpy())), index=self.fe_params.index)

    @property
    def random_effects(self) -> dict[Any, pd.Series]:
        """Predicted random effects per group, as statsmodels gives them (built on demand:
        a Series per group costs more than the whole fit)."""
        cols = list(self.blups.columns)
        return {g: pd.Series(row, index=cols) for g, row in zip(self.blups.index,
                                                                  self.blups.to_numpy(), strict=True)}  # fmt: skip

    @property
    def deviance(self) -> float:
        """lme4's REML criterion at the optimum (``-2 * llf``)."""
        return -2.0 * self.llf

    def cov_params(self) -> pd.DataFrame:
        """Covariance of the fixed effects (statsmodels' observed information)."""
        return self.cov_fe


def fit_reml(
    endog: Any,
    exog: Any,
    exog_re: Any,
    groups: Sequence[Any],
    *,
    exog_names: Sequence[str] | None = None,
    exog_re_names: Sequence[str] | None = None,
    start_theta: Sequence[float] | None = None,
) -> RemlFit:
    """Fit ``endog ~ exog`` with random effects on ``exog_re`` per group by REML.

    ``exog`` is the fixed-effects design matrix (as a formula builds it), ``exog_re`` the
    random-effects design (e.g. an intercept column and time), ``groups`` one label per row.
    Raises :class:`ModelNotFitted` when the fixed-effects design is rank deficient or a
    result is not finite."""
    y = np.asarray(endog, dtype=float).reshape(-1)
    x = np.asarray(exog, dtype=float)
    z = np.asarray(exog_re, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    n, p = x.shape
    q = z.shape[1]
    names = list(exog_names) if exog_names is not None else [f"x{i}" for i in range(p)]
    re_names = list(exog_re_names) if exog_re_names is not None else [f"z{i}" for i in range(q)]
    if not all_finite(y, x, z):
        raise ModelNotFitted("The mixed model could not be fitted: the data are not all finite.")
    if np.linalg.matrix_rank(x) < p:
        raise ModelNotFitted(
            "The mixed model could not be fitted: its fixed effects are not identified "
            "(the design matrix is rank deficient)."
        )
    if n <= p:
        raise ModelNotFitted("The mixed model could not be fitted: too few observations.")
    s = group_stats(y, x, z, groups)
    start = (
        np.asarray(start_theta, dtype=float)
        if start_theta is not None
        else np.eye(q)[np.tril_indices(q)].astype(float)
    )
    theta, converged, message = _optimise(s, start)
    prof = _profile(theta, s)
    if prof is None:
        raise ModelNotFitted("The mixed model could not be fitted: the REML criterion is "
                             "not defined at the optimum.")  # fmt: skip
    dof = n - p
    sigma2 = prof.r2 / dof
    lam = _lower(theta, q)
    psi = lam @ lam.T
    cov_cond = sigma2 * np.linalg.inv(prof.a)
    notes: list[str] = []
    eig = np.linalg.eigvalsh(psi)
    diag_idx = [i * (i + 3) // 2 for i in range(q)]
    singular = bool(np.any(theta[diag_idx] <= 1e-10)) or eig.min() <= SINGULAR_RATIO * eig.max()
    try:
        if singular:
            raise np.linalg.LinAlgError("on the boundary")
        cov_obs = _observed_cov(psi[np.tril_indices(q)], prof.beta, sigma2, s)
        if not (all_finite(cov_obs) and np.all(np.diag(cov_obs) > 0)):
            raise np.linalg.LinAlgError("not positive")
    except (np.linalg.LinAlgError, ValueError):
        cov_obs = cov_cond
        why = "the fit is singular" if singular else "the observed information was not invertible"
        notes.append(f"{why}; the covariance of the fixed effects is sigma^2 (X'V^-1 X)^-1 "
                     "(lme4's)")  # fmt: skip
    # Predicted random effects (BLUPs): L M^-1 L' Z'(y - X b) for each group.
    ztr = s.zty - np.einsum("gip,p->gi", s.ztx, prof.beta)
    u = np.linalg.solve(prof.m, np.einsum("ji,gj->gi", lam, ztr)[:, :, None])[:, :, 0]
    blups = u @ lam.T
    llf = -0.5 * prof.deviance
    if not all_finite(prof.beta, cov_obs, psi, sigma2, llf, blups):
        raise ModelNotFitted("The mixed model could not be fitted: the REML fit gave "
                             "non-finite estimates or standard errors.")  # fmt: skip
    return RemlFit(
        fe_params=pd.Series(prof.beta, index=names),
        cov_fe=pd.DataFrame(cov_obs, index=names, columns=names),
        cov_fe_conditional=pd.DataFrame(cov_cond, index=names, columns=names),
        cov_fe_robust=pd.DataFrame(
            _cluster_robust(y, x, z, groups, prof.beta, theta, prof.a), index=names, columns=names
        ),
        cov_re=pd.DataFrame(sigma2 * psi, index=re_names, columns=re_names),
        scale=float(sigma2),
        llf=float(llf),
        theta=theta,
        blups=pd.DataFrame(blups, index=pd.Index(s.labels), columns=re_names),
        converged=converged,
        singular=singular,
        message=message,
        notes=notes,
    )


def gls_coefficients(
    theta: Sequence[float], exog: Any, exog_re: Any, groups: Sequence[Any], outcomes: Any
) -> np.ndarray:
    """The fixed effects that generalised least squares with the covariance of ``theta``
    gives for each column of ``outcomes`` (``(X'V^-1 X)^-1 X'V^-1 y``, ``V = I + Z L L'
    Z'``): linear in ``y``, so applied to expected outcomes it is the quantity a fit with
    these covariance parameters estimates (a validation's truth for a model that is not
    exactly the data's). Returns ``(p, k)`` for ``k`` outcome columns."""
    ys = np.asarray(outcomes, dtype=float)
    ys = ys[:, None] if ys.ndim == 1 else ys
    x = np.asarray(exog, dtype=float)
    z = np.asarray(exog_re, dtype=float)
    z = z[:, None] if z.ndim == 1 else z
    q, p = z.shape[1], x.shape[1]
    lam = _lower(np.asarray(theta, dtype=float), q)
    order, starts, _ = _group_order(groups)
    xs, zs, yy = x[order], z[order], ys[order]
    ztz = np.add.reduceat(zs[:, :, None] * zs[:, None, :], starts, axis=0)
    zt_xy = np.add.reduceat(zs[:, :, None] * np.concatenate([xs, yy], axis=1)[:, None, :],
                            starts, axis=0)  # fmt: skip
    m = np.einsum("ji,gjk,kl->ilg", lam, ztz, lam) + np.eye(q)[:, :, None]
    rhs = np.einsum("ji,gjk->igk", lam, zt_xy)
    _, sol = _spd_solve(m, rhs)
    cross = rhs.reshape(-1, rhs.shape[2]).T @ sol.reshape(-1, rhs.shape[2])
    full = np.concatenate([xs, yy], axis=1)
    gram = full.T @ full - cross
    return np.linalg.solve(gram[:p, :p], gram[:p, p:])


def cluster_robust_cov(fit: Any) -> np.ndarray:
    """The fixed effects' covariance clustered by group (:func:`_cluster_robust`) for any
    fit with a ``model`` (statsmodels ``MixedLMResults`` or :class:`RemlFit` from
    ``trajectory_model``), from its fixed effects and relative covariance ``cov_re /
    scale``."""
    if isinstance(fit, RemlFit):
        return fit.cov_fe_robust.to_numpy()
    model = fit.model
    psi = np.asarray(fit.cov_re, dtype=float) / float(fit.scale)
    q = psi.shape[0]
    theta = np.linalg.cholesky(psi + 1e-14 * np.eye(q))[np.tril_indices(q)]
    stats_ = group_stats(np.asarray(model.endog, float), np.asarray(model.exog, float),
                         np.asarray(model.exog_re, float), model.groups)  # fmt: skip
    prof = _profile(theta, stats_)
    if prof is None:
        raise ModelNotFitted("The clustered covariance could not be computed.")
    beta = np.asarray(fit.fe_params, dtype=float)
    return _cluster_robust(np.asarray(model.endog, float), np.asarray(model.exog, float),
                           np.asarray(model.exog_re, float), model.groups, beta, theta, prof.a)  # fmt: skip
