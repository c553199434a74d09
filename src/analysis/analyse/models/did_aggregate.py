"""Aggregations of Callaway & Sant'Anna group-time effects as R ``did::aggte(...,
bstrap=FALSE)`` computes them: simple, by event time (with ``balance_e``, ``min_e``,
``max_e``), by cohort and by calendar period, with influence-function standard errors that
include the estimation of the cohort-share weights."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from analysis.analyse.models.results import (
    Z95,
    AggregateATTResult,
    StaggeredATTResult,
    _tidy,
    round_significant,
)

_SE_FLOOR: float = math.sqrt(np.finfo(float).eps) * 10.0
"""R did sets standard errors at or below sqrt(.Machine$double.eps)*10 to NA."""


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
    balance_e: int | None = None,
    min_e: float | None = None,
    max_e: float | None = None,
) -> AggregateATTResult:
    """Aggregate ATT(g, t) as R ``did::aggte(..., bstrap=FALSE)`` does.

    * ``simple``: post-treatment cells weighted by cohort size.
    * ``dynamic``: event-study effects by time since treatment e (all e, including
      pre-treatment placebo e<0), each a cohort-size-weighted mean; overall = mean over e>=0.
    * ``group``: per cohort, the mean of its post-treatment cells; overall = cohort-size
      weighted mean of those.
    * ``calendar``: per period from the first rollout on, cohort-size-weighted mean of the
      treated cells; overall = mean over those periods.

    As ``aggte(type="dynamic", balance_e=, min_e=, max_e=)``: ``balance_e`` keeps only the
    cohorts observed for at least ``balance_e`` periods after treatment and the event times
    up to ``balance_e`` (so every event time averages the same cohorts); ``min_e``/``max_e``
    limit the event times reported and averaged. ``max_e`` also limits the post-treatment
    cells of ``simple`` and ``group`` (as in R); the three are ignored, with a warning, for
    ``calendar``.

    Weights use the cohort shares pg = P(G = g) over all units; standard errors add the
    influence of estimating those weights (did's ``wif``), reproducing did's published
    analytic results on ``mpdta`` (see ``tests/unit/analyse/test_did.py``). Cells with a missing ATT are dropped with a warning (did's
    ``na.rm=TRUE``).
    """
    what = "aggregate_att"
    if how not in ("simple", "dynamic", "group", "calendar"):
        raise ValueError(
            f"{what}: how must be 'simple', 'dynamic', 'group' or 'calendar', got {how!r}"
        )
    if balance_e is not None and (
        isinstance(balance_e, bool) or int(balance_e) != balance_e or balance_e < 0
    ):
        raise ValueError(f"{what}: balance_e must be a whole number >= 0, got {balance_e!r}")
    lo = -math.inf if min_e is None else float(min_e)
    hi = math.inf if max_e is None else float(max_e)
    notes = list(att.warnings)
    if how == "calendar" and (min_e is not None or max_e is not None or balance_e is not None):
        notes.append("min_e, max_e and balance_e do not apply to calendar-time effects (ignored)")
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
    keepers = np.flatnonzero((group <= tt) & (tt <= group + hi))

    egt: np.ndarray
    egt_att: list[float] = []
    egt_inf: list[np.ndarray] = []
    if how == "simple":
        w = pg[keepers] / pg[keepers].sum()
        overall, inf = _agg(a, infl, keepers, w, _weight_influence(keepers, pg, g_unit, group))
        egt = np.zeros(0)
    elif how == "group":
        glist = np.array([g for g in glist if np.any((group == g) & (g <= tt) & (tt <= g + hi))])
        if len(glist) == 0:
            raise ValueError(f"{what}: no post-treatment cells within max_e={max_e}")
        pgg = np.array([np.mean(g_unit == g) for g in glist])
        for g in glist:
            which = np.flatnonzero((group == g) & (g <= tt) & (tt <= g + hi))
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
        included = np.ones(len(event), dtype=bool)
        egt = np.sort(np.unique(event))
        if balance_e is not None:
            periods = np.asarray(att.periods, dtype=float)
            if len(periods) == 0:  # a result built before periods were recorded
                periods = np.unique(tt)
            t_first = float(min(periods.min(), group.min()))
            t_last = float(tt.max())
            included = t_last - group >= balance_e
            egt = np.sort(np.unique(event[included]))
            egt = egt[(egt <= balance_e) & (egt >= balance_e - t_last + t_first)]
        egt = egt[(egt >= lo) & (egt <= hi)]
        if len(egt) == 0:
            raise ValueError(
                f"{what}: no event times within balance_e={balance_e}, min_e={min_e}, max_e={max_e}"
            )
        for e in egt:
            which = np.flatnonzero((event == e) & included)
            wif = _weight_influence(which, pg, g_unit, group)
            est, inf_e = _agg(a, infl, which, pg[which] / pg[which].sum(), wif)
            egt_att.append(est)
            egt_inf.append(inf_e)
        pos = np.flatnonzero(egt >= 0)
        if len(pos) == 0:
            raise ValueError(f"{what}: no event time >= 0 to average in the window")
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
        unit_ids=att.unit_ids,
        balance_e=balance_e if how == "dynamic" else None,
    )
