"""Tests for analysis.models against published reference results and known truth.

Reference sources (see tests/data/PROVENANCE.md):
* lme4 ``sleepstudy``: Bates, Maechler, Bolker & Walker (2015), "Fitting Linear Mixed-Effects
  Models Using lme4", J. Stat. Softw. 67(1), section 1 output of
  ``lmer(Reaction ~ Days + (Days | Subject), sleepstudy)`` (REML).
* Dobson (1990) Poisson example from R's ``?glm`` (``glm.D93``).

The R ``did`` references (mpdta) are in ``test_did.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from analysis.analyse.models import (
    interrupted_time_series,
    rate_model,
    trajectory_model,
)
from analysis.analyse.validation import CoverageConfig, run_seed, run_study, summarise
from analysis.core.paths import TESTS_DIR

DATA = TESTS_DIR / "data"


# --------------------------------------------------------------------------------------------
# trajectory_model: lme4 sleepstudy
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATA / "sleepstudy.csv", dtype={"Subject": "str"})


@pytest.fixture(scope="module")
def sleep_fit(sleepstudy: pd.DataFrame):
    return trajectory_model(sleepstudy, outcome="Reaction", time="Days", person="Subject")


def test_sleepstudy_data_is_the_lme4_table(sleepstudy: pd.DataFrame) -> None:
    assert sleepstudy.shape == (180, 3)
    assert sleepstudy["Subject"].nunique() == 18
    assert sorted(sleepstudy["Days"].unique()) == list(range(10))
    assert sleepstudy["Reaction"].sum() == pytest.approx(53731.4205, abs=1e-3)


def test_sleepstudy_fixed_effects_match_lme4(sleep_fit) -> None:
    est = sleep_fit.estimates.set_index("term")
    # lme4 prints: (Intercept) 251.405 (6.825); Days 10.467 (1.546)
    assert round(est.loc["Intercept", "estimate"], 3) == 251.405
    assert round(est.loc["Intercept", "std_error"], 3) == 6.825
    assert round(est.loc["Days", "estimate"], 3) == 10.467
    assert round(est.loc["Days", "std_error"], 3) == 1.546


def test_sleepstudy_variance_components_match_lme4(sleep_fit) -> None:
    vc = sleep_fit.random_effects.set_index("component")["value"]
    # lme4 prints: Subject (Intercept) 612.09, Days 35.07, Corr 0.07 (0.066); Residual 654.94
    assert round(vc["intercept_variance"], 2) == 612.09
    assert round(vc["slope_variance"], 2) == 35.07
    assert round(vc["intercept_slope_correlation"], 3) == 0.066
    assert round(vc["residual_variance"], 2) == 654.94


def test_the_polished_fit_is_at_least_as_good_as_every_optimizer_alone(sleep_fit) -> None:
    """Whatever optimizer stops first, the kept fit's restricted likelihood is the highest
    any optimizer reaches alone (to optimizer tolerance): L-BFGS stopping short of the
    maximum is never published."""
    import warnings

    model = sleep_fit.results.model
    alone = []
    for name in ("lbfgs", "bfgs", "cg", "powell"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(reml=True, method=[name])
        if np.isfinite(fit.llf):
            alone.append(fit.llf)
    assert sleep_fit.results.llf >= max(alone) - 1e-6


def test_sleepstudy_result_bookkeeping(sleep_fit) -> None:
    assert sleep_fit.converged
    assert sleep_fit.optimizer == "lbfgs, polished by bfgs"
    assert (sleep_fit.n_units_used, sleep_fit.n_units_eligible) == (18, 18)
    assert (sleep_fit.n_obs_used, sleep_fit.n_obs_eligible) == (180, 180)
    assert sleep_fit.warnings == []
    row = sleep_fit.term("Days")
    assert row["ci_lower"] < 10.467 < row["ci_upper"]
    assert not hasattr(sleep_fit, "summary_sentence")  # results carry numbers, not prose


def test_trajectory_leaves_out_and_counts_people_with_one_assessment(
    sleepstudy: pd.DataFrame,
) -> None:
    extra = pd.DataFrame(
        {"Reaction": [300.0, 280.0, np.nan], "Days": [0, 0, 1], "Subject": ["x1", "x2", "x2"]}
    )
    data = pd.concat([sleepstudy, extra], ignore_index=True)
    fit = trajectory_model(data, outcome="Reaction", time="Days", person="Subject")
    assert fit.n_units_eligible == 20 and fit.n_units_used == 18
    assert fit.n_obs_eligible == 183 and fit.n_obs_used == 180
    assert any("2 of 20 people were left out" in w for w in fit.warnings)
    assert any("1 of 183 rows were left out" in w for w in fit.warnings)
    assert round(fit.term("Days")["estimate"], 3) == 10.467


def test_trajectory_service_fixed_effects_and_interaction(sleepstudy: pd.DataFrame) -> None:
    data = sleepstudy.assign(
        service=np.where(sleepstudy["Subject"].astype(int) % 2 == 0, "even", "odd"),
        phase=np.where(sleepstudy["Subject"].astype(int) < 340, 1, 2),
    )
    fit = trajectory_model(
        data,
        outcome="Reaction",
        time="Days",
        person="Subject",
        service="service",
        covariates=("phase", "Days:phase"),
    )
    terms = set(fit.estimates["term"])
    assert {"Intercept", "Days", "service[odd]", "phase", "Days:phase"} <= terms
    assert fit.converged
    # Same model fitted directly on the original time scale (trajectory_model rescales time).
    direct = MixedLM.from_formula(
        "Reaction ~ Days + C(service) + phase + Days:phase",
        data=data,
        groups=data["Subject"],
        re_formula="~Days",
    ).fit(reml=True, method=["lbfgs"])
    est = fit.estimates.set_index("term")
    for ours, theirs in [("Days", "Days"), ("Days:phase", "Days:phase"), ("phase", "phase")]:
        assert est.loc[ours, "estimate"] == pytest.approx(direct.fe_params[theirs], rel=1e-3)
        assert est.loc[ours, "std_error"] == pytest.approx(direct.bse_fe[theirs], rel=1e-3)
    vc = fit.random_effects.set_index("component")["value"]
    assert vc["slope_variance"] == pytest.approx(direct.cov_re.iloc[1, 1], rel=1e-2)


def test_trajectory_missing_column_is_named(sleepstudy: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="'Months'"):
        trajectory_model(sleepstudy, outcome="Reaction", time="Months", person="Subject")


# --------------------------------------------------------------------------------------------
# rate_model
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dobson() -> pd.DataFrame:
    """Dobson (1990, p. 93) randomized controlled trial, from R's ?glm."""
    return pd.DataFrame(
        {
            "counts": [18, 17, 15, 20, 10, 20, 25, 13, 12],
            "outcome": pd.Series(["1", "2", "3"] * 3, dtype="str"),
            "treatment": pd.Series(["1"] * 3 + ["2"] * 3 + ["3"] * 3, dtype="str"),
        }
    )


