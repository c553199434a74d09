"""The fast exact REML fitter (analysis.analyse.models.mixed_reml) against lme4's published
sleepstudy fit and statsmodels ``MixedLM`` (the reference): on the project's outcome data,
on hypothesis-generated small datasets and on singular fits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

from analysis.analyse.models import ModelNotFitted, trajectory_model
from analysis.analyse.models.mixed_reml import _criterion, fit_reml, gls_coefficients, group_stats
from analysis.core.paths import TESTS_DIR


def _fit_both(model: MixedLM):
    """Our fit and statsmodels' (L-BFGS, then BFGS to a tight gradient from its end)."""
    ours = fit_reml(
        model.endog, model.exog, model.exog_re, model.groups,
        exog_names=model.exog_names, exog_re_names=model.data.exog_re_names,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = model.fit(reml=True, method=["lbfgs"])
        try:
            polished = model.fit(reml=True, method=["bfgs"], start_params=first.params_object,
                                 gtol=1e-12, maxiter=2000)  # fmt: skip
        except (np.linalg.LinAlgError, ValueError):  # statsmodels' line search can fail
            polished = first
    ref = polished if polished.llf >= first.llf else first
    return ours, ref


def _not_worse(ours, ref, model: MixedLM) -> None:
    """Our REML criterion at our optimum is no higher than at statsmodels' (statsmodels'
    own ``llf`` is evaluated through a pseudo-inverse on the boundary, so the criteria are
    compared on one definition, lme4's, which equals ``-2 llf`` inside)."""
    stats_ = group_stats(model.endog, model.exog, model.exog_re, model.groups)
    psi = np.asarray(ref.cov_re) / ref.scale
    theta_ref = np.linalg.cholesky(psi + 1e-14 * np.eye(2))[np.tril_indices(2)]
    ref_criterion = _criterion(theta_ref, stats_)
    assert _criterion(ours.theta, stats_) <= ref_criterion + 1e-9 * max(1.0, abs(ref_criterion))


def _agree(ours, ref, *, fe: float = 1e-5, re: float = 1e-4) -> None:
    se = np.asarray(ref.bse_fe)
    assert ours.llf >= ref.llf - 1e-8 * max(1.0, abs(ref.llf))
    np.testing.assert_allclose(ours.fe_params.to_numpy(), ref.fe_params.to_numpy(),
                               rtol=fe, atol=fe * se.max())  # fmt: skip
    np.testing.assert_allclose(ours.bse_fe.to_numpy(), se, rtol=fe)
    cov_re = np.asarray(ref.cov_re)
    np.testing.assert_allclose(ours.cov_re.to_numpy(), cov_re, rtol=re,
                               atol=re * np.abs(cov_re).max())  # fmt: skip
    assert ours.scale == pytest.approx(ref.scale, rel=re)


@pytest.fixture(scope="module")
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(TESTS_DIR / "data" / "sleepstudy.csv", dtype={"Subject": "str"})


@pytest.fixture(scope="module")
def sleep_model(sleepstudy: pd.DataFrame) -> MixedLM:
    return MixedLM.from_formula(
        "Reaction ~ Days", data=sleepstudy, groups=sleepstudy["Subject"], re_formula="~Days"
    )


def test_sleepstudy_matches_lme4(sleep_model: MixedLM) -> None:
    fit = fit_reml(sleep_model.endog, sleep_model.exog, sleep_model.exog_re,
                   sleep_model.groups, exog_names=sleep_model.exog_names)  # fmt: skip
    # lmer(Reaction ~ Days + (Days | Subject), sleepstudy): (Intercept) 251.405 (6.825),
    # Days 10.467 (1.546); Subject variances 612.09 and 35.07, corr 0.07 (0.066);
    # residual 654.94; REML criterion at convergence 1743.6
    assert round(fit.fe_params["Intercept"], 3) == 251.405
    assert round(fit.fe_params["Days"], 3) == 10.467
    assert round(fit.bse_fe["Intercept"], 3) == 6.825
    assert round(fit.bse_fe["Days"], 3) == 1.546
    cov = fit.cov_re.to_numpy()
    assert round(cov[0, 0], 2) == 612.09 and round(cov[1, 1], 2) == 35.07
    assert round(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), 3) == 0.066
    assert round(fit.scale, 2) == 654.94
    assert round(fit.deviance, 1) == 1743.6
    assert fit.converged and not fit.singular
    # balanced data: the observed information's cross terms vanish, so lme4's vcov and
    # statsmodels' covariance are the same
    np.testing.assert_allclose(fit.cov_fe.to_numpy(), fit.cov_fe_conditional.to_numpy(), rtol=1e-6)


