"""Outcome 6 (young people's outcome scores): what the data can show, and its uncertainty.

The trajectory model compares young people with themselves over time; there is no
comparison group, so everything here is descriptive: referral at a peak of risk (regression
to the mean), maturation and natural recovery are all inside the observed change. This
module quantifies what can be quantified about that, in small pure functions:

* :func:`person_follow_up` / :func:`attrition_table`: who has a follow-up assessment, by
  service, risk at referral and closure reason (``disengaged`` included);
* :func:`slope_summary`: the programme slope of the all-people model (everyone with one or
  more assessments in the likelihood: valid when drop-out depends on what was observed),
  with a small-sample interval (t with services - 1 degrees of freedom) and the minimum
  detectable effect;
* :func:`programme_path`: the predicted average score averaged over services (not the
  reference service), with its full uncertainty (non-zero at referral);
* :func:`delta_adjusted` / :func:`tipping_point`: a delta-adjusted (pattern-mixture)
  sensitivity analysis: the young people who disengaged are assumed to do ``delta`` a
  month worse after their last assessment than the model (MAR) predicts; the tipping point
  is the ``delta`` at which the improvement over the horizon vanishes;
* :func:`regression_to_mean`: the change expected from regression to the mean alone,
  ``(1 - r) x (settle level - score at referral)``, from each instrument's test-retest
  reliability ``r`` (estimated from its repeated measures: the correlation of the first and
  second assessments within service) and the level the service's young people settle at;
* :func:`instrument_changes` / :func:`meta_analysis`: change per instrument in its own units
  and as a standardised effect size (change over a year / SD at referral within service),
  pooled by random-effects meta-analysis (``statsmodels.stats.meta_analysis``) with the
  heterogeneity test;
* :func:`band_shares`: risk bands from each instrument's own cut-offs at first and latest
  assessment; :func:`ordinal_change`: an ordinal (proportional-odds) model of banded
  measures over months since referral.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.analyse import models
from analysis.analyse.outcome_instruments import (
    BANDED,
    HORIZON_MONTHS,
    INSTRUMENT_SLOPES,
    OWN_UNITS,
    RESCALE,
    band_shares,
    fit_all_people,
    fixed_effects,
    instrument_changes,
    instrument_slopes,
    meta_analysis,
    ordinal_change,
)

__all__ = [
    "BANDED", "DELTAS", "HORIZON_MONTHS", "INSTRUMENT_SLOPES", "OWN_UNITS", "POWER", "RESCALE",
    "attrition_table", "band_shares", "by_closure_reason", "delta_adjusted", "fit_all_people",
    "instrument_changes", "instrument_slopes", "meta_analysis", "minimum_detectable_effect",
    "missed_months", "ordinal_change", "outcome_evidence", "person_follow_up",
    "programme_path", "regression_to_mean", "reliability_from_repeats", "slope_summary",
    "t_interval", "tipping_point",
]  # fmt: skip


POWER = 0.8
"""Power of the minimum detectable effect (two-sided 5% test)."""

DELTAS: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05)
"""Departures from MAR shown in the sensitivity table (0-1 score units per month)."""


def person_follow_up(data: pd.DataFrame, people: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per young person with an assessment: ``person_key``, ``service_id``,
    ``instrument``, ``n_assessments``, ``first_month``, ``last_month``, ``first_score``,
    ``last_score``, ``follow_up`` (two or more assessments), ``risk_at_referral`` (the band
    of the first assessment on the instrument's own cut-offs, or the case record's) and
    ``closure_reason`` (``open`` for a case not closed)."""
    d = data.sort_values(["person_key", "months_since_referral"], kind="stable")
    g = d.groupby("person_key", sort=True)
    out = pd.DataFrame(
        {
            "service_id": g["service_id"].first(),
            "instrument": g["instrument"].first().astype("str"),
            "n_assessments": g.size().astype("int64"),
            "first_month": g["months_since_referral"].first().astype("float64"),
            "last_month": g["months_since_referral"].last().astype("float64"),
            "first_score": g["score"].first().astype("float64"),
            "last_score": g["score"].last().astype("float64"),
        }
    )
    band = g["risk_band"].first() if "risk_band" in d else pd.Series(pd.NA, index=out.index)
    out["risk_at_referral"] = band.astype("str").fillna("not recorded")
    out["closure_reason"] = "open"
    if people is not None and len(people):
        p = people.drop_duplicates("person_key").set_index("person_key")
        if "risk_at_referral" in p:
            rec = out.index.map(p["risk_at_referral"].astype("str"))
            fill = pd.Series(rec, index=out.index)
            out["risk_at_referral"] = out["risk_at_referral"].where(
                out["risk_at_referral"] != "not recorded", fill.fillna("not recorded")
            )
        if "closure_reason" in p:
            reason = pd.Series(out.index.map(p["closure_reason"].astype("str")), index=out.index)
            out["closure_reason"] = reason.fillna("open").astype("str")
    out["follow_up"] = out["n_assessments"] >= 2
    out["risk_at_referral"] = out["risk_at_referral"].astype("str")
    return out.reset_index()