def test_poisson_matches_r_glm_d93(dobson: pd.DataFrame) -> None:
    fit = rate_model(dobson, formula="counts ~ outcome + treatment", family="poisson")
    est = fit.estimates.set_index("term")
    # R summary(glm.D93): 3.045e+00 (1.709e-01); outcome2 -0.4543 (0.2022); outcome3 -0.2930
    assert est.loc["Intercept", "estimate"] == pytest.approx(3.044522, abs=1e-6)
    assert est.loc["Intercept", "std_error"] == pytest.approx(0.1708987, abs=1e-6)
    assert est.loc["outcome[T.2]", "estimate"] == pytest.approx(-0.4542553, abs=1e-6)
    assert est.loc["outcome[T.2]", "std_error"] == pytest.approx(0.2021708, abs=1e-6)
    assert est.loc["outcome[T.3]", "estimate"] == pytest.approx(-0.2929871, abs=1e-6)
    assert est.loc["outcome[T.3]", "std_error"] == pytest.approx(0.1927423, abs=1e-6)
    assert fit.results.deviance == pytest.approx(5.129141, abs=1e-5)
    assert est.loc["outcome[T.2]", "rate_ratio"] == pytest.approx(np.exp(-0.4542553), rel=1e-6)


def test_quasipoisson_scales_standard_errors(dobson: pd.DataFrame) -> None:
    pois = rate_model(dobson, formula="counts ~ outcome + treatment", family="poisson")
    quasi = rate_model(dobson, formula="counts ~ outcome + treatment", family="quasipoisson")
    # R: "Dispersion parameter for quasipoisson family taken to be 1.2933"
    assert quasi.dispersion == pytest.approx(1.2933, abs=5e-5)
    np.testing.assert_allclose(quasi.estimates["estimate"], pois.estimates["estimate"], atol=1e-12)
    np.testing.assert_allclose(  # both rounded to SIGNIFICANT_DIGITS
        quasi.estimates["std_error"],
        pois.estimates["std_error"] * np.sqrt(quasi.dispersion),
        rtol=2e-6,
    )


