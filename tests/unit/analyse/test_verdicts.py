"""The rules that rate the six outcome measures, on constructed cases."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analysis.analyse.verdicts import outcome_verdicts, rate_outcome, verdicts_record
from analysis.core.errors import UserError
from analysis.core.framework import Version, framework_from, load_framework

FRAMEWORK = load_framework()
SHARE = FRAMEWORK.outcomes[1]  # a share: met at 0.5, partly at 0.25
GROWTH = FRAMEWORK.outcomes[4]  # a relative change against the year before


def row(value, numerator=None, denominator=100.0, with_value=10, with_reason=0) -> pd.Series:
    return pd.Series(
        {
            "value": value,
            "numerator": numerator
            if numerator is not None or denominator is None
            else value * denominator,
            "denominator": denominator,
            "services_with_value": with_value,
            "services_with_reason": with_reason,
        }
    )


@pytest.mark.parametrize(
    ("value", "rating"),
    [(0.8, "met"), (0.5, "met"), (0.49, "partly met"), (0.25, "partly met"), (0.1, "not met")],
)
def test_share_criterion_rates_met_partly_not(value: float, rating: str) -> None:
    verdict = rate_outcome(SHARE, FRAMEWORK, "2015-16", row(value))
    assert (verdict.rating, verdict.reason) == (rating, "")
    assert verdict.evidence == "descriptive"


def test_too_early_before_the_first_rated_year() -> None:
    verdict = rate_outcome(SHARE, FRAMEWORK, "2013-14", row(0.9))
    assert verdict.rating == "too early to tell"
    assert "2014-15" in verdict.reason


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"with_value": 2}, "fewer than 3 services"),
        ({"with_value": 4, "with_reason": 6}, "fewer than 50% of services"),
        ({"denominator": 12.0}, "fewer than 20 cases"),
    ],
)
def test_too_early_when_the_data_cannot_support_a_rating(kwargs: dict, reason: str) -> None:
    verdict = rate_outcome(SHARE, FRAMEWORK, "2016-17", row(0.9, **kwargs))
    assert verdict.rating == "too early to tell"
    assert reason in verdict.reason


def test_no_figure_is_too_early_not_zero() -> None:
    verdict = rate_outcome(SHARE, FRAMEWORK, "2016-17", None)
    assert verdict.rating == "too early to tell" and verdict.value is None
    assert "value" not in verdict.record()  # never null or NaN in verdicts.json


def test_relative_change_compares_with_the_year_before() -> None:
    grew = rate_outcome(
        GROWTH, FRAMEWORK, "2016-17", row(1200.0, denominator=None), row(1000.0, denominator=None)
    )
    assert grew.rating == "met" and grew.value == pytest.approx(0.2)
    flat = rate_outcome(
        GROWTH, FRAMEWORK, "2016-17", row(1010.0, denominator=None), row(1000.0, denominator=None)
    )
    assert flat.rating == "partly met"
    fell = rate_outcome(
        GROWTH, FRAMEWORK, "2016-17", row(900.0, denominator=None), row(1000.0, denominator=None)
    )
    assert fell.rating == "not met"
    first = rate_outcome(GROWTH, FRAMEWORK, "2016-17", row(900.0, denominator=None), None)
    assert first.rating == "too early to tell" and "2015-16" in first.reason


def test_outcome_verdicts_reads_the_programme_table() -> None:
    frame = pd.DataFrame(
        [
            {"evaluation_year": y, "indicator": c.primary, **row(0.6).to_dict()}
            for y in ("2015-16", "2016-17")
            for c in FRAMEWORK.outcomes.values()
        ]
    )
    verdicts = outcome_verdicts(frame, "2016-17", FRAMEWORK)
    assert [v.outcome for v in verdicts] == [1, 2, 3, 4, 5, 6]
    assert verdicts[3].rating == "partly met"  # no growth: 0.6 against 0.6
    record = verdicts_record(verdicts, FRAMEWORK, "2016-17")
    assert record["framework_version"] == FRAMEWORK.version
    assert record["criteria_changed_since_previous"] is False


def test_a_new_version_is_marked_as_a_change_of_criteria() -> None:
    newer = dataclasses.replace(
        FRAMEWORK,
        version="2.0",
        history=(*FRAMEWORK.history, Version("2.0", "2016-17", "Outcome 6 rated on net change.")),
    )
    record = verdicts_record([], newer, "2016-17")
    assert record["criteria_changed_since_previous"] is True
    assert record["changes"] == "Outcome 6 rated on net change."
    assert verdicts_record([], newer, "2015-16")["framework_version"] == "1.0"


def test_a_broken_framework_is_refused_with_the_file_named() -> None:
    import yaml

    from analysis.core.framework import FRAMEWORK_FILE

    raw = yaml.safe_load(FRAMEWORK_FILE.read_text("utf-8"))
    raw["outcomes"][2]["partly"] = 0.9  # above "met"
    with pytest.raises(UserError, match="evaluation-framework.yaml: outcome 2"):
        framework_from(raw)
    raw = yaml.safe_load(FRAMEWORK_FILE.read_text("utf-8"))
    raw["outcomes"][6]["evidence"] = "anecdotal"
    with pytest.raises(UserError, match="evidence must be one of"):
        framework_from(raw)
    raw = yaml.safe_load(FRAMEWORK_FILE.read_text("utf-8"))
    del raw["outcomes"][3]
    with pytest.raises(UserError, match="outcome measures 1 to 6"):
        framework_from(raw)