def attrition_table(per_person: pd.DataFrame) -> pd.DataFrame:
    """Who has a follow-up assessment: by service, risk at referral and closure reason.

    Columns ``dimension``, ``group``, ``people``, ``with_follow_up``, ``share`` (of the
    group's young people with two or more assessments) and ``months_followed`` (mean months
    from first to last assessment among those with a follow-up)."""
    rows = []
    for dim in ("service_id", "risk_at_referral", "closure_reason", "instrument"):
        for value, part in per_person.groupby(dim, sort=True):
            fu = part.loc[part["follow_up"]]
            rows.append(
                {
                    "dimension": dim,
                    "group": str(value),
                    "people": len(part),
                    "with_follow_up": len(fu),
                    "share": len(fu) / len(part),
                    "months_followed": float((fu["last_month"] - fu["first_month"]).mean())
                    if len(fu)
                    else float("nan"),
                }
            )
    rows.append(
        {
            "dimension": "all",
            "group": "all",
            "people": len(per_person),
            "with_follow_up": int(per_person["follow_up"].sum()),
            "share": float(per_person["follow_up"].mean()),
            "months_followed": float(
                (per_person["last_month"] - per_person["first_month"])[
                    per_person["follow_up"]
                ].mean()
            ),
        }
    )
    return pd.DataFrame(rows).astype(
        {
            "dimension": "str",
            "group": "str",
            "people": "int64",
            "with_follow_up": "int64",
            "share": "float64",
            "months_followed": "float64",
        }  # fmt: skip
    )


def t_interval(estimate: float, se: float, df: int, level: float = 0.95) -> tuple[float, float]:
    """``estimate -/+ t(df) x se`` (normal when ``df`` is not positive)."""
    q = stats.t.ppf(0.5 + level / 2, df) if df > 0 else stats.norm.ppf(0.5 + level / 2)
    return estimate - q * se, estimate + q * se


def minimum_detectable_effect(se: float, df: int, power: float = POWER) -> float:
    """Smallest true effect a two-sided 5% test detects with ``power``:
    ``(t_{0.975, df} + t_{power, df}) x se`` (normal quantiles when ``df`` <= 0)."""
    dist = stats.t(df) if df > 0 else stats.norm()
    return float((dist.ppf(0.975) + dist.ppf(power)) * se)


