"""The small-cohort rule for staggered rollouts.

A cohort (units first treated in the same period) with very few units makes its group-time
effects fragile: with one unit, the treated part of the influence function is exactly zero,
so the analytic standard error counts only the comparison group's variability (coverage of
such cells was 18-25% in the rollout simulations of issue 21). The rule:

* :data:`MIN_COHORT_UNITS` is the smallest cohort whose cells are reported without a
  caution. :func:`~analysis.analyse.models.staggered_att` reports every cell, but names each
  smaller cohort in a warning; its variance is never silently zero.
* :func:`pool_small_cohorts` is the remedy: each cohort below the minimum joins the first
  cohort of its phase (the phase's first arrival period), which changes the estimand as
  :attr:`PooledCohorts.estimand` states.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_COHORT_UNITS: int = 5
"""Smallest number of units in a cohort for its ATT(g, t) cells to be reported without a
caution. Five gives the treated side's variance at least four degrees of freedom; with
one unit it is zero and with two or three it rests on one or two. It equals the pipeline's
minimum number of treated areas overall (``MIN_TREATED_AREAS``)."""


def _units(n: int) -> str:
    return f"{n} unit{'' if n == 1 else 's'}"


def small_cohort_warning(small: dict[float, int], min_units: int) -> str:
    """The caution for cohorts below the minimum (plain English, one sentence each)."""
    listed = ", ".join(f"{g:g} ({_units(k)})" for g, k in sorted(small.items()))
    return (
        f"Cohorts with fewer than {min_units} units: {listed}. Their group-time effects are "
        "reported, but their standard errors understate the uncertainty (a cohort of one "
        "unit contributes no variance of its own); read them with caution, or pool small "
        "cohorts within their phase."
    )


@dataclass(frozen=True)
class PooledCohorts:
    """Result of :func:`pool_small_cohorts`.

    ``panel`` is the input with the cohort column replaced; ``moved`` maps each pooled
    cohort to the period it now starts; ``small`` lists cohorts still below the minimum
    after pooling (their cells carry the staggered_att warning); ``estimand`` states what
    the pooled cohorts' effects mean; ``notes`` lists what was done.
    """

    panel: pd.DataFrame
    moved: dict[float, float] = field(default_factory=dict)
    small: dict[float, int] = field(default_factory=dict)
    estimand: str = ""
    notes: list[str] = field(default_factory=list)


def pool_small_cohorts(
    panel: pd.DataFrame,
    *,
    unit: str,
    cohort: str,
    phase_starts: Sequence[float],
    min_units: int = MIN_COHORT_UNITS,
) -> PooledCohorts:
    """Pool cohorts with fewer than ``min_units`` units into the first cohort of their phase.

    ``phase_starts`` are the periods (in the panel's time units) at which the programme's
    phases began; a cohort belongs to the last phase that started at or before it (cohorts
    before the first start form a phase of their own). Within a phase, every cohort below the
    minimum is moved to the phase's first arrival period (its earliest cohort). The pooled
    cohort's ATT(g, t) is then an intention-to-treat effect dated from the phase's first
    arrival: units whose treatment came later count as treated from that period on, so its
    early effects are diluted towards zero, and the periods between the first arrival and
    their own are no longer pre-treatment comparisons for them. Cohorts never pooled keep
    their own dates. Never-treated units (cohort 0 or missing) are untouched.
    """
    what = "pool_small_cohorts"
    if unit not in panel.columns or cohort not in panel.columns:
        missing = [c for c in (unit, cohort) if c not in panel.columns]
        raise ValueError(f"{what}: column(s) {missing} not found")
    if min_units < 1:
        raise ValueError(f"{what}: min_units must be at least 1, got {min_units}")
    starts = np.sort(np.asarray(phase_starts, dtype=float))
    g = pd.to_numeric(panel[cohort], errors="coerce").fillna(0.0)
    per_unit = pd.Series(g.to_numpy(), index=panel[unit].to_numpy()).groupby(level=0).first()
    sizes = per_unit[per_unit > 0].value_counts().sort_index()
    phase = pd.Series(np.searchsorted(starts, sizes.index.to_numpy(), side="right"), sizes.index)
    moved: dict[float, float] = {}
    for _, members in phase.groupby(phase):
        cohorts = np.sort(members.index.to_numpy(dtype=float))
        first = float(cohorts[0])
        for c in cohorts[1:]:
            if sizes[c] < min_units:
                moved[float(c)] = first
    new_g = g.replace(moved) if moved else g
    pooled_sizes = (
        pd.Series(new_g.to_numpy(), index=panel[unit].to_numpy())
        .groupby(level=0)
        .first()
        .loc[lambda s: s > 0]
        .value_counts()
    )
    small = {float(c): int(k) for c, k in pooled_sizes.sort_index().items() if k < min_units}
    notes: list[str] = []
    estimand = ""
    if moved:
        listed = ", ".join(
            f"{c:g} ({_units(int(sizes[c]))}) into {to:g}" for c, to in sorted(moved.items())
        )
        notes.append(f"cohorts below {min_units} units were pooled within their phase: {listed}")
        estimand = (
            "For a pooled cohort, ATT(g, t) is the average effect on all its units of their "
            "phase's rollout, dated from the phase's first arrival g: units treated later in "
            "the phase count as treated from g (an intention-to-treat effect), which dilutes "
            "the early effects towards zero."
        )
    if small:
        notes.append(small_cohort_warning(small, min_units))
    out = panel.assign(**{cohort: new_g.to_numpy()})
    return PooledCohorts(panel=out, moved=moved, small=small, estimand=estimand, notes=notes)
