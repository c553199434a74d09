"""Outcome 6 on each instrument's own scale (issue 23): the one mixed model with a slope
per instrument, own-unit changes and standardised effect sizes, their random-effects
meta-analysis (``statsmodels.stats.meta_analysis``), risk bands on each instrument's own
cut-offs and an ordinal model of banded measures. Used by
:mod:`analysis.analyse.outcome_evidence`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.analyse import models
from analysis.analyse.models.mixed_reml import cluster_robust_cov
from analysis.core.labels import label

HORIZON_MONTHS = 12
"""The horizon of the standardised effect sizes and of the delta-adjusted sensitivity
analysis: change over the first year after referral."""

_TRAJ = dict(time="months_since_referral", person="person_key")

OWN_UNITS: dict[str, tuple[str, int]] = {
    "seraf": ("SERAF total", -1),
    "star5": ("Outcomes Star life-area mean, five-point", 1),
    "star10": ("Outcomes Star life-area mean, ten-point", 1),
    "risk3": ("risk rating, low / medium / high as one / two / three", -1),
    "bespoke": ("bespoke score out of a hundred", 1),
}
"""Each instrument's own unit and its direction (+1: higher is better; -1: higher is more
risk), used to orient standardised effect sizes so that positive means improvement."""

RESCALE: dict[str, float] = {
    "seraf": -1 / 30,
    "star5": 1 / 4,
    "star10": 1 / 9,
    "risk3": -1 / 3,
    "bespoke": 1 / 100,
}
"""Slope of each instrument's straight-line rescale onto the common 0-1 score (SERAF's cap
at 30 aside): 1 - s/30, (m - 1)/(N - 1), 7/6 - level/3 (5/6, 1/2, 1/6), v/100."""

BANDED: tuple[str, ...] = ("risk3",)
"""Instruments recorded as ordered bands (modelled by :func:`ordinal_change`)."""

INSTRUMENT_SLOPES = "months_since_referral:instrument"
"""The covariate that gives each instrument its own slope in the one model
(:func:`fit_all_people`)."""


def fit_all_people(
    data: pd.DataFrame,
    *,
    min_assessments: int,
    service: str | None = "service_id",
    engine: str = "statsmodels",
) -> models.TrajectoryResult:
    """The one mixed model of outcome 6: everyone with one or more assessments, the common
    0-1 score on months since referral with a slope for each instrument (when there are
    several), service fixed effects, and a random intercept and slope per young person
    (``min_assessments`` 1 in the pipeline: everyone with an assessment). ``engine`` as
    :func:`analysis.analyse.models.trajectory_model` (``"reml"``: the fast exact fitter)."""
    several = "instrument" in data and data["instrument"].nunique() > 1
    return models.trajectory_model(
        data, outcome="score", service=service, min_assessments=min_assessments,
        covariates=(INSTRUMENT_SLOPES,) if several else (), engine=engine, **_TRAJ,
    )  # fmt: skip


def fixed_effects(
    result: models.TrajectoryResult, *, robust: bool = False
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Fixed-effect names (as fitted), estimates and covariance on the original time scale
    (the model's ``estimates`` table lists the same terms in the same order); ``robust``:
    the covariance clustered by young person (either engine's fit)."""
    fit = result.results
    names = list(fit.fe_params.index)
    k = len(names)
    readable = list(result.estimates["term"])
    has_time = np.array([result.time in t.split(":")[0] or t.startswith(result.time)
                         for t in readable])  # fmt: skip
    factor = np.where(has_time, 1.0 / result.time_scale, 1.0)
    beta = fit.fe_params.to_numpy() * factor
    raw = cluster_robust_cov(fit) if robust else fit.cov_params()
    cov = np.asarray(raw)[:k, :k] * np.outer(factor, factor)
    return names, beta, cov


def instrument_slopes(
    result: models.TrajectoryResult, data: pd.DataFrame, *, robust: bool = False
) -> pd.DataFrame:
    """Each instrument's monthly change in the common score from the one model, with its
    standard error, and the programme average (instruments weighted by their young
    people): ``instrument`` (``programme`` for the average), ``estimate``, ``std_error``,
    ``people`` (``robust``: as :func:`fixed_effects`)."""
    _, beta, cov = fixed_effects(result, robust=robust)
    terms = list(result.estimates["term"])
    t = terms.index(result.time)
    people = data.groupby("instrument")["person_key"].nunique().sort_index()
    rows, contrasts = [], []
    for inst, n in people.items():
        c = np.zeros(len(terms))
        c[t] = 1.0
        label = f"{result.time}:instrument[{inst}]"
        if label in terms:
            c[terms.index(label)] = 1.0
        contrasts.append(c)
        rows.append({"instrument": str(inst), "people": int(n)})
    w = people.to_numpy(float) / people.sum()
    contrasts.append(np.asarray(contrasts).T @ w)
    rows.append({"instrument": "programme", "people": int(people.sum())})
    cmat = np.asarray(contrasts)
    out = pd.DataFrame(rows)
    out["estimate"] = cmat @ beta
    out["std_error"] = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", cmat, cov, cmat), 0, None))
    return out


