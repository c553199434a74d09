"""Tests for the rollout's evidence (analysis.analyse.rollout, issue 22): pooling and its
estimand, the pre-arrival trend test, the flags, the sensitivity table, the record's
numbers, and the rule that words the report from them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.analyse.models import aggregate_att, staggered_att
from analysis.analyse.rollout import (
    PRE_TREND_QUARTERS,
    SENSITIVITY_ANALYSES,
    assumption_flags,
    pre_trend_test,
    rollout_evidence,
)
from analysis.analyse.year import fit_rollout
from analysis.report.sections.rollout import SENSITIVITY_LABELS, reading

COLS = {"unit": "area_code", "time": "quarter_index", "cohort": "cohort_quarter"}


def _panel(seed: int = 1, *, pre_trend: float = 0.0, effect: float = 3.0) -> pd.DataFrame:
    """20 quarters; cohorts 6 (6 areas), 7 (2), 10 (8), 14 (9), 15 (2), 40 never reached.
    ``pre_trend``: extra concerns per quarter in spoke areas from 8 quarters before their
    arrival on (for ever after)."""
    rng = np.random.default_rng(seed)
    cohorts = np.r_[[6] * 6, [7] * 2, [10] * 8, [14] * 9, [15] * 2, [0] * 40]
    n, t = len(cohorts), np.arange(1, 21)
    level = rng.uniform(10, 30, n)
    event = t[None, :] - cohorts[:, None]
    treated = (cohorts[:, None] > 0) & (event >= 0)
    lead = np.where(cohorts[:, None] > 0, np.clip(event + 8, 0, None), 0)
    mean = level[:, None] + 0.3 * t[None, :] + effect * treated + pre_trend * lead
    y = rng.poisson(np.clip(mean, 0.1, None))
    return pd.DataFrame(
        {
            "area_code": np.repeat([f"LA{i:03d}" for i in range(n)], len(t)),
            "quarter_index": np.tile(t, n),
            "cohort_quarter": np.repeat(cohorts, len(t)),
            "cse_concerns": y.ravel(),
            "child_population": np.repeat(rng.integers(20_000, 90_000, n), len(t)),
        }
    )


@pytest.fixture(scope="module")
def evidence():
    return rollout_evidence(_panel())


def test_small_cohorts_are_pooled_into_their_phase(evidence) -> None:
    checks = evidence.checks
    assert checks["estimand"] == "pooled"
    assert checks["pooled_cohorts"] == [
        {"cohort": 7, "into": 6, "areas": 2},
        {"cohort": 15, "into": 14, "areas": 2},
    ]
    assert checks["cohort_sizes"] == {"6": 8, "10": 8, "14": 11}
    assert any("pooled within their phase" in w for w in evidence.warnings)


def test_event_study_covers_the_whole_window_with_a_band(evidence) -> None:
    dyn = evidence.dynamic
    assert dyn["egt"].tolist() == list(range(-13, 15))
    ref = dyn.loc[dyn["reference"]]
    assert ref["egt"].tolist() == [-1] and ref["att"].tolist() == [0.0]
    rest = dyn.loc[~dyn["reference"]]
    assert (rest["band_lower"] <= rest["ci_lower"] + 1e-9).all()
    assert (rest["band_upper"] >= rest["ci_upper"] - 1e-9).all()
    assert evidence.checks["band"]["critical_value"] >= 1.96


def test_pre_trend_test_recovers_an_exact_linear_trend() -> None:
    """With (almost) no noise the test's estimate is the accumulated pre-arrival rise."""
    panel = _panel()
    g, t = panel["cohort_quarter"], panel["quarter_index"]
    lead = (t - g) * (g > 0)  # spoke areas rise by 0.5 a quarter more, throughout
    noise = np.random.default_rng(0).normal(0, 1e-3, len(panel))
    exact = panel.assign(cse_concerns=0.3 * t + 0.5 * lead + noise)
    att = staggered_att(exact, outcome="cse_concerns", base_period="universal", **COLS)
    test = pre_trend_test(aggregate_att(att, "dynamic"))
    assert test["quarters_used"] == PRE_TREND_QUARTERS
    assert test["estimate"] == pytest.approx(0.5 * PRE_TREND_QUARTERS, abs=0.01)
    assert test["p_value"] < 1e-6


def test_a_strong_pre_trend_is_flagged_and_parallel_trends_are_not() -> None:
    flat = rollout_evidence(_panel(seed=2)).checks["flags"]
    rising = rollout_evidence(_panel(seed=2, pre_trend=1.5)).checks["flags"]
    assert not flat["pre_test"]
    assert rising["pre_trend"] and rising["pre_test"]


def test_assumption_flags_rule() -> None:
    dyn = pd.DataFrame(
        {
            "egt": [-3, -2, -1, 0],
            "att": [2.0, 0.5, 0.0, 3.0],
            "band_lower": [0.5, -1.0, np.nan, 1.0],
            "band_upper": [3.5, 2.0, np.nan, 5.0],
            "reference": [False, False, True, False],
        }
    )
    flags = assumption_flags({"p_value": 0.2}, dyn, {"lower": 1.0, "excludes_zero": True})
    assert flags == {
        "pre_trend": False,
        "band_before_arrival": True,
        "band_quarters_outside": [-3],
        "pre_test": True,
        "bounds_include_zero": False,
    }
    assert "bounds_include_zero" not in assumption_flags({}, dyn.iloc[1:], {"note": "x"})


