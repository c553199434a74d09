"""Vintages: what each year's report may see (periods to 31 August, data by the cut-off)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.analyse.vintage import revised_cells, revised_flags, tables_as_of
from analysis.clean.pipeline import clean_returns
from analysis.core.io import load_tables
from analysis.core.paths import TESTS_DIR

MINIMAL = TESTS_DIR / "data" / "minimal"


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("vintage") / "out"
    clean_returns(MINIMAL, out)
    return load_tables(out)


def _current(t: dict[str, pd.DataFrame]) -> set[str]:
    r = t["returns"]
    return set(r.loc[~r["superseded"], "return_id"])


def test_before_resubmission(tables: dict[str, pd.DataFrame]) -> None:
    v = tables_as_of(tables, "2015-16", date(2016, 10, 31))
    assert _current(v) == {"S01_2014-15_v1", "S01_2015-16_v1", "S02_2015-16Q2_v1"}
    assert "S01_2015-16_v2" not in set(v["returns"]["return_id"])
    assert not v["young_people_counts"]["superseded"].any()


def test_after_resubmission(tables: dict[str, pd.DataFrame]) -> None:
    v = tables_as_of(tables, "2015-16", date(2017, 1, 31))
    assert _current(v) == {"S01_2014-15_v1", "S01_2015-16_v2", "S02_2015-16Q2_v1"}
    sup = v["referrals"].loc[v["referrals"]["return_id"] == "S01_2015-16_v1", "superseded"]
    assert len(sup) and sup.all()


def test_earlier_year_sees_only_its_periods(tables: dict[str, pd.DataFrame]) -> None:
    v = tables_as_of(tables, "2014-15", date(2015, 10, 31))
    assert set(v["returns"]["period"]) == {"2014-15"}
    assert set(v["case_periods"]["period"]) == {"2014-15"}
    assert v["assessments"].empty and v["training"].empty
    yp = v["young_people"]
    assert len(yp) == 4 and set(yp["last_period"]) == {"2014-15"}
    # the planted person closed in 2016: not yet known to the 2014-15 vintage
    full = tables["young_people"].set_index("person_key")
    pk = full.index[full["closure_month"] == pd.Timestamp("2016-02-01")][0]
    assert pd.isna(yp.set_index("person_key").loc[pk, "closure_month"])
    assert set(v["completeness"]["period"]) == {"2014-15"}
    assert set(v["periods"]["evaluation_year"]) == {"2013-14", "2014-15"}


def test_cutoff_excludes_late_files(tables: dict[str, pd.DataFrame]) -> None:
    v = tables_as_of(tables, "2014-15", date(2015, 10, 1))  # S01 2014-15 arrived 15 Oct
    assert v["returns"].empty and v["case_periods"].empty and v["young_people"].empty


def test_pure(tables: dict[str, pd.DataFrame]) -> None:
    before = {k: t.copy() for k, t in tables.items()}
    tables_as_of(tables, "2015-16", date(2016, 10, 31))
    for k, t in tables.items():
        pd.testing.assert_frame_equal(t, before[k])


def test_revised_cells(tables: dict[str, pd.DataFrame]) -> None:
    early = tables_as_of(tables, "2015-16", date(2016, 10, 31))
    late = tables_as_of(tables, "2015-16", date(2017, 1, 31))

    def closed(v: dict[str, pd.DataFrame]) -> pd.DataFrame:
        y = v["young_people_counts"]
        return y[~y["superseded"]][["service_id", "period", "measure", "young_people"]]

    rev = revised_cells(closed(early), closed(late), ["service_id", "period", "measure"],
                        "young_people")  # fmt: skip
    assert rev[["service_id", "period", "measure"]].values.tolist() == [
        ["S01", "2015-16", "closed"]
    ]
    assert (rev["earlier"].iloc[0], rev["later"].iloc[0]) == (1, 2)
    flags = revised_flags(closed(early), closed(late), ["service_id", "period", "measure"],
                          "young_people")  # fmt: skip
    assert flags.sum() == 1


def test_revised_cells_missing_values() -> None:
    a = pd.DataFrame({"k": [1, 2, 3], "v": pd.array([1, None, None], dtype="Int64")})
    b = pd.DataFrame({"k": [1, 2, 3, 4], "v": pd.array([1, 5, None, 9], dtype="Int64")})
    assert revised_cells(a, b, ["k"], "v")["k"].tolist() == [2]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(days=st.integers(0, 900))
def test_one_current_version_per_period(tables: dict[str, pd.DataFrame], days: int) -> None:
    cutoff = date(2015, 1, 1) + timedelta(days=days)
    v = tables_as_of(tables, "2016-17", cutoff)
    r = v["returns"]
    assert (r["received_date"] <= pd.Timestamp(cutoff)).all()
    cur = r[~r["superseded"]]
    assert not cur.duplicated(["service_id", "period"]).any()
    assert set(cur[["service_id", "period"]].itertuples(index=False)) == set(
        r[["service_id", "period"]].itertuples(index=False)
    )