def _counts_with_exposure(rng: np.random.Generator, n: int, alpha: float) -> pd.DataFrame:
    group = rng.integers(0, 2, n)
    expo = rng.uniform(50, 500, n)
    mu = expo * 0.02 * np.exp(np.log(1.5) * group)
    lam = rng.gamma(1.0 / alpha, alpha * mu) if alpha > 0 else mu
    return pd.DataFrame({"y": rng.poisson(lam), "spoke": group, "population": expo})


def test_negative_binomial_recovers_rate_ratio_and_alpha() -> None:
    data = _counts_with_exposure(np.random.default_rng(20240601), 4000, alpha=0.5)
    fit = rate_model(data, formula="y ~ spoke", exposure="population", family="negative_binomial")
    row = fit.term("spoke")
    assert row["rr_ci_lower"] < 1.5 < row["rr_ci_upper"]
    assert fit.dispersion == pytest.approx(0.5, abs=0.08)
    assert fit.dispersion_label.startswith("NB2")
    # a factor listed before the numeric term leaves the numeric term's estimate in place
    by_area = data.assign(area=np.where(np.arange(len(data)) % 2, "north", "south"))
    two = rate_model(
        by_area, formula="y ~ C(area) + spoke", exposure="population", family="negative_binomial"
    )
    assert two.estimates["term"].iloc[1].startswith("C(area)")
    assert two.term("spoke")["rr_ci_lower"] < 1.5 < two.term("spoke")["rr_ci_upper"]


def test_exposure_is_a_log_offset() -> None:
    data = _counts_with_exposure(np.random.default_rng(7), 300, alpha=0.0)
    one = rate_model(data, formula="y ~ spoke", exposure="population")
    ten = rate_model(
        data.assign(population=data["population"] * 10), formula="y ~ spoke", exposure="population"
    )
    assert one.term("spoke")["estimate"] == pytest.approx(ten.term("spoke")["estimate"])
    assert one.term("Intercept")["estimate"] - ten.term("Intercept")["estimate"] == (
        pytest.approx(np.log(10))
    )
    assert one.term("Intercept")["rate_ratio"] == pytest.approx(0.02, rel=0.15)


def test_rate_model_counts_dropped_rows() -> None:
    data = _counts_with_exposure(np.random.default_rng(3), 100, alpha=0.0).astype(float)
    data.loc[[0, 1], "spoke"] = np.nan
    data.loc[2, "population"] = 0.0
    data.index = [7] * len(data)  # duplicated row labels must not misalign the offset
    fit = rate_model(data, formula="y ~ spoke", exposure="population")
    assert (fit.n_obs_used, fit.n_obs_eligible) == (97, 100)
    assert any("2 of 100 rows were left out for missing values" in w for w in fit.warnings)
    assert any("non-positive exposure" in w for w in fit.warnings)


def test_rate_model_rejects_bad_input(dobson: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="family"):
        rate_model(dobson, formula="counts ~ outcome", family="binomial")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative counts"):
        rate_model(dobson.assign(counts=dobson["counts"] - 15), formula="counts ~ outcome")
    with pytest.raises(ValueError, match="'months_open'"):
        rate_model(dobson, formula="counts ~ outcome", exposure="months_open")


# --------------------------------------------------------------------------------------------
# interrupted_time_series
# --------------------------------------------------------------------------------------------


def _monthly_series(rng: np.random.Generator, level_rr: float) -> pd.DataFrame:
    month = np.arange(72)
    post = (month >= 36).astype(int)
    log_mu = (
        np.log(200)
        + 0.004 * month
        + np.log(level_rr) * post
        + 0.25 * np.sin(2 * np.pi * month / 12)
        + 0.1 * np.cos(2 * np.pi * month / 12)
    )
    lam = rng.gamma(50.0, np.exp(log_mu) / 50.0)  # mild overdispersion
    return pd.DataFrame({"month": month, "referrals": rng.poisson(lam), "spoke_open": post})


def test_its_recovers_level_change_with_seasonality() -> None:
    data = _monthly_series(np.random.default_rng(11), level_rr=0.7)
    fit = interrupted_time_series(
        data, outcome="referrals", time="month", intervention=36, harmonics=1, period=12
    )
    row = fit.term("intervention")
    assert row["rr_ci_lower"] < 0.7 < row["rr_ci_upper"]
    assert row["rate_ratio"] == pytest.approx(0.7, abs=0.05)
    assert {"sin1", "cos1", "trend"} <= set(fit.estimates["term"])
    assert fit.dispersion > 1.0  # quasi-Poisson picked up the extra variation


