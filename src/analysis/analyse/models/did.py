"""Callaway & Sant'Anna (2021) group-time average treatment effects for a staggered rollout,
with analytic influence-function standard errors, reproducing R ``did``
(``att_gt(..., bstrap=FALSE)``): never-treated or not-yet-treated comparisons, time-invariant
covariates with the doubly robust, outcome-regression or inverse-probability-weighting
estimators of ``DRDID`` (:mod:`.did_drdid`), and anticipation. Aggregations are in
:mod:`.did_aggregate`, the pre-test and the simultaneous bands in :mod:`.did_inference`, the
small-cohort rule in :mod:`.did_cohorts`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.analyse.models.did_cohorts import MIN_COHORT_UNITS, small_cohort_warning
from analysis.analyse.models.did_drdid import (
    EST_METHODS,
    CellNotEstimable,
    EstMethod,
    difference_in_means,
    two_by_two,
)
from analysis.analyse.models.results import (
    Z95,
    StaggeredATTResult,
    _require_columns,
    _tidy,
    round_significant,
)

_SE_FLOOR: float = math.sqrt(np.finfo(float).eps) * 10.0
"""R did sets standard errors at or below sqrt(.Machine$double.eps)*10 to NA."""

_TABLE_COLUMNS = [
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


def _balanced_panel(
    panel: pd.DataFrame,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    what: str,
    covariates: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Validate the panel and return it balanced (units observed in every period), with
    columns ``unit, time, cohort, y`` and ``x0, x1...`` for the covariates."""
    notes: list[str] = []
    _require_columns(panel, [unit, time, cohort, outcome, *covariates], what)
    df = pd.DataFrame(
        {
            "unit": panel[unit].to_numpy(),
            "time": pd.to_numeric(panel[time], errors="coerce").to_numpy(),
            "cohort": pd.to_numeric(panel[cohort], errors="coerce").to_numpy(),
            "y": pd.to_numeric(panel[outcome], errors="coerce").to_numpy(),
        }
    )
    for k, name in enumerate(covariates):
        values = panel[name]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            raise ValueError(
                f"{what}: covariate {name!r} must be numeric (code categories as 0/1 columns)"
            )
        df[f"x{k}"] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
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
    xcols = [f"x{k}" for k in range(len(covariates))]
    missing = df[["y", *xcols]].isna().any(axis=1) | ~np.isfinite(
        df[["y", *xcols]].to_numpy(dtype=float)
    ).all(axis=1)
    if missing.any():
        what_missing = "outcome or covariate" if covariates else "outcome"
        notes.append(f"{int(missing.sum())} rows with a missing {what_missing} were left out")
        df = df[~missing]
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


def _rollout_sample(
    df: pd.DataFrame, control: str, anticipation: int, notes: list[str], what: str
) -> pd.DataFrame:
    """R did's preprocessing of cohorts: late cohorts count as never treated, units treated
    in (or, with anticipation, just after) the first period are dropped, and without
    never-treated units the last cohort becomes the comparison."""
    tlist = np.sort(df["time"].unique())
    late = df["cohort"] > tlist.max() + anticipation
    if late.any():
        notes.append(
            f"{df.loc[late, 'unit'].nunique()} units first treated after the last period "
            "were treated as never treated"
        )
        df = df.assign(cohort=df["cohort"].where(~late, 0.0))
    early = (df["cohort"] > 0) & (df["cohort"] <= tlist.min() + anticipation)
    if early.any():
        notes.append(
            f"{df.loc[early, 'unit'].nunique()} units already treated in the first period "
            f"{'(allowing for anticipation) ' if anticipation else ''}were left out"
        )
        df = df[~early]
    if not (df["cohort"] == 0).any():
        if control == "never_treated":
            raise ValueError(f"{what}: there are no never-treated units to compare with")
        last = df.loc[df["cohort"] > 0, "cohort"].max()
        cutoff = last - anticipation
        notes.append(
            f"no never-treated units: periods from {cutoff:g} on were dropped and cohort "
            f"{last:g} serves as the not-yet-treated comparison"
        )
        df = df[df["time"] < cutoff].copy()
        df.loc[df["cohort"] == last, "cohort"] = 0.0
    return df


