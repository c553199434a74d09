"""Callaway & Sant'Anna (2021) group-time average treatment effects for a staggered rollout and their aggregations, with analytic influence-function standard errors, reproducing R ``did`` (``att_gt(..., bstrap=FALSE)`` and ``aggte``)."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.analyse.models.results import (
    Z95,
    AggregateATTResult,
    StaggeredATTResult,
    _require_columns,
    _tidy,
    round_significant,
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
