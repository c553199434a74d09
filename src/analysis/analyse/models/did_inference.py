"""Inference for staggered-rollout effects beyond pointwise intervals, as R ``did`` computes
it: the Wald pre-test of parallel trends printed with every ``att_gt`` summary, and uniform
(simultaneous) confidence bands by multiplier bootstrap (``bstrap=TRUE, cband=TRUE``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.analyse.models.results import (
    AggregateATTResult,
    StaggeredATTResult,
    round_significant,
)

_SE_FLOOR: float = math.sqrt(np.finfo(float).eps) * 10.0
"""R did's threshold below which a standard error (or a bootstrap column) counts as zero."""

BAND_DRAWS: int = 1000
"""R did's default number of bootstrap draws (``biters``)."""

BAND_SEED: int = 20140101
"""Default seed of the multiplier bootstrap (the programme's first month)."""


def _cluster_codes(unit_ids: np.ndarray, cluster: Any, what: str) -> np.ndarray | None:
    """Integer cluster codes aligned with ``unit_ids``: ``cluster`` is a mapping (dict or
    Series) from unit id to cluster, or a sequence aligned with the units; None = units."""
    if cluster is None:
        return None
    if isinstance(cluster, Mapping | pd.Series):
        series = pd.Series(cluster) if not isinstance(cluster, pd.Series) else cluster
        labels = series.reindex(pd.Index(unit_ids))
        if labels.isna().any():
            missing = list(pd.Index(unit_ids)[labels.isna().to_numpy()][:5])
            raise ValueError(f"{what}: no cluster for units {missing}")
    else:
        labels = pd.Series(np.asarray(cluster))
        if len(labels) != len(unit_ids):
            raise ValueError(f"{what}: cluster has {len(labels)} entries for {len(unit_ids)} units")
    codes, _ = pd.factorize(labels, sort=True)
    return codes