def test_its_indicator_column_equals_start_time_and_slope_change() -> None:
    data = _monthly_series(np.random.default_rng(5), level_rr=1.0)
    by_time = interrupted_time_series(
        data, outcome="referrals", time="month", intervention=36, slope_change=True
    )
    by_column = interrupted_time_series(
        data, outcome="referrals", time="month", intervention="spoke_open", slope_change=True
    )
    pd.testing.assert_frame_equal(by_time.estimates, by_column.estimates)
    assert "slope_change" in set(by_time.estimates["term"])
    assert by_time.n_obs_used == 72


def test_its_needs_both_sides_of_the_intervention() -> None:
    data = _monthly_series(np.random.default_rng(5), level_rr=1.0)
    with pytest.raises(ValueError, match="before and after"):
        interrupted_time_series(data, outcome="referrals", time="month", intervention=100)


# --------------------------------------------------------------------------------------------
# Interval coverage on simulated data with known truth (the full study: analysis.validation)
# --------------------------------------------------------------------------------------------

SMALL = CoverageConfig(n_people=100)  # the programme generator, 35 spoke areas


@pytest.fixture(scope="module")
def coverage_records() -> list[dict]:
    return [run_seed(seed, SMALL) for seed in range(1, 21)]


def test_trajectory_slope_interval_coverage(coverage_records: list[dict]) -> None:
    covered = sum(r["slope_covered"] for r in coverage_records)
    assert covered >= 17, f"only {covered}/20 slope intervals contain the truth"
    assert all(r["slope_converged"] for r in coverage_records)


def test_rollout_effect_interval_coverage(coverage_records: list[dict]) -> None:
    covered = sum(r["att_covered"] for r in coverage_records)
    assert covered >= 17, f"only {covered}/20 rollout-effect intervals contain the truth"


def test_coverage_study_checkpoints_and_resumes(tmp_path) -> None:
    config = CoverageConfig(n_people=40, n_spoke_areas=20, n_comparison_areas=30)
    first = run_study([1, 2], config, tmp_path, jobs=1)
    saved = (tmp_path / "seeds" / "seed_0001.json").read_text()
    again = run_study([1, 2, 3], config, tmp_path, jobs=1)  # seeds 1-2 are read back, not rerun
    assert again[:2] == first
    assert (tmp_path / "seeds" / "seed_0001.json").read_text() == saved
    summary = summarise(again)
    assert summary["n_seeds"] == 3
    assert set(summary) >= {"slope", "att"}


def test_min_assessments_per_person_is_wired_to_the_trajectory_model(
    sleepstudy: pd.DataFrame,
) -> None:
    """``model.min_assessments_per_person`` (params.yaml) reaches the model: people with
    fewer assessments are left out and counted."""
    trimmed = sleepstudy["Subject"].isin(sleepstudy["Subject"].unique()[:4])
    short = sleepstudy.loc[~trimmed | (sleepstudy["Days"] < 2)]  # 4 people with 2 each
    kwargs = {"outcome": "Reaction", "time": "Days", "person": "Subject"}
    two = trajectory_model(short, min_assessments=2, **kwargs)
    three = trajectory_model(short, min_assessments=3, **kwargs)
    assert two.n_units_used == 18 and three.n_units_used == 14
    assert any("fewer than 3 usable assessments" in w for w in three.warnings)
    # everyone with an assessment (issue 23): the single-day people are in the likelihood
    one = trajectory_model(
        sleepstudy.loc[~trimmed | (sleepstudy["Days"] < 1)], min_assessments=1, **kwargs
    )
    assert one.n_units_used == 18 and one.n_obs_used == 14 * 10 + 4
    with pytest.raises(ValueError, match="at least 1"):
        trajectory_model(short, min_assessments=0, **kwargs)


def test_settings_are_read_once_and_typed() -> None:
    from analysis.core.settings import load_settings

    settings = load_settings()
    assert load_settings() is settings
    assert settings.model.min_assessments_per_person == 2
    assert settings.report.cutoff_days_after_year_end == 61
    from analysis.analyse.year import year_arguments

    assert year_arguments(settings) == {"cutoff_days": 61, "min_people": 20, "min_assessments": 2}
