"""Outcome 6's evidence (issue 23): the delta-adjusted tipping point on constructed data
with a known departure from MAR, the attrition table, the programme path averaged over
services, regression to the mean, own-unit changes and their meta-analysis."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.analyse import models
from analysis.analyse import outcome_evidence as ev

BETA = 0.016
DELTA0 = 0.02


def _constructed(seed: int = 1, n: int = 600, share_gone: float = 0.3):
    """People assessed at 0, 3, 6, 9, 12 months; a random ``share_gone`` disengage after
    month 3 and, unseen, follow ``BETA - DELTA0`` a month from then (the known departure)."""
    rng = np.random.default_rng(seed)
    months = np.array([0.0, 3.0, 6.0, 9.0, 12.0])
    a = rng.normal(0.5, 0.15, n)
    b = BETA + rng.normal(0, 0.005, n)
    gone = rng.random(n) < share_gone
    rows, full = [], []
    for i in range(n):
        for m in months:
            unseen = gone[i] and m > 3
            slope_part = b[i] * m - (DELTA0 * (m - 3) if unseen else 0.0)
            y = a[i] + slope_part + rng.normal(0, 0.03)
            full.append((i, m, y))
            if not unseen:
                rows.append((f"P{i:04d}", f"S{i % 8:02d}", m, y, "seraf"))
    data = pd.DataFrame(
        rows, columns=["person_key", "service_id", "months_since_referral", "score", "instrument"]
    )
    people = pd.DataFrame(
        {
            "person_key": [f"P{i:04d}" for i in range(n)],
            "closure_reason": np.where(gone, "disengaged", "planned_end"),
        }
    )
    f = pd.DataFrame(full, columns=["i", "m", "y"])
    true_change = float(
        (f.loc[f["m"] == 12, "y"].to_numpy() - f.loc[f["m"] == 0, "y"].to_numpy()).mean()
    )
    return data, people, true_change, float(gone.mean())


def test_tipping_point_on_a_known_departure() -> None:
    data, people, true_change, gone = _constructed()
    per = ev.person_follow_up(data, people)
    assert per["closure_reason"].eq("disengaged").mean() == pytest.approx(gone)
    fit = models.trajectory_model(
        data, outcome="score", time="months_since_referral", person="person_key",
        service="service_id", min_assessments=1,
    )  # fmt: skip
    s = ev.slope_summary(fit, 8)
    # the missed months: 9 of the 12-month horizon for each disengaged young person
    assert ev.missed_months(per).mean() == pytest.approx(9 * gone)
    table = ev.delta_adjusted(s["estimate"], s["std_error"], 7, per, deltas=(0.0, DELTA0))
    adjusted = float(table.loc[table["delta"] == DELTA0, "change"].iloc[0])
    # at the true departure the adjusted change recovers the full data's change
    assert adjusted == pytest.approx(true_change, abs=3 * s["std_error"] * 12 + 0.005)
    # and the MAR change (delta 0) misses it by about delta0 x missed months
    mar = float(table.loc[table["delta"] == 0.0, "change"].iloc[0])
    assert mar - true_change == pytest.approx(DELTA0 * 9 * gone, abs=0.01)
    tip = ev.tipping_point(s["estimate"], s["std_error"], 7, per)
    assert tip["estimate"] == pytest.approx(s["estimate"] * 12 / (9 * gone))
    assert tip["estimate"] == pytest.approx(BETA * 12 / (9 * gone), rel=0.1)
    at_tip = ev.delta_adjusted(s["estimate"], s["std_error"], 7, per, deltas=(tip["estimate"],))
    assert at_tip["change"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    at_sig = ev.delta_adjusted(s["estimate"], s["std_error"], 7, per, deltas=(tip["significance"],))
    assert at_sig["ci_lower"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < tip["significance"] < tip["estimate"]


def test_no_disengagement_means_no_tipping_point() -> None:
    data, people, _, _ = _constructed(share_gone=0.0)
    per = ev.person_follow_up(data, people)
    tip = ev.tipping_point(0.01, 0.001, 7, per)
    assert math.isinf(tip["estimate"])


def test_attrition_table_counts_follow_up_by_group() -> None:
    data, people, _, _ = _constructed(n=80)
    data = data.loc[~((data["person_key"] < "P0010") & (data["months_since_referral"] > 0))]
    per = ev.person_follow_up(data, people)
    t = ev.attrition_table(per)
    total = t.loc[t["dimension"] == "all"].iloc[0]
    assert total["people"] == 80 and total["with_follow_up"] == 70
    by_reason = t.loc[t["dimension"] == "closure_reason"]
    assert by_reason["people"].sum() == 80
    assert set(by_reason["group"]) <= {"disengaged", "planned_end"}
    assert (t["share"].between(0, 1)).all()


def test_programme_path_averages_services_and_has_width_at_referral() -> None:
    data, people, _, _ = _constructed(share_gone=0.0)
    shift = data["service_id"].str[1:].astype(int) * 0.01
    data = data.assign(score=data["score"] + shift)
    fit = models.trajectory_model(
        data, outcome="score", time="months_since_referral", person="person_key",
        service="service_id", min_assessments=1,
    )  # fmt: skip
    path = ev.programme_path(fit, n_services=8)
    at0 = path.iloc[0]
    # the average over the 8 services, not the reference service's level
    means0 = data.loc[data["months_since_referral"] == 0].groupby("service_id")["score"].mean()
    assert at0["estimate"] == pytest.approx(means0.mean(), abs=0.01)
    assert at0["std_error"] > 0 and at0["ci_lower"] < at0["estimate"] < at0["ci_upper"]


def test_minimum_detectable_effect_and_small_sample_interval() -> None:
    assert ev.minimum_detectable_effect(1.0, 0) == pytest.approx(1.95996 + 0.84162, abs=1e-4)
    assert ev.minimum_detectable_effect(1.0, 15) > ev.minimum_detectable_effect(1.0, 0)
    lo, hi = ev.t_interval(0.0, 1.0, 15)
    assert hi == pytest.approx(2.13145, abs=1e-4) and lo == -hi


def test_regression_to_mean_is_one_minus_reliability_of_the_distance_to_settle() -> None:
    # no true change: referral selected on a low first score (a transient), so the observed
    # change is regression to the mean; reliability 0.5 by construction
    rng = np.random.default_rng(4)
    n = 4000
    true = rng.normal(0.5, 0.1, n)
    x0 = true + rng.normal(0, 0.1, n)
    x1 = true + rng.normal(0, 0.1, n)
    keep = x0 < np.quantile(x0, 0.5)  # referred when the first score was low
    rows = [(f"P{i}", "S01", 0.0, x0[i], "bespoke") for i in np.nonzero(keep)[0]]
    rows += [(f"P{i}", "S01", 3.0, x1[i], "bespoke") for i in np.nonzero(keep)[0]]
    data = pd.DataFrame(
        rows, columns=["person_key", "service_id", "months_since_referral", "score", "instrument"]
    )
    per = ev.person_follow_up(data)
    # stated reliability of the whole population (0.5); the settle level is the follow-up mean
    out = ev.regression_to_mean(data, per, reliability={"bespoke": 0.5})
    assert out["observed_change"] > 0.05
    assert out["reliability_source"] == "stated"
    assert out["observed_minus_expected"] == pytest.approx(
        out["observed_change"] - out["expected_from_regression"]
    )
    # half of the distance to the settle level is the regression (1 - 0.5)
    settle = data.loc[data["months_since_referral"] == 3, "score"].mean()
    first = data.loc[data["months_since_referral"] == 0, "score"].mean()
    assert out["expected_from_regression"] == pytest.approx(0.5 * (settle - first))


def test_instrument_changes_own_units_and_meta_analysis() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for k, (inst, per_month, scale) in enumerate(
        [("seraf", -0.4, 30.0), ("bespoke", 1.5, 100.0), ("star5", 0.06, 4.0)]
    ):
        for i in range(150):
            a = rng.normal(0.5, 0.15)
            b = per_month * (1 + rng.normal(0, 0.3))
            for m in (0.0, 3.0, 6.0, 9.0):
                raw = a * scale + b * m + rng.normal(0, 0.02 * scale)
                score = {"seraf": 1 - raw / 30, "bespoke": raw / 100}.get(inst, (raw - 1) / 4)
                rows.append((f"{inst}{i}", f"S{k}{i % 2}", m, score, inst, raw))
    data = pd.DataFrame(
        rows,
        columns=["person_key", "service_id", "months_since_referral", "score", "instrument",
                 "raw_score"],
    )  # fmt: skip
    fit = ev.fit_all_people(data, min_assessments=1)
    ch = ev.instrument_changes(data, fit, min_people=20).set_index("instrument")
    for inst, per_month in (("seraf", -0.4), ("bespoke", 1.5), ("star5", 0.06)):
        row = ch.loc[inst]
        assert abs(row["estimate"] - per_month) < 4 * row["std_error"]
        assert row["ci_lower"] < row["estimate"] < row["ci_upper"]
    # oriented: SERAF falling is an improvement
    assert ch.loc["seraf", "smd"] > 0
    meta = ev.meta_analysis(ch.reset_index())
    assert meta["instruments"] == 3 and meta["q_df"] == 2
    assert meta["pooled_lower"] < meta["pooled_smd"] < meta["pooled_upper"]
    assert 0 <= meta["q_p_value"] <= 1
    # the programme slope is the instruments' common-score slopes weighted by young people
    slopes = ev.instrument_slopes(fit, data).set_index("instrument")
    inst = slopes.drop(index="programme")
    assert slopes.loc["programme", "estimate"] == pytest.approx(
        (inst["estimate"] * inst["people"]).sum() / inst["people"].sum()
    )
    assert ev.slope_summary(fit, 6, data)["estimate"] == pytest.approx(
        slopes.loc["programme", "estimate"]
    )
    path = ev.programme_path(fit, n_services=6, data=data)
    step = path["estimate"].diff().iloc[1]
    assert step == pytest.approx(3 * slopes.loc["programme", "estimate"])


def test_model_truth_is_the_slope_of_linear_expected_scores() -> None:
    """Where expected scores are straight lines in months, the validation's truth (GLS with
    the fit's covariance) is their slope whatever the weights: per instrument, and the
    programme's average weighted by young people."""
    from types import SimpleNamespace

    from analysis.analyse.validation_outcomes import model_truth

    rng = np.random.default_rng(3)
    rows = []
    for k, (inst, slope, unit) in enumerate([("a", 0.01, 10.0), ("b", 0.02, -3.0)]):
        for s in range(2):
            for p in range(30 + 10 * k):
                m = np.sort(rng.uniform(0, 24, rng.integers(1, 6)))
                score = 0.3 + 0.1 * s + slope * m
                rows.append(pd.DataFrame({"person_key": f"{inst}{s}/{p}", "service_id": f"{inst}{s}",
                                          "instrument": inst, "months_since_referral": m,
                                          "expected_score": score, "expected_own": unit * score}))  # fmt: skip
    expected = pd.concat(rows, ignore_index=True)
    fit = SimpleNamespace(cov_re=np.array([[0.02, -0.001], [-0.001, 0.004]]), scale=0.003)
    result = SimpleNamespace(results=fit, time_scale=7.0)
    truth = model_truth(expected, result, expected)
    assert truth["own_units"]["a"] == pytest.approx(0.1, rel=1e-9)
    assert truth["own_units"]["b"] == pytest.approx(-0.06, rel=1e-9)
    assert truth["slope"] == pytest.approx((60 * 0.01 + 80 * 0.02) / 140, rel=1e-9)
