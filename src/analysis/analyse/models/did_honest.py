"""Sensitivity of an event study to violations of parallel trends: the relative-magnitudes
bounds of Rambachan and Roth (2023, *Review of Economic Studies* 90(5)), as the R package
``HonestDiD`` computes them (``createSensitivityResults_relativeMagnitudes(method = "C-LF")``
and ``honest_did`` for an event study from R ``did`` with a universal base period).

Delta^RM(Mbar) allows the post-treatment violations of parallel trends to move, from one
period to the next, by up to ``Mbar`` times the largest move between consecutive
pre-treatment periods. With ``Mbar = 1``: violations after treatment no larger than the
worst seen before it. The confidence set is the union over the period s holding the worst
pre-treatment move and its sign of the conditional-least-favourable hybrid tests of Andrews,
Roth and Pakes (ARP), inverted over a grid of values, exactly as ``HonestDiD`` does.

How it is computed here. HonestDiD solves one linear programme per grid point (and 1,000
per (s, sign) for the least-favourable critical value). For Delta^RM with the post-period
moments only (its default), the programme ``min eta s.t. Y - X tau <= eta * sd`` has a
dual whose vertices are known in closed form: its moments are the pairs
``+/-(tau_r - tau_{r-1}) - Mbar * c_s``, and a dual vector is feasible exactly when the net
weights on the pairs are proportional to the tail sums of ``l`` (the weights on the
post-treatment effects). The vertices are then each pair taken alone and the two signed
tail-sum vectors, so ``eta`` is the largest of a handful of linear forms; the truncation
points of the conditional test are read off the same vertices (the same event HonestDiD's
primal and dual routes condition on). ``tests/unit/analyse/test_did_honest.py`` checks the
vertices against the linear programme solved with scipy and the intervals against the
values HonestDiD's own README computes.

Random draws (the least-favourable critical value's 1,000 normal vectors) come from numpy's
PCG64 with a fixed seed, so the same inputs give the same interval; R's draws cannot be
reproduced digit for digit, which moves an end point by at most a grid step or so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import special, stats

from analysis.analyse.models.results import (
    AggregateATTResult,
    StaggeredATTResult,
    round_significant,
)

HONEST_MBAR: float = 1.0
"""Post-treatment violations no larger than the worst pre-treatment one (the issue's bound)."""

HONEST_SEED: int = 0
"""Seed of the least-favourable critical value's draws (HonestDiD's default seed is 0)."""

LF_SIMS: int = 1000
"""Draws for the least-favourable critical value (HonestDiD's ``sims``)."""

GRID_POINTS: int = 1000
"""Grid points of the test inversion (``createSensitivityResults_relativeMagnitudes``)."""

Method = Literal["C-LF", "Conditional"]


@dataclass(frozen=True)
class RelativeMagnitudeBounds:
    """Robust confidence interval for ``theta = l' tau_post`` under Delta^RM(``mbar``).

    ``lower``/``upper``: the (1 - ``alpha``) robust confidence interval (NaN when no grid
    value is accepted); ``id_lower``/``id_upper``: the identified set at the estimates
    (the bounds without sampling error); ``estimate``, ``original_lower`` and
    ``original_upper``: ``l' beta_post`` and its ordinary interval; ``max_pre_move``: the
    largest move between consecutive pre-treatment coefficients (the reference included);
    ``notes``: what a reader should know (a grid widened because the interval reached its
    end).
    """

    mbar: float
    lower: float
    upper: float
    id_lower: float
    id_upper: float
    estimate: float
    original_lower: float
    original_upper: float
    max_pre_move: float
    alpha: float
    method: str
    num_pre: int
    num_post: int
    notes: list[str] = field(default_factory=list)

    @property
    def excludes_zero(self) -> bool:
        """True when the robust interval lies entirely on one side of zero."""
        return bool(math.isfinite(self.lower) and (self.lower > 0 or self.upper < 0))


def _check_inputs(
    betahat: np.ndarray, sigma: np.ndarray, num_pre: int, num_post: int, l_vec: np.ndarray
) -> None:
    what = "relative_magnitudes"
    if num_pre < 1 or num_post < 1:
        raise ValueError(f"{what}: need at least one pre- and one post-period coefficient")
    if betahat.shape != (num_pre + num_post,):
        raise ValueError(
            f"{what}: betahat has {betahat.size} entries for {num_pre} + {num_post} periods"
        )
    if sigma.shape != (betahat.size, betahat.size):
        raise ValueError(f"{what}: sigma must be {betahat.size} x {betahat.size}")
    if l_vec.shape != (num_post,):
        raise ValueError(f"{what}: l_vec must have one weight per post-period ({num_post})")
    if not (np.all(np.isfinite(betahat)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"{what}: betahat and sigma must be finite")


def rm_constraint_matrix(
    num_pre: int, num_post: int, mbar: float, s: int, max_positive: bool
) -> np.ndarray:
    """HonestDiD's ``.create_A_RM``: the rows of ``A delta <= 0`` defining Delta^RM for the
    worst pre-treatment move at period ``s`` (``-(num_pre - 1) <= s <= 0``) with the sign
    ``max_positive``; columns are the periods ``-num_pre..-1, 1..num_post`` (period 0, the
    reference, dropped)."""
    n = num_pre + num_post
    atilde = np.zeros((n, n + 1))
    for r in range(n):
        atilde[r, r : r + 2] = (-1.0, 1.0)
    v = np.zeros(n + 1)
    v[num_pre + s - 1 : num_pre + s + 1] = (-1.0, 1.0)
    if not max_positive:
        v = -v
    a_ub = np.vstack([np.tile(v, (num_pre, 1)), np.tile(mbar * v, (num_post, 1))])
    a = np.vstack([atilde - a_ub, -atilde - a_ub])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, num_pre, axis=1)


def _tail_sums(l_vec: np.ndarray) -> np.ndarray:
    """L_r = sum over t >= r of l_t: the weight l' tau puts on the move tau_r - tau_{r-1}."""
    return np.cumsum(l_vec[::-1])[::-1]


def rm_identified_set(
    betahat: np.ndarray, num_pre: int, num_post: int, l_vec: np.ndarray, mbar: float
) -> tuple[float, float]:
    """HonestDiD's ``.compute_IDset_DeltaRM`` in closed form: ``l' beta_post`` plus or minus
    ``mbar * D * sum_r |L_r|``, D the largest move between consecutive pre-treatment
    coefficients (the reference period counting as 0)."""
    beta = np.asarray(betahat, dtype=float)
    pre = np.append(beta[:num_pre], 0.0)
    worst = float(np.max(np.abs(np.diff(pre))))
    centre = float(l_vec @ beta[num_pre:])
    half = mbar * worst * float(np.abs(_tail_sums(l_vec)).sum())
    return centre - half, centre + half


def _post_vertices(a_post: np.ndarray, l_vec: np.ndarray) -> np.ndarray:
    """Extreme rays of the dual cone {g >= 0 : a_post' g proportional to l} for the
    Delta^RM post-period rows (each row +/- (e_r - e_{r-1}), one of each sign per r)."""
    m, k = a_post.shape
    nonzero = np.abs(a_post) > 1e-12
    pair = k - 1 - np.argmax(nonzero[:, ::-1], axis=1)  # last non-zero column of each row
    diff = np.eye(k) - np.eye(k, k=-1)  # row r: e_r - e_{r-1}
    sign = a_post[np.arange(m), pair]
    if not (np.all(np.abs(sign) == 1.0) and np.allclose(a_post, sign[:, None] * diff[pair])):
        raise ValueError("relative_magnitudes: unexpected post-period constraint rows")
    counts = np.zeros((k, 2), dtype=int)
    np.add.at(counts, (pair, (sign > 0).astype(int)), 1)
    if not np.all(counts == 1):
        raise ValueError("relative_magnitudes: post-period rows must come in +/- pairs")
    tails = _tail_sums(l_vec)
    rays = [(pair == r).astype(float) for r in range(k)]
    for lam in (1.0, -1.0):
        net = lam * tails[pair]
        ray = np.where(net * sign > 0, np.abs(net), 0.0)
        if ray.any():
            rays.append(ray)
    return np.unique(np.array(rays), axis=0)


def _truncnorm_ppf(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of the standard normal truncated to ``[lo, hi]`` (vectorised; in log
    space on the far side of zero, as ``TruncatedNormal::norminvp`` is accurate there)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    out = np.empty(np.broadcast(lo, hi).shape)
    upper = lo > 0  # both ends in the upper tail: work with survival functions
    lower = hi < 0  # both in the lower tail: mirror
    mid = ~(upper | lower)
    if mid.any():
        a, b = special.ndtr(lo[mid]), special.ndtr(hi[mid])
        out[mid] = special.ndtri(a + p * (b - a))
    for mask, q, sign in ((upper, p, 1.0), (lower, 1.0 - p, -1.0)):
        if not mask.any():
            continue
        a = sign * lo[mask] if sign > 0 else -hi[mask]
        b = sign * hi[mask] if sign > 0 else -lo[mask]
        # P(X > x | a <= X <= b) = 1 - q; log survival of the answer
        la, lb = special.log_ndtr(-a), special.log_ndtr(-b)
        frac = -np.expm1(lb - la)  # 1 - S(b)/S(a)
        log_s = la + np.log1p(-q * frac)
        out[mask] = sign * -special.ndtri_exp(log_s)
    return out


def _lf_quantile(draws: np.ndarray, kappa: float) -> float:
    """R ``quantile(type = 7)`` (numpy's default linear rule) at 1 - kappa."""
    return float(np.quantile(draws, 1.0 - kappa))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root (as ``mvtnorm::rmvnorm(method = "eigen")``)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


@dataclass(frozen=True)
class _Problem:
    """One robust-interval problem: the event study, the target and the test's settings
    (``noise``: draws of N(0, sigma) for the least-favourable critical value)."""

    betahat: np.ndarray
    sigma: np.ndarray
    num_pre: int
    num_post: int
    l_vec: np.ndarray
    mbar: float
    alpha: float
    method: Method
    noise: np.ndarray


def _accept_fixed_s(p: _Problem, s: int, max_positive: bool, grid: np.ndarray) -> np.ndarray:
    """Which grid values the ARP (hybrid) test for one (s, sign) does not reject."""
    betahat, sigma, num_pre, num_post = p.betahat, p.sigma, p.num_pre, p.num_post
    l_vec, mbar, alpha, method, noise = p.l_vec, p.mbar, p.alpha, p.method, p.noise
    a = rm_constraint_matrix(num_pre, num_post, mbar, s, max_positive)
    rows = np.flatnonzero(np.abs(a[:, num_pre:]).sum(axis=1) > 0)
    a = a[rows]
    y0 = a @ betahat
    sig_y = a @ sigma @ a.T
    sd = np.sqrt(np.clip(np.diag(sig_y), 0.0, None))
    if np.any(sd <= 0):
        raise ValueError("relative_magnitudes: a constraint has zero variance")
    a_post = a[:, num_pre:]
    rays = np.eye(len(rows)) if num_post == 1 else _post_vertices(a_post, l_vec)
    gam = rays / (rays @ sd)[:, None]  # dual vertices, gamma' sd = 1
    # direction of theta: any c with l'c = 1 gives the same gamma' a_post c on the vertices
    slope = gam @ (a_post @ (l_vec / float(l_vec @ l_vec)))
    values = (gam @ y0)[:, None] - slope[:, None] * grid[None, :]  # vertices x grid
    top = np.argmax(values, axis=0)
    eta = values[top, np.arange(len(grid))]
    kappa = alpha / 10.0
    if method == "C-LF":
        lf_cv = _lf_quantile(np.max(noise @ a.T @ gam.T, axis=1), kappa)
        size = (alpha - kappa) / (1.0 - kappa)
    else:
        lf_cv = math.inf
        size = alpha
    m = gam @ sig_y @ gam.T
    var_b = m[top, top]
    accept = np.ones(len(grid), dtype=bool)
    first_stage = eta > lf_cv
    accept[first_stage] = False
    tiny = var_b < np.finfo(float).eps
    accept[tiny & ~first_stage] = eta[tiny & ~first_stage] <= 0
    todo = np.flatnonzero(~first_stage & ~tiny)
    if len(todo) == 0:
        return accept
    k = top[todo]
    proj = m[:, k] / var_b[todo][None, :]  # gamma_j' b for every vertex j
    coef = 1.0 - proj
    resid = values[:, todo] - proj * eta[todo][None, :]  # gamma_j' S
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = resid / coef
    own = np.zeros_like(coef, dtype=bool)
    own[k, np.arange(len(todo))] = True
    lo_mask = (coef > 1e-12) & ~own
    hi_mask = (coef < -1e-12) & ~own
    vlo = np.where(lo_mask, ratio, -np.inf).max(axis=0)
    vup = np.where(hi_mask, ratio, np.inf).min(axis=0)
    sigma_b = np.sqrt(var_b[todo])
    if method == "C-LF" and num_post > 1:
        vup = np.minimum(vup, lf_cv)  # the no-nuisance LF test does not condition on it
    zlo, zup, stat = vlo / sigma_b, vup / sigma_b, eta[todo] / sigma_b
    inside = (zlo <= stat) & (stat <= zup)
    crit = np.full(len(todo), np.inf)
    if inside.any():
        q = _truncnorm_ppf(1.0 - size, zlo[inside], zup[inside])
        crit[inside] = np.maximum(0.0, q)
    accept[todo] = ~(inside & (stat > crit))
    return accept


def _grid_accept(p: _Problem, grid: np.ndarray) -> np.ndarray:
    """Union over (s, sign) of the accepted grid values (HonestDiD's max over s, then +/-)."""
    accept = np.zeros(len(grid), dtype=bool)
    for s in range(-(p.num_pre - 1), 1):
        for positive in (True, False):
            accept |= _accept_fixed_s(p, s, positive, grid)
    return accept


def relative_magnitudes_ci(
    betahat: Sequence[float] | np.ndarray,
    sigma: np.ndarray,
    num_pre: int,
    num_post: int,
    *,
    l_vec: Sequence[float] | np.ndarray | None = None,
    mbar: float = HONEST_MBAR,
    alpha: float = 0.05,
    method: Method = "C-LF",
    grid_points: int = GRID_POINTS,
    grid_lower: float | None = None,
    grid_upper: float | None = None,
    sims: int = LF_SIMS,
    seed: int = HONEST_SEED,
) -> RelativeMagnitudeBounds:
    """Robust confidence interval for ``l' tau_post`` under Delta^RM(``mbar``), as
    HonestDiD's ``computeConditionalCS_DeltaRM`` (``hybrid_flag = "LF"`` for ``"C-LF"``,
    ``"ARP"`` for ``"Conditional"``; post-period moments only).

    ``betahat`` holds the ``num_pre`` pre-treatment coefficients (periods ``-num_pre-1`` ..
    ``-2`` relative to treatment, the reference period ``-1`` left out) then the
    ``num_post`` post-treatment ones; ``sigma`` their covariance. ``l_vec`` (default: the
    first post period) weights the post-treatment effects. The grid runs, as in HonestDiD,
    from ``-20`` to ``+20`` standard errors of ``l' beta_post`` unless given; if the accepted
    set reaches an end of it (HonestDiD warns "CI is open"), the grid is widened to the
    identified set plus or minus 20 standard errors at the same spacing, with a note.
    """
    beta = np.asarray(betahat, dtype=float).ravel()
    sig = np.asarray(sigma, dtype=float)
    lv = np.zeros(num_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if l_vec is None:
        lv[0] = 1.0
    _check_inputs(beta, sig, num_pre, num_post, lv)
    if method not in ("C-LF", "Conditional"):
        raise ValueError(
            f"relative_magnitudes: method must be 'C-LF' or 'Conditional', got {method!r}"
        )
    if mbar < 0:
        raise ValueError(f"relative_magnitudes: mbar must be >= 0, got {mbar}")
    post = slice(num_pre, num_pre + num_post)
    sd_theta = float(math.sqrt(max(lv @ sig[post, post] @ lv, 0.0)))
    estimate = float(lv @ beta[post])
    z = float(stats.norm.ppf(1 - alpha / 2))
    id_lo, id_hi = rm_identified_set(beta, num_pre, num_post, lv, mbar)
    worst = float(np.max(np.abs(np.diff(np.append(beta[:num_pre], 0.0)))))
    lo = -20 * sd_theta if grid_lower is None else float(grid_lower)
    hi = 20 * sd_theta if grid_upper is None else float(grid_upper)
    rng = np.random.Generator(np.random.PCG64(seed))
    noise = rng.standard_normal((sims, beta.size)) @ _sqrt_psd(sig)
    problem = _Problem(beta, sig, num_pre, num_post, lv, float(mbar), alpha, method, noise)
    notes: list[str] = []
    grid = np.linspace(lo, hi, grid_points)
    accept = _grid_accept(problem, grid)
    if grid_lower is None and grid_upper is None and (not accept.any() or accept[0] or accept[-1]):
        step = (hi - lo) / (grid_points - 1) if grid_points > 1 else 1.0
        lo2 = min(lo, id_lo - 20 * sd_theta)
        hi2 = max(hi, id_hi + 20 * sd_theta)
        n2 = int(min(max(grid_points, math.ceil((hi2 - lo2) / step) + 1), 20 * grid_points))
        grid = np.linspace(lo2, hi2, n2)
        accept = _grid_accept(problem, grid)
        notes.append(
            "the interval reached the end of HonestDiD's default grid (+/- 20 standard "
            "errors around zero), so the grid was widened to the identified set +/- 20 "
            "standard errors"
        )
    if accept.any():
        lower, upper = float(grid[accept].min()), float(grid[accept].max())
        if accept[0] or accept[-1]:
            notes.append("the interval is open at an end of the grid: its length is a lower bound")
    else:
        lower = upper = float("nan")
        notes.append("no value of the grid was accepted: the robust interval is empty")
    r = round_significant
    return RelativeMagnitudeBounds(
        mbar=float(mbar),
        lower=float(r(lower)),
        upper=float(r(upper)),
        id_lower=float(r(id_lo)),
        id_upper=float(r(id_hi)),
        estimate=float(r(estimate)),
        original_lower=float(r(estimate - z * sd_theta)),
        original_upper=float(r(estimate + z * sd_theta)),
        max_pre_move=float(r(worst)),
        alpha=alpha,
        method=method,
        num_pre=num_pre,
        num_post=num_post,
        notes=notes,
    )


@dataclass(frozen=True)
class EventStudyInputs:
    """What :func:`honest_event_study` hands to :func:`relative_magnitudes_ci`."""

    betahat: np.ndarray
    sigma: np.ndarray
    num_pre: int
    num_post: int
    event_times: np.ndarray


def event_study_inputs(dynamic: AggregateATTResult) -> EventStudyInputs:
    """``honest_did.AGGTEobj``'s preparation: the event-time effects of a dynamic
    aggregation over a universal base period, the reference period (-1) removed, with
    ``V = IF' IF / n^2``; event times must be consecutive."""
    what = "honest_event_study"
    if dynamic.how != "dynamic":
        raise ValueError(f"{what}: needs an event study (aggregate_att(..., how='dynamic'))")
    egt = dynamic.table["egt"].to_numpy(dtype=float)
    att = dynamic.table["att"].to_numpy(dtype=float)
    inf = dynamic.influence_egt
    n = inf.shape[0]
    pre_ok = np.all(np.diff(egt[egt <= -1]) == 1)
    post_ok = np.all(np.diff(egt[egt >= -1]) == 1)
    if not (pre_ok and post_ok):
        raise ValueError(f"{what}: event times must be consecutive, got {egt.tolist()}")
    keep = egt != -1
    if (~keep).any() and abs(float(att[~keep][0])) > 1e-12:
        raise ValueError(
            f"{what}: the effect at event time -1 is not zero: use a universal base period "
            "(staggered_att(..., base_period='universal')), as honest_did requires"
        )
    sigma = inf.T @ inf / n / n
    sigma = sigma[np.ix_(keep, keep)]
    num_pre = int((egt < -1).sum())
    num_post = int(keep.sum()) - num_pre
    if num_pre < 1 or num_post < 1:
        raise ValueError(f"{what}: need pre- and post-treatment event times, got {egt.tolist()}")
    return EventStudyInputs(att[keep], sigma, num_pre, num_post, egt[keep])


def simple_event_weights(att: StaggeredATTResult, event_times: np.ndarray) -> np.ndarray:
    """Weights on the post-treatment event-time effects that reproduce the simple ATT:
    ``aggregate_att(how="simple")`` weights each post-treatment cell by its cohort's share,
    so grouping the cells by event time gives ``sum_e w_e * theta_e`` with ``w_e``
    proportional to the summed shares of the cohorts observed at ``e``."""
    tab = att.table
    ok = tab["att"].notna().to_numpy()
    cohort = tab["cohort"].to_numpy(dtype=float)[ok]
    time = tab["time"].to_numpy(dtype=float)[ok]
    share = {g: float(np.mean(att.unit_cohorts == g)) for g in np.unique(cohort)}
    post = cohort <= time
    event = (time - cohort)[post]
    pg = np.array([share[g] for g in cohort[post]])
    out = np.array([pg[event == e].sum() for e in event_times], dtype=float)
    if out.sum() <= 0:
        raise ValueError("simple_event_weights: no post-treatment cells")
    return out / out.sum()


def honest_event_study(dynamic: AggregateATTResult, **options: Any) -> RelativeMagnitudeBounds:
    """Relative-magnitudes bounds for an event study from :func:`aggregate_att`, as
    ``honest_did(es, type = "relative_magnitude")``: the inputs of
    :func:`event_study_inputs`, then :func:`relative_magnitudes_ci` with ``options``
    (``l_vec`` weights the post-treatment event times, default the effect at e = 0,
    HonestDiD's "on impact" effect; use :func:`simple_event_weights` for the simple ATT;
    ``mbar``, ``alpha``, ``method``, ``grid_points``, ``seed``...)."""
    inputs = event_study_inputs(dynamic)
    return relative_magnitudes_ci(
        inputs.betahat, inputs.sigma, inputs.num_pre, inputs.num_post, **options
    )
