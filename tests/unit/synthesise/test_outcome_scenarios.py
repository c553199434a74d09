"""Outcome scenarios of the generator (issue 23): without them the young people and their
assessments are the default ones; each does what its documentation says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synthesise.design import load_synthetic_params
from analysis.synthesise.outcome_scenarios import (
    disengage,
    expected_own_units,
    own_unit_truth,
    transient_at_referral,
)
from analysis.synthesise.scenarios import OUTCOME_SCENARIOS, scenario_set


@pytest.fixture(scope="module")
def section() -> dict:
    return load_synthetic_params()


def _people(n: int = 300, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "person": np.arange(n, dtype="int64"),
            "referral_day": rng.integers(0, 300, n),
            "closure_day": pd.array(rng.integers(400, 900, n), dtype="Int64"),
            "closure_reason": pd.array(["planned_end"] * n, dtype="str"),
            "no_followup": np.zeros(n, dtype=bool),
            "intercept": rng.normal(0.6, 0.185, n),
            "slope": rng.normal(0.016, 0.01, n),
        }
    )


def _assess(section: dict, names: str | None, instrument: str = "bespoke"):
    from analysis.synthesise.world import simulate_assessments, stream

    adjust = scenario_set(names, section["scenarios"]) if names else None
    people = _people()
    svc = pd.Series({"service_id": "S01", "instrument": instrument})
    a = simulate_assessments(11, svc, people, section["calibration"], adjust)
    if adjust is not None:
        people, a = adjust.dropout(people, a, stream(11, "dropout", "S01"), section["calibration"])
    return people, a


def test_strengths_are_in_params(section: dict) -> None:
    assert set(OUTCOME_SCENARIOS) <= set(section["scenarios"])


def test_without_an_outcome_scenario_the_assessments_are_the_default_ones(section: dict) -> None:
    _, base = _assess(section, None)
    _, other = _assess(section, "chosen_on_need")
    pd.testing.assert_frame_equal(base, other)


def test_regression_to_mean_lowers_referral_scores_only(section: dict) -> None:
    _, base = _assess(section, None)
    _, rtm = _assess(section, "regression_to_mean")
    diff = rtm["latent"] - base["latent"]
    assert (diff <= 0).all()
    early = base["months_since_referral"] < 1
    late = base["months_since_referral"] > 12
    assert diff[early].mean() < -0.05 and diff[late].abs().max() < 0.01
    rng = np.random.default_rng(0)
    t = transient_at_referral(rng, 20000, np.arange(20000), np.zeros(20000), transient_sd=0.1,
                              decay_months=2)  # fmt: skip
    assert t.mean() == pytest.approx(-0.1 * np.sqrt(2 / np.pi), abs=0.003)


@pytest.mark.parametrize("name", ["dropout_mar", "dropout_mnar"])
def test_dropout_closes_cases_as_disengaged(section: dict, name: str) -> None:
    people0, base = _assess(section, None)
    people, a = _assess(section, name)
    assert len(a) < len(base)
    gone = people["closure_reason"] == "disengaged"
    assert gone.sum() > 10
    last = a.groupby("person")["assessment_day"].max()
    closure = people.set_index("person")["closure_day"]
    who = people.loc[gone, "person"]
    assert (closure[who] > last[who]).all()
    assert (closure[who] <= people0.set_index("person")["closure_day"][who]).all()
    # the kept rows are the default ones, up to each person's drop-out
    merged = a.merge(base, on=["person", "assessment_day"], suffixes=("", "_b"))
    assert len(merged) == len(a) and np.allclose(merged["score"], merged["score_b"])


def test_mar_dropout_depends_on_the_observed_score() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    frame = pd.DataFrame(
        {
            "person": np.repeat(np.arange(n), 2),
            "assessment_day": np.tile([0, 90], n),
            "score": np.repeat(rng.uniform(0, 1, n), 2),
            "latent": rng.uniform(0, 1, 2 * n),
        }
    )
    keep, closed = disengage(frame, rng, base_rate=0.2, strength=1.5, centre=0.5, sd=0.2,
                             mnar=False)  # fmt: skip
    first = frame.iloc[::2].set_index("person")["score"]
    gone = first.index.isin(closed["person"])
    assert first[gone].mean() < first[~gone].mean() - 0.1
    assert ((closed["closure_day"] > 0) & (closed["closure_day"] < 90)).all()
    assert keep.sum() == 2 * n - len(closed)


def test_own_unit_truth_is_linear_for_a_linear_instrument() -> None:
    rows = pd.DataFrame(
        {
            "person": np.repeat(np.arange(50), 3),
            "months_since_referral": np.tile([0.0, 3.0, 6.0], 50),
            "intercept": 0.5,
            "slope": 0.01,
        }
    )
    t = own_unit_truth(rows, "bespoke", residual_sd=0.05)
    assert t["change_per_month"] == pytest.approx(1.0, abs=0.02) and t["people"] == 50
    seraf = own_unit_truth(rows, "seraf", residual_sd=0.05)
    assert seraf["change_per_month"] == pytest.approx(-0.3, abs=0.01)
    shape = {"responsiveness": 0.5, "curvature": 0.4}
    # under non-invariance SERAF (axis +1) responds more strongly than the latent change
    bent = own_unit_truth(rows, "seraf", residual_sd=0.05, noninvariance=shape)
    assert abs(bent["change_per_month"]) > 1.2 * abs(seraf["change_per_month"])
    assert expected_own_units(np.array([0.5]), np.array([0.0]), "risk3", residual_sd=0.0)[0] == 2


RANGE = {"seraf": 30.0, "star5": 4.0, "risk3": 2.0, "bespoke": 100.0}


@pytest.mark.parametrize("instrument", ["seraf", "star5", "risk3", "bespoke"])
@pytest.mark.parametrize("noninvariance", [None, {"responsiveness": 0.5, "curvature": 0.4}])
def test_population_expected_score_averages_the_young_people(
    instrument: str, noninvariance: dict | None
) -> None:
    """The population's expected score at a month (the service's mean level and slope,
    person effects and noise integrated out through ``population_sd``) is the average of
    many drawn young people's expected scores."""
    from analysis.synthesise.design import person_effects
    from analysis.synthesise.outcome_scenarios import population_sd

    rng = np.random.default_rng(5)
    pars = dict(baseline_sd=0.185, slope_sd=0.01, corr=-0.3)
    a, b = person_effects(rng, 200_000, baseline_mean=0.6, **{
        "baseline_sd": pars["baseline_sd"], "slope_sd": pars["slope_sd"], "corr": pars["corr"]})  # fmt: skip
    for month in (0.0, 6.0, 18.0):
        people = expected_own_units(a, (0.016 + b) * month, instrument, residual_sd=0.05,
                                    noninvariance=noninvariance)  # fmt: skip
        sd = population_sd(np.array([month]), residual_sd=0.05, instrument=instrument,
                           noninvariance=noninvariance, **pars)  # fmt: skip
        population = expected_own_units(np.array([0.6]), np.array([0.016 * month]), instrument,
                                        residual_sd=sd, noninvariance=noninvariance)  # fmt: skip
        spread = float(np.std(people)) / np.sqrt(len(people))
        # up to the 64-point quadrature's error on a step function: under 0.5% of the
        # instrument's range here (its effect on a slope truth is under 0.06 SE)
        assert population[0] == pytest.approx(
            float(np.mean(people)), abs=5 * spread + 0.005 * RANGE[instrument]
        )
