"""Validation of outcome 6's evidence on worlds with known truth (issue 23).

For the default world and each outcome scenario (:mod:`analysis.synthesise.outcome_scenarios`:
``regression_to_mean``, ``dropout_mar``, ``dropout_mnar``, ``instrument_noninvariance``),
``seeds`` programmes' outcome data are simulated with the generator's own outcome process
(:func:`analysis.synthesise.world.simulate_assessments` and the scenarios' drop-out, on
young people drawn as :func:`~analysis.synthesise.world.simulate_people` draws their latent
scores, durations and closure reasons: 14 services with an instrument in the programme's
mix, :data:`PEOPLE_PER_SERVICE` young people each, referred over the programme's three
years), outcome 6's evidence is computed with the functions the analyse stage uses
(:mod:`analysis.analyse.outcome_evidence`) and compared with the truth:

* coverage of the programme slope (all-people model; small-sample t interval with services
  - 1 degrees of freedom, and the model's normal interval) and of each instrument's change
  in its own units (model interval);
* bias of the all-people model and of the two-or-more-assessments model (``dropout_mar``);
* the tipping point (``dropout_mnar``; every world);
* observed change minus the expected regression-to-the-mean change against the raw change,
  each compared with the planted change (``regression_to_mean``);
* the heterogeneity test's rejection rate (``instrument_noninvariance``).

Targets (:data:`TARGETS`): 92.5-97.5% for intervals meant to be exact; 92.5-99% for the
small-sample intervals (conservative by design); the issue's figures in :data:`DONE_WHEN`.
Checkpointed per world and seed::

    python -m analysis.validation --study outcomes --seeds 400 --jobs 2
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.analyse import models
from analysis.analyse import outcome_evidence as ev
from analysis.analyse.models.mixed_reml import gls_coefficients
from analysis.analyse.parallel import run_checkpointed
from analysis.analyse.validation_rollout import _coverage as coverage
from analysis.analyse.validation_rollout import _rate

TARGETS: dict[str, tuple[str, float, float]] = {
    "slope_model": ("exact", 0.925, 0.975),
    "slope_small_sample": ("conservative", 0.925, 0.99),
    "instrument": ("exact", 0.925, 0.975),
}
"""Coverage targets per quantity: (kind, lowest, highest)."""

DONE_WHEN: dict[str, float] = {
    "mar_bias_ratio_max": 0.5,
    "rtm_closer_min": 0.80,
    "noninvariance_instrument_min": 0.90,
    "noninvariance_q_min": 0.80,
}
"""The issue's acceptance figures, checked by :func:`done_when`."""

WORLDS: tuple[str, ...] = (
    "default",
    "regression_to_mean",
    "dropout_mar",
    "dropout_mnar",
    "instrument_noninvariance",
)

TWO_PLUS_WORLDS: tuple[str | None, ...] = (None, "dropout_mar", "dropout_mnar")
"""Worlds where the two-or-more-assessments model is also fitted (for its bias)."""

ENGINE = "reml"
"""The mixed model's fitter in the study: the fast exact REML fitter
(:mod:`analysis.analyse.models.mixed_reml`), the same estimates as statsmodels to
optimizer tolerance at a tenth of the cost (tests/unit/analyse/test_mixed_reml.py)."""

PEOPLE_PER_SERVICE = 140
"""Young people per service with an instrument (14 services: about the 1,924 young people
with an assessment in the default data)."""

SERVICE_INSTRUMENTS: tuple[str, ...] = (
    "seraf", "star5", "star10", "risk3", "bespoke",
    "seraf", "star5", "star10", "risk3", "bespoke",
    "seraf", "star5", "star10", "bespoke",
)  # fmt: skip
"""The 14 instrument-using services, as the calibration's ``instrument_mix``."""


@dataclass(frozen=True)
class World:
    """A world to simulate: its label and scenario (or none)."""

    label: str
    scenario: str | None = None


def worlds() -> list[World]:
    """The default world and each outcome scenario at its documented strength."""
    return [World("default")] + [World(n, n) for n in WORLDS[1:]]


def _settings() -> tuple[dict[str, Any], dict[str, Any]]:
    from analysis.synthesise.design import load_synthetic_params

    section = load_synthetic_params()
    return section["calibration"], dict(section.get("scenarios") or {})


