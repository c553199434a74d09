"""Model findings in plain English: the trajectory's change in risk-band terms, worded by
the interval (never a direction the interval does not support) and by the evidence label."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.analyse.report_facts import band_terms
from analysis.clean.harmonise import band_from_score
from analysis.core.labels import RISK_BAND_WIDTH
from analysis.report.sections.change import EVIDENCE_PHRASE, _in_band_terms


def test_a_band_is_a_third_of_the_score_as_the_mapping_cuts_it() -> None:
    assert band_from_score(RISK_BAND_WIDTH - 1e-9) == "high"
    assert band_from_score(RISK_BAND_WIDTH) == "medium"
    assert band_from_score(2 * RISK_BAND_WIDTH) == "low"


def test_band_terms_of_a_known_slope() -> None:
    # 1/36 a month: a third of the score (one band) in 12 months, one band a year
    b = band_terms(1 / 36, 1 / 48, 1 / 24)
    assert b["direction"] == "safer"
    assert b["bands_per_year"] == pytest.approx(1.0)
    assert b["months_per_band"] == pytest.approx(12.0)
    assert b["months_per_band_range"] == pytest.approx((8.0, 16.0))


def test_an_interval_including_zero_gives_no_direction_and_no_crossing_time() -> None:
    b = band_terms(0.002, -0.001, 0.005)
    assert b["direction"] == "unclear"
    assert b["months_per_band_range"] is None
    text = _in_band_terms(b)
    assert "cannot be told apart from no change" in text
    assert "safer" not in text and "riskier" not in text


def test_a_worsening_trajectory_is_worded_as_riskier() -> None:
    text = _in_band_terms(band_terms(-1 / 36, -1 / 24, -1 / 48))
    assert "towards a riskier risk band" in text
    assert "about 12 months to move one band (95% interval 8 to 16 months)" in text


@given(
    st.floats(1e-4, 0.1),
    st.floats(1e-5, 0.05),
    st.floats(1e-5, 0.05),
)
def test_the_crossing_time_interval_holds_the_point_estimate(slope, below, above) -> None:
    b = band_terms(slope, max(slope - below, 1e-6), slope + above)
    low, high = b["months_per_band_range"]
    assert low <= b["months_per_band"] <= high


def test_every_evidence_label_has_its_words() -> None:
    assert set(EVIDENCE_PHRASE) == {"descriptive", "associational", "causal"}
    assert "could have other causes" in EVIDENCE_PHRASE["associational"]