def slope_summary(
    result: models.TrajectoryResult, n_services: int, data: pd.DataFrame | None = None
) -> dict[str, float]:
    """The programme slope with its model interval, a small-sample interval (t with
    ``n_services - 1`` degrees of freedom: services are the clusters that vary in practice,
    instrument and level) and the minimum detectable effect on that interval. With
    instrument slopes in the model (and ``data``), the programme slope is their average
    weighted by young people (:func:`instrument_slopes`)."""
    if data is not None and any(":instrument[" in t for t in result.estimates["term"]):
        prog = instrument_slopes(result, data).set_index("instrument").loc["programme"]
        est, se = float(prog["estimate"]), float(prog["std_error"])
    else:
        row = result.term(result.time)
        est, se = float(row["estimate"]), float(row["std_error"])
    df = max(int(n_services) - 1, 0)
    lo, hi = t_interval(est, se, df)
    return {
        "estimate": est,
        "std_error": se,
        "ci_lower_model": est - float(stats.norm.ppf(0.975)) * se,
        "ci_upper_model": est + float(stats.norm.ppf(0.975)) * se,
        "ci_lower": float(lo),
        "ci_upper": float(hi),
        "df": float(df),
        "services": float(n_services),
        "mde": minimum_detectable_effect(se, df),
    }


def programme_path(
    result: models.TrajectoryResult,
    months: Sequence[float] = (0, 3, 6, 9, 12),
    n_services: int | None = None,
    data: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The predicted average score at ``months``, averaged over the services in the model
    (each service's intercept weighted equally, not the reference service's), with the full
    fixed-effect uncertainty: a t interval with ``n_services - 1`` degrees of freedom."""
    names, beta, cov = fixed_effects(result)
    terms = list(result.estimates["term"])
    service_terms = [i for i, n in enumerate(names) if n.startswith("C(")]
    k = len(service_terms) + 1
    df = (n_services or k) - 1
    slope = np.zeros(len(names))
    slope[terms.index(result.time)] = 1.0
    if data is not None and any(":instrument[" in t for t in terms):
        people = data.groupby("instrument")["person_key"].nunique().sort_index()
        w = people / people.sum()
        for inst, share in w.items():
            label = f"{result.time}:instrument[{inst}]"
            if label in terms:
                slope[terms.index(label)] = float(share)
    rows = []
    for m in months:
        c = float(m) * slope
        c[names.index("Intercept")] = 1.0
        for i in service_terms:
            c[i] = 1.0 / k
        est = float(c @ beta)
        se = float(math.sqrt(max(c @ cov @ c, 0.0)))
        lo, hi = t_interval(est, se, df)
        rows.append({"months_since_referral": int(m), "estimate": est, "std_error": se,
                     "ci_lower": lo, "ci_upper": hi})  # fmt: skip
    return pd.DataFrame(rows)


def missed_months(per_person: pd.DataFrame, horizon: float = HORIZON_MONTHS) -> pd.Series:
    """Months of the horizon after a disengaged young person's last assessment (0 for
    everyone else): the months the delta adjustment applies to."""
    gone = per_person["closure_reason"] == "disengaged"
    return ((horizon - per_person["last_month"]).clip(lower=0) * gone).astype("float64")


def delta_adjusted(
    slope: float,
    se: float,
    df: int,
    per_person: pd.DataFrame,
    *,
    horizon: float = HORIZON_MONTHS,
    deltas: Sequence[float] = DELTAS,
) -> pd.DataFrame:
    """Average change over ``horizon`` months if the young people who disengaged did
    ``delta`` a month worse after their last assessment than the model predicts.

    The MAR estimate is ``slope x horizon``; the adjustment removes ``delta`` times the
    mean missed months (:func:`missed_months`) over all young people in the likelihood. The
    interval keeps the MAR estimate's width (the adjustment is a fixed assumption)."""
    miss = float(missed_months(per_person, horizon).mean())
    base = slope * horizon
    half = float(stats.t.ppf(0.975, df) if df > 0 else stats.norm.ppf(0.975)) * se * horizon
    rows = [
        {
            "delta": float(d),
            "change": base - d * miss,
            "ci_lower": base - d * miss - half,
            "ci_upper": base - d * miss + half,
        }  # fmt: skip
        for d in deltas
    ]
    return pd.DataFrame(rows)


