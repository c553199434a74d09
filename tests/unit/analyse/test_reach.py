"""The spoke-level reach model and its data (issue 24), on constructed data whose truth is
known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.analyse import reach
from analysis.analyse.models import ModelNotFitted, spoke_reach_model
from analysis.analyse.models.reach import cluster_covariance, spline_basis
from analysis.analyse.year import fit_reach

TRUE_FIRST, TRUE_LATER = np.log(2.5), np.log(1.1)


def _world(seed: int, services: int = 16, spokes_per: int = 2, months: int = 36) -> pd.DataFrame:
    """Spoke-months with a known spline: log rate = level + b1 first_year + b2 later_years,
    exposure 1-3 posts, service-shared noise (so the clustering matters)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(services):
        shock = rng.normal(0, 0.15, months)  # a service's good and bad months
        for k in range(spokes_per):
            level = rng.normal(np.log(0.8), 0.3)
            posts = rng.integers(1, 4)
            for m in range(months):
                t = (m + 0.5) / 12
                basis = min(t, 1.0) * TRUE_FIRST + max(t - 1.0, 0.0) * TRUE_LATER
                mu = posts * np.exp(level + basis + shock[m])
                rows.append(
                    {
                        "service_id": f"S{s:02d}",
                        "spoke_id": f"S{s:02d}-{k}",
                        "years_since_start": t,
                        "post_months": int(posts),
                        "new_young_people": int(rng.poisson(mu)),
                    }
                )
    return pd.DataFrame(rows)


def test_spline_basis_has_its_knot_at_one_year():
    b = spline_basis(np.array([0.25, 1.0, 2.5]))
    assert b["first_year"].tolist() == [0.25, 1.0, 1.0]
    assert b["later_years"].tolist() == [0.0, 0.0, 1.5]


def test_recovers_both_slopes_on_a_large_world():
    res = spoke_reach_model(_world(1, services=40, spokes_per=2, months=48))
    first, later = res.term("first_year"), res.term("later_years")
    assert first["estimate"] == pytest.approx(TRUE_FIRST, abs=0.15)
    assert later["estimate"] == pytest.approx(TRUE_LATER, abs=0.08)
    assert first["ci_lower"] < TRUE_FIRST < first["ci_upper"]
    assert res.df == 39 and res.n_clusters == 40
    assert first["rate_ratio"] == pytest.approx(np.exp(first["estimate"]), rel=1e-6)


def test_cluster_covariance_matches_statsmodels_cr1():
    """The hand-written sandwich equals statsmodels' clustered covariance with its
    small-sample correction (G/(G-1) (N-1)/(N-K))."""
    data = _world(2, services=12)
    res = spoke_reach_model(data)
    fit = res.results
    x = fit.model.exog
    groups = pd.factorize(data["service_id"])[0]
    ref = sm.GLM(
        data["new_young_people"],
        x,
        family=sm.families.Poisson(),
        offset=np.log(data["post_months"]),
    ).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
    mine = cluster_covariance(x, data["new_young_people"].to_numpy(float), fit.fittedvalues, groups)
    assert np.sqrt(np.diag(mine)[:2]) == pytest.approx(
        np.sqrt(np.diag(ref.cov_params())[:2]), rel=1e-6
    )


def test_t_intervals_with_services_minus_one_df_are_wider_than_normal():
    res = spoke_reach_model(_world(3, services=6))
    row = res.term("first_year")
    half = (row["ci_upper"] - row["ci_lower"]) / 2
    assert half / row["std_error"] == pytest.approx(2.570582, rel=1e-5)  # t(5) 97.5%


def test_coverage_on_small_worlds_is_near_nominal():
    """Sixteen services as in the programme: the t(15) intervals of both slopes cover the
    truth in about 95% of 100 worlds (binomial 3 s.e. allowance; the 400-seed study on the
    generator's worlds is ``python -m analysis.validation --study reach``)."""
    hits = np.array(
        [
            [
                r["ci_lower"] <= t <= r["ci_upper"]
                for r, t in zip(
                    spoke_reach_model(_world(seed)).estimates.to_dict("records"),
                    (TRUE_FIRST, TRUE_LATER),
                    strict=True,
                )
            ]
            for seed in range(100)
        ]
    )
    assert (hits.mean(axis=0) > 0.95 - 3 * np.sqrt(0.95 * 0.05 / 100)).all()


def test_deterministic():
    a = spoke_reach_model(_world(4)).estimates
    b = spoke_reach_model(_world(4).sample(frac=1, random_state=0)).estimates
    pd.testing.assert_frame_equal(a, b)