def staggered_att(
    panel: pd.DataFrame,
    *,
    unit: str,
    time: str,
    cohort: str,
    outcome: str,
    control: Literal["never_treated", "not_yet_treated"] = "never_treated",
    covariates: Sequence[str] = (),
    est_method: EstMethod = "dr",
    anticipation: int = 0,
    min_cohort_units: int = MIN_COHORT_UNITS,
    base_period: Literal["varying", "universal"] = "varying",
) -> StaggeredATTResult:
    """Callaway & Sant'Anna (2021) group-time average treatment effects ATT(g, t).

    Panel data, one row per unit and period; ``cohort`` is the first period a unit is treated
    (0 or missing: never treated). Varying base period (pre-treatment cells compare t with
    t-1; post-treatment cells compare t with g-1-``anticipation``), comparison units either
    never treated or not yet treated by period t+``anticipation``. Parallel trends hold
    conditional on the time-invariant ``covariates`` (values of each cell's base period are
    used, as R did does), estimated by ``est_method``: ``"dr"`` doubly robust, ``"reg"``
    outcome regression, ``"ipw"`` inverse probability weighting (the DRDID estimators);
    without covariates all three are the difference of mean changes. Standard errors are
    analytic, from the influence functions. This reproduces R ``did::att_gt(...,
    xformla=~covariates, est_method=, anticipation=, base_period="varying", bstrap=FALSE)``
    including its preprocessing: unbalanced units are dropped; cohorts treated after the last
    period (+ anticipation) count as never treated; units treated in or before the first
    period (+ anticipation) are dropped; with ``not_yet_treated`` and no never-treated units,
    periods from the last cohort's start (- anticipation) on are dropped and that cohort
    serves as the comparison. A cell R did would refuse (no overlap, singular covariates) has
    a missing ATT and a warning.

    ``base_period="universal"`` (R ``base_period="universal"``) compares every period, before
    and after treatment, with the same base period g-1-``anticipation``: pre-treatment cells
    are then levels relative to that period (what an event-study plot and HonestDiD's
    sensitivity bounds need), and the base period's own cell is reported as 0 with no
    standard error (the reference). Post-treatment cells are the same under both choices.

    Cohorts with fewer than ``min_cohort_units`` units are reported with a warning (with one
    unit the treated part of the influence function is exactly zero, so the standard error
    ignores the treated side's variability); see :func:`pool_small_cohorts` for pooling them.
    """
    what = "staggered_att"
    if control not in ("never_treated", "not_yet_treated"):
        raise ValueError(
            f"{what}: control must be 'never_treated' or 'not_yet_treated', got {control!r}"
        )
    if est_method not in EST_METHODS:
        raise ValueError(f"{what}: est_method must be one of {EST_METHODS}, got {est_method!r}")
    if isinstance(anticipation, bool) or int(anticipation) != anticipation or anticipation < 0:
        raise ValueError(f"{what}: anticipation must be a whole number >= 0, got {anticipation!r}")
    anticipation = int(anticipation)
    if base_period not in ("varying", "universal"):
        raise ValueError(
            f"{what}: base_period must be 'varying' or 'universal', got {base_period!r}"
        )
    universal = base_period == "universal"
    covariates = tuple(covariates)
    n_units_eligible = int(panel[unit].nunique()) if unit in panel.columns else 0
    n_obs_eligible = len(panel)
    df, notes = _balanced_panel(panel, unit, time, cohort, outcome, what, covariates)
    df = _rollout_sample(df, control, anticipation, notes, what)
    tlist = np.sort(df["time"].unique())
    if len(tlist) < 2:
        raise ValueError(f"{what}: need at least two periods, got {len(tlist)}")

    wide = df.pivot(index="unit", columns="time", values="y").loc[:, tlist]
    units = wide.index.to_numpy()
    g_unit = df.groupby("unit")["cohort"].first().loc[units].to_numpy(dtype=float)
    y = wide.to_numpy(dtype=float)
    xw = [
        df.pivot(index="unit", columns="time", values=f"x{k}").loc[units, tlist].to_numpy(float)
        for k in range(len(covariates))
    ]
    n = len(units)
    glist = np.sort(np.unique(g_unit[g_unit > 0]))
    if len(glist) == 0:
        raise ValueError(f"{what}: no treated cohorts in the data")

    rows: list[dict[str, Any]] = []
    columns: list[np.ndarray] = []
    refused: list[str] = []
    tfac = 0 if universal else 1
    for g in glist:
        treated = g_unit == g
        pre_idx = np.flatnonzero(tlist + anticipation < g)
        for ti in range(len(tlist) - tfac):
            cur = ti + tfac
            current = tlist[cur]
            if len(pre_idx) == 0 and (universal or g <= current):
                notes.append(f"cohort {g:g} has no pre-treatment period and was dropped")
                break
            base = int(pre_idx[-1]) if (universal or g <= current) else ti
            if base == cur:  # universal base period: the reference cell, 0 by definition
                columns.append(np.zeros(n))
                rows.append(
                    {
                        "cohort": g,
                        "time": current,
                        "event_time": current - g,
                        "att": 0.0,
                        "post": False,
                        "n_treated": int(treated.sum()),
                        "n_control": 0,
                    }
                )
                continue
            if control == "never_treated":
                comp = g_unit == 0
            else:
                threshold = tlist[max(cur, base)] + anticipation
                comp = (g_unit == 0) | ((g_unit > threshold) & (g_unit != g))
            keep = treated | comp
            n1 = int(keep.sum())
            n_t, n_c = int(treated.sum()), int(comp.sum())
            infl = np.zeros(n)
            att = float("nan")
            if n_t == 0 or n_c == 0:
                notes.append(f"ATT({g:g},{current:g}) has no treated or no comparison units")
            else:
                dy = (y[:, cur] - y[:, base])[keep]
                d = treated[keep].astype(float)
                earlier = min(cur, base)  # covariates of the earlier period, as R did
                try:
                    if covariates:
                        x = np.column_stack([np.ones(n1), *[xk[keep, earlier] for xk in xw]])
                        att, psi = two_by_two(dy, d, x, est_method)
                    else:
                        att, psi = difference_in_means(dy, d)
                    infl[keep] = psi * (n / n1)
                except CellNotEstimable as exc:
                    refused.append(f"ATT({g:g},{current:g}): {exc}")
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
    if refused:
        notes.append(
            f"{len(refused)} group-time cells could not be estimated and are missing, as in R "
            f"did ({'; '.join(refused[:3])}{'...' if len(refused) > 3 else ''})"
        )
    sizes = {float(g): int((g_unit == g).sum()) for g in glist}
    small = {g: k for g, k in sizes.items() if k < min_cohort_units}
    if small:
        notes.append(small_cohort_warning(small, min_cohort_units))
    influence = np.column_stack(columns) if columns else np.zeros((n, 0))
    table = pd.DataFrame(rows)
    se = np.sqrt((influence**2).sum(axis=0)) / n
    se = np.where(se <= _SE_FLOOR, np.nan, se)
    table["att"] = round_significant(table["att"].to_numpy(dtype=float))
    table["se"] = round_significant(se)
    table["ci_lower"] = round_significant(table["att"] - Z95 * table["se"])
    table["ci_upper"] = round_significant(table["att"] + Z95 * table["se"])
    table = table[_TABLE_COLUMNS]
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
        est_method=est_method,
        covariates=covariates,
        anticipation=anticipation,
        small_cohorts=small,
        periods=tlist,
        base_period=base_period,
    )