def instrument_changes(
    data: pd.DataFrame, result: models.TrajectoryResult, *, min_people: int, robust: bool = False
) -> pd.DataFrame:
    """Change per month in each instrument's own units (``raw_score``) and the standardised
    effect size: change over :data:`HORIZON_MONTHS` divided by the SD of first assessments
    within service, oriented so that positive means improvement.

    From the one model (:func:`fit_all_people`): the instrument's slope on the common score
    divided by the slope of its straight-line rescale (:data:`RESCALE`; exact but for
    SERAF totals above 30, which the common score caps). The effect size's interval treats
    the SD as known (its sampling error is small beside the slope's at these sizes). One
    row per instrument; ``fitted`` False with a ``note`` when it could not be estimated.
    ``robust``: standard errors clustered by young person (:func:`fixed_effects`)."""
    slopes = instrument_slopes(result, data, robust=robust).set_index("instrument")
    z = float(stats.norm.ppf(0.975))
    rows = []
    for inst, part in data.groupby("instrument", sort=True):
        inst = str(inst)
        unit, sign = OWN_UNITS.get(inst, (inst, 1))
        counts = part.groupby("person_key").size()
        row: dict[str, Any] = {"instrument": inst, "unit": unit, "fitted": False, "note": "",
                               "people": int(len(counts)),
                               "services": int(part["service_id"].nunique())}  # fmt: skip
        if int((counts >= 2).sum()) < min_people or inst not in RESCALE:
            row["note"] = f"fewer than {min_people} young people with a follow-up"
            rows.append(row)
            continue
        factor = RESCALE[inst]
        est = float(slopes.loc[inst, "estimate"]) / factor
        se = float(slopes.loc[inst, "std_error"]) / abs(factor)
        first = part.sort_values("months_since_referral").groupby("person_key").first()
        centred = first["raw_score"] - first.groupby("service_id")["raw_score"].transform("mean")
        sd = float(np.sqrt((centred**2).sum() / max(len(first) - row["services"], 1)))
        row.update(estimate=est, std_error=se, ci_lower=est - z * se, ci_upper=est + z * se,
                   sd_at_referral=sd, fitted=sd > 0)  # fmt: skip
        if sd > 0:
            smd = sign * est * HORIZON_MONTHS / sd
            smd_se = se * HORIZON_MONTHS / sd
            row.update(smd=smd, smd_se=smd_se, smd_lower=smd - z * smd_se,
                       smd_upper=smd + z * smd_se)  # fmt: skip
        rows.append(row)
    cols = ["instrument", "unit", "people", "services", "estimate", "std_error", "ci_lower",
            "ci_upper", "sd_at_referral", "smd", "smd_se", "smd_lower", "smd_upper", "fitted",
            "note"]  # fmt: skip
    return pd.DataFrame(rows).reindex(columns=cols)


def meta_analysis(changes: pd.DataFrame) -> dict[str, float]:
    """Random-effects meta-analysis (Paule-Mandel) of the instruments' standardised effect
    sizes with the heterogeneity test (Cochran's Q), I-squared and tau-squared; the pooled
    interval uses t with instruments - 1 degrees of freedom. Empty with fewer than two."""
    from statsmodels.stats.meta_analysis import combine_effects

    ok = changes.loc[changes["fitted"].fillna(False).astype(bool) & changes["smd"].notna()]
    if len(ok) < 2:
        return {}
    res = combine_effects(
        ok["smd"].to_numpy(float), ok["smd_se"].to_numpy(float) ** 2, method_re="pm",
        use_t=True, row_names=list(ok["instrument"]),
    )  # fmt: skip
    _, ci_re, _, _ = res.conf_int(use_t=True)
    q = res.test_homogeneity()
    return {
        "instruments": float(len(ok)),
        "pooled_smd": float(res.mean_effect_re),
        "pooled_se": float(res.sd_eff_w_re),
        "pooled_lower": float(ci_re[0]),
        "pooled_upper": float(ci_re[1]),
        "q": float(q.statistic),
        "q_df": float(q.df),
        "q_p_value": float(q.pvalue),
        "i2": float(max(res.i2, 0.0)),
        "tau2": float(res.tau2),
    }


