"""Stress scenarios of the generator (issue 22): the default world is unchanged, each
scenario does what its documentation says at its documented strength, the truth records
it, and the command line refuses an unknown name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.runner.cli import main
from analysis.synthesise.design import (
    area_panel_estimands,
    load_synthetic_params,
    simulate_area_panel,
)
from analysis.synthesise.scenarios import SCENARIOS, parse_scenarios, scenario_set


@pytest.fixture(scope="module")
def section() -> dict:
    return load_synthetic_params()


def _panel(section: dict, names: str | None, seed: int = 5) -> pd.DataFrame:
    adjust = scenario_set(names, section["scenarios"]) if names else None
    rng = np.random.default_rng(seed)
    return simulate_area_panel(rng, 35, 40, calibration=section["calibration"], adjust=adjust)


def _levels(panel: pd.DataFrame, section: dict) -> pd.Series:
    """Each area's level b (the default expected untreated count minus the common trend)."""
    first = panel.loc[panel["quarter_index"] == 1].set_index("area_code")
    return first["expected_untreated"] - 0.6 - 0.5  # season and offset of quarter 1


def test_names_are_checked_and_ordered() -> None:
    assert parse_scenarios("national_decline, chosen_on_need") == (
        "chosen_on_need",
        "national_decline",
    )
    assert parse_scenarios(None) == () and scenario_set("", {}) is None
    with pytest.raises(ValueError, match="unknown scenario.*choose from"):
        parse_scenarios("chosen_on_need,telepathy")
    with pytest.raises(ValueError, match="unknown key"):
        scenario_set("anticipation", {"anticipation": {"quarter": 2}})
    assert set(SCENARIOS) == set(load_synthetic_params()["scenarios"])


def test_without_a_scenario_the_panel_is_the_default_one(section: dict) -> None:
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    a = simulate_area_panel(rng_a, 35, 40, calibration=section["calibration"])
    b = simulate_area_panel(rng_b, 35, 40, calibration=section["calibration"], adjust=None)
    pd.testing.assert_frame_equal(a, b)


def test_chosen_on_need_rise_equals_the_true_effect_at_strength_one(section: dict) -> None:
    base, need = _panel(section, None), _panel(section, "chosen_on_need")
    cal, s = section["calibration"], section["scenarios"]["chosen_on_need"]
    assert s["strength"] == 1.0
    lead = int(s["lead_quarters"])
    extra = need["expected_untreated"] - base["expected_untreated"]
    level = base["area_code"].map(_levels(base, section))
    spoke = need["cohort_quarter"] > 0
    gap = s["level_gap"] * level
    rise = (extra - gap)[spoke]
    e = (need["quarter_index"] - need["cohort_quarter"])[spoke]
    areas = need.loc[spoke, "area_code"]
    # the rise over the lead quarters before arrival equals the area's plateau effect
    at_arrival = rise[e == 0].set_axis(areas[e == 0])
    before = rise[e == -lead].set_axis(areas[e == -lead])
    common = at_arrival.index.intersection(before.index)
    phase = np.where(
        need["cohort_quarter"] < 10, 1.2, np.where(need["cohort_quarter"] < 14, 1.0, 0.8)
    )
    mult = pd.Series(phase[spoke.to_numpy()], index=areas).groupby(level=0).first()
    plateau = level[spoke].set_axis(areas).groupby(level=0).first() * cal["spoke_effect"] * mult
    assert np.allclose((at_arrival - before)[common], plateau[common])
    assert np.allclose(extra[~spoke], 0.0)  # comparison areas untouched
    # the truth is the spokes' effect only: unchanged by the rise
    assert area_panel_estimands(need)["simple"] == pytest.approx(
        area_panel_estimands(base)["simple"]
    )


def test_anticipation_moves_the_effect_earlier(section: dict) -> None:
    k = int(section["scenarios"]["anticipation"]["quarters"])
    panel = _panel(section, "anticipation")
    e = panel["quarter_index"] - panel["cohort_quarter"]
    spoke = panel["cohort_quarter"] > 0
    assert (panel.loc[spoke & (e == -k), "true_effect"] > 0).all()
    assert (panel.loc[spoke & (e < -k), "true_effect"] == 0).all()
    truth = area_panel_estimands(panel)
    assert min(truth["dynamic"]) == -k and truth["dynamic"][-k] > 0