def _own_units(frame: pd.DataFrame, instrument: str) -> np.ndarray:
    raws = [c for c in frame.columns if c.startswith("raw_")]
    if instrument in ("star5", "star10"):
        return frame[raws].mean(axis=1).to_numpy(float)
    return frame["raw_0"].to_numpy(float)


def _band(score: np.ndarray, raw: np.ndarray, instrument: str) -> np.ndarray:
    """Risk band on the instrument's own cut-offs (as :func:`analysis.clean.harmonise.
    map_score`)."""
    if instrument == "seraf":
        return np.where(raw <= 10, "low", np.where(raw <= 15, "medium", "high"))
    if instrument == "risk3":
        return np.asarray(["low", "medium", "high"], dtype=object)[raw.astype(int) - 1]
    return np.where(score < 1 / 3, "high", np.where(score < 2 / 3, "medium", "low"))


def _population_expected(
    full: pd.DataFrame,
    sid: str,
    inst: str,
    cal: dict[str, Any],
    adjust: Any,
    level_dev: float,
    slope_dev: float,
) -> pd.DataFrame:
    """The population's expected harmonised and own-unit score at each scheduled
    assessment of one service (before drop-out): the service's mean level and slope, with
    everything that varies between its young people and the residual noise integrated out
    (:func:`analysis.synthesise.outcome_scenarios.population_sd`); no regression-to-the-mean
    transient. Who is assessed when does not depend on the person effects, so this is the
    expected score of the young person behind each row."""  # fmt: skip
    from analysis.synthesise.outcome_scenarios import expected_own_units, population_sd

    shape = adjust.noninvariance() if adjust is not None else None
    m = full["months_since_referral"].to_numpy(float)
    sd = population_sd(
        m, baseline_sd=cal["score_baseline_sd"], slope_sd=cal["person_slope_sd"],
        corr=cal["intercept_slope_corr"], residual_sd=cal["residual_sd"], instrument=inst,
        noninvariance=shape,
    )  # fmt: skip
    level = np.full(len(m), cal["score_baseline_mean"] + level_dev)
    change = (cal["mean_monthly_change"] + slope_dev) * m
    kw = dict(residual_sd=sd, noninvariance=shape)
    return pd.DataFrame(
        {
            "person_key": sid + "/" + full["person"].astype(str),
            "service_id": sid,
            "instrument": inst,
            "months_since_referral": m,
            "expected_score": expected_own_units(level, change, inst, on_harmonised=True, **kw),
            "expected_own": expected_own_units(level, change, inst, **kw),
        }
    )