def test_sensitivity_table_has_every_analysis(evidence) -> None:
    sens = evidence.sensitivity
    assert sens["analysis"].tolist() == list(SENSITIVITY_ANALYSES)
    assert set(SENSITIVITY_ANALYSES) <= set(SENSITIVITY_LABELS)
    assert sens["estimable"].all()
    main = sens.set_index("analysis").loc["main"]
    assert main["estimate"] == pytest.approx(evidence.simple.overall_att)
    bounds = sens.set_index("analysis").loc["relative_magnitudes"]
    assert bounds["ci_lower"] <= bounds["id_lower"] <= main["estimate"] <= bounds["id_upper"]
    rate = sens.set_index("analysis").loc["rate_per_10k"]
    assert 0 < rate["estimate"] < main["estimate"]  # areas of 20,000-90,000 children


def test_a_failing_reestimation_is_kept_as_a_row() -> None:
    panel = _panel()
    panel = panel.loc[~panel["cohort_quarter"].isin([6, 7])]  # no one left before quarter 3
    panel = panel.assign(child_population=0)  # rates and log(population) break down
    sens = rollout_evidence(panel).sensitivity.set_index("analysis")
    assert len(sens) == len(SENSITIVITY_ANALYSES)
    assert sens.loc["main", "estimable"]


def test_record_is_json_ready_with_the_checks() -> None:
    model = fit_rollout(_panel())
    record = model.record()
    text = json.dumps(record, allow_nan=False)
    checks = json.loads(text)["checks"]
    for key in ("pre_trend", "band", "bounds", "mde", "relative_effect", "flags"):
        assert key in checks
    assert checks["mde"]["value"] == pytest.approx(
        2.8016 * model.estimates.iloc[0]["std_error"], rel=1e-3
    )
    assert set(model.extra) == {"att_gt", "att_dynamic", "sensitivity"}


@pytest.mark.parametrize(
    ("evidence_label", "flags", "expected"),
    [
        ("causal", {"pre_test": False, "bounds_include_zero": False}, "supported"),
        ("causal", {"pre_test": False, "bounds_include_zero": True}, "fragile"),
        ("causal", {"pre_test": False}, "fragile"),
        ("causal", {"pre_test": True, "bounds_include_zero": False}, "doubt"),
        ("associational", {"pre_test": False, "bounds_include_zero": False}, "associational"),
    ],
)
def test_reading_follows_the_label_and_the_flags(evidence_label, flags, expected) -> None:
    rec = {"evidence": evidence_label, "checks": {"flags": flags}}
    assert reading(rec) == expected


def test_the_report_wording_changes_on_a_flagged_chosen_on_need_seed() -> None:
    """Done-when: on a seed where chosen_on_need is flagged by the pre-arrival trend test,
    the rollout section no longer reads the difference as the spokes' effect; on the same
    seed of the default world it does, with the bounds' qualification."""
    from types import SimpleNamespace

    from analysis.analyse.validation_rollout import World, simulate
    from analysis.analyse.year import model_evidence
    from analysis.core.framework import load_framework
    from analysis.publish.registry import Registry
    from analysis.report.sections.rollout import _assumptions

    label = model_evidence(load_framework(), "rollout")
    texts = {}
    for world in (World("default"), World("chosen_on_need", "chosen_on_need")):
        model = fit_rollout(simulate(world, 6))
        rec = json.loads(json.dumps({**model.record(), **label}))
        ctx = SimpleNamespace(stats=Registry("2016-17"))
        texts[world.label] = (reading(rec), _assumptions(ctx, rec, reading(rec)), rec)
    how, text, rec = texts["chosen_on_need"]
    assert rec["checks"]["flags"]["pre_trend"] and how == "doubt"
    assert "should not be read as caused by the spokes" in text
    how, text, rec = texts["default"]
    assert not rec["checks"]["flags"]["pre_test"] and how == "fragile"
    assert "should not be read as caused" not in text and "evidence: causal" in text


def test_a_flag_raised_in_every_world_does_not_count_as_detecting_chosen_on_need():
    from analysis.analyse.validation_rollout import done_when

    def world(pre_test: float, bounds: float, either: float | None = None) -> dict:
        flags = {
            "pre_test": pre_test,
            "bounds_include_zero": bounds,
            "pre_test_or_bounds": max(pre_test, bounds) if either is None else either,
        }
        return {"overall": {"coverage": 0.95}, "band": {"coverage": 0.95}, "flags": flags}

    def check(default: dict, chosen: dict) -> bool:
        result = done_when({"worlds": {"default": default, "chosen_on_need": chosen}})
        (key,) = (k for k in result if k.startswith("chosen_on_need: pre-test or bounds"))
        return result[key]

    # bounds that include zero everywhere detect nothing: only the pre-test counts
    assert check(world(0.05, 1.0), world(0.6, 1.0)) is False
    assert check(world(0.05, 1.0), world(0.85, 1.0)) is True
    # quiet bounds count with the pre-test; a pre-test raised in every world counts for nothing
    assert check(world(0.04, 0.02, 0.06), world(0.5, 0.7, 0.85)) is True
    assert check(world(0.5, 0.02), world(0.9, 0.7)) is False
