"""Tests of the six key outcome measures (``analysis.outcomes``).

The fixture is a hand-made miniature programme (four services) built in this file, so the
expected figures can be worked out by hand; the comments next to each number show how.

* S01 phase 1, annual, SERAF, started Jan 2014: a superseded 2013-14 return; no return,
  extract or funding record in 2014-15 / 2015-16 respectively; a police host and a
  multi-agency host (from Mar 2015).
* S02 phase 2, quarterly, Star (1-5), started Jan 2015: only a multi-agency host; 2014-15
  returns without an ``open`` count (extract fallback); 2015-16 missing its Q3 return.
* S03 phase 3, quarterly, no repeated outcome measure, started Jan 2016: zero referrals;
  returns without professionals trained (training-feedback fallback) or meetings.
* S04 phase 3, quarterly, Star (1-10), started Jan 2016: nothing received at all, no
  spoke area registered.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.analyse import outcomes as oc

YEARS = ("2013-14", "2014-15", "2015-16")
NA = pd.NA


def _month(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"{text}-01")


def _returns_block(specs: list[dict]) -> dict[str, pd.DataFrame]:
    """Tables ``returns``/``referrals``/``young_people_counts``/``outputs`` from return specs."""
    ret, ref, cnt, out = [], [], [], []
    for s in specs:
        base = {
            "return_id": s["id"],
            "service_id": s["service"],
            "period": s["period"],
            "evaluation_year": s["period"][:7],
            "received_date": pd.Timestamp(s.get("received", "2016-10-01")),
            "superseded": s.get("superseded", False),
        }
        ret.append(base | {"frequency": "quarterly" if "Q" in s["period"] else "annual"})
        for src, n in s.get("referrals", {}).items():
            ref.append(base | {"referral_source": src, "referrals": n})
        for measure, n in s.get("counts", {}).items():
            cnt.append(base | {"measure": measure, "young_people": n})
        for output, n in s.get("outputs", {}).items():
            out.append(base | {"output": output, "count": n})
    cols = list(base)
    return {
        "returns": pd.DataFrame(ret),
        "referrals": pd.DataFrame(ref, columns=[*cols, "referral_source", "referrals"]),
        "young_people_counts": pd.DataFrame(cnt, columns=[*cols, "measure", "young_people"]),
        "outputs": pd.DataFrame(out, columns=[*cols, "output", "count"]),
    }


def make_tables() -> dict[str, pd.DataFrame]:
    """The hand-made four-service programme described in the module docstring."""
    services = pd.DataFrame(
        {
            "service_id": ["S01", "S02", "S03", "S04"],
            "hub_organisation": ["Hub A", "Hub B", "Hub C", "Hub D"],
            "phase": [1, 2, 3, 3],
            "start_month": [_month(m) for m in ("2014-01", "2015-01", "2016-01", "2016-01")],
            "funded_until_month": [_month(m) for m in ("2016-12", "2017-12", "2018-12", "2018-12")],
            "reporting": ["annual", "quarterly", "quarterly", "quarterly"],
            "instrument": ["seraf", "star5", "none", "star10"],
        }
    )
    areas = pd.DataFrame(
        {
            "area_code": ["LA001", "LA002", "LA003", "LA004", "LA005"],
            "area_name": ["A", "B", "C", "D", "E"],
            "is_spoke": [True, True, True, True, False],
            "service_id": ["S01", "S01", "S02", "S03", NA],
            "spoke_id": ["S01-1", "S01-2", "S02-1", "S03-1", NA],
            "host_agency": ["police", "multi_agency", "multi_agency", "health", NA],
            "spoke_workers": [1, 1, 2, 1, 0],
            "spoke_start_month": [
                _month("2014-01"),
                _month("2015-03"),
                _month("2015-01"),
                _month("2016-02"),
                pd.NaT,
            ],
            "cohort_quarter": [7, 11, 10, 15, 0],
        }
    )
    funding = pd.DataFrame(
        [
            ("S01", "S01-1", "2013-14", "programme", False, False),
            ("S01", "S01-1", "2014-15", "programme", False, False),
            ("S01", "S01-2", "2014-15", "programme", False, False),
            ("S01", "S01-1", "2014-15", "local_authority", True, False),
            # superseded: must not turn S01 2015-16 into a value
            ("S01", "S01-1", "2015-16", "local_authority", True, True),
            ("S02", "S02-1", "2014-15", "programme", False, False),
            ("S02", "S02-1", "2015-16", "programme", False, False),
            ("S02", "S02-1", "2015-16", "health_trust", True, False),
            ("S03", "S03-1", "2015-16", "programme", False, False),
        ],
        columns=[
            "service_id",
            "spoke_id",
            "evaluation_year",
            "funding_source",
            "beyond_programme",
            "superseded",
        ],
    ).assign(funded_until_month=_month("2016-12"))
    outs = {"training_sessions", "professionals_trained", "multi_agency_meetings"}

    def o(ts: int, pt: int, mam: int) -> dict[str, int]:
        return dict(zip(sorted(outs), (mam, pt, ts), strict=True))

    specs = [
        # S01 2013-14: v1 superseded (absurd numbers), v2 used.
        {
            "id": "R01",
            "service": "S01",
            "period": "2013-14",
            "superseded": True,
            "referrals": {"police": 99},
            "counts": {"new": 99, "open": 99, "closed": 99},
            "outputs": o(99, 99, 99),
        },
        {
            "id": "R02",
            "service": "S01",
            "period": "2013-14",
            "referrals": {"police": 4, "childrens_social_care": 6, "education": 2},
            "counts": {"new": 10, "open": 12, "closed": 3},
            "outputs": o(5, 60, 8),
        },
        # S01 2014-15: nothing. S01 2015-16:
        {
            "id": "R03",
            "service": "S01",
            "period": "2015-16",
            "referrals": {"police": 5, "health": 3, "childrens_social_care": 12},
            "counts": {"new": 15, "open": 25, "closed": 11},
            "outputs": o(10, 150, 12),
        },
    ]
    # S02 2014-15 Q2-Q4 (no `open` reported)
    for k, q in enumerate(("Q2", "Q3", "Q4")):
        specs.append(
            {
                "id": f"R0{4 + k}",
                "service": "S02",
                "period": f"2014-15 {q}",
                "referrals": {"childrens_social_care": 3 + k, "police": 1},
                "counts": {"new": 3 + k, "closed": k},
                "outputs": o(1 + k, 10 * (k + 1), 2),
            }
        )
    # S02 2015-16 Q1, Q2, Q4 (Q3 missing)
    for k, q in enumerate(("Q1", "Q2", "Q4")):
        specs.append(
            {
                "id": f"R0{7 + k}",
                "service": "S02",
                "period": f"2015-16 {q}",
                "referrals": {"childrens_social_care": 6 + k, "police": 2},
                "counts": {"new": 6 + k, "open": (10, 12, 15)[k], "closed": (4, 5, 5)[k]},
                "outputs": o(2, 20 + 5 * k, 3),
            }
        )
    # S03 2015-16 Q2-Q4: zero referrals; only training sessions among outputs
    for k, q in enumerate(("Q2", "Q3", "Q4")):
        specs.append(
            {
                "id": f"R1{k}",
                "service": "S03",
                "period": f"2015-16 {q}",
                "referrals": {"childrens_social_care": 0, "health": 0},
                "counts": {"new": 2, "open": (2, 3, 4)[k], "closed": (0, 1, 1)[k]},
                "outputs": {"training_sessions": 1},
            }
        )
    block = _returns_block(specs)

    case_cols = ["person_key", "service_id", "period", "evaluation_year", "referral_reason"]
    cases = pd.DataFrame(
        [
            ("P1", "S01", "2013-14", "2013-14", "cse"),
            ("P2", "S01", "2013-14", "2013-14", "cse"),
            ("P6", "S01", "2013-14", "2013-14", "going_missing"),
            ("C1", "S02", "2014-15 Q2", "2014-15", "other"),
            ("C1", "S02", "2014-15 Q4", "2014-15", "cse"),  # latest extract wins
            ("C2", "S02", "2014-15 Q3", "2014-15", "criminal_exploitation"),
            ("C3", "S02", "2014-15 Q4", "2014-15", NA),
            ("C1", "S02", "2015-16 Q1", "2015-16", "cse"),
            ("C4", "S02", "2015-16 Q2", "2015-16", "cse"),
            ("D1", "S03", "2015-16 Q2", "2015-16", NA),
        ],
        columns=case_cols,
    ).assign(received_date=pd.Timestamp("2016-10-01"))
    # risk at referral: C1 and C4 high, C2 low, C3 not recorded (S02 2015-16: C1, C4 high)
    cases["risk_at_referral"] = cases["person_key"].map(
        {
            "P1": "high",
            "P2": "low",
            "P6": "medium",
            "C1": "high",
            "C2": "low",
            "C4": "high",
            "D1": "medium",
        }  # fmt: skip
    )
    posts = pd.DataFrame(
        [
            # post, service, start, end, share of time on CSE work
            ("S01-1-P1", "S01", "2014-01", "2016-12", 0.9),  # left when the grant ended
            ("S01-1-P2", "S01", "2014-06", None, 0.8),  # still filled: sustained
            ("S01-2-P1", "S01", "2015-03", "2016-10", 0.6),  # left before the grant ended
            ("S02-1-P1", "S02", "2015-01", None, 0.9),
            ("S02-1-P2", "S02", None, None, 0.9),  # never filled
            ("S03-1-P1", "S03", "2016-02", None, 0.7),
        ],
        columns=["post_id", "service_id", "start_month", "end_month", "cse_time_share"],
    )
    for col in ("start_month", "end_month"):
        posts[col] = pd.to_datetime(posts[col].map(lambda m: f"{m}-01" if pd.notna(m) else None))

    ass_cols = ["person_key", "service_id", "period", "assessment_month", "score", "risk_band"]
    ass = pd.DataFrame(
        [
            ("P1", "S01", "2013-14", "2014-03", 0.2, "high", False),
            ("P1", "S01", "2013-14", "2014-06", 0.5, "medium", False),
            ("P2", "S01", "2013-14", "2014-05", 0.3, "high", False),
            ("P2", "S01", "2014-15", "2014-12", 0.6, "low", False),
            ("P3", "S01", "2015-16", "2015-10", 0.4, "medium", False),
            ("Q1", "S02", "2014-15 Q3", "2015-03", 0.4, NA, False),
            ("Q1", "S02", "2014-15 Q4", "2015-06", 0.6, NA, False),
            ("P4", "S02", "2015-16 Q1", "2015-10", 0.5, NA, False),
            ("P4", "S02", "2015-16 Q2", "2016-01", 0.7, NA, False),
            ("P5", "S02", "2015-16 Q1", "2015-11", 0.5, "medium", False),
            ("P5", "S02", "2015-16 Q3", "2016-04", 0.4, "high", False),
            ("P5", "S02", "2015-16 Q4", "2016-05", 0.0, "low", True),  # superseded
        ],
        columns=[*ass_cols, "superseded"],
    )
    ass = ass.assign(
        evaluation_year=ass["period"].str[:7],
        assessment_month=pd.to_datetime(ass["assessment_month"] + "-01"),
        instrument=ass["service_id"].map({"S01": "seraf", "S02": "star5"}),
    )

    tr_rows = [
        ("S01", "2013-14", 2, 4),
        ("S01", "2013-14", 3, 3),
        ("S01", "2013-14", NA, 5),
        ("S01", "2014-15", 1, 3),
        ("S01", "2014-15", 2, 5),
        ("S02", "2015-16 Q1", 3, NA),
        ("S02", "2015-16 Q2", NA, 4),
        *[("S03", "2015-16 Q3", 3, 4)] * 4,
    ]
    training = pd.DataFrame(
        tr_rows, columns=["service_id", "period", "confidence_pre", "confidence_post"]
    )
    training = training.assign(
        evaluation_year=training["period"].str[:7],
        confidence_pre=training["confidence_pre"].astype("Int64"),
        confidence_post=training["confidence_post"].astype("Int64"),
        attendee_agency="police",
    )
    # group sessions: S02 two sessions in 2015-16 Q1 (12 + 30 attending) and one in Q2 (8);
    # S03 none recorded although its returns arrived
    groups = pd.DataFrame(
        [
            ("S02", "2015-16 Q1", "GW1", 12),
            ("S02", "2015-16 Q1", "GW2", 30),
            ("S02", "2015-16 Q2", "GW1", 8),
        ],
        columns=["service_id", "period", "session_id", "attendees"],
    ).assign(evaluation_year="2015-16", received_date=pd.Timestamp("2016-10-01"))
    return {
        "services": services,
        "areas": areas,
        "funding": funding,
        "posts": posts,
        "group_sessions": groups,
        **block,
        "case_periods": cases,
        "assessments": ass,
        "training": training,
    }


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


@pytest.fixture(scope="module")
def ind(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return oc.outcome_indicators(tables, "2015-16")


def get(ind: pd.DataFrame, sid: str, year: str, indicator: str) -> pd.Series:
    sel = ind.loc[
        (ind["service_id"] == sid)
        & (ind["evaluation_year"] == year)
        & (ind["indicator"] == indicator)
    ]
    assert len(sel) == 1, (sid, year, indicator, len(sel))
    return sel.iloc[0]


def value(ind: pd.DataFrame, sid: str, year: str, indicator: str) -> float:
    row = get(ind, sid, year, indicator)
    assert pd.isna(row["reason"]), row["reason"]
    return float(row["value"])


def reason(ind: pd.DataFrame, sid: str, year: str, indicator: str) -> str:
    row = get(ind, sid, year, indicator)
    assert pd.isna(row["value"])
    return str(row["reason"])


# --------------------------------------------------------------------------- shape


def test_columns_and_rows(ind: pd.DataFrame) -> None:
    assert tuple(ind.columns) == oc.COLUMNS
    # S01 x3 years, S02 x2, S03 x1, S04 x1 -> 7 service-years, every indicator once.
    pairs = ind[["service_id", "evaluation_year"]].drop_duplicates()
    assert sorted(map(tuple, pairs.to_numpy())) == [
        ("S01", "2013-14"),
        ("S01", "2014-15"),
        ("S01", "2015-16"),
        ("S02", "2014-15"),
        ("S02", "2015-16"),
        ("S03", "2015-16"),
        ("S04", "2015-16"),
    ]
    assert len(ind) == 7 * len(oc.INDICATORS)
    assert set(ind["outcome"]) == {1, 2, 3, 4, 5, 6}
    assert ind["outcome"].dtype == "int64"
    assert not ind.duplicated(["service_id", "evaluation_year", "indicator"]).any()


def test_value_xor_reason(ind: pd.DataFrame) -> None:
    assert (ind["value"].isna() != ind["reason"].isna()).all()


def test_not_started_services_are_absent(tables: dict[str, pd.DataFrame]) -> None:
    early = oc.outcome_indicators(tables, "2013-14")
    assert set(early["service_id"]) == {"S01"}
    assert set(early["evaluation_year"]) == {"2013-14"}
    mid = oc.outcome_indicators(tables, "2014-15")
    assert set(mid["service_id"]) == {"S01", "S02"}
    assert oc.outcome_indicators(tables, "2012-13").empty


def test_service_ended_before_year_is_absent(tables: dict[str, pd.DataFrame]) -> None:
    t = dict(tables)
    t["services"] = tables["services"].assign(
        funded_until_month=lambda d: d["funded_until_month"].where(
            d["service_id"] != "S01", _month("2015-06")
        )
    )
    assert "S01" not in set(oc.outcome_indicators(t, "2015-16")["service_id"])
    assert "S01" in set(oc.outcome_indicators(t, "2014-15")["service_id"])


def test_deterministic(tables: dict[str, pd.DataFrame], ind: pd.DataFrame) -> None:
    again = oc.outcome_indicators(make_tables(), "2015-16")
    pd.testing.assert_frame_equal(ind, again)


# --------------------------------------------------------------------------- outcome 1


def test_funding_share(ind: pd.DataFrame) -> None:
    assert value(ind, "S01", "2013-14", "funded_beyond_programme_share") == 0.0
    row = get(ind, "S01", "2014-15", "funded_beyond_programme_share")
    assert (row["value"], row["numerator"], row["denominator"]) == (0.5, 1.0, 2.0)
    assert value(ind, "S02", "2015-16", "funded_beyond_programme_share") == 1.0
    # the only 2015-16 row for S01 is superseded
    assert reason(ind, "S01", "2015-16", "funded_beyond_programme_share") == oc.R_NO_FUNDING
    assert reason(ind, "S04", "2015-16", "funded_beyond_programme_share") == oc.R_NO_FUNDING


# --------------------------------------------------------------------------- outcome 2


def test_host_referral_share(ind: pd.DataFrame) -> None:
    # 2013-14: only the police-hosted spoke is in post: 4 police of 12 (superseded 99 ignored)
    row = get(ind, "S01", "2013-14", "host_agency_referral_share")
    assert (row["numerator"], row["denominator"]) == (4.0, 12.0)
    assert row["value"] == pytest.approx(4 / 12)
    # 2015-16: police host + multi-agency host (a MASH records its referrals as children's
    # social care): 5 police + 12 CSC of 20, with a note that this overstates
    row = get(ind, "S01", "2015-16", "host_agency_referral_share")
    assert (row["numerator"], row["denominator"]) == (17.0, 20.0)
    assert "multi-agency" in row["note"] and "overstates" in row["note"]
    row = get(ind, "S02", "2015-16", "host_agency_referral_share")
    assert (row["numerator"], row["denominator"]) == (6.0 + 7 + 8, 27.0)
    assert reason(ind, "S03", "2015-16", "host_agency_referral_share") == oc.R_NO_REFERRALS
    assert reason(ind, "S01", "2014-15", "host_agency_referral_share") == oc.R_NO_RETURN
    assert reason(ind, "S04", "2015-16", "host_agency_referral_share") == oc.R_NO_RETURN


def test_host_matching_no_source(tables: dict[str, pd.DataFrame], monkeypatch) -> None:
    monkeypatch.setitem(oc.HOST_TO_REFERRAL_SOURCE, "multi_agency", None)
    ind = oc.outcome_indicators(tables, "2015-16")
    assert reason(ind, "S02", "2015-16", "host_agency_referral_share") == oc.R_NO_HOST_SOURCE
    row = get(ind, "S01", "2015-16", "host_agency_referral_share")
    assert (row["numerator"], row["denominator"]) == (5.0, 20.0)
    assert "understates" in row["note"]


def test_meetings_flow(ind: pd.DataFrame) -> None:
    assert value(ind, "S01", "2013-14", "multi_agency_meetings") == 8
    assert value(ind, "S02", "2014-15", "multi_agency_meetings") == 2 + 2 + 2
    assert reason(ind, "S03", "2015-16", "multi_agency_meetings") == oc.r_not_reported(
        "multi-agency meetings"
    )


# --------------------------------------------------------------------------- outcome 3


def test_cse_share(ind: pd.DataFrame) -> None:
    assert value(ind, "S01", "2013-14", "cse_referral_share") == pytest.approx(2 / 3)
    # C1 latest extract says cse, C2 criminal exploitation, C3 not recorded (left out)
    row = get(ind, "S02", "2014-15", "cse_referral_share")
    assert (row["numerator"], row["denominator"]) == (1.0, 2.0)
    assert "not recorded for 1" in row["note"]
    assert value(ind, "S02", "2015-16", "cse_referral_share") == 1.0
    assert reason(ind, "S03", "2015-16", "cse_referral_share") == oc.R_NO_REASON_RECORDED
    assert reason(ind, "S01", "2015-16", "cse_referral_share") == oc.R_NO_EXTRACT


# --------------------------------------------------------------------------- outcome 4


def test_workforce_indicators(tables: dict[str, pd.DataFrame], ind: pd.DataFrame) -> None:
    def get(frame: pd.DataFrame, sid: str, indicator: str) -> pd.Series:
        sel = frame.loc[(frame["service_id"] == sid) & (frame["indicator"] == indicator)]
        return sel.loc[sel["evaluation_year"] == sel["evaluation_year"].max()].iloc[0]

    # posts filled in 2015-16: S01 all three, S02 one (the other never filled), S03 one
    assert get(ind, "S01", "spoke_posts_filled")["value"] == 3
    assert get(ind, "S02", "spoke_posts_filled")["value"] == 1
    assert get(ind, "S04", "spoke_posts_filled")["reason"] == oc.R_NO_POSTS
    # at least three quarters of the time on CSE work: S01 two of three (0.9, 0.8; not 0.6)
    row = get(ind, "S01", "cse_focused_posts_share")
    assert (row["numerator"], row["denominator"]) == (2, 3)
    assert get(ind, "S03", "cse_focused_posts_share")["value"] == 0
    # high risk at referral on the caseload: S02 2015-16 is C1 and C4, both high
    row = get(ind, "S02", "high_risk_caseload_share")
    assert (row["numerator"], row["denominator"]) == (2, 2)
    # no grant had ended by August 2016
    assert get(ind, "S01", "posts_sustained_share")["reason"] == oc.R_GRANT_NOT_ENDED
    # by August 2017 S01's grant (to December 2016) had ended: of its three posts filled by
    # then, only S01-1-P2 was still filled after it
    later = oc.outcome_indicators(tables, "2016-17")
    row = get(later, "S01", "posts_sustained_share")
    assert (row["numerator"], row["denominator"]) == (1, 3)


def test_group_reach(ind: pd.DataFrame) -> None:
    this = ind.loc[ind["evaluation_year"] == "2015-16"].set_index(["service_id", "indicator"])
    assert this.loc[("S02", "group_sessions"), "value"] == 3  # GW1 twice: two periods
    assert this.loc[("S02", "group_attendees"), "value"] == 12 + 30 + 8
    assert "2 of the 3 periods" in this.loc[("S02", "group_attendees"), "note"]
    # returns arrived but no session record: a reason, never an assumed zero
    assert this.loc[("S03", "group_attendees"), "reason"] == oc.R_NO_GROUP_RECORDS
    assert this.loc[("S04", "group_attendees"), "reason"] == oc.R_NO_RETURN


def test_annual_counts(ind: pd.DataFrame) -> None:
    assert value(ind, "S01", "2013-14", "referrals") == 12
    # annual: `open` (open at any time in the year) is the number supported
    assert value(ind, "S01", "2013-14", "young_people_supported") == 12
    assert value(ind, "S01", "2015-16", "young_people_supported") == 25


def test_quarterly_flows_summed_stocks_not(ind: pd.DataFrame) -> None:
    # referrals are a flow: summed over the three quarters received
    assert value(ind, "S02", "2015-16", "referrals") == (6 + 2) + (7 + 2) + (8 + 2)
    # open is a stock, not summed (10+12+15): open in Q1 plus new in the later quarters
    row = get(ind, "S02", "2015-16", "young_people_supported")
    assert row["value"] == 10 + 7 + 8
    assert row["source"] == "young_people_counts"
    assert "3 of 4 expected returns" in row["note"] and "2015-16 Q3" in row["note"]
    assert value(ind, "S02", "2015-16", "professionals_trained") == 20 + 25 + 30
    assert value(ind, "S02", "2015-16", "training_sessions") == 6
    assert value(ind, "S03", "2015-16", "young_people_supported") == 2 + 2 + 2


def test_open_measure_end_of_period(tables: dict[str, pd.DataFrame], monkeypatch) -> None:
    from analysis.analyse.outcomes import measures

    monkeypatch.setattr(measures, "OPEN_MEASURE_MEANS", "end_of_period")
    ind = oc.outcome_indicators(tables, "2015-16")
    # open at the end of the last quarter (15) + closed over the year (4 + 5 + 5)
    assert value(ind, "S02", "2015-16", "young_people_supported") == 15 + 4 + 5 + 5


def test_supported_fallbacks(ind: pd.DataFrame) -> None:
    row = get(ind, "S02", "2014-15", "young_people_supported")  # returns lack `open`
    assert row["value"] == 3 and row["source"] == "case_periods"
    assert reason(ind, "S01", "2014-15", "young_people_supported") == oc.R_NO_RETURN_OR_EXTRACT
    assert reason(ind, "S04", "2015-16", "young_people_supported") == oc.R_NO_RETURN_OR_EXTRACT


def test_changes(ind: pd.DataFrame) -> None:
    assert value(ind, "S02", "2015-16", "young_people_supported_change") == 25 - 3
    assert reason(ind, "S01", "2013-14", "young_people_supported_change") == oc.R_FIRST_YEAR
    assert reason(ind, "S04", "2015-16", "young_people_supported_change") == oc.R_FIRST_YEAR
    assert reason(ind, "S01", "2015-16", "young_people_supported_change").startswith(
        oc.R_NO_PREVIOUS
    )
    assert reason(ind, "S01", "2014-15", "young_people_supported_change").startswith(
        "no figure for this year"
    )
    assert value(ind, "S01", "2013-14", "spoke_areas_reached") == 1
    assert value(ind, "S01", "2014-15", "spoke_areas_reached") == 2
    assert value(ind, "S01", "2014-15", "spoke_areas_reached_change") == 1
    assert value(ind, "S01", "2015-16", "spoke_areas_reached_change") == 0
    assert reason(ind, "S04", "2015-16", "spoke_areas_reached") == oc.R_NO_SPOKE_AREAS


# --------------------------------------------------------------------------- outcome 5


def test_training(ind: pd.DataFrame) -> None:
    row = get(ind, "S01", "2013-14", "confidence_change_mean")
    assert (row["value"], row["numerator"], row["denominator"]) == (1.0, 2.0, 2.0)
    assert "1 of 3" in row["note"]
    row = get(ind, "S01", "2014-15", "professionals_trained")  # no return: feedback forms
    assert row["value"] == 2 and row["source"] == "training"
    assert value(ind, "S01", "2014-15", "confidence_change_mean") == 2.5
    row = get(ind, "S03", "2015-16", "professionals_trained")  # return lacks it: forms
    assert row["value"] == 4 and row["source"] == "training"
    assert reason(ind, "S02", "2015-16", "confidence_change_mean") == oc.R_NO_CONFIDENCE_PAIRS
    assert reason(ind, "S01", "2015-16", "confidence_change_mean") == oc.R_NO_TRAINING
    assert reason(ind, "S04", "2015-16", "professionals_trained") == oc.R_NO_RETURN_OR_TRAINING
    assert reason(ind, "S01", "2014-15", "training_sessions") == oc.R_NO_RETURN


# --------------------------------------------------------------------------- outcome 6


def test_outcome_change(ind: pd.DataFrame) -> None:
    assert value(ind, "S01", "2013-14", "assessed_young_people") == 2
    assert value(ind, "S01", "2013-14", "two_plus_assessments") == 1
    row = get(ind, "S01", "2013-14", "outcome_score_change_mean")
    assert row["value"] == pytest.approx(0.3) and row["denominator"] == 1
    assert "1 of 2 eligible" in row["note"]
    assert value(ind, "S01", "2013-14", "risk_band_improved_share") == 1.0
    # 2014-15: P2 first assessed in 2013-14 (0.3, high), latest 2014-12 (0.6, low)
    assert value(ind, "S01", "2014-15", "outcome_score_change_mean") == pytest.approx(0.3)
    assert value(ind, "S01", "2014-15", "risk_band_improved_share") == 1.0
    # 2015-16: one young person, one assessment
    assert value(ind, "S01", "2015-16", "two_plus_assessments") == 0
    assert reason(ind, "S01", "2015-16", "outcome_score_change_mean") == oc.R_FEWER_THAN_TWO
    assert reason(ind, "S01", "2015-16", "risk_band_worsened_share") == oc.R_FEWER_THAN_TWO
    # S02 2015-16: P4 +0.2, P5 -0.1 (superseded 0.0/low ignored) -> mean 0.05
    row = get(ind, "S02", "2015-16", "outcome_score_change_mean")
    assert row["value"] == pytest.approx(0.05) and row["denominator"] == 2
    assert value(ind, "S02", "2015-16", "risk_band_worsened_share") == 1.0
    assert value(ind, "S02", "2015-16", "risk_band_improved_share") == 0.0
    assert value(ind, "S02", "2014-15", "outcome_score_change_mean") == pytest.approx(0.2)
    assert reason(ind, "S02", "2014-15", "risk_band_unchanged_share") == oc.R_NO_BANDS
    assert reason(ind, "S03", "2015-16", "outcome_score_change_mean") == oc.R_NO_MEASURE
    assert reason(ind, "S03", "2015-16", "assessed_young_people") == oc.R_NO_MEASURE
    assert reason(ind, "S04", "2015-16", "outcome_score_change_mean") == oc.R_NO_ASSESSMENTS


def test_every_reason_path_exercised(ind: pd.DataFrame) -> None:
    reasons = set(ind["reason"].dropna())
    expected = {
        oc.R_NO_RETURN,
        oc.R_NO_RETURN_OR_EXTRACT,
        oc.R_NO_RETURN_OR_TRAINING,
        oc.R_NO_EXTRACT,
        oc.R_NO_REASON_RECORDED,
        oc.R_NO_MEASURE,
        oc.R_NO_ASSESSMENTS,
        oc.R_FEWER_THAN_TWO,
        oc.R_NO_BANDS,
        oc.R_FIRST_YEAR,
        oc.R_NO_FUNDING,
        oc.R_NO_SPOKE_AREAS,
        oc.R_NO_REFERRALS,
        oc.R_NO_TRAINING,
        oc.R_NO_CONFIDENCE_PAIRS,
        oc.R_NO_POSTS,
        oc.R_GRANT_NOT_ENDED,
        oc.R_NO_GROUP_RECORDS,
        oc.r_not_reported("multi-agency meetings"),
    }
    assert expected <= reasons
    assert any(r.startswith(oc.R_NO_PREVIOUS) for r in reasons)


# --------------------------------------------------------------------------- superseded


def _without_superseded(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {
        k: (v.loc[~v["superseded"].astype(bool)] if "superseded" in v.columns else v)
        for k, v in tables.items()
    }


def test_superseded_rows_ignored(tables: dict[str, pd.DataFrame], ind: pd.DataFrame) -> None:
    clean = oc.outcome_indicators(_without_superseded(tables), "2015-16")
    pd.testing.assert_frame_equal(ind, clean)


def test_unmarked_duplicate_return_uses_latest(tables: dict[str, pd.DataFrame]) -> None:
    t = {k: v.copy() for k, v in tables.items()}
    for name in ("returns", "referrals", "young_people_counts", "outputs"):
        t[name]["superseded"] = False  # R01 (received earlier) no longer marked
    t["returns"].loc[t["returns"]["return_id"] == "R01", "received_date"] = pd.Timestamp(
        "2014-09-30"
    )
    for name in ("referrals", "young_people_counts", "outputs"):
        t[name].loc[t[name]["return_id"] == "R01", "received_date"] = pd.Timestamp("2014-09-30")
    ind = oc.outcome_indicators(t, "2013-14")
    row = get(ind, "S01", "2013-14", "referrals")
    assert row["value"] == 12 and "latest received" in row["note"]


# --------------------------------------------------------------------------- bad input


def test_missing_table_named(tables: dict[str, pd.DataFrame]) -> None:
    t = dict(tables)
    del t["training"]
    with pytest.raises(ValueError, match="'training'"):
        oc.outcome_indicators(t, "2015-16")


def test_missing_column_named(tables: dict[str, pd.DataFrame]) -> None:
    t = dict(tables)
    t["assessments"] = tables["assessments"].drop(columns="risk_band")
    with pytest.raises(ValueError, match="'assessments' lacks column.*risk_band"):
        oc.outcome_indicators(t, "2015-16")


def test_service_without_start_named(tables: dict[str, pd.DataFrame]) -> None:
    t = dict(tables)
    t["services"] = tables["services"].assign(
        start_month=lambda d: d["start_month"].where(d["service_id"] != "S03", pd.NaT)
    )
    with pytest.raises(ValueError, match="no start_month for S03"):
        oc.outcome_indicators(t, "2015-16")


def test_empty_programme_table() -> None:
    prog = oc.programme_indicators(oc.outcome_indicators(make_tables(), "2012-13"))
    assert prog.empty and tuple(prog.columns) == oc.PROGRAMME_COLUMNS


def test_bad_year(tables: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="evaluation year"):
        oc.outcome_indicators(tables, "2015/16")


# --------------------------------------------------------------------------- programme


def test_programme_indicators(ind: pd.DataFrame) -> None:
    prog = oc.programme_indicators(ind)
    assert tuple(prog.columns) == oc.PROGRAMME_COLUMNS
    p = prog.set_index(["evaluation_year", "indicator"])
    # referrals 2015-16: S01 20 + S02 27 + S03 0; S04 gave a reason
    r = p.loc[("2015-16", "referrals")]
    assert r["value"] == 47 and r["services_with_value"] == 3 and r["services_with_reason"] == 1
    # share = summed numerators / summed denominators (S01 17/20, S02 21/27; S03, S04 reasons)
    h = p.loc[("2015-16", "host_agency_referral_share")]
    assert (h["numerator"], h["denominator"]) == (38.0, 47.0)
    assert h["value"] == pytest.approx(38 / 47)
    assert h["services_with_value"] == 2 and h["services_with_reason"] == 2
    # mean weighted by people: S02 only in 2015-16 (S01 fewer than two)
    m = p.loc[("2015-16", "outcome_score_change_mean")]
    assert m["value"] == pytest.approx(0.05) and m["denominator"] == 2
    # 2014-15 mean over S01 (0.3, n=1) and S02 (0.2, n=1)
    assert p.loc[("2014-15", "outcome_score_change_mean"), "value"] == pytest.approx(0.25)
    assert (
        (p["services_with_value"] + p["services_with_reason"])
        .groupby(level=0)
        .nunique()
        .eq(1)
        .all()
    )


def test_headline_figures(tables: dict[str, pd.DataFrame]) -> None:
    h = oc.headline_figures(tables, "2015-16")
    assert json.loads(json.dumps(h, sort_keys=True)) == h
    assert h["services_active"] == 4
    assert h["returns_expected"] == 1 + 4 + 3 + 3
    assert h["returns_received"] == 1 + 3 + 3
    assert h["referrals"] == 47 and isinstance(h["referrals"], int)
    assert h["young_people_supported"] == 25 + 25 + 6
    assert h["professionals_trained"] == 150 + 75 + 4
    assert h["spoke_areas_reached"] == 2 + 1 + 1
    assert h["mean_outcome_change"] == 0.05
    assert h["outcome_people_used"] == 2
    assert h == oc.headline_figures(make_tables(), "2015-16")
    ind = oc.outcome_indicators(tables, "2015-16")
    assert h == oc.headline_figures(tables, "2015-16", indicators=ind)
    for v in h.values():
        assert isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))
        assert not isinstance(v, bool)
    assert oc.headline_figures(tables, "2012-13") == {
        "services_active": 0,
        "returns_expected": 0,
        "returns_received": 0,
    }


# --------------------------------------------------------------------------- invariants

SOURCES = ("childrens_social_care", "police", "education", "health", "other")
HOSTS = ("police", "childrens_social_care", "health", "multi_agency")


@st.composite
def random_tables(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    """A random one- or two-service programme over 2014-15 and 2015-16."""
    n_services = draw(st.integers(1, 2))
    svc, areas, specs, cases, ass, tr, fund = [], [], [], [], [], [], []
    small = st.integers(0, 30)
    maybe = st.one_of(st.none(), small)
    rid = 0
    for s in range(n_services):
        sid = f"S0{s + 1}"
        quarterly = draw(st.booleans())
        svc.append((sid, _month("2014-10"), quarterly, draw(st.sampled_from(["seraf", "none"]))))
        for k in range(draw(st.integers(0, 2))):
            areas.append(
                (f"LA{s}{k}", sid, f"{sid}-{k}", draw(st.sampled_from(HOSTS)), _month("2014-10"))
            )
            for y in ("2014-15", "2015-16"):
                if draw(st.booleans()):
                    fund.append((sid, f"{sid}-{k}", y, draw(st.sampled_from([True, False, NA]))))
        for y in ("2014-15", "2015-16"):
            periods = [f"{y} Q{q}" for q in range(1, 5)] if quarterly else [y]
            for p in periods:
                if not draw(st.booleans()):
                    continue
                rid += 1
                refs = {src: draw(maybe) for src in draw(st.sets(st.sampled_from(SOURCES)))}
                counts = {m: draw(maybe) for m in draw(st.sets(st.sampled_from(["new", "open"])))}
                specs.append(
                    {
                        "id": f"R{rid}",
                        "service": sid,
                        "period": p,
                        "superseded": draw(st.booleans()),
                        "referrals": refs,
                        "counts": counts | {"closed": draw(maybe)},
                        "outputs": {"professionals_trained": draw(maybe)},
                    }
                )
                for person in range(draw(st.integers(0, 3))):
                    reason_ = draw(st.sampled_from(["cse", "other", NA]))
                    cases.append((f"{sid}p{person}", sid, p, y, reason_))
                for person in range(draw(st.integers(0, 3))):
                    band = draw(st.sampled_from(["low", "medium", "high", NA]))
                    score = draw(st.one_of(st.none(), st.floats(0, 1)))
                    month = _month("2015-01" if y == "2014-15" else "2016-01")
                    ass.append((f"{sid}p{person}", sid, p, y, month, score, band))
                for _ in range(draw(st.integers(0, 2))):
                    tr.append((sid, p, y, draw(st.integers(1, 5)), draw(st.integers(1, 5))))
    services = pd.DataFrame(
        svc, columns=["service_id", "start_month", "quarterly", "instrument"]
    ).assign(funded_until_month=_month("2017-12"))
    services["reporting"] = services.pop("quarterly").map({True: "quarterly", False: "annual"})
    area_cols = ["area_code", "service_id", "spoke_id", "host_agency", "spoke_start_month"]
    block = (
        _returns_block(specs)
        if specs
        else _returns_block([{"id": "X", "service": "S99", "period": "2014-15"}])
    )
    return {
        "services": services,
        "areas": pd.DataFrame(areas, columns=area_cols).assign(is_spoke=True),
        "funding": pd.DataFrame(
            fund, columns=["service_id", "spoke_id", "evaluation_year", "beyond_programme"]
        ),
        **block,
        "case_periods": pd.DataFrame(
            cases,
            columns=["person_key", "service_id", "period", "evaluation_year", "referral_reason"],
        ).assign(risk_at_referral="high"),
        "group_sessions": pd.DataFrame(
            columns=["service_id", "period", "evaluation_year", "session_id", "attendees"]
        ),
        "posts": pd.DataFrame(
            {
                "post_id": pd.Series([], dtype="str"),
                "service_id": pd.Series([], dtype="str"),
                "start_month": pd.Series([], dtype="datetime64[ns]"),
                "end_month": pd.Series([], dtype="datetime64[ns]"),
                "cse_time_share": pd.Series([], dtype="float64"),
            }
        ),
        "assessments": pd.DataFrame(
            ass,
            columns=[
                "person_key",
                "service_id",
                "period",
                "evaluation_year",
                "assessment_month",
                "score",
                "risk_band",
            ],
        ),
        "training": pd.DataFrame(
            tr,
            columns=[
                "service_id",
                "period",
                "evaluation_year",
                "confidence_pre",
                "confidence_post",
            ],
        ),
    }


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tables())
def test_invariants(tables: dict[str, pd.DataFrame]) -> None:
    ind = oc.outcome_indicators(tables, "2015-16")
    assert (ind["value"].isna() != ind["reason"].isna()).all()
    shares = ind.loc[(ind["unit"] == oc.SHARE) & ind["value"].notna()]
    assert shares["value"].between(0, 1).all()
    assert (shares["numerator"] <= shares["denominator"]).all()
    assert (shares["numerator"] >= 0).all()
    ratios = ind.loc[ind["unit"].isin(oc.RATIO_UNITS) & ind["value"].notna()]
    assert (ratios["denominator"] > 0).all()
    diff = (ratios["value"] - ratios["numerator"] / ratios["denominator"]).abs()
    assert (diff < 1e-12).all()
    counts = ind.loc[(ind["unit"] == oc.COUNT) & ind["value"].notna()]
    assert (counts["value"] >= 0).all()
    # the three risk-band shares of one service-year add up to 1
    bands = ind.loc[ind["indicator"].str.startswith("risk_band") & ind["value"].notna()]
    sums = bands.groupby(["service_id", "evaluation_year"])["value"].sum()
    assert ((sums - 1).abs() < 1e-9).all()
    # eligible >= used
    e = ind.loc[ind["indicator"] == "assessed_young_people"].set_index("service_id")["value"]
    u = ind.loc[ind["indicator"] == "two_plus_assessments"].set_index("service_id")["value"]
    assert ((e.fillna(0) - u.fillna(0)) >= 0).all()
    # flows are the plain sum of the current returns' cells (annual or quarterly alike)
    ref = _without_superseded(tables)["referrals"].dropna(subset=["referrals"])
    sums = ref.groupby(["service_id", "evaluation_year"])["referrals"].sum()
    got = ind.loc[(ind["indicator"] == "referrals") & ind["value"].notna()]
    for r in got.itertuples(index=False):
        assert r.value == sums.get((r.service_id, r.evaluation_year), 0)
    # superseded rows never matter
    clean = oc.outcome_indicators(_without_superseded(tables), "2015-16")
    pd.testing.assert_frame_equal(ind, clean)
    prog = oc.programme_indicators(ind)
    pshares = prog.loc[(prog["unit"] == oc.SHARE) & prog["value"].notna(), "value"]
    assert pshares.between(0, 1).all()
    assert (prog["services_with_value"] + prog["services_with_reason"] > 0).all()