def simulate(world: World, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """One world's outcome data for ``seed``: the analysis frame (as ``trajectory_data``
    with ``raw_score`` and ``risk_band``), the young people (risk at referral, closure
    reason) and the truth."""
    from analysis.synthesise.design import case_durations, person_effects
    from analysis.synthesise.outcome_scenarios import own_unit_truth
    from analysis.synthesise.scenarios import scenario_set
    from analysis.synthesise.world import simulate_assessments, stream

    cal, strengths = _settings()
    adjust = scenario_set(world.scenario, strengths) if world.scenario else None
    rng = stream(seed, "outcome-validation")
    slope_dev = rng.normal(0, cal["service_slope_sd"], len(SERVICE_INSTRUMENTS))
    level_dev = rng.normal(0, 0.05, len(SERVICE_INSTRUMENTS))
    reasons = list(cal["closure_reason_probs"])
    probs = np.asarray(list(cal["closure_reason_probs"].values()), dtype=float)
    frames, people_rows, truth_rows, expected_rows = [], [], [], []
    horizon = int(3 * 365.25)
    for k, inst in enumerate(SERVICE_INSTRUMENTS):
        sid = f"S{k + 1:02d}"
        n = PEOPLE_PER_SERVICE
        a, b = person_effects(
            rng, n, baseline_mean=cal["score_baseline_mean"], baseline_sd=cal["score_baseline_sd"],
            slope_sd=cal["person_slope_sd"], corr=cal["intercept_slope_corr"],
        )  # fmt: skip
        referral = rng.integers(0, horizon, n)
        close = referral + case_durations(rng, n, cal)
        closed = close <= horizon
        reason = np.asarray(reasons, dtype=object)[
            rng.choice(len(reasons), n, p=probs / probs.sum())
        ]
        lo, hi = cal["no_followup_range"]
        people = pd.DataFrame(
            {
                "person": np.arange(n, dtype="int64"),
                "referral_day": referral,
                "closure_day": pd.array(np.where(closed, close, horizon), dtype="Int64"),
                "closure_reason": pd.array(np.where(closed, reason, None), dtype="str"),
                "no_followup": rng.random(n) < rng.uniform(lo, hi),
                "intercept": a + level_dev[k],
                "slope": cal["mean_monthly_change"] + slope_dev[k] + b,
            }
        )
        people.loc[~closed, "closure_day"] = pd.NA
        svc = pd.Series({"service_id": sid, "instrument": inst})
        cal_k = {**cal}
        assess = simulate_assessments(seed, svc, people.assign(
            closure_day=people["closure_day"].fillna(horizon)), cal_k, adjust)  # fmt: skip
        full = assess.merge(people[["person", "intercept", "slope"]], on="person")
        truth_rows.append(full.assign(instrument=inst, sid=sid))
        expected_rows.append(_population_expected(full, sid, inst, cal, adjust,
                                                  level_dev[k], slope_dev[k]))  # fmt: skip
        if adjust is not None:
            people, assess = adjust.dropout(people, assess, stream(seed, "dropout", sid), cal)
        if assess.empty:
            continue
        raw = _own_units(assess, inst)
        frame = pd.DataFrame(
            {
                "person_key": sid + "/" + assess["person"].astype(str),
                "service_id": sid,
                "instrument": inst,
                "months_since_referral": assess["months_since_referral"].to_numpy(float),
                "score": assess["score"].to_numpy(float),
                "raw_score": raw,
                "risk_band": _band(assess["score"].to_numpy(float), raw, inst),
            }
        )
        frames.append(frame)
        seen = people.loc[people["person"].isin(assess["person"])]
        people_rows.append(
            pd.DataFrame(
                {
                    "person_key": sid + "/" + seen["person"].astype(str),
                    "closure_reason": seen["closure_reason"].astype("str"),
                    "slope": seen["slope"].to_numpy(float),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data = data.sort_values(["person_key", "months_since_referral"], ignore_index=True)
    people = pd.concat(people_rows, ignore_index=True)
    t = pd.concat(truth_rows, ignore_index=True)
    t["person"] = t["sid"] + "/" + t["person"].astype(str)
    shape = adjust.noninvariance() if adjust is not None else None
    own, harm = {}, {}
    for inst, part in t.groupby("instrument"):
        own[inst] = own_unit_truth(part, inst, residual_sd=cal["residual_sd"], noninvariance=shape)[
            "change_per_month"
        ]
        harm[inst] = own_unit_truth(
            part, inst, residual_sd=cal["residual_sd"], noninvariance=shape, on_harmonised=True
        )
    weights = np.array([h["people"] for h in harm.values()], dtype=float)
    truth = {
        "expected": pd.concat(expected_rows, ignore_index=True),  # see model_truth
        # the harmonised score's expected change (ceiling, floor and rounding included),
        # over every young person the data would have had without drop-out
        "slope_person_mean": float(
            np.average([h["change_per_month"] for h in harm.values()], weights=weights)
        ),
        "latent_slope": float(people["slope"].mean()),
        "planted_change": float(np.average([h["change"] for h in harm.values()], weights=weights)),
        "own_units_person_mean": own,
    }
    return data, people.drop(columns=["slope"]), truth


def model_truth(
    expected: pd.DataFrame, result: models.TrajectoryResult, data: pd.DataFrame
) -> dict[str, Any]:
    """What the all-people model estimates on the world without drop-out: its fixed slopes
    applied, by generalised least squares with the fit's own covariance parameters, to
    every young person's expected score at every assessment the generator scheduled
    (before any drop-out; noise, rounding, floors and ceilings integrated out, no
    regression-to-the-mean transient). The model is a straight line per young person, so
    where the expected score bends (ceilings, floors, a non-linear instrument) the
    estimand is the GLS-weighted average of the people's straight lines through their
    expected scores, which gives people followed longer more weight; an equally weighted
    average of per-person least-squares slopes (``*_person_mean``) is a different quantity.
    Returns ``slope`` (programme: instruments weighted by their young people, as
    :func:`analysis.analyse.outcome_instruments.instrument_slopes`) and ``own_units`` (each
    instrument's slope of the expected own-unit score)."""
    fit = result.results
    cov = np.asarray(fit.cov_re, dtype=float) / float(fit.scale)
    theta = np.linalg.cholesky(cov + 1e-12 * np.eye(2))[np.tril_indices(2)]
    months = expected["months_since_referral"].to_numpy(float) / result.time_scale
    services = pd.get_dummies(expected["service_id"], dtype=float)
    insts = pd.get_dummies(expected["instrument"], dtype=float)
    x = np.concatenate([services.to_numpy(), insts.to_numpy() * months[:, None]], axis=1)
    z = np.column_stack([np.ones_like(months), months])
    beta = gls_coefficients(theta, x, z, expected["person_key"].to_numpy(),
                            expected[["expected_score", "expected_own"]].to_numpy())  # fmt: skip
    k = services.shape[1]
    slopes = pd.DataFrame(beta[k:] / result.time_scale, index=insts.columns,
                          columns=["score", "own"])  # fmt: skip
    people = data.groupby("instrument")["person_key"].nunique()
    w = people.reindex(slopes.index).fillna(0).to_numpy(float)
    return {
        "slope": float(np.average(slopes["score"], weights=w)),
        "own_units": {str(k): float(v) for k, v in slopes["own"].items()},
    }


def _min_people() -> int:
    from analysis.core.settings import load_settings

    return int(load_settings().model.min_people_for_trajectory)


def run_seed(world: World, seed: int) -> dict[str, Any]:
    """Simulate one world for one seed, compute outcome 6's evidence, compare with truth."""
    start, cpu = time.perf_counter(), time.process_time()
    data, people, truth = simulate(world, seed)
    per = ev.person_follow_up(data, people)
    n_services = int(data["service_id"].nunique())
    fit = ev.fit_all_people(data, min_assessments=1, engine=ENGINE)
    truth.update(model_truth(truth.pop("expected"), fit, data))
    s = ev.slope_summary(fit, n_services, data)
    two_est = None
    if world.scenario in TWO_PLUS_WORLDS:
        two = ev.fit_all_people(data, min_assessments=2, engine=ENGINE)
        two_est = ev.slope_summary(two, n_services, data)["estimate"]
    tip = ev.tipping_point(s["estimate"], s["std_error"], int(s["df"]), per)
    rtm = ev.regression_to_mean(data, per)
    changes = ev.instrument_changes(data, fit, min_people=_min_people())
    robust = ev.instrument_changes(data, fit, min_people=_min_people(), robust=True)
    meta = ev.meta_analysis(robust)  # as published: on the person-clustered intervals
    t = truth["slope"]
    rec: dict[str, Any] = {
        "world": world.label,
        "seed": int(seed),
        "slope_true": t,
        "slope_true_person_mean": truth["slope_person_mean"],
        "slope_estimate": s["estimate"],
        "slope_se": s["std_error"],
        "slope_model_covered": bool(s["ci_lower_model"] <= t <= s["ci_upper_model"]),
        "slope_small_sample_covered": bool(s["ci_lower"] <= t <= s["ci_upper"]),
        "two_plus_estimate": two_est,
        "mde": s["mde"],
        "tipping_point": tip["estimate"],
        "tipping_point_significance": tip["significance"],
        "disengaged_share": tip["disengaged_share"],
        "planted_change": truth["planted_change"],
        "raw_change": rtm["observed_change"],
        "rtm_expected": rtm["expected_from_regression"],
        "rtm_closer": bool(
            abs(rtm["observed_minus_expected"] - truth["planted_change"])
            < abs(rtm["observed_change"] - truth["planted_change"])
        ),
        "instrument_covered": {},
        "instrument_estimate": {},
        "instrument_true": {},
        "instrument_se": {},
        "instrument_robust_covered": {},
        "instrument_true_person_mean": {},
        "q_p_value": meta.get("q_p_value"),
        "pooled_smd": meta.get("pooled_smd"),
    }
    for row in changes.itertuples():
        own = truth["own_units"].get(row.instrument)
        if row.fitted and own is not None and math.isfinite(own):
            rec["instrument_covered"][row.instrument] = bool(row.ci_lower <= own <= row.ci_upper)
            rec["instrument_estimate"][row.instrument] = float(row.estimate)
            rec["instrument_true"][row.instrument] = float(own)
            rec["instrument_se"][row.instrument] = float(row.std_error)
            rec["instrument_true_person_mean"][row.instrument] = float(
                truth["own_units_person_mean"].get(row.instrument, float("nan"))
            )
    for row in robust.itertuples():
        own = truth["own_units"].get(row.instrument)
        if row.fitted and own is not None and math.isfinite(own):
            rec["instrument_robust_covered"][row.instrument] = bool(
                row.ci_lower <= own <= row.ci_upper
            )
    rec["seconds"] = round(time.perf_counter() - start, 3)
    rec["cpu_seconds"] = round(time.process_time() - cpu, 3)
    return rec


def run_study(seeds: int, out: Path, *, jobs: int = 2) -> dict[str, list[dict[str, Any]]]:
    """Run every (world, seed) not yet checkpointed under ``out``; return the records."""
    return run_checkpointed(run_seed, worlds(), seeds, out, jobs=jobs, chunksize=2)


def _coverage(name: str, values: list[Any]) -> dict[str, Any]:
    return coverage(name, values, TARGETS)


def summarise_world(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Coverage, bias, tipping points and rates for one world's records."""
    df = pd.DataFrame(records)
    by_inst: dict[str, list[bool]] = {}
    for r in records:
        for k, c in r["instrument_covered"].items():
            by_inst.setdefault(k, []).append(c)
    by_robust: dict[str, list[bool]] = {}
    for r in records:
        for k, c in r.get("instrument_robust_covered", {}).items():
            by_robust.setdefault(k, []).append(c)
    q = [r["q_p_value"] < 0.05 for r in records if r.get("q_p_value") is not None]
    tips = df["tipping_point"].replace([np.inf, -np.inf], np.nan)
    return {
        "n_seeds": len(df),
        "slope_model": _coverage("slope_model", df["slope_model_covered"].tolist()),
        "slope_small_sample": _coverage(
            "slope_small_sample", df["slope_small_sample_covered"].tolist()
        ),
        "instrument": {k: _coverage("instrument", v) for k, v in sorted(by_inst.items())},
        "instrument_all": _coverage("instrument", [c for v in by_inst.values() for c in v]),
        "instrument_robust": {k: _coverage("instrument", v) for k, v in sorted(by_robust.items())},
        "bias_all_people": round(float((df["slope_estimate"] - df["slope_true"]).mean()), 5),
        "bias_two_plus": round(float((df["two_plus_estimate"] - df["slope_true"]).mean()), 5)
        if df["two_plus_estimate"].notna().any()
        else None,
        "mean_se": round(float(df["slope_se"].mean()), 5),
        "empirical_sd": round(float(df["slope_estimate"].std(ddof=1)), 5) if len(df) > 1 else None,
        "mean_mde": round(float(df["mde"].mean()), 5),
        "mean_tipping_point": round(float(tips.mean()), 5),
        "mean_disengaged_share": round(float(df["disengaged_share"].mean()), 4),
        "rtm_closer": _rate(df["rtm_closer"].tolist())[0],
        "mean_raw_minus_planted": round(float((df["raw_change"] - df["planted_change"]).mean()), 5),
        "mean_rtm_expected": round(float(df["rtm_expected"].mean()), 5),
        "q_rejects": _rate(q)[0],
        "seconds_per_seed": round(float(df["seconds"].mean()), 3),
        "cpu_seconds_per_seed": round(float(df["cpu_seconds"].mean()), 3)
        if "cpu_seconds" in df
        else None,
        "bias_person_mean_truth": round(
            float((df["slope_estimate"] - df["slope_true_person_mean"]).mean()), 5
        )
        if "slope_true_person_mean" in df
        else None,
    }


def done_when(summary: dict[str, Any]) -> dict[str, bool]:
    """The issue's acceptance checks on a summary (those whose worlds were run)."""
    d = summary["worlds"]
    checks: dict[str, bool] = {}
    if "default" in d:
        w = d["default"]
        checks["default: programme slope coverage within its band"] = w["slope_small_sample"][
            "within"
        ]
        # the published own-unit intervals are person-clustered (``instrument_robust``)
        checks["default: each instrument's change coverage within its band"] = all(
            v["within"] for v in w["instrument_robust"].values()
        )
    if "dropout_mar" in d:
        w = d["dropout_mar"]
        checks["dropout_mar: |bias all-people| <= half |bias two-plus|"] = abs(
            w["bias_all_people"]
        ) <= DONE_WHEN["mar_bias_ratio_max"] * abs(w["bias_two_plus"])
    if "dropout_mnar" in d:
        checks["dropout_mnar: a finite tipping point in every seed"] = math.isfinite(
            d["dropout_mnar"]["mean_tipping_point"]
        )
    if "regression_to_mean" in d:
        checks["regression_to_mean: corrected change closer in >= 80% of seeds"] = (
            d["regression_to_mean"]["rtm_closer"] >= DONE_WHEN["rtm_closer_min"]
        )
    if "instrument_noninvariance" in d:
        w = d["instrument_noninvariance"]
        checks["instrument_noninvariance: each own-scale change covers >= 90%"] = all(
            v["coverage"] >= DONE_WHEN["noninvariance_instrument_min"]
            for v in w["instrument_robust"].values()
        )
        checks["instrument_noninvariance: Q p < 0.05 in >= 80% of seeds"] = (
            w["q_rejects"] >= DONE_WHEN["noninvariance_q_min"]
        )
    return checks


def summarise(records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every world's summary and the acceptance checks."""
    summary: dict[str, Any] = {
        "world": (
            f"{len(SERVICE_INSTRUMENTS)} services with an instrument, {PEOPLE_PER_SERVICE} young people "
            "each, the generator's outcome process and the calibration of params.yaml"
        ),
        "targets": {k: list(v) for k, v in TARGETS.items()},
        "worlds": {label: summarise_world(recs) for label, recs in records.items() if recs},
    }
    summary["done_when"] = done_when(summary)
    return summary


def markdown(summary: dict[str, Any], wall: float, jobs: int) -> str:
    """The summary as the Markdown tables of ``bench/README.md``."""

    def pct(v: Any) -> str:
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return "-" if missing else f"{100 * v:.1f}%"

    lines = [
        "# Outcome 6 evidence on known truth",
        "",
        f"World: {summary['world']}. Wall time {wall:.0f} s with {jobs} worker(s).",
        "",
        "| world | seeds | slope (model) | slope (t, services-1) | instruments (all) | "
        "bias all-people | bias 2+ | RTM-corrected closer | Q p<0.05 | mean tipping point | "
        "s/seed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in WORLDS:
        if label not in summary["worlds"]:
            continue
        w = summary["worlds"][label]
        lines.append(
            f"| {label} | {w['n_seeds']} | {pct(w['slope_model']['coverage'])} | "
            f"{pct(w['slope_small_sample']['coverage'])} | "
            f"{pct(w['instrument_all']['coverage'])} | {w['bias_all_people']} | "
            f"{w['bias_two_plus']} | {pct(w['rtm_closer'])} | {pct(w['q_rejects'])} | "
            f"{w['mean_tipping_point']} | {w['seconds_per_seed']} |"
        )
    lines += ["", "Own-unit change coverage by instrument:", ""]
    for label, w in summary["worlds"].items():
        cells = ", ".join(f"{k} {pct(v['coverage'])}" for k, v in w["instrument"].items())
        lines.append(f"- {label}: {cells}")
    lines += [
        "",
        "Own-unit change coverage by instrument, intervals clustered by young person:",
        "",
    ]
    for label, w in summary["worlds"].items():
        cells = ", ".join(f"{k} {pct(v['coverage'])}" for k, v in w["instrument_robust"].items())
        lines.append(f"- {label}: {cells}")
    lines += ["", "CPU seconds per seed: " + ", ".join(
        f"{label} {w['cpu_seconds_per_seed']}" for label, w in summary["worlds"].items())]  # fmt: skip
    lines += ["", "Acceptance:", ""]
    lines += [f"- {'met' if ok else 'NOT met'}: {n}" for n, ok in summary["done_when"].items()]
    return "\n".join(lines) + "\n"