def _cluster_sums(influence: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Influence functions summed within clusters (rows in cluster order)."""
    if codes is None:
        return influence
    out = np.zeros((int(codes.max()) + 1, influence.shape[1]))
    np.add.at(out, codes, influence)
    return out


def pretest_parallel_trends(att: StaggeredATTResult, *, cluster: Any = None) -> dict[str, Any]:
    """Wald pre-test of parallel trends from the pre-treatment ATT(g, t), as R ``did``.

    ``W = n * pre' V^{-1} pre`` over the pre-treatment cells (cohort after the period) with a
    standard error, ``V = IF' IF / n`` their influence-function covariance (cluster sums of the
    influence functions when ``cluster`` is given, as ``att_gt(clustervars=, bstrap=FALSE)``),
    chi-squared with as many degrees of freedom as cells. Returns ``statistic``, ``df``,
    ``p_value`` and a ``note``; the statistic and p-value are NaN (with the reason in
    ``note``) when there are no usable pre-treatment cells or their covariance is singular.
    A small p-value is evidence against parallel trends before treatment; a large one is not
    evidence for them (the test has little power with few units).
    """
    what = "pretest_parallel_trends"
    table = att.table
    pre = (table["cohort"] > table["time"]).to_numpy() & table["se"].notna().to_numpy()
    pre &= table["att"].notna().to_numpy()
    df = int(pre.sum())
    nan = float("nan")
    if df == 0:
        return {"statistic": nan, "df": 0, "p_value": nan, "note": "no pre-treatment cells"}
    n = att.influence.shape[0]
    codes = _cluster_codes(att.unit_ids, cluster, what)
    sums = _cluster_sums(att.influence[:, pre], codes)
    v = sums.T @ sums / n
    if 1.0 / np.linalg.cond(v, 1) <= np.finfo(float).eps:
        return {
            "statistic": nan,
            "df": df,
            "p_value": nan,
            "note": "the pre-treatment cells' covariance matrix is singular",
        }
    b = table.loc[pre, "att"].to_numpy(dtype=float)
    w = float(n * b @ np.linalg.solve(v, b))
    return {
        "statistic": float(round_significant(w)),
        "df": df,
        "p_value": float(round_significant(stats.chi2.sf(w, df))),
        "note": "",
    }


@dataclass
class SimultaneousBand:
    """A uniform confidence band from :func:`simultaneous_band`.

    ``table`` has one row per estimate (``term``, ``att``, bootstrap ``se``, pointwise
    ``ci_lower``/``ci_upper`` from the bootstrap SE, band ``band_lower``/``band_upper``);
    ``critical_value`` multiplies the SE for the band; with probability ``level`` the band
    covers all the estimates' true values at once.
    """

    table: pd.DataFrame
    critical_value: float
    level: float
    draws: int
    seed: int
    n_clusters: int
    notes: list[str] = field(default_factory=list)


def _bootstrap(
    influence: np.ndarray, codes: np.ndarray | None, draws: int, seed: int
) -> tuple[np.ndarray, int]:
    """Multiplier bootstrap draws as R did's ``mboot`` (Rademacher weights, cluster sums
    when clustered): a draws x k matrix of ``sqrt(n_c) * mean_c(U_c * IF_c)``."""
    sums = _cluster_sums(influence, codes)
    n_c = sums.shape[0]
    rng = np.random.Generator(np.random.PCG64(seed))
    u = rng.integers(0, 2, size=(draws, n_c), dtype=np.int8).astype(float) * 2.0 - 1.0
    return math.sqrt(n_c) * (u @ sums) / n_c, n_c


def _order_stat(values: np.ndarray, p: float) -> float:
    """R ``quantile(type = 1)``: the ceil(n p)-th smallest value."""
    v = np.sort(values)
    return float(v[max(math.ceil(len(v) * p), 1) - 1])


def simultaneous_band(
    result: StaggeredATTResult | AggregateATTResult,
    *,
    draws: int = BAND_DRAWS,
    seed: int = BAND_SEED,
    cluster: Any = None,
    level: float = 0.95,
) -> SimultaneousBand:
    """Uniform confidence band by multiplier bootstrap, as R ``did`` computes it.

    For ATT(g, t) (a :class:`StaggeredATTResult`, as ``att_gt(bstrap=TRUE, cband=TRUE)``) or
    the event-time, cohort or calendar effects of an aggregation (as ``aggte(...,
    cband=TRUE)``): ``draws`` sets of Rademacher multipliers, one per unit (or per cluster when
    ``cluster`` maps units to clusters, e.g. areas to services), seeded (same seed, same
    band); each estimate's standard error is the bootstrap interquartile range / 1.349; the
    critical value is the ``level`` quantile of the largest absolute t-statistic across the
    estimates. For aggregations, a critical value below the pointwise one is raised to it
    (as ``aggte`` does). R draws from its own random stream, so the band agrees with R's in
    distribution, not digit for digit.
    """
    what = "simultaneous_band"
    if draws < 100:
        raise ValueError(f"{what}: draws must be at least 100, got {draws}")
    if not 0.5 < level < 1.0:
        raise ValueError(f"{what}: level must be between 0.5 and 1, got {level}")
    notes: list[str] = []
    if isinstance(result, StaggeredATTResult):
        tab = result.table
        terms = [f"ATT({c:g},{t:g})" for c, t in zip(tab["cohort"], tab["time"], strict=True)]
        est = tab["att"].to_numpy(dtype=float)
        influence = result.influence
        aggregate = False
    elif isinstance(result, AggregateATTResult):
        if result.how == "simple" or result.table.empty:
            raise ValueError(f"{what}: a simple aggregation has one estimate; no band needed")
        label = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}[result.how]
        terms = [f"{label}={v:g}" for v in result.table["egt"]]
        est = result.table["att"].to_numpy(dtype=float)
        influence = result.influence_egt
        aggregate = True
    else:
        raise TypeError(f"{what}: expected a staggered_att or aggregate_att result")
    n = influence.shape[0]
    pointwise = float(stats.norm.ppf(1 - (1 - level) / 2))
    codes = _cluster_codes(result.unit_ids, cluster, what)
    bres, n_c = _bootstrap(np.nan_to_num(influence), codes, draws, seed)
    usable = np.isfinite(est) & ((bres**2).sum(axis=0) > _SE_FLOOR)
    iqr = np.array([_order_stat(b, 0.75) - _order_stat(b, 0.25) for b in bres.T]) / (
        stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    )
    iqr = np.where(usable & (iqr > _SE_FLOOR), iqr, np.nan)
    se = iqr * math.sqrt(n_c) / n
    finite = np.isfinite(iqr)
    if not finite.any():
        crit = pointwise
        notes.append("no estimate has a usable bootstrap standard error: pointwise critical value")
    else:
        t_max = np.max(np.abs(bres[:, finite] / iqr[finite]), axis=1)
        crit = _order_stat(t_max, level)
        if aggregate and crit < pointwise:
            notes.append("the simultaneous critical value fell below the pointwise one; raised")
            crit = pointwise
    if crit >= 7:
        notes.append(
            "the simultaneous critical value is 7 or more: too large to be reliable (few "
            "units per cohort or little variation in the outcome)"
        )
    crit = float(round_significant(crit))
    se = round_significant(se)
    r = round_significant
    table = pd.DataFrame(
        {
            "term": pd.Series(terms, dtype="str"),
            "att": est,
            "se": se,
            "ci_lower": r(est - pointwise * se),
            "ci_upper": r(est + pointwise * se),
            "band_lower": r(est - crit * se),
            "band_upper": r(est + crit * se),
        }
    )
    return SimultaneousBand(
        table=table,
        critical_value=crit,
        level=level,
        draws=draws,
        seed=seed,
        n_clusters=n_c,
        notes=notes,
    )