def test_only_first_slope_when_nothing_beyond_the_first_year():
    data = _world(5, months=12)
    res = spoke_reach_model(data)
    assert list(res.estimates["term"]) == ["first_year"]
    assert any("only the first-year slope" in w for w in res.warnings)


def test_refuses_one_service():
    with pytest.raises(ModelNotFitted, match="two or more services"):
        spoke_reach_model(_world(6, services=1))


def test_spoke_with_no_young_people_is_left_out_and_said():
    data = _world(7)
    data.loc[data["spoke_id"] == "S00-0", "new_young_people"] = 0
    res = spoke_reach_model(data)
    assert any("S00-0" in w for w in res.warnings)
    assert res.n_units_used == res.n_units_eligible - 1


def test_estimates_are_finite_or_not_fitted():
    data = _world(8, services=2, spokes_per=1, months=14)
    data["new_young_people"] = 0
    data.loc[data.index[:2], "new_young_people"] = 1
    try:
        res = spoke_reach_model(data)
    except ModelNotFitted:
        return
    assert np.isfinite(res.estimates[["estimate", "std_error"]].to_numpy()).all()


# ------------------------------------------------------------------------- the data


def _tables() -> dict[str, pd.DataFrame]:
    posts = pd.DataFrame(
        {
            "post_id": ["S01-1-P1", "S01-1-P2", "S02-1-P1"],
            "service_id": ["S01", "S01", "S02"],
            "spoke_id": ["S01-1", "S01-1", "S02-1"],
            "start_month": ["2015-01-01", "2015-03-01", "2015-06-01"],
            "end_month": [None, "2015-04-01", None],
        }
    )
    people = pd.DataFrame(
        {
            "person_key": ["a", "b", "c", "d", "e", "f"],
            "service_id": ["S01", "S01", "S01", "S02", "S02", "S01"],
            "post_id": ["S01-1-P1", "S01-1-P2", None, "S02-1-P1", "S02-1-P1", "S01-1-P1"],
            "referral_month": [
                "2015-01-01",
                "2015-03-01",
                "2015-02-01",
                "2015-06-01",
                "2016-06-01",
                "2017-05-01",
            ],  # fmt: skip
        }
    )
    groups = pd.DataFrame(
        {
            "post_id": ["S01-1-P2", "S01-1-P2", None],
            "session_month": ["2015-04-01", "2015-05-01", "2015-04-01"],
            "attendees": [6, 4, 3],
        }
    )
    return {"posts": posts, "young_people": people, "group_sessions": groups}


def test_spoke_month_table_counts_exposure_and_people():
    t = reach.spoke_month_table(_tables(), "2015-16")
    s1 = t.loc[t["spoke_id"] == "S01-1"].set_index("month_index")
    jan = (2015 - 2000) * 12
    assert s1.loc[jan, "post_months"] == 1 and s1.loc[jan + 2, "post_months"] == 2
    assert s1.loc[jan + 4, "post_months"] == 1  # P2 ended in April
    assert s1.loc[jan, "new_young_people"] == 1 and s1.loc[jan + 2, "new_young_people"] == 1
    assert s1.loc[jan + 12, "year_of_operation"] == 2
    # a session of P2 after it ended still counts for its spoke, whose P1 was in post
    assert s1.loc[jan + 4, "group_attendances"] == 4
    # up to the end of 2015-16 (August 2016): 20 months for S01-1, 15 for S02-1
    assert len(s1) == 20 and (t["spoke_id"] == "S02-1").sum() == 15
    by = reach.reach_by_spoke_year(t)
    assert by["new_young_people"].sum() == 4  # f, referred in 2017, is not yet seen
    assert by.loc[by["spoke_id"] == "S02-1", "year_of_operation"].tolist() == [1, 2]


def test_unplaced_counts_what_the_table_cannot_hold():
    tables = _tables()
    got = reach.unplaced(tables, "2015-16")
    # c names no post, nor does one session; f was referred after the year
    assert got == {
        "young_people_no_post": 1,
        "young_people_no_filled_post": 0,
        "group_sessions_no_post": 1,
        "group_sessions_no_filled_post": 0,
    }


def test_fit_reach_not_fitted_says_why_and_keeps_the_tables():
    out = fit_reach(reach.spoke_month_table(_tables(), "2015-16"))
    assert not out.fitted and "Not enough data yet" in out.reason
    assert "by_spoke_year" in out.extra and "by_year" in out.extra
