"""Tests for the relative-magnitudes bounds (Rambachan and Roth, as R HonestDiD computes them)
and the universal base period of the staggered estimator (issue 22).

References: HonestDiD's README examples (``honestdid_reference.py``: the sunab example is
matched end point for end point; the ehec example to 1.5e-3, see there why), R ``did``'s
``base_period = "universal"`` on ``mpdta`` as recorded by the csdid project
(``csdid/test_csdid/r_ref/sim/ref_gaps.csv``, scenario ``universal``: ``est_method="reg"``,
never-treated comparison; numbers copied below), and constructed cases whose answers are
known: the linear programmes HonestDiD solves, solved here with scipy's HiGHS.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from honestdid_reference import (
    EHEC_BETAHAT,
    EHEC_RM_AVERAGE,
    EHEC_RM_FIRST,
    EHEC_SIGMA,
    SUNAB_BETAHAT,
    SUNAB_ORIGINAL,
    SUNAB_RM_FIRST,
    SUNAB_SIGMA,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analysis.analyse.models import aggregate_att, pretest_parallel_trends, staggered_att
from analysis.analyse.models.did_honest import (
    _post_vertices,
    event_study_inputs,
    honest_event_study,
    relative_magnitudes_ci,
    rm_constraint_matrix,
    rm_identified_set,
    simple_event_weights,
)
from analysis.core.paths import TESTS_DIR

MPDTA = {"unit": "countyreal", "time": "year", "cohort": "first.treat", "outcome": "lemp"}

# ref_gaps.csv, scenario "universal": (group, t) -> (att, se); (g, g-1) is the reference
UNIVERSAL_REF = {
    (2004, 2003): (0.0, None),
    (2004, 2004): (-0.0105032462209624, 0.0232510363681663),
    (2004, 2005): (-0.0704231581031467, 0.0309847667572767),
    (2004, 2006): (-0.137258738889403, 0.0364356642876865),
    (2004, 2007): (-0.100811363085404, 0.0343592258346732),
    (2006, 2003): (-0.0037692936737142, 0.0313420276018159),
    (2006, 2004): (0.00275081875051881, 0.0195585610358817),
    (2006, 2005): (0.0, None),
    (2006, 2006): (-0.00459460695286304, 0.0177551966592763),
    (2006, 2007): (-0.0412244715462174, 0.0202291807041068),
    (2007, 2003): (0.00330635669251235, 0.0244518729439318),
    (2007, 2004): (0.0338130122758051, 0.0211291749243127),
    (2007, 2005): (0.0310871193896889, 0.0178775113133435),
    (2007, 2006): (0.0, None),
    (2007, 2007): (-0.0260544107191966, 0.0166554353492522),
}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(TESTS_DIR / "data" / "mpdta.csv")


# ----------------------------------------------------------------- universal base period


def test_universal_base_period_matches_r_did(mpdta: pd.DataFrame) -> None:
    res = staggered_att(mpdta, **MPDTA, base_period="universal")
    table = res.table.set_index(["cohort", "time"])
    assert len(table) == len(UNIVERSAL_REF)
    for (g, t), (att, se) in UNIVERSAL_REF.items():
        row = table.loc[(g, t)]
        assert row["att"] == pytest.approx(att, abs=1e-6)
        if se is None:
            assert np.isnan(row["se"]) and not row["post"]
        else:
            assert row["se"] == pytest.approx(se, rel=1e-3)


def test_universal_and_varying_agree_where_they_must(mpdta: pd.DataFrame) -> None:
    """Post-treatment cells, every aggregation of them and (never-treated comparison, no
    covariates) the Wald pre-test are the same under both base periods; pre-treatment
    universal cells are minus the sums of the varying ones back to the reference."""
    uni = staggered_att(mpdta, **MPDTA, base_period="universal")
    var = staggered_att(mpdta, **MPDTA)
    for how in ("simple", "group"):
        a, b = aggregate_att(uni, how), aggregate_att(var, how)
        assert a.overall_att == pytest.approx(b.overall_att, abs=1e-7)
        assert a.overall_se == pytest.approx(b.overall_se, rel=1e-6)
    pu, pv = pretest_parallel_trends(uni), pretest_parallel_trends(var)
    assert pu["df"] == pv["df"] and pu["statistic"] == pytest.approx(pv["statistic"], rel=1e-5)
    v = var.table.set_index(["cohort", "time"])["att"]
    u = uni.table.set_index(["cohort", "time"])["att"]
    assert u[(2007, 2004)] == pytest.approx(-(v[(2007, 2005)] + v[(2007, 2006)]), abs=1e-6)


def test_universal_not_yet_treated_uses_cohorts_after_the_base_period(mpdta: pd.DataFrame) -> None:
    """A pre-treatment cell compares with cohorts not yet treated by its base period g-1
    (R did's ``max(t, pret)`` threshold), a post-treatment cell with those not yet treated
    by t: ATT(2007, 2004) has no cohort but the never treated (2006 is treated by 2006),
    ATT(2006, 2003) has 2007's, ATT(2004, 2005) has 2006's and 2007's."""
    res = staggered_att(mpdta, **MPDTA, base_period="universal", control="not_yet_treated")
    tab = res.table.set_index(["cohort", "time"])
    never = int((mpdta.groupby("countyreal")["first.treat"].first() == 0).sum())
    n2006 = int((mpdta.groupby("countyreal")["first.treat"].first() == 2006).sum())
    n2007 = int((mpdta.groupby("countyreal")["first.treat"].first() == 2007).sum())
    assert tab.loc[(2007, 2004), "n_control"] == never
    assert tab.loc[(2006, 2003), "n_control"] == never + n2007
    assert tab.loc[(2004, 2005), "n_control"] == never + n2006 + n2007


def test_base_period_is_checked(mpdta: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="base_period"):
        staggered_att(mpdta, **MPDTA, base_period="fixed")  # type: ignore[arg-type]


# ----------------------------------------------------------------- HonestDiD references


@pytest.mark.parametrize("k", range(4))
def test_sunab_example_matches_honestdid(k: int) -> None:
    beta, sigma = np.array(SUNAB_BETAHAT), np.array(SUNAB_SIGMA)
    mbar = SUNAB_RM_FIRST["mbar"][k]
    l_vec = np.eye(6)[0]
    sd = float(np.sqrt(sigma[10, 10]))
    lo, hi = rm_identified_set(beta, 10, 6, l_vec, mbar)
    out = relative_magnitudes_ci(
        beta, sigma, 10, 6, mbar=mbar, grid_points=100,
        grid_lower=lo - 20 * sd, grid_upper=hi + 20 * sd,
    )  # fmt: skip
    assert out.lower == pytest.approx(SUNAB_RM_FIRST["lb"][k], abs=1e-7)
    assert out.upper == pytest.approx(SUNAB_RM_FIRST["ub"][k], abs=1e-7)
    assert (out.original_lower, out.original_upper) == pytest.approx(SUNAB_ORIGINAL, abs=1e-7)


@pytest.mark.parametrize(
    ("l_vec", "ref"),
    [([1.0, 0.0], EHEC_RM_FIRST), ([0.5, 0.5], EHEC_RM_AVERAGE)],
    ids=["first", "average"],
)
def test_ehec_example_matches_honestdid(l_vec: list[float], ref: dict) -> None:
    beta, sigma = np.array(EHEC_BETAHAT), np.array(EHEC_SIGMA)
    for mbar, lb, ub in zip(ref["mbar"], ref["lb"], ref["ub"], strict=True):
        out = relative_magnitudes_ci(beta, sigma, 5, 2, l_vec=l_vec, mbar=mbar)
        assert out.lower == pytest.approx(lb, abs=1.5e-3)
        assert out.upper == pytest.approx(ub, abs=1.5e-3)
        assert not out.notes


def test_same_seed_same_interval_and_seed_moves_little() -> None:
    beta, sigma = np.array(SUNAB_BETAHAT), np.array(SUNAB_SIGMA)
    a = relative_magnitudes_ci(beta, sigma, 10, 6, mbar=1.0)
    b = relative_magnitudes_ci(beta, sigma, 10, 6, mbar=1.0)
    c = relative_magnitudes_ci(beta, sigma, 10, 6, mbar=1.0, seed=7)
    assert (a.lower, a.upper) == (b.lower, b.upper)
    step = 40 * np.sqrt(sigma[10, 10]) / 999
    assert abs(a.lower - c.lower) <= 3 * step and abs(a.upper - c.upper) <= 3 * step


# ----------------------------------------------------------------- constructed cases


def _eta_lp(y: np.ndarray, x: np.ndarray, sd: np.ndarray) -> float:
    """HonestDiD's ``.test_delta_lp_fn``: min eta s.t. y - x delta <= eta * sd."""
    k = x.shape[1]
    res = linprog(
        c=np.r_[1.0, np.zeros(k)],
        A_ub=-np.column_stack([sd, x]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


@settings(max_examples=40, deadline=None)
@given(
    num_pre=st.integers(1, 4),
    num_post=st.integers(2, 5),
    mbar=st.sampled_from([0.0, 0.5, 1.0, 2.0]),
    positive=st.booleans(),
    seed=st.integers(0, 10_000),
    weights=st.sampled_from(["first", "average", "random"]),
)
def test_dual_vertices_solve_the_linear_programme(
    num_pre: int, num_post: int, mbar: float, positive: bool, seed: int, weights: str
) -> None:
    """eta from the closed-form dual vertices equals the linear programme HonestDiD solves
    (with the nuisance parameters of its change of basis) for random moments."""
    rng = np.random.default_rng(seed)
    l_vec = {
        "first": np.eye(num_post)[0],
        "average": np.full(num_post, 1.0 / num_post),
        "random": rng.uniform(0, 1, num_post),
    }[weights]
    s = int(rng.integers(-(num_pre - 1), 1))
    a = rm_constraint_matrix(num_pre, num_post, mbar, s, positive)
    a = a[np.abs(a[:, num_pre:]).sum(axis=1) > 0]
    a_post = a[:, num_pre:]
    # HonestDiD's Gamma (.construct_Gamma): l' then the unit rows e_2..e_n (l_1 > 0 here)
    gamma = np.eye(num_post)
    gamma[0] = l_vec
    x = (a_post @ np.linalg.inv(gamma))[:, 1:]
    sd = rng.uniform(0.5, 2.0, len(a))
    rays = _post_vertices(a_post, l_vec)
    gam = rays / (rays @ sd)[:, None]
    for _ in range(3):
        y = rng.normal(0, 2, len(a))
        assert float(np.max(gam @ y)) == pytest.approx(_eta_lp(y, x, sd), abs=1e-7)


@settings(max_examples=30, deadline=None)
@given(
    num_pre=st.integers(1, 5),
    num_post=st.integers(1, 4),
    mbar=st.sampled_from([0.0, 0.5, 1.0, 1.5]),
    seed=st.integers(0, 10_000),
)
def test_identified_set_is_honestdids_linear_programme(
    num_pre: int, num_post: int, mbar: float, seed: int
) -> None:
    """The closed form equals the union over (s, sign) of HonestDiD's
    ``.compute_IDset_DeltaRM_fixedS`` linear programmes (an infeasible (s, sign) gives
    the point ``l' beta_post``, as in R)."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(0, 1, num_pre + num_post)
    l_vec = rng.uniform(0, 1, num_post)
    point = float(l_vec @ beta[num_pre:])
    lows, highs = [], []
    for s, positive in itertools.product(range(-(num_pre - 1), 1), (True, False)):
        a = rm_constraint_matrix(num_pre, num_post, mbar, s, positive)
        eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
        f = np.r_[np.zeros(num_pre), l_vec]
        kw = dict(A_ub=a, b_ub=np.zeros(len(a)), A_eq=eq, b_eq=beta[:num_pre],
                  bounds=[(None, None)] * len(f), method="highs")  # fmt: skip
        hi, lo = linprog(-f, **kw), linprog(f, **kw)
        if hi.status != 0 and lo.status != 0:
            lows.append(point)
            highs.append(point)
        else:
            lows.append(point + hi.fun)  # point - max(l'delta)
            highs.append(point - lo.fun)
    lo, hi = rm_identified_set(beta, num_pre, num_post, l_vec, mbar)
    assert lo == pytest.approx(min(lows), abs=1e-7)
    assert hi == pytest.approx(max(highs), abs=1e-7)


def test_precise_estimates_give_the_identified_set() -> None:
    """With negligible sampling error the robust interval is the identified set: a
    pre-period moving by 0.3 a quarter, Mbar = 1, two post periods averaged: theta in
    l'beta +/- 0.3 * (1 + 0.5)."""
    beta = np.array([-0.6, -0.3, 2.0, 2.6])
    sigma = np.eye(4) * 1e-10
    out = relative_magnitudes_ci(beta, sigma, 2, 2, l_vec=[0.5, 0.5], mbar=1.0)
    assert (out.id_lower, out.id_upper) == pytest.approx((2.3 - 0.45, 2.3 + 0.45))
    assert out.lower == pytest.approx(out.id_lower, abs=1e-3)
    assert out.upper == pytest.approx(out.id_upper, abs=1e-3)
    assert out.max_pre_move == pytest.approx(0.3)
    assert out.excludes_zero


def test_bounds_cover_at_least_nominally_when_the_restriction_holds() -> None:
    """Monte Carlo: with parallel trends exactly (delta = 0), the robust interval for
    the first post-period effect covers the truth in at least 95% of 300 draws."""
    rng = np.random.default_rng(20140101)
    npre, npost = 3, 2
    sigma = 0.04 * (np.eye(5) + 0.3)
    chol = np.linalg.cholesky(sigma)
    truth = np.array([0, 0, 0, 0.5, 0.8])
    hits = 0
    for _ in range(300):
        beta = truth + chol @ rng.normal(size=5)
        out = relative_magnitudes_ci(beta, sigma, npre, npost, mbar=1.0, grid_points=200)
        hits += out.lower <= 0.5 <= out.upper
    assert hits / 300 >= 0.95


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="betahat"):
        relative_magnitudes_ci(np.zeros(3), np.eye(3), 2, 2)
    with pytest.raises(ValueError, match="l_vec"):
        relative_magnitudes_ci(np.zeros(4), np.eye(4), 2, 2, l_vec=[1.0])
    with pytest.raises(ValueError, match="mbar"):
        relative_magnitudes_ci(np.zeros(4), np.eye(4), 2, 2, mbar=-1)


# ----------------------------------------------------------------- from an event study


def test_event_study_needs_a_universal_base_period(mpdta: pd.DataFrame) -> None:
    varying = aggregate_att(staggered_att(mpdta, **MPDTA), "dynamic")
    with pytest.raises(ValueError, match="universal"):
        event_study_inputs(varying)
    with pytest.raises(ValueError, match="event study"):
        event_study_inputs(aggregate_att(staggered_att(mpdta, **MPDTA), "group"))


def test_simple_weights_reproduce_the_simple_effect(mpdta: pd.DataFrame) -> None:
    res = staggered_att(mpdta, **MPDTA, base_period="universal")
    dynamic = aggregate_att(res, "dynamic")
    inputs = event_study_inputs(dynamic)
    assert (inputs.num_pre, inputs.num_post) == (3, 4)
    assert list(inputs.event_times) == [-4, -3, -2, 0, 1, 2, 3]
    w = simple_event_weights(res, inputs.event_times[inputs.num_pre :])
    assert w.sum() == pytest.approx(1.0)
    simple = aggregate_att(res, "simple").overall_att
    assert float(w @ inputs.betahat[inputs.num_pre :]) == pytest.approx(simple, abs=1e-7)
    bounds = honest_event_study(dynamic, l_vec=w)
    assert bounds.estimate == pytest.approx(simple, abs=1e-7)
    assert bounds.lower <= bounds.id_lower <= simple <= bounds.id_upper <= bounds.upper
