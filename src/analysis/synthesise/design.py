"""Building blocks of the synthetic programme: periods, calibration, and the two simulators
(outcome trajectories and the area panel) with their true estimands.

The table-level simulators here are what the model-validation study reuses without writing
any workbook; :mod:`analysis.synthesise` builds the whole programme from the same pieces, so
the data-generating process behind the files and behind the validation study is one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.core import calendar
from analysis.core.calendar import (
    LAST_DAY,
    PHASE_STARTS,
    quarter_bounds,
    quarter_index_of,
    year_label,
)
from analysis.core.settings import load_settings

DAYS_PER_MONTH = 30.4375
"""Quarter index 1 is 2012-13 Q1 (September–November 2012)."""
N_PANEL_QUARTERS = 20
"""The area panel runs from 2012-13 Q1 to 2016-17 Q4."""
STAR5_AREAS: tuple[str, ...] = (
    "Safety",
    "Relationships",
    "Sexual health",
    "Emotional wellbeing",
    "Education and training",
)
STAR10_AREAS: tuple[str, ...] = (
    "Safety",
    "Relationships",
    "Sexual health",
    "Emotional health",
    "Physical health",
    "Education and training",
    "Drugs and alcohol",
)


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A reporting period: an evaluation year or one of its quarters."""

    label: str
    """``2014-15`` or ``2014-15 Q2``."""
    year: str
    quarter: int | None
    start: date
    end: date

    @property
    def file_label(self) -> str:
        """The period as written in file names (``2014-15Q2``)."""
        return self.label.replace(" ", "")


def year_of(day: date) -> int:
    """Starting calendar year of the evaluation year holding ``day``."""
    return calendar.parse_year(calendar.year_of(day))


def service_periods(start: date, reporting: str, last_day: date = LAST_DAY) -> list[Period]:
    """The periods a service returns for, from its start to ``last_day``.

    The first period starts on the service's start date (a first return covers only the
    months since it started).
    """
    out: list[Period] = []
    for y in range(year_of(start), year_of(last_day) + 1):
        if reporting == "annual":
            bounds = [(None, *calendar.year_bounds(year_label(y)))]
        else:
            bounds = [(q, *quarter_bounds(y, q)) for q in range(1, 5)]
        for q, s, e in bounds:
            if e < start or s > last_day:
                continue
            label = year_label(y) if q is None else f"{year_label(y)} Q{q}"
            out.append(Period(label, year_label(y), q, max(s, start), e))
    return out


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months (day of month kept; days 29–31 not used here)."""
    m0 = day.month - 1 + months
    return date(day.year + m0 // 12, m0 % 12 + 1, day.day)


# --------------------------------------------------------------------------- calibration


def load_synthetic_params(params_file: Path | None = None) -> dict[str, Any]:
    """The ``synthetic:`` section of ``params.yaml`` (``seed``, ``scale``, ``calibration``, ``mess``)."""
    # A copy: callers may adjust it, and the settings are shared by the whole process.
    section = copy.deepcopy(dict(load_settings(params_file).synthetic))
    if not isinstance(section, dict) or "calibration" not in section or "mess" not in section:
        raise KeyError(
            f"{params_file or 'params.yaml'}: the 'synthetic' section needs 'calibration' and 'mess'"
        )
    return section


def default_calibration() -> dict[str, Any]:
    """The project's calibration (``synthetic.calibration`` in ``params.yaml``)."""
    return dict(load_synthetic_params()["calibration"])


def _cal(cal: dict[str, Any] | None) -> dict[str, Any]:
    return default_calibration() if cal is None else cal


# --------------------------------------------------------------------------- trajectories