def test_dynamic_effects_and_national_decline(section: dict) -> None:
    base = _panel(section, None)
    grow = _panel(section, "dynamic_effects")
    e = (base["quarter_index"] - base["cohort_quarter"]).where(base["cohort_quarter"] > 0)
    c = section["scenarios"]["dynamic_effects"]["change_per_quarter"]
    late = e >= 4
    assert np.allclose(grow["true_effect"][late], base["true_effect"][late] * (1 + c * e[late]))
    fall = _panel(section, "national_decline")
    d = section["scenarios"]["national_decline"]["decline_per_year"]
    last = fall["quarter_index"] == 20
    ratio = fall.loc[last, "expected_untreated"] / base.loc[last, "expected_untreated"]
    assert np.allclose(ratio, (1 - d) ** (19 / 4))


def test_command_line_writes_the_scenarios_truth(tmp_path, capsys) -> None:
    assert main(["synthesise", str(tmp_path / "bad"), "--scale", "0.2", "--scenario", "no"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    out = tmp_path / "raw"
    code = main(
        ["synthesise", str(out), "--scale", "0.2", "--jobs", "1",
         "--scenario", "chosen_on_need,anticipation"]
    )  # fmt: skip
    assert code == 0
    truth = json.loads((out / "_truth" / "truth.json").read_text("utf-8"))
    assert set(truth["scenarios"]) == {"chosen_on_need", "anticipation"}
    assert truth["scenarios"]["chosen_on_need"]["strength"] == 1.0
    assert "scenarios chosen_on_need, anticipation" in capsys.readouterr().out


def _posts(section: dict, names: str | None, seed: int = 7) -> pd.DataFrame:
    from analysis.synthesise.workforce import build_posts
    from analysis.synthesise.world import build_funding, build_services, build_spokes, stream

    cal = section["calibration"]
    services = build_services(seed, 1.0, cal)
    spokes = build_spokes(seed, services, cal)
    _, sustained = build_funding(seed, services, spokes, cal)
    posts = build_posts(stream(seed, "posts"), services, spokes, sustained, cal)
    adjust = scenario_set(names, section["scenarios"]) if names else None
    if adjust is not None:
        posts = adjust.posts(posts, stream(seed, "slow-recruitment"), cal)
    return posts


def test_slow_recruitment_delays_posts_by_whole_failed_rounds(section: dict) -> None:
    """Every post starts later by its further rounds (each recruitment_round_months), about
    extra_rounds more a post on average; a post still starts before it ends; the other
    scenarios leave the roster alone."""
    base, slow = _posts(section, None), _posts(section, "slow_recruitment")
    extra = slow["recruitment_rounds"] - base["recruitment_rounds"]
    months = section["calibration"]["recruitment_round_months"]
    delay = [
        (s.year - b.year) * 12 + s.month - b.month
        for s, b in zip(slow["start_date"], base["start_date"], strict=True)
    ]
    assert (extra >= 0).all() and list(extra * months) == delay
    assert extra.mean() == pytest.approx(
        section["scenarios"]["slow_recruitment"]["extra_rounds"], abs=0.6
    )
    ended = slow["end_date"].notna()
    assert all(
        (s.year, s.month) <= (e.year, e.month)
        for s, e in zip(slow.loc[ended, "start_date"], slow.loc[ended, "end_date"], strict=True)
    )
    pd.testing.assert_frame_equal(_posts(section, "anticipation"), base)


def test_slow_recruitment_truth_counts_filled_months_only(section: dict) -> None:
    """The expected reach follows the posts as filled: fewer post-months, the same
    plateau rate per filled post-month."""
    from datetime import date

    from analysis.synthesise.truth import expected_spoke_months
    from analysis.synthesise.world import build_services

    services = build_services(7, 1.0, section["calibration"])
    last = date(2017, 8, 31)
    base = expected_spoke_months(_posts(section, None), services, section["calibration"], last)
    slow = expected_spoke_months(
        _posts(section, "slow_recruitment"), services, section["calibration"], last
    )
    assert slow["post_months"].sum() < base["post_months"].sum()
    assert (base.groupby("spoke_id")["months_since_start"].min() == 0).all()