def band_shares(data: pd.DataFrame) -> pd.DataFrame:
    """Risk bands on each instrument's own cut-offs (the cleaned ``risk_band``) at the
    first and latest assessment, young people with a follow-up: ``instrument``,
    ``assessment`` (first / latest), ``band``, ``people``, ``share``."""
    d = data.sort_values(["person_key", "months_since_referral"], kind="stable")
    n = d.groupby("person_key")["score"].transform("size")
    d = d.loc[n >= 2]
    g = d.groupby("person_key")
    parts = {"first": g.head(1), "latest": g.tail(1)}
    rows = []
    for when, part in parts.items():
        for inst, p in part.groupby("instrument", sort=True):
            total = len(p)
            for band in ("high", "medium", "low"):
                k = int((p["risk_band"].astype("str") == band).sum())
                rows.append({"instrument": str(inst), "assessment": when, "band": band,
                             "people": k, "share": k / total if total else float("nan")})  # fmt: skip
    return pd.DataFrame(rows, columns=["instrument", "assessment", "band", "people", "share"])


def ordinal_change(data: pd.DataFrame, *, min_people: int) -> pd.DataFrame:
    """Proportional-odds (ordinal logit) model of the risk band (high < medium < low) on
    months since referral, for each banded instrument (:data:`BANDED`), with
    person-clustered standard errors: the odds ratio of being in a safer band per month
    (above 1 = improvement) and its interval."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rows = []
    for inst in BANDED:
        part = data.loc[data["instrument"] == inst].dropna(subset=["risk_band"])
        if part["person_key"].nunique() < min_people:
            continue
        y = pd.Categorical(
            part["risk_band"].astype("str"), categories=["high", "medium", "low"], ordered=True
        )
        x = part[["months_since_referral"]].astype("float64").to_numpy()
        groups = pd.factorize(part["person_key"])[0]
        try:
            # Newton to machine precision (BFGS stops at a gradient tolerance where
            # BLAS kernels disagree in the sixth digit), then rounded as published
            fit = OrderedModel(np.asarray(y.codes), x, distr="logit").fit(
                method="newton", maxiter=100, disp=False, cov_type="cluster",
                cov_kwds={"groups": groups},
            )  # fmt: skip
        except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - rare
            rows.append({"instrument": inst, "note": f"not fitted: {exc}"})
            continue
        b, se = float(fit.params[0]), float(fit.bse[0])
        rows.append({"instrument": inst, "log_odds_per_month": b, "std_error": se,
                     "odds_ratio": math.exp(b), "or_lower": math.exp(b - 1.96 * se),
                     "or_upper": math.exp(b + 1.96 * se), "people": int(part["person_key"].nunique()),
                     "note": ""})  # fmt: skip
    cols = ["instrument", "log_odds_per_month", "std_error", "odds_ratio", "or_lower",
            "or_upper", "people", "note"]  # fmt: skip
    out = pd.DataFrame(rows).reindex(columns=cols)
    for col in ("log_odds_per_month", "std_error", "odds_ratio", "or_lower", "or_upper"):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype="float64")
        out[col] = models.round_significant(values, ORDINAL_DIGITS)
    return out


ORDINAL_DIGITS = 5
"""Significant digits of the ordinal model's published numbers."""


def instruments_with_follow_up(
    data: pd.DataFrame, *, min_people: int
) -> tuple[pd.DataFrame, list[str]]:
    """The assessments of instruments with at least ``min_people`` young people followed
    up (two or more assessments), and a warning naming each instrument left out: the one
    model gives every instrument its own slope, which a handful of follow-ups cannot
    estimate (its interval would swamp the programme's average)."""
    if "instrument" not in data or data["instrument"].nunique() <= 1:
        return data, []
    per_person = data.groupby(["instrument", "person_key"]).size()
    followed = per_person.ge(2).groupby(level="instrument").sum()
    keep = followed.index[followed >= min_people]
    if len(keep) == 0 or len(keep) == len(followed):
        return data, []
    people = per_person.groupby(level="instrument").size()
    warnings = [
        f"{int(people[inst])} young people assessed with {label(str(inst))} were left out "
        f"of the model: fewer than {min_people} of them had a follow-up assessment, too "
        "few to estimate that instrument's change."
        for inst in followed.index
        if inst not in keep
    ]
    return data.loc[data["instrument"].isin(keep)].reset_index(drop=True), warnings


def rounded_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every float column rounded to the models' significant digits
    (:func:`analysis.analyse.models.results.round_significant`)."""
    floats = [c for c in frame.columns if frame[c].dtype == "float64"]
    if not floats:
        return frame
    return frame.assign(
        **{c: models.round_significant(frame[c].to_numpy(dtype="float64")) for c in floats}
    )
