"""National context from DfE children-in-need statistics (issue 7).

Uses the real published files copied into data/external/dfe_children_in_need (their
provenance and checksums are in data/external/README.md); small hand-made frames test the
parsing, harmonisation and funnel rules in isolation.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import national
from analysis.publish import disclosure, figures

CSE = national.CSE


@pytest.fixture(scope="module")
def data() -> national.NationalData:
    return national.load_national_data()


# -- checksums ---------------------------------------------------------------------------


def test_source_files_match_their_recorded_checksums():
    found = national.verify_sources()
    assert found == dict(national.SOURCES)


def test_checksums_are_recorded_in_the_external_readme():
    readme = (national.SOURCE_DIR.parent / "README.md").read_text("utf-8")
    for name, digest in national.SOURCES.items():
        assert name in readme and digest in readme


def test_a_changed_source_file_is_named(tmp_path: Path):
    for name in national.SOURCES:
        shutil.copy(national.SOURCE_DIR / name, tmp_path / name)
    target = tmp_path / national.FACTORS_FILE
    target.write_bytes(target.read_bytes() + b"\n")
    with pytest.raises(national.NationalDataError, match=national.FACTORS_FILE):
        national.verify_sources(tmp_path)
    (tmp_path / national.POPULATION_FILE).unlink()
    with pytest.raises(national.NationalDataError, match="missing"):
        national.verify_sources(tmp_path)


# -- symbols -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("c", "c"),
        ("x", "x"),
        ("z", "z"),
        ("u", "u"),
        ("k", "k"),
        ("[c]", "c"),
        ("[x]", "x"),
        ("[z]", "z"),
        ("[u]", "u"),
        ("[k]", "k"),
        (" C ", "c"),
        ("..", "other"),
        (":", "other"),
        ("-", "other"),
        ("n/a", "other"),
        ("", "x"),
        (None, "x"),
    ],
)
def test_symbols_give_a_status_and_never_a_number(text, status):
    value, got = national.parse_cell(text)
    assert got == status
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0.0), ("12", 12.0), ("1,234", 1234.0), ("22.6", 22.6)]
)
def test_numbers_parse_with_status_ok(text, value):
    assert national.parse_cell(text) == (value, national.STATUS_OK)


@given(st.integers(min_value=0, max_value=10**9))
def test_any_whole_number_round_trips(n):
    assert national.parse_cell(str(n)) == (float(n), national.STATUS_OK)
    assert national.parse_cell(f"{n:,}") == (float(n), national.STATUS_OK)


def test_suppressed_cells_in_the_real_file_are_not_read_as_zero(data):
    f = data.factors
    suppressed = f[f["status"] == "c"]
    assert len(suppressed) > 0
    assert suppressed["value"].isna().all()
    assert set(f["status"]) <= {"ok", "c", "x", "z", "u", "k", "other"}


def test_the_symbol_counts_match_the_published_file():
    frame = pd.read_csv(national.SOURCE_DIR / national.FACTORS_FILE, dtype="str")
    measures = list(frame.columns[11:])
    long = national.read_measures(national.SOURCE_DIR / national.FACTORS_FILE, measures)
    counts = long["status"].value_counts().to_dict()
    assert counts["c"] == 2253 and counts["x"] == 2701 and counts["u"] == 80
    assert counts["z"] == 34
    assert long["value"].notna().sum() == counts["ok"]


# -- rates -------------------------------------------------------------------------------


def test_england_cse_rate_per_10000_is_17_1_in_2018_and_10_2_in_2025(data):
    eng = national.measure_frame(data.factors, CSE, national.NATIONAL).set_index("year")
    assert list(eng.index) == list(range(2018, 2026))
    assert (eng["rate_status"] == "ok").all()  # every year has a denominator
    assert round(eng.loc[2018, "rate"], 1) == 17.1
    assert round(eng.loc[2025, "rate"], 1) == 10.2
    # The rule: the mid-year estimate of the calendar year in which the year begins.
    assert (eng["pop_year"] == eng.index - 1).all()
    assert eng.loc[2018, "population"] == 11_716_740


def test_the_page_table_shows_the_rates_as_published(data):
    table = national.england_rates(data)
    assert isinstance(table, disclosure.DisclosedTable)
    assert table.table.loc["2018", "CSE per 10,000"] == "17.1"
    assert table.table.loc["2025", "CSE per 10,000"] == "10.2"


def test_a_rate_needs_both_numerator_and_denominator():
    frame = pd.DataFrame(
        {
            "value": [10.0, np.nan, 10.0, 10.0, 0.0],
            "status": ["ok", "c", "ok", "ok", "ok"],
            "population": [1000.0, 1000.0, np.nan, 0.0, 500.0],
            "pop_status": ["ok", "ok", "x", "ok", "ok"],
        }
    )
    out = national.add_rate(frame)
    assert out["rate"].iloc[0] == pytest.approx(100.0)
    assert out["rate_status"].tolist() == ["ok", "c", "x", "z", "ok"]
    assert out["rate"].iloc[1:4].isna().all()
    assert out["rate"].iloc[4] == 0.0


def test_share_of_assessments_with_any_factor(data):
    share = national.share_frame(data.factors, CSE, national.NATIONAL).set_index("year")
    assert share.loc[2018, "share"] == pytest.approx(100 * 20000 / 482750)


def test_published_suppression_is_kept_in_la_tables(data):
    cse = national.measure_frame(data.factors, CSE, national.LOCAL)
    table = national.rate_table(
        cse, value="rate", status="rate_status", title="LA rates", columns="area_name"
    )
    hackney = table.table.loc["2021", "Hackney"]
    assert hackney == disclosure.NOT_AVAILABLE
    assert table.table.loc["2024", "Kensington and Chelsea"] == disclosure.CONFIDENTIAL
    assert math.isnan(table.numeric.loc["2024", "Kensington and Chelsea"])


# -- boundary harmonisation --------------------------------------------------------------


def _la(year, code, name, value, status="ok", pop=1000.0):
    return {
        "geographic_level": "Local authority",
        "region_code": "E12000009",
        "region_name": "South West",
        "old_la_code": code,
        "new_la_code": "",
        "la_name": name,
        "area_code": code,
        "area_name": name,
        "year": year,
        "measure": CSE,
        "value": value if status == "ok" else np.nan,
        "status": status,
        "population": pop,
        "pop_status": "ok",
    }


def test_harmonised_units_sum_published_parts_and_never_reveal_a_suppressed_one():
    frame = pd.DataFrame(
        [
            _la(2019, "835", "Dorset", 40),
            _la(2019, "836", "Poole", 20),
            _la(2019, "837", "Bournemouth", 30),
            _la(2020, "838", "Dorset", 35),
            _la(2020, "839", "Bournemouth, Christchurch and Poole", 0, status="c"),
            _la(2020, "800", "Bath", 12),
        ]
    )
    out = national.harmonise_boundaries(frame).set_index(["area_code", "year"])
    unit = "835+836+837+838+839"
    assert out.loc[(unit, 2019), "value"] == 90
    assert out.loc[(unit, 2019), "n_parts"] == 3
    assert out.loc[(unit, 2019), "population"] == 3000
    assert out.loc[(unit, 2020), "status"] == "c"  # a suppressed part: the unit is suppressed
    assert math.isnan(out.loc[(unit, 2020), "value"])
    assert out.loc[("800", 2020), "value"] == 12


def test_the_real_series_is_stable_after_harmonisation(data):
    h = data.factors_harmonised
    assert national.check_stable_units(h).empty
    before = data.factors[data.factors["geographic_level"] == national.LOCAL]
    assert not national.check_stable_units(before).empty  # boundary changes are real
    la = h[(h["geographic_level"] == national.LOCAL) & (h["measure"] == CSE)]
    per_year = la.groupby("year")["area_code"].nunique()
    assert per_year.nunique() == 1 and per_year.iloc[0] == 150
    merged = la[la["area_code"].str.contains("+", regex=False)]
    assert set(merged["area_name"]) == {
        "Bournemouth, Christchurch and Poole, and Dorset",
        "Northamptonshire (North and West Northamptonshire)",
        "Cumbria (Cumberland, and Westmorland and Furness)",
    }
    # Harmonised LA counts add up to the unharmonised ones wherever all parts are published.
    raw = before[before["measure"] == CSE]
    for year in (2019, 2023):
        assert la[la["year"] == year]["value"].sum() == pytest.approx(
            raw[raw["year"] == year]["value"].sum()
        )


# -- models ------------------------------------------------------------------------------


def test_trend_models_fit_and_show_a_falling_rate(data):
    results = national.fit_models(data)
    for result in results.values():
        row = result.term("years_since")
        assert row["rr_ci_upper"] < 1
    table = national.models_table(results)
    assert isinstance(table, disclosure.DisclosedTable)
    assert table.table.loc["England (quasi-Poisson)", "Area-years used"] == "8"


# -- funnel plot -------------------------------------------------------------------------


def _funnel_frame():
    pop = np.array([10_000.0] * 20 + [50_000.0, 50_000.0])
    count = np.array([10.0] * 20 + [200.0, 10.0])  # target ~ 1e-3; two outliers
    return pd.DataFrame(
        {
            "geographic_level": "Local authority",
            "year": 2025,
            "area_code": [f"{i:03d}" for i in range(22)],
            "area_name": [f"LA {i}" for i in range(20)] + ["High", "Low"],
            "value": count,
            "status": "ok",
            "population": pop,
            "pop_status": "ok",
        }
    )


def test_funnel_names_the_areas_outside_the_998_limits():
    frame = _funnel_frame()
    frame.loc[0, "status"] = "c"  # a suppressed LA is left out, never plotted as 0
    result = national.funnel_data(frame, 2025)
    assert result.excluded == 1
    outside = result.outside(0.998)
    assert set(outside["area_name"]) == {"High", "Low"}
    assert outside.set_index("area_name")["above"].to_dict() == {"High": True, "Low": False}
    fig = national.funnel_plot(result)
    alt = figures.alt_text(fig)
    assert "High" in alt and "Low" in alt and "99.8%" in alt
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"High", "Low"} <= labels
    table = national.funnel_outside_table(result)
    assert set(table.table.index) == {"High (above)", "Low (below)"}


def test_winsorised_overdispersion_widens_limits():
    frame = _funnel_frame()
    frame.loc[:19, "value"] = [
        4,
        16,
        6,
        14,
        8,
        12,
        5,
        15,
        7,
        13,
        9,
        11,
        3,
        17,
        10,
        10,
        6,
        14,
        8,
        12,
    ]
    plain = national.funnel_data(frame, 2025)
    wide = national.funnel_data(frame, 2025, overdispersion=True)
    assert wide.dispersion > 1
    assert (wide.points["upper_99_8"] > plain.points["upper_99_8"]).all()
    assert len(wide.outside()) <= len(plain.outside())


def test_real_funnel_2025_names_blackpool(data):
    cse = national.add_rate(data.factors[data.factors["measure"] == CSE])
    result = national.funnel_data(cse, 2025, overdispersion=True)
    names = set(result.outside(0.998)["area_name"])
    assert "Blackpool" in names
    assert len(result.points) == 153
    points = result.points.set_index("area_name")
    assert points.loc["Blackpool", "rate"] == pytest.approx(
        points.loc["Blackpool", "count"] / points.loc["Blackpool", "population"] * 1e4
    )


def test_small_multiples_take_a_disclosed_table_and_have_alt_text(data):
    with pytest.raises(TypeError):
        national.small_multiples(pd.DataFrame({"a": [1]}))  # type: ignore[arg-type]
    fig = national.small_multiples(national.regional_rates(data))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 9
    assert "North East" in figures.alt_text(fig)


def test_disclose_published_keeps_symbols():
    frame = pd.DataFrame(
        {
            "r": ["a", "a", "b", "b"],
            "c": ["x1", "x2", "x1", "x2"],
            "v": [5.0, np.nan, 7.25, np.nan],
            "s": ["ok", "c", "ok", "[u]"],
        }
    )
    table = disclosure.disclose_published(
        frame, index="r", columns="c", values="v", status="s", title="t", notes=()
    )
    assert table.table.loc["a"].tolist() == ["5", "[c]"]
    assert table.table.loc["b"].tolist() == ["7.25", "[u]"]
    assert math.isnan(table.numeric.loc["a", "x2"])