def test_sleepstudy_agrees_with_statsmodels(sleep_model: MixedLM) -> None:
    ours, ref = _fit_both(sleep_model)
    _agree(ours, ref)
    blups = np.array([ref.random_effects[g].to_numpy() for g in ours.random_effects])
    np.testing.assert_allclose(np.array(list(ours.random_effects.values())), blups, rtol=1e-4,
                               atol=1e-4 * np.abs(blups).max())  # fmt: skip


def test_trajectory_model_with_the_fast_engine_reproduces_lme4(sleepstudy: pd.DataFrame) -> None:
    fit = trajectory_model(sleepstudy, outcome="Reaction", time="Days", person="Subject",
                           engine="reml")  # fmt: skip
    est = fit.estimates.set_index("term")
    assert round(est.loc["Days", "estimate"], 3) == 10.467
    assert round(est.loc["Days", "std_error"], 3) == 1.546
    vc = fit.random_effects.set_index("component")["value"]
    assert round(vc["slope_variance"], 2) == 35.07
    assert fit.optimizer.startswith("reml") and fit.converged
    with pytest.raises(ValueError, match="engine"):
        trajectory_model(sleepstudy, outcome="Reaction", time="Days", person="Subject",
                         engine="lme4")  # fmt: skip


@pytest.fixture(scope="module")
def outcome_data() -> pd.DataFrame:
    """Outcome 6's data from the generator's outcome process (the outcomes validation's
    world; five services, one per instrument, to keep statsmodels quick)."""
    from analysis.analyse.validation_outcomes import World, simulate

    data, _, _ = simulate(World("dropout_mar", "dropout_mar"), 3)
    return data.loc[data["service_id"].isin(["S01", "S02", "S03", "S04", "S05"])].reset_index(
        drop=True
    )


@pytest.mark.parametrize("min_assessments", [1, 2])
def test_project_model_agrees_with_statsmodels(
    outcome_data: pd.DataFrame, min_assessments: int
) -> None:
    from analysis.analyse.outcome_instruments import fit_all_people

    fast = fit_all_people(outcome_data, min_assessments=min_assessments, engine="reml")
    model = fast.results.model
    ours, ref = _fit_both(model)
    _agree(ours, ref)
    # the engine's published tables are statsmodels' (its own optimizers) to optimizer
    # tolerance
    slow = fit_all_people(outcome_data, min_assessments=min_assessments)
    a, b = fast.estimates.set_index("term"), slow.estimates.set_index("term")
    np.testing.assert_allclose(
        a["estimate"], b["estimate"], rtol=1e-4, atol=1e-3 * b["std_error"].max()
    )
    np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-4)
    # the predicted random effects downstream code reads
    keys = list(ours.random_effects)[:50]
    np.testing.assert_allclose(
        np.array([ours.random_effects[k].to_numpy() for k in keys]),
        np.array([ref.random_effects[k].to_numpy() for k in keys]),
        atol=1e-4 * max(abs(ref.random_effects[k]).max() for k in keys),
    )


