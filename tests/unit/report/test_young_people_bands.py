"""Outcome 6's risk bands on each instrument's own cut-offs and its ordinal model in the
report (issue 23): counts through disclosure control, small counts [c], every prose number
registered, and the verdict's evidence line worded from the own cut-offs' bands."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd

from analysis.core.catalog import model_file
from analysis.publish.registry import Registry, check_page
from analysis.report.context import ReportSettings, register_rules
from analysis.report.sections.verdicts import evidence_line
from analysis.report.sections.young_people import (
    _ordinal,
    _own_bands,
    band_counts,
    odds_ratio_per_year,
)

YEAR = "2016-17"


def _ctx(tmp_path):
    settings = ReportSettings(YEAR, threshold=9, total_rounding=5, cutoff_days=90,
                              min_assessments=1)  # fmt: skip
    stats = Registry(YEAR)
    register_rules(stats, settings)
    return SimpleNamespace(settings=settings, year=YEAR, analysis_dir=tmp_path, stats=stats)


def _shares() -> pd.DataFrame:
    rows = []
    counts = {("seraf", "first"): (73, 72, 64), ("seraf", "latest"): (31, 57, 121),
              ("risk3", "first"): (7, 39, 23), ("risk3", "latest"): (1, 33, 35)}  # fmt: skip
    for (inst, when), people in counts.items():
        for band, k in zip(("high", "medium", "low"), people, strict=True):
            rows.append({"instrument": inst, "assessment": when, "band": band,
                         "people": k, "share": k / sum(people)})  # fmt: skip
    return pd.DataFrame(rows)


def test_band_counts_are_one_row_per_instrument_and_assessment_first_then_latest() -> None:
    out = band_counts(_shares())
    assert list(out["Assessment"]) == ["First", "Latest", "First", "Latest"]
    assert list(out["Instrument"]) == ["3-level risk rating"] * 2 + ["SERAF"] * 2
    seraf_latest = out.iloc[3]
    assert (seraf_latest["High risk"], seraf_latest["Low risk"]) == (31, 121)
    assert (out["Young people"] == out[["High risk", "Medium risk", "Low risk"]].sum(axis=1)).all()
    assert set(out.loc[out["Instrument"] == "SERAF", "Young people"]) == {209}


def test_the_band_table_suppresses_small_counts_and_derives_percentages_from_published(
    tmp_path,
) -> None:
    ctx = _ctx(tmp_path)
    _shares().to_parquet(tmp_path / model_file("trajectory", "band_shares"))
    heading, item = _own_bands(ctx)
    assert "own cut-offs" in heading.data
    shown, numeric = item.table.table, item.table.numeric
    rating = shown.xs("3-level risk rating", level="Instrument")
    # 7 and 1 young people at high risk on the rating: suppressed, never shown
    assert (rating["High risk"] == "[c]").all()
    assert not numeric.isin([7.0, 1.0]).any().any()
    seraf = numeric.xs("SERAF", level="Instrument")
    pct = seraf["% high risk"].dropna()
    published = (seraf["High risk"] / seraf["Young people"] * 100).loc[pct.index]
    assert (pct - published).abs().max() < 0.5  # from the published counts


def test_the_odds_ratio_per_year_is_twelve_months_of_the_monthly_log_odds() -> None:
    odds, low, high = odds_ratio_per_year(0.1264, 0.038651)
    assert math.isclose(odds, math.exp(12 * 0.1264))
    assert low < odds < high
    assert math.isclose(math.log(high) - math.log(odds), 1.96 * 12 * 0.038651)


def test_the_ordinal_sentence_registers_every_number(tmp_path) -> None:
    ctx = _ctx(tmp_path)
    pd.DataFrame(
        {
            "instrument": ["risk3"],
            "log_odds_per_month": [0.1264],
            "std_error": [0.038651],
            "odds_ratio": [1.1347],
            "or_lower": [1.052],
            "or_upper": [1.224],
            "people": [117],
            "note": [""],
        }  # fmt: skip
    ).to_parquet(tmp_path / model_file("trajectory", "ordinal"))
    (item,) = _ordinal(ctx)
    text = item.data
    assert "descriptive" in text and "lower-risk band" in text
    assert "about" in text  # 117 young people, rounded
    assert check_page(f"<h2>7. Change</h2>{text}", ctx.stats) == []
    assert ctx.stats.stats[f"outcome6/{YEAR}/ordinal/risk3/odds-ratio-year"].text == "4.56"


def _verdict(numerator: float, denominator: float) -> dict:
    return {"outcome": 6, "primary": "risk_band_improved_share", "unit": "share",
            "value": numerator / denominator, "numerator": numerator,
            "denominator": denominator}  # fmt: skip


def test_the_outcome_6_evidence_line_is_worded_from_the_own_cut_offs(tmp_path) -> None:
    ctx = _ctx(tmp_path)
    line = evidence_line(_verdict(134, 384), ctx)
    assert "own instrument's cut-offs" in line and "safer" not in line
    assert line.startswith("35%") and "(out of about 385)" in line  # rounded like the totals


def test_a_small_number_followed_up_is_fewer_than_10_never_its_value(tmp_path) -> None:
    ctx = _ctx(tmp_path)
    line = evidence_line(_verdict(3, 7), ctx)
    assert line.startswith("[c]") and "fewer than 10" in line and "7" not in line
    tagged = evidence_line(_verdict(3, 7), ctx, tagged=True)
    assert "fewer than" in tagged and ">7<" not in tagged
