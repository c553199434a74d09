"""Model findings in plain English: the common risk bands as the mapping cuts them, and a
model's words chosen by its evidence label. (The trajectory's change is worded on each
instrument's own scale first, issue 23: tests/unit/analyse/test_outcome_evidence.py.)"""

from __future__ import annotations

from analysis.clean.harmonise import band_from_score
from analysis.core.labels import RISK_BAND_WIDTH
from analysis.report.sections.change import EVIDENCE_PHRASE


def test_a_band_is_a_third_of_the_score_as_the_mapping_cuts_it() -> None:
    assert band_from_score(RISK_BAND_WIDTH - 1e-9) == "high"
    assert band_from_score(RISK_BAND_WIDTH) == "medium"
    assert band_from_score(2 * RISK_BAND_WIDTH) == "low"


def test_every_evidence_label_has_its_words() -> None:
    assert set(EVIDENCE_PHRASE) == {"descriptive", "associational", "causal"}
    assert "could have other causes" in EVIDENCE_PHRASE["associational"]