def tipping_point(
    slope: float,
    se: float,
    df: int,
    per_person: pd.DataFrame,
    *,
    horizon: float = HORIZON_MONTHS,
) -> dict[str, float]:
    """The departure from MAR (score units a month, after disengaging) at which the
    improvement over ``horizon`` vanishes: ``estimate`` where the adjusted change is zero,
    ``significance`` where its interval first includes zero. Also the mean missed months and
    the share who disengaged. Infinite when nobody disengaged before the horizon."""
    miss = float(missed_months(per_person, horizon).mean())
    half = float(stats.t.ppf(0.975, df) if df > 0 else stats.norm.ppf(0.975)) * se * horizon
    base = slope * horizon
    out = {
        "horizon_months": float(horizon),
        "mar_change": base,
        "mean_missed_months": miss,
        "disengaged_share": float((per_person["closure_reason"] == "disengaged").mean()),
    }
    if miss <= 0:
        out.update(estimate=math.inf, significance=math.inf)
    else:
        out.update(estimate=base / miss, significance=(base - half) / miss)
    return out


def reliability_from_repeats(data: pd.DataFrame, per_person: pd.DataFrame) -> pd.DataFrame:
    """Each instrument's test-retest reliability from its repeated measures: the
    correlation of the first and second assessments (each centred on its service's mean),
    over young people with both; ``n`` pairs."""
    d = data.sort_values(["person_key", "months_since_referral"], kind="stable")
    d = d.assign(k=d.groupby("person_key").cumcount())
    first = d.loc[d["k"] == 0].set_index("person_key")
    second = d.loc[d["k"] == 1].set_index("person_key")
    pair = first[["service_id", "instrument", "score"]].join(
        second[["score"]].rename(columns={"score": "second"}), how="inner"
    )
    rows = []
    for inst, part in pair.groupby("instrument", sort=True):
        c = part.groupby("service_id")[["score", "second"]].transform("mean")
        x, y = part["score"] - c["score"], part["second"] - c["second"]
        r = (
            float(np.corrcoef(x, y)[0, 1])
            if len(part) > 2 and x.std() > 0 and y.std() > 0
            else float("nan")
        )
        rows.append({"instrument": str(inst), "reliability": r, "n": len(part)})
    return pd.DataFrame(rows, columns=["instrument", "reliability", "n"])