def test_observed_information_matches_statsmodels_hessian(outcome_data: pd.DataFrame) -> None:
    """The fixed effects' covariance is statsmodels' (inverse observed information of the
    profiled restricted likelihood) evaluated at our optimum."""
    from analysis.analyse.outcome_instruments import fit_all_people

    fit = fit_all_people(outcome_data, min_assessments=1, engine="reml").results
    model = fit.model
    params = MixedLMParams.from_components(fit.fe_params.to_numpy(),
                                           cov_re=fit.cov_re.to_numpy() / fit.scale)  # fmt: skip
    hess, _ = model.hessian(params)
    p = len(fit.fe_params)
    np.testing.assert_allclose(fit.cov_fe.to_numpy(), np.linalg.inv(-hess)[:p, :p], rtol=1e-5,
                               atol=1e-7 * np.abs(np.diag(fit.cov_fe)).max())  # fmt: skip
    # unbalanced data: lme4's conditional covariance is a different (smaller) quantity
    assert not np.allclose(fit.cov_fe.to_numpy(), fit.cov_fe_conditional.to_numpy(), rtol=1e-4)


def test_gls_coefficients_at_the_fit_give_its_fixed_effects(sleep_model: MixedLM) -> None:
    fit = fit_reml(sleep_model.endog, sleep_model.exog, sleep_model.exog_re, sleep_model.groups)
    beta = gls_coefficients(fit.theta, sleep_model.exog, sleep_model.exog_re, sleep_model.groups,
                            np.column_stack([sleep_model.endog, 2 * sleep_model.endog]))  # fmt: skip
    np.testing.assert_allclose(beta[:, 0], fit.fe_params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(beta[:, 1], 2 * fit.fe_params.to_numpy(), rtol=1e-10)


def test_cluster_robust_covariance_is_the_dense_sandwich() -> None:
    rng = np.random.default_rng(4)
    data = _draw(rng, groups=25, slope_sd=0.4)
    model = MixedLM.from_formula("y ~ t + x", data=data, groups=data["g"], re_formula="~t")
    fit = fit_reml(model.endog, model.exog, model.exog_re, model.groups)
    psi = fit.cov_re.to_numpy() / fit.scale
    x, z, y = model.exog, model.exog_re, model.endog
    r = y - x @ fit.fe_params.to_numpy()
    a, meat = 0.0, 0.0
    for g in pd.unique(model.groups):
        i = np.asarray(model.groups) == g
        vinv = np.linalg.inv(np.eye(i.sum()) + z[i] @ psi @ z[i].T)
        a = a + x[i].T @ vinv @ x[i]
        s = x[i].T @ vinv @ r[i]
        meat = meat + np.outer(s, s)
    n_groups = len(pd.unique(model.groups))
    dense = np.linalg.inv(a) @ meat @ np.linalg.inv(a) * n_groups / (n_groups - 1)
    np.testing.assert_allclose(fit.cov_fe_robust.to_numpy(), dense, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(fit.cov_fe_conditional.to_numpy(), fit.scale * np.linalg.inv(a),
                               rtol=1e-8)  # fmt: skip


def _draw(
    rng: np.random.Generator, *, groups: int, slope_sd: float, noise: float = 0.5
) -> pd.DataFrame:
    rows = []
    for g in range(groups):
        k = int(rng.integers(1, 7))
        t = np.sort(rng.uniform(0, 3, k))
        a, b = rng.normal(0, 1), rng.normal(0.5, slope_sd)
        x = rng.normal(size=k)
        for tt, xx in zip(t, x, strict=True):
            rows.append((g, tt, xx, g % 3, 1 + a + b * tt + 0.3 * xx + rng.normal(0, noise)))
    return pd.DataFrame(rows, columns=["g", "t", "x", "c", "y"])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(seed=st.integers(0, 10**6), groups=st.integers(12, 40),
       slope_sd=st.sampled_from([0.2, 0.5, 1.0]), noise=st.sampled_from([0.2, 0.5, 1.0]))  # fmt: skip
@example(seed=741232, groups=17, slope_sd=1.0, noise=0.5)  # a flat optimum (see below)
def test_small_datasets_agree_with_statsmodels(seed: int, groups: int, slope_sd: float,
                                               noise: float) -> None:  # fmt: skip
    data = _draw(np.random.default_rng(seed), groups=groups, slope_sd=slope_sd, noise=noise)
    model = MixedLM.from_formula("y ~ t + x + C(c)", data=data, groups=data["g"], re_formula="~t")
    ours, ref = _fit_both(model)
    _not_worse(ours, ref, model)  # never a worse optimum than statsmodels
    # away from the boundary (where the likelihood is flat and SEs ill-defined) they agree
    psi = np.asarray(ref.cov_re) / ref.scale
    assume(not ours.singular and np.linalg.eigvalsh(psi).min() > 1e-3 * np.abs(psi).max())
    # on a flat optimum the two optimisers stop apart by optimizer tolerance: in the example
    # the criteria differ by 1e-11 relative and a fixed effect by 3e-5 of its SE
    _agree(ours, ref, fe=1e-4)


def test_data_without_slope_variance_give_a_singular_fit() -> None:
    """Young people who share one slope: the REML optimum is on the boundary (the
    covariance of intercept and slope has rank one); the fit says it is singular, is no
    worse than statsmodels', keeps finite estimates and uses lme4's covariance."""
    data = _draw(np.random.default_rng(13), groups=40, slope_sd=0.0, noise=1.0)
    model = MixedLM.from_formula("y ~ t + x", data=data, groups=data["g"], re_formula="~t")
    ours, ref = _fit_both(model)
    assert ours.singular and ours.converged
    assert np.linalg.eigvalsh(ours.cov_re.to_numpy()).min() == pytest.approx(0.0, abs=1e-12)
    _not_worse(ours, ref, model)
    assert np.all(np.isfinite(ours.bse_fe)) and np.all(ours.bse_fe > 0)
    # on the boundary the observed information is no basis: lme4's covariance, said
    np.testing.assert_array_equal(ours.cov_fe.to_numpy(), ours.cov_fe_conditional.to_numpy())
    assert any("singular" in n for n in ours.notes)
    np.testing.assert_allclose(ours.fe_params.to_numpy(), ref.fe_params.to_numpy(), rtol=1e-3,
                               atol=1e-3 * np.asarray(ref.bse_fe).max())  # fmt: skip


def test_a_bound_where_the_optimum_is_inside_is_left() -> None:
    """A zero diagonal entry of the relative Cholesky factor is always stationary; the
    fitter steps off it when the criterion is lower inside (a dataset where L-BFGS-B from
    the identity stops there)."""
    rng = np.random.default_rng(1)
    for _ in range(4):
        data = _draw(rng, groups=30, slope_sd=0.4)
    model = MixedLM.from_formula("y ~ t + x + C(c)", data=data, groups=data["g"], re_formula="~t")
    ours, ref = _fit_both(model)
    assert not ours.singular
    _agree(ours, ref)


def test_non_finite_or_unidentified_input_is_refused() -> None:
    rng = np.random.default_rng(2)
    data = _draw(rng, groups=20, slope_sd=0.5)
    model = MixedLM.from_formula("y ~ t + x", data=data, groups=data["g"], re_formula="~t")
    y = model.endog.copy()
    y[3] = np.inf
    with pytest.raises(ModelNotFitted, match="not all finite"):
        fit_reml(y, model.exog, model.exog_re, model.groups)
    x = np.column_stack([model.exog, model.exog[:, 1]])
    with pytest.raises(ModelNotFitted, match="rank deficient"):
        fit_reml(model.endog, x, model.exog_re, model.groups)


def test_clustered_covariance_is_the_same_for_either_engine(outcome_data: pd.DataFrame) -> None:
    """``instrument_changes(robust=True)`` works on a statsmodels fit too: the sandwich
    from its estimates equals the fast fit's to optimizer tolerance."""
    from analysis.analyse.outcome_instruments import fit_all_people, instrument_changes

    fast = fit_all_people(outcome_data, min_assessments=1, engine="reml")
    slow = fit_all_people(outcome_data, min_assessments=1)
    a = instrument_changes(outcome_data, fast, min_people=20, robust=True)
    b = instrument_changes(outcome_data, slow, min_people=20, robust=True)
    np.testing.assert_allclose(a["std_error"], b["std_error"], rtol=1e-3)
    model = instrument_changes(outcome_data, fast, min_people=20)
    assert not np.allclose(a["std_error"], model["std_error"], rtol=1e-3)