def person_effects(
    rng: np.random.Generator,
    n: int,
    *,
    baseline_mean: float,
    baseline_sd: float,
    slope_sd: float,
    corr: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated person intercepts (latent score at referral) and slope deviations."""
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    intercept = baseline_mean + baseline_sd * z1
    slope_dev = slope_sd * (corr * z1 + np.sqrt(1 - corr**2) * z2)
    return intercept, slope_dev


def assessment_schedule(
    rng: np.random.Generator,
    follow_days: np.ndarray,
    *,
    interval_days: tuple[int, int] = (75, 105),
    no_followup: np.ndarray | None = None,
    missing_rate: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Assessment times: one within 30 days of referral, then every ``interval_days`` until
    the end of follow-up. Returns (person index, days since referral), sorted by person.

    ``no_followup`` marks people whose follow-up assessments are never recorded; a due
    follow-up assessment is otherwise missing with probability ``missing_rate``.
    """
    n = len(follow_days)
    lo, hi = interval_days
    max_k = int(np.max(follow_days, initial=0) // lo) + 2
    first = rng.integers(0, 31, size=n)
    gaps = rng.integers(lo, hi + 1, size=(n, max_k))
    gaps[:, 0] = first
    days = np.cumsum(gaps, axis=1)
    keep = days <= np.asarray(follow_days)[:, None]
    keep[:, 0] = first <= follow_days
    if missing_rate > 0:
        keep[:, 1:] &= rng.random((n, max_k - 1)) >= missing_rate
    if no_followup is not None:
        keep[np.asarray(no_followup, dtype=bool), 1:] = False
    person, k = np.nonzero(keep)
    return person, days[person, k]


def seraf_category(total: np.ndarray) -> np.ndarray:
    """SERAF category 1–4 from total scores (0–5, 6–10, 11–15, 16+)."""
    t = np.asarray(total)
    return np.select([t <= 5, t <= 10, t <= 15], [1, 2, 3], default=4)


def harmonised_from_latent(
    rng: np.random.Generator, latent: np.ndarray, instrument: str
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Observe latent scores through an instrument.

    Returns (harmonised 0–1 score, raw values): raw values are one array for SERAF (total),
    risk3 (1 = low, 2 = medium, 3 = high) and bespoke (0–100), and one array per life area
    for the Stars. ``latent`` passes through unchanged for ``"latent"``.
    """
    y = np.asarray(latent, dtype=float)
    if instrument == "latent":
        return y, [y]
    if instrument == "seraf":
        s = np.maximum(0, np.rint(30 * (1 - y))).astype(int)
        return 1 - np.minimum(s, 30) / 30, [s]
    if instrument in ("star5", "star10"):
        n = 5 if instrument == "star5" else 10
        areas = STAR5_AREAS if n == 5 else STAR10_AREAS
        vals = [
            np.clip(np.rint(1 + (n - 1) * (y + rng.normal(0, 0.08, len(y)))), 1, n).astype(int)
            for _ in areas
        ]
        return (np.mean(vals, axis=0) - 1) / (n - 1), vals
    if instrument == "risk3":
        level = np.where(y >= 2 / 3, 1, np.where(y >= 1 / 3, 2, 3))
        return np.choose(level - 1, [5 / 6, 1 / 2, 1 / 6]), [level]
    if instrument == "bespoke":
        v = np.clip(np.rint(100 * y), 0, 100).astype(int)
        return v / 100, [v]
    raise ValueError(f"unknown instrument {instrument!r}")


def simulate_trajectories(
    rng: np.random.Generator,
    n_people: int,
    *,
    n_services: int = 8,
    mean_monthly_change: float | None = None,
    instrument: str = "latent",
    service_slope_sd: float = 0.0,
    service_intercept_sd: float = 0.05,
    max_months: float = 36.0,
    calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Outcome trajectories on the harmonised 0–1 scale, one row per assessment.

    Columns: ``person`` (int), ``service`` (``S01`` …), ``months_since_referral`` (float),
    ``score`` (harmonised; the latent score itself when ``instrument="latent"``, which is
    then exactly a linear mixed model with a correlated random intercept and slope per
    person), ``person_monthly_change`` (that person's true slope). ``df.attrs`` holds
    ``true_mean_monthly_change``. Case durations and assessment timing follow the programme
    calibration (follow-up ends at closure, the 18th birthday or ``max_months``); people with
    fewer than two assessments are kept (a model drops them).
    By default services differ in level only (``service_intercept_sd``), so the estimand of
    a model with service fixed effects is exactly ``mean_monthly_change``.
    """
    cal = _cal(calibration)
    beta = cal["mean_monthly_change"] if mean_monthly_change is None else mean_monthly_change
    service = rng.integers(0, n_services, size=n_people)
    svc_int = rng.normal(0, service_intercept_sd, n_services)
    svc_slope = rng.normal(0, service_slope_sd, n_services) if service_slope_sd > 0 else None
    a, b = person_effects(
        rng,
        n_people,
        baseline_mean=cal["score_baseline_mean"],
        baseline_sd=cal["score_baseline_sd"],
        slope_sd=cal["person_slope_sd"],
        corr=cal["intercept_slope_corr"],
    )
    a = a + svc_int[service]
    slope = beta + b + (svc_slope[service] if svc_slope is not None else 0.0)
    duration = case_durations(rng, n_people, cal)
    # follow-up ends at closure, the 18th birthday or after max_months (the programme's span)
    lo_age, hi_age = cal["age_range"]
    age = np.clip(rng.normal(cal["age_mean"], cal["age_sd"], n_people), lo_age, hi_age - 0.05)
    duration = np.minimum(duration, np.rint((hi_age - age) * 365.25)).astype(int)
    duration = np.minimum(duration, int(max_months * DAYS_PER_MONTH))
    person, days = assessment_schedule(
        rng,
        duration,
        interval_days=tuple(cal["assessment_interval_days"]),
        missing_rate=cal["assessment_missing_rate"],
    )
    months = days / DAYS_PER_MONTH
    latent = a[person] + slope[person] * months + rng.normal(0, cal["residual_sd"], len(person))
    score, _ = harmonised_from_latent(rng, latent, instrument)
    out = pd.DataFrame(
        {
            "person": person.astype("int64"),
            "service": pd.array([f"S{s + 1:02d}" for s in service[person]], dtype="str"),
            "months_since_referral": months,
            "score": score,
            "person_monthly_change": slope[person],
        }
    )
    out.attrs["true_mean_monthly_change"] = float(beta)
    return out


def case_durations(rng: np.random.Generator, n: int, cal: dict[str, Any]) -> np.ndarray:
    """Case durations in days: lognormal, median ``duration_median_months``."""
    mu = np.log(cal["duration_median_months"] * DAYS_PER_MONTH)
    return np.maximum(14, np.rint(rng.lognormal(mu, cal["duration_log_sd"], n))).astype(int)


def trajectory_estimands(trajectories: pd.DataFrame, *, min_assessments: int = 2) -> dict[str, Any]:
    """True estimands of a trajectory table from :func:`simulate_trajectories`.

    ``mean_monthly_change`` is the population mean slope (what a linear mixed model's fixed
    slope estimates); ``sample_mean_monthly_change`` averages the true slopes of the people
    with at least ``min_assessments`` assessments.
    """
    per_person = trajectories.groupby("person").agg(
        n=("score", "size"), slope=("person_monthly_change", "first")
    )
    eligible = per_person[per_person["n"] >= min_assessments]
    return {
        "mean_monthly_change": float(trajectories.attrs.get("true_mean_monthly_change", np.nan)),
        "sample_mean_monthly_change": float(eligible["slope"].mean()),
        "people": int(len(per_person)),
        "people_eligible": int(len(eligible)),
        "scale": "harmonised score (0-1, higher = safer/better) per month since referral",
    }


# --------------------------------------------------------------------------- area panel


def phase_of_cohort(cohort_quarter: np.ndarray) -> np.ndarray:
    """Programme phase (1–3) implied by a cohort quarter (0 for never treated)."""
    c = np.asarray(cohort_quarter)
    starts = [quarter_index_of(d) for d in PHASE_STARTS]
    return np.where(c == 0, 0, np.where(c < starts[1], 1, np.where(c < starts[2], 2, 3)))


def draw_cohorts(rng: np.random.Generator, n: int, cal: dict[str, Any]) -> np.ndarray:
    """Cohort quarters of ``n`` spoke areas: phase in proportion to services per phase, start
    month = phase start + a recruitment delay."""
    weights = np.asarray(cal["services_per_phase"], dtype=float)
    phase = rng.choice(3, size=n, p=weights / weights.sum())
    delay_p = np.asarray(cal["spoke_delay_months_probs"], dtype=float)
    delay = rng.choice(len(delay_p), size=n, p=delay_p / delay_p.sum())
    return np.array(
        [
            quarter_index_of(add_months(PHASE_STARTS[p], int(d)))
            for p, d in zip(phase, delay, strict=True)
        ]
    )


def area_panel_from_cohorts(
    rng: np.random.Generator,
    cohorts: np.ndarray,
    area_codes: list[str] | None = None,
    *,
    n_quarters: int = N_PANEL_QUARTERS,
    calibration: dict[str, Any] | None = None,
    adjust: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """The area × quarter panel for areas with the given cohort quarters (0 = never treated).

    Expected untreated count ``b_i + s_t`` (area level plus a common additive trend and
    season, so parallel trends hold in levels); after a spoke arrives (quarter ``g``) the
    expectation rises by ``b_i * spoke_effect * ramp(t - g) * phase multiplier``. Counts are
    Poisson around the expectation. Extra columns ``expected_untreated`` and ``true_effect``
    carry the truth. ``adjust`` (a :class:`analysis.synthesise.scenarios.ScenarioSet`)
    changes the expected untreated counts and effects before the draw (stress scenarios);
    without it the panel is the default world's.
    """
    cal = _cal(calibration)
    cohorts = np.asarray(cohorts, dtype=int)
    n = len(cohorts)
    lo, hi = cal["area_child_population"]
    pop = np.rint(np.exp(rng.uniform(np.log(lo), np.log(hi), n))).astype(int)
    rate = rng.uniform(*cal["concerns_per_10k_quarter"], n)
    base = pop / 10_000 * rate
    t = np.arange(1, n_quarters + 1)
    season = np.array([0.6, -0.4, 0.2, -0.4])[(t - 1) % 4]
    trend = cal["concerns_trend_total"] * (t - 1) / max(n_quarters - 1, 1) + season + 0.5
    mu0 = base[:, None] + trend[None, :]
    event = t[None, :] - cohorts[:, None]
    treated = (cohorts[:, None] > 0) & (event >= 0)
    ramp = 1 - np.exp(-(event + 1) / cal["spoke_effect_ramp_quarters"])
    mult = np.asarray([0.0, *cal["spoke_effect_by_phase"]])[phase_of_cohort(cohorts)]
    effect = np.where(treated, base[:, None] * cal["spoke_effect"] * mult[:, None] * ramp, 0.0)
    if adjust is not None:
        mu0, effect = adjust(
            mu0, effect, level=base, cohorts=cohorts, t=t, phase_mult=mult, cal=cal
        )
    counts = rng.poisson(mu0 + effect)
    growth = 1 + 0.004 * ((t - 1) // 4)
    codes = area_codes if area_codes is not None else [f"LA{i + 1:03d}" for i in range(n)]
    return pd.DataFrame(
        {
            "area_code": pd.array(np.repeat(codes, n_quarters), dtype="str"),
            "quarter_index": np.tile(t, n).astype("int64"),
            "cohort_quarter": np.repeat(cohorts, n_quarters).astype("int64"),
            "cse_concerns": counts.ravel().astype("int64"),
            "child_population": np.rint(pop[:, None] * growth[None, :]).ravel().astype("int64"),
            "expected_untreated": mu0.ravel(),
            "true_effect": effect.ravel(),
        }
    )


def simulate_area_panel(
    rng: np.random.Generator,
    n_spoke_areas: int,
    n_comparison_areas: int,
    *,
    n_quarters: int = N_PANEL_QUARTERS,
    calibration: dict[str, Any] | None = None,
    adjust: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """A staggered-rollout panel: spoke areas (cohorts drawn as in the programme) and
    comparison areas that never receive a spoke (``cohort_quarter`` 0).

    Columns ``area_code``, ``quarter_index`` (1 = Sep–Nov 2012), ``cohort_quarter``,
    ``cse_concerns``, ``child_population``, plus ``expected_untreated`` and ``true_effect``
    (use :func:`area_panel_estimands` for the estimands).
    """
    cal = _cal(calibration)
    cohorts = np.concatenate(
        [draw_cohorts(rng, n_spoke_areas, cal), np.zeros(n_comparison_areas, dtype=int)]
    )
    return area_panel_from_cohorts(
        rng, cohorts, n_quarters=n_quarters, calibration=cal, adjust=adjust
    )


def cohort_probabilities(cal: dict[str, Any]) -> dict[int, float]:
    """P(cohort quarter = g) for a spoke area under :func:`draw_cohorts`."""
    weights = np.asarray(cal["services_per_phase"], dtype=float)
    weights = weights / weights.sum()
    delay_p = np.asarray(cal["spoke_delay_months_probs"], dtype=float)
    delay_p = delay_p / delay_p.sum()
    out: dict[int, float] = {}
    for phase, w in enumerate(weights):
        for d, q in enumerate(delay_p):
            g = quarter_index_of(add_months(PHASE_STARTS[phase], d))
            out[g] = out.get(g, 0.0) + float(w * q)
    return dict(sorted(out.items()))


def population_att(
    calibration: dict[str, Any] | None = None, *, n_quarters: int = N_PANEL_QUARTERS
) -> dict[str, Any]:
    """Population estimands of :func:`simulate_area_panel` (count scale): what a
    Callaway–Sant'Anna estimate with analytic standard errors targets when areas are iid
    draws. ATT(g, t) = E[b] × spoke_effect × ramp(t − g) × phase multiplier, with E[b] the
    mean area level; aggregations weight cohorts by their probabilities."""
    cal = _cal(calibration)
    lo, hi = cal["area_child_population"]
    mean_pop = (hi - lo) / np.log(hi / lo)
    mean_b = mean_pop / 10_000 * float(np.mean(cal["concerns_per_10k_quarter"]))
    probs = cohort_probabilities(cal)
    rows = []
    for g, pg in probs.items():
        mult = [0.0, *cal["spoke_effect_by_phase"]][int(phase_of_cohort(np.array([g]))[0])]
        for t in range(g, n_quarters + 1):
            ramp = 1 - np.exp(-(t - g + 1) / cal["spoke_effect_ramp_quarters"])
            att = mean_b * cal["spoke_effect"] * mult * ramp
            rows.append({"cohort": g, "time": t, "event_time": t - g, "att": float(att), "p_g": pg})
    gt = pd.DataFrame(rows)
    by_group = gt.groupby("cohort")["att"].mean()
    return {
        "att_gt": [{k: r[k] for k in ("cohort", "time", "event_time", "att")} for r in rows],
        "simple": float(np.average(gt["att"], weights=gt["p_g"])),
        "dynamic": {
            int(e): float(np.average(g["att"], weights=g["p_g"]))
            for e, g in gt.groupby("event_time")
        },
        "group": {int(g): float(v) for g, v in by_group.items()},
        "group_overall": float(np.average(by_group, weights=[probs[g] for g in by_group.index])),
        "cohort_probabilities": probs,
        "mean_area_level": float(mean_b),
    }


def area_panel_estimands(
    panel: pd.DataFrame, calibration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """True Callaway–Sant'Anna estimands (count scale) of a panel with ``true_effect``.

    ``att_gt``: ATT(g, t) = mean over areas of cohort g of the expected extra CSE concerns in
    quarter t (t ≥ g; 0 before, no anticipation) — conditional on the areas' realised levels.
    ``simple``: the post-treatment ATT(g, t) averaged with weights proportional to cohort
    size (R ``did::aggte(type = "simple")``); ``dynamic``: by event time e, cohorts weighted
    by size among those observed at g + e; ``group``: per cohort, mean over its post
    quarters, and overall the size-weighted mean of those. These are conditional on the
    areas drawn; ``population`` holds the estimands over iid draws of areas
    (:func:`population_att`), which analytic standard errors cover at the nominal rate.
    """
    last = int(panel["quarter_index"].max())
    treated = panel[(panel["cohort_quarter"] > 0) & (panel["cohort_quarter"] <= last)]
    sizes = treated.groupby("cohort_quarter")["area_code"].nunique()
    # post-arrival cells, and any earlier cell with an effect (the anticipation scenario)
    early = treated.groupby(["cohort_quarter", "quarter_index"])["true_effect"].transform("max")
    post = treated[(treated["quarter_index"] >= treated["cohort_quarter"]) | (early > 0)]
    gt = (
        post.groupby(["cohort_quarter", "quarter_index"], as_index=False)["true_effect"]
        .mean()
        .rename(columns={"cohort_quarter": "cohort", "quarter_index": "time", "true_effect": "att"})
    )
    gt["event_time"] = gt["time"] - gt["cohort"]
    gt["n_g"] = gt["cohort"].map(sizes).astype("int64")
    after = gt[gt["event_time"] >= 0]
    simple = float(np.average(after["att"], weights=after["n_g"]))
    dynamic = {
        int(e): float(np.average(g["att"], weights=g["n_g"])) for e, g in gt.groupby("event_time")
    }
    by_group = after.groupby("cohort")["att"].mean()
    group_overall = float(np.average(by_group, weights=sizes.loc[by_group.index]))
    return {
        "scale": "count of CSE concerns identified per area-quarter",
        "att_gt": [
            {
                "cohort": int(r.cohort),
                "time": int(r.time),
                "event_time": int(r.event_time),
                "att": float(r.att),
                "n_areas": int(r.n_g),
            }
            for r in gt.itertuples()
        ],
        "simple": simple,
        "dynamic": dynamic,
        "group": {int(g): float(v) for g, v in by_group.items()},
        "group_overall": group_overall,
        "cohort_sizes": {int(g): int(v) for g, v in sizes.items()},
        "never_treated_areas": int(panel.loc[panel["cohort_quarter"] == 0, "area_code"].nunique()),
        "population": population_att(calibration, n_quarters=last),
    }


# --------------------------------------------------------------------------- referrals


def referral_rate(
    months_since_start: np.ndarray, per_worker_year: float, growth: float
) -> np.ndarray:
    """Expected referrals per spoke worker per month, ``m`` months after the spoke started:
    log-linear growth at ``growth`` per month over the first 12 months, flat afterwards."""
    m = np.asarray(months_since_start, dtype=float)
    return per_worker_year / 12 * np.exp(-growth * np.maximum(12 - m, 0))


def referral_estimands(cal: dict[str, Any]) -> dict[str, Any]:
    """True growth of referrals after a spoke starts (per spoke worker, before service size)."""
    g = float(cal["referral_growth_per_month"])
    per_year = float(cal["referrals_per_worker_year"])
    m = np.arange(24)
    rate = referral_rate(m, per_year, g)
    return {
        "log_monthly_growth_first_year": g,
        "monthly_rate_ratio_first_year": float(np.exp(g)),
        "second_to_first_year_ratio": float(rate[12:].sum() / rate[:12].sum()),
        "plateau_referrals_per_worker_month": per_year / 12,
        "first_month_referrals_per_worker": float(rate[0]),
        "definition": (
            "Expected referrals per spoke worker per month grow log-linearly (rate ratio per "
            "month = exp(g)) over a spoke's first 12 months, then stay flat; a Poisson model of "
            "monthly referrals on months since spoke start (0-11), with a log(workers) offset "
            "and spoke effects, targets g."
        ),
    }