def regression_to_mean(
    data: pd.DataFrame,
    per_person: pd.DataFrame,
    reliability: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The change from first to latest assessment expected from regression to the mean
    alone, beside the observed change (harmonised 0-1 score, young people with a follow-up).

    For young person ``i`` of service ``s``: ``(1 - r) x (settle_s - x_i)``, with ``x_i``
    the score at the first assessment, ``settle_s`` the mean score of the service's
    follow-up assessments (the level its young people settle at) and ``r`` the
    instrument's reliability (``reliability`` if stated, else
    :func:`reliability_from_repeats`). Descriptive: it is what a measure with this
    reliability would show with no change at all, given how far referral scores sit from
    the settle level; the rest of the observed change is not thereby caused by the service.
    """
    rel = reliability_from_repeats(data, per_person)
    r_map = dict(zip(rel["instrument"], rel["reliability"], strict=True))
    if reliability:
        r_map.update({k: float(v) for k, v in reliability.items()})
    d = data.sort_values(["person_key", "months_since_referral"], kind="stable")
    follow = d.loc[d.groupby("person_key").cumcount() > 0]
    settle = follow.groupby("service_id")["score"].mean()
    fu = per_person.loc[per_person["follow_up"]]
    r = fu["instrument"].map(r_map).astype("float64").clip(upper=1.0)
    expected = (1 - r) * (fu["service_id"].map(settle) - fu["first_score"])
    observed = fu["last_score"] - fu["first_score"]
    ok = expected.notna()
    obs, rtm = float(observed[ok].mean()), float(expected[ok].mean())
    return {
        "people": int(ok.sum()),
        "observed_change": obs,
        "expected_from_regression": rtm,
        "observed_minus_expected": obs - rtm,
        "share_of_observed": rtm / obs if obs else float("nan"),
        "mean_months": float((fu["last_month"] - fu["first_month"])[ok].mean()),
        "reliability": {k: float(v) for k, v in sorted(r_map.items()) if v == v},
        "reliability_source": "stated" if reliability else "repeated measures",
    }


def by_closure_reason(
    result: models.TrajectoryResult, per_person: pd.DataFrame, slope: float
) -> pd.DataFrame:
    """Results by closure reason from the one all-people model (no further fits): each
    young person's predicted monthly change (the fixed slope plus their predicted random
    slope, shrunk towards the average when they have few assessments) and the observed
    change from first to latest assessment, averaged by closure reason (``open`` for cases
    not closed). Descriptive: closure reasons are outcomes of the case, not groups chosen
    in advance."""
    re = result.results.random_effects
    per = per_person.set_index("person_key")
    own = (
        pd.Series({k: float(np.asarray(v)[1]) for k, v in re.items()}, dtype="float64")
        / result.time_scale
    )
    per = per.assign(predicted=slope + own.reindex(per.index).fillna(0.0))
    rows = []
    for reason, part in per.groupby("closure_reason", sort=True):
        fu = part.loc[part["follow_up"]]
        rows.append(
            {
                "closure_reason": str(reason),
                "people": len(part),
                "with_follow_up": len(fu),
                "predicted_monthly_change": float(part["predicted"].mean()),
                "observed_change": float((fu["last_score"] - fu["first_score"]).mean())
                if len(fu)
                else float("nan"),
                "months_followed": float((fu["last_month"] - fu["first_month"]).mean())
                if len(fu)
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def outcome_evidence(
    data: pd.DataFrame,
    people: pd.DataFrame | None,
    result: models.TrajectoryResult,
    *,
    min_people: int,
    two_plus: models.TrajectoryResult | None = None,
    reliability: Mapping[str, float] | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Everything outcome 6 publishes beside the all-people model ``result``: tables
    (attrition, by closure reason, the delta-adjusted sensitivity, the programme path,
    own-unit changes, band shares, ordinal models) and numbers (the slope with its
    small-sample interval and MDE, the tipping point, regression to the mean, the
    meta-analysis, and the two-or-more-assessments model's slope for comparison)."""
    per = person_follow_up(data, people)
    n_services = int(data["service_id"].nunique())
    slope = slope_summary(result, n_services, data)
    df = int(slope["df"])
    changes = (
        instrument_changes(data, result, min_people=min_people, robust=True)
        if "raw_score" in data
        else None
    )
    tables: dict[str, pd.DataFrame] = {
        "attrition": attrition_table(per),
        "by_closure_reason": by_closure_reason(result, per, slope["estimate"]),
        "delta_adjusted": delta_adjusted(slope["estimate"], slope["std_error"], df, per),
        "programme_path": programme_path(result, n_services=n_services, data=data),
    }
    checks: dict[str, Any] = {
        "slope": slope,
        "tipping_point": tipping_point(slope["estimate"], slope["std_error"], df, per),
        "regression_to_mean": regression_to_mean(data, per, reliability),
    }
    if changes is not None:
        tables["own_units"] = changes
        checks["meta_analysis"] = meta_analysis(changes)
    if "risk_band" in data:
        tables["band_shares"] = band_shares(data)
        ordinal = ordinal_change(data, min_people=min_people)
        if len(ordinal):
            tables["ordinal"] = ordinal
    if two_plus is not None:
        row = two_plus.term(two_plus.time)
        checks["two_plus"] = {
            "estimate": float(row["estimate"]),
            "std_error": float(row["std_error"]),
            "people": float(two_plus.n_units_used),
        }
    return tables, checks
