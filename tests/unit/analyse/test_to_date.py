"""Programme-to-date indicators (``analysis.analyse.to_date``) and totals adjusted for missing
returns (``analysis.analyse.adjust``) on a hand-made one-service programme, so every figure
can be worked out by hand (the comments show how)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analysis.analyse.adjust import adjusted_totals, expected_to
from analysis.analyse.costs import programme_costs
from analysis.analyse.to_date import as_of_dates, programme_to_date, to_date_table
from analysis.clean.pipeline import _periods


def _m(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"{text}-01")


def make_tables() -> dict[str, pd.DataFrame]:
    """S01, quarterly from January 2015: returns for 2014-15 Q2 (Jan-Feb only) and Q3 and
    for 2015-16 Q1; the 2014-15 Q4 return (June-August 2015) never arrived."""
    services = pd.DataFrame(
        {
            "service_id": ["S01"],
            "start_month": [_m("2015-01")],
            "funded_until_month": [_m("2017-12")],
            "reporting": ["quarterly"],
        }
    )
    received = ["2014-15 Q2", "2014-15 Q3", "2015-16 Q1"]
    returns = pd.DataFrame(
        {"service_id": "S01", "period": received, "superseded": False, "return_id": received}
    )
    # young people by referral month; Y4 was referred in the missing quarter and is still
    # open in 2015-16 Q1, so that extract shows Y4 (already counted)
    cases = pd.DataFrame(
        [
            ("Y1", "2014-15 Q2", "2015-02"),
            ("Y2", "2014-15 Q3", "2015-04"),
            ("Y3", "2014-15 Q3", "2015-05"),
            ("Y4", "2015-16 Q1", "2015-07"),
            ("Y5", "2015-16 Q1", "2015-10"),
            ("Y6", "2015-16 Q1", "2015-11"),
        ],
        columns=["person_key", "period", "referral_month"],
    ).assign(service_id="S01", referral_month=lambda f: pd.to_datetime(f["referral_month"] + "-01"))
    people = cases[["person_key", "service_id", "referral_month"]]
    groups = pd.DataFrame(
        [("2014-15 Q3", "2015-04", 30), ("2015-16 Q1", "2015-10", 60)],
        columns=["period", "session_month", "attendees"],
    ).assign(service_id="S01", session_month=lambda f: pd.to_datetime(f["session_month"] + "-01"))
    training = pd.DataFrame(
        [("2014-15 Q3", "2015-04")] * 12 + [("2015-16 Q1", "2015-09")] * 6,
        columns=["period", "session_month"],
    ).assign(service_id="S01", session_month=lambda f: pd.to_datetime(f["session_month"] + "-01"))
    areas = pd.DataFrame(
        {
            "area_code": ["LA1", "LA2"],
            "is_spoke": [True, False],
            "spoke_workers": [2, None],
            "spoke_start_month": [_m("2015-02"), pd.NaT],
        }
    )
    posts = pd.DataFrame(
        {
            "post_id": ["S01-1-P1", "S01-1-P2"],
            "service_id": "S01",
            "start_month": [_m("2015-02"), _m("2015-09")],
            "end_month": pd.NaT,
        }
    )
    fieldwork = pd.DataFrame({"evaluation_year": ["2014-15", "2015-16"], "interviews": [5, 7]})
    return {
        "services": services,
        "periods": _periods(),
        "returns": returns,
        "case_periods": cases,
        "young_people": people,
        "group_sessions": groups,
        "training": training,
        "areas": areas,
        "posts": posts,
        "fieldwork": fieldwork,
    }


def test_programme_to_date_counts_by_event_date() -> None:
    got = programme_to_date(make_tables(), date(2015, 8, 31)).set_index("indicator")["value"]
    assert got["individual_support"] == 4  # Y1-Y4, referred by August 2015
    assert got["group_reach"] == 30
    assert got["professionals_reached"] == 12
    assert got["spoke_posts_filled"] == 1  # the second post was filled in September
    assert got["spoke_areas"] == 1 and got["services"] == 1
    assert got["interviews"] == 5


def test_missing_returns_are_imputed_from_neighbouring_periods() -> None:
    tables = make_tables()
    as_of = date(2015, 11, 30)
    assert [(p.period, p.months) for p in expected_to(tables, as_of)] == [
        ("2014-15 Q2", 2.0),  # January and February: the service started in January
        ("2014-15 Q3", 3.0),
        ("2014-15 Q4", 3.0),
        ("2015-16 Q1", 3.0),
    ]
    reported = programme_to_date(tables, as_of).set_index("indicator")["value"]
    adj = adjusted_totals(tables, as_of, reported.to_dict()).set_index("indicator")
    assert (adj["returns_expected"] == 4).all() and (adj["returns_missing"] == 1).all()
    # rates are per month a post was filled: P1 from February 2015, P2 from September 2015,
    # so Q3 has 3 post-months, the missing Q4 3 and 2015-16 Q1 6 (both posts)
    # group reach: neighbours Q3 (30) and 2015-16 Q1 (60) -> (90 + 0.5) * 3 / 9
    assert adj.loc["group_reach", "reported"] == 90
    assert adj.loc["group_reach", "adjusted"] == pytest.approx(90 + 90.5 / 3)
    # young people: neighbours hold Y2, Y3 (Q3) and Y5, Y6 (Q1; Y4 was referred in Q4):
    # (4 + 0.5) * 3/9 = 1.5 expected in Q4, less Y4 already seen in a later extract
    assert adj.loc["individual_support", "reported"] == 6
    assert adj.loc["individual_support", "adjusted"] == pytest.approx(6 + 0.5)
    for row in adj.itertuples():
        assert row.adjusted_low <= row.adjusted <= row.adjusted_high
        assert row.adjusted_low >= row.reported


def test_nothing_missing_nothing_added() -> None:
    tables = make_tables()
    as_of = date(2015, 5, 31)  # up to 2014-15 Q3: both returns arrived
    reported = programme_to_date(tables, as_of).set_index("indicator")["value"]
    adj = adjusted_totals(tables, as_of, reported.to_dict())
    assert (adj["returns_missing"] == 0).all()
    assert (adj["adjusted"] == adj["reported"]).all()
    assert (adj["adjusted_high"] == adj["reported"]).all()


def test_a_year_counts_to_its_end_and_to_the_published_date_within_it() -> None:
    assert as_of_dates("2015-16") == [date(2016, 8, 31)]
    assert as_of_dates("2016-17") == [date(2016, 12, 31), date(2017, 8, 31)]
    table = to_date_table(make_tables(), "2015-16")
    assert set(table["as_of"]) == {pd.Timestamp("2016-08-31")}
    adjusted = table.loc[table["adjusted"].notna(), "indicator"]
    assert set(adjusted) == {"individual_support", "group_reach", "professionals_reached"}


def test_programme_costs_divide_the_grants_by_each_output() -> None:
    tables = make_tables()
    tables["case_periods"] = tables["case_periods"].assign(
        evaluation_year=tables["case_periods"]["period"].str[:7]
    )
    tables["training"] = tables["training"].assign(
        evaluation_year=tables["training"]["period"].str[:7]
    )
    tables["group_sessions"] = tables["group_sessions"].assign(
        evaluation_year=tables["group_sessions"]["period"].str[:7]
    )
    tables["posts"] = tables["posts"].assign(end_month=pd.NaT, cse_time_share=0.9)
    tables["grants"] = pd.DataFrame(
        {
            "grant_holder": ["S01", "S01", "evaluation", "evaluation"],
            "evaluation_year": ["2014-15", "2015-16", "2014-15", "2015-16"],
            "amount_gbp": [60000, 120000, 10000, 10000],
        }
    )
    costs = programme_costs(tables, "2015-16").set_index(["scope", "measure"])
    year, to_date = costs.xs("year"), costs.xs("to_date")
    assert (year["grants_gbp"] == 120000).all() and (to_date["grants_gbp"] == 180000).all()
    assert (to_date["evaluation_gbp"] == 20000).all()  # shown beside, never in the grants
    # 2015-16 caseload: Y4, Y5, Y6 (in the 2015-16 Q1 extract); to date: all six
    assert year.loc["young_people", "count"] == 3 and to_date.loc["young_people", "count"] == 6
    assert year.loc["group_attendances", "count"] == 60
    assert to_date.loc["professionals", "count"] == 18
    # post-years: 2014-15 P1 from February (7 months); 2015-16 P1 all 12, P2 from September 12
    assert year.loc["post_years", "count"] == 2
    assert to_date.loc["post_years", "count"] == pytest.approx((7 + 24) / 12)
